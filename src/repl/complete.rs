//! Tab completion: what may come at the cursor, from what the session knows.
//!
//! Receives the line, the cursor position and a [`Vocabulary`] (the aliases and the tensor names
//! of the headers and of the current state); returns where the completed word starts and its
//! candidates, sorted. The context decides the kind: `:` commands and their arguments, op names
//! and terse keywords at the start of a step, payload keys after `op:` / `{` / `,` of a YAML or
//! OLY step, dtypes after `as`, `dtype` or `cast_`'s `to`, choices after `format`, `mode`, …,
//! file paths inside `"…"` and after `path`, and otherwise tensor names and `alias::`.
//!
//! **Tensor names complete one segment at a time** (`h.0.` → `h.0.attn.`, `h.0.ln_1.`, …), as a
//! shell completes one directory at a time, because a checkpoint has thousands of names that
//! share long prefixes. Completion is a pure function of its inputs, except for file paths,
//! which list the file system.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::ast::{ASSERT_NAMES, OP_NAMES};
use crate::tensor::DType;

use super::help::{keys_of, COMMANDS};

/// What completion knows of the session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocabulary {
    pub default_alias: Option<String>,
    /// Every alias of the state, sorted.
    pub aliases: Vec<String>,
    /// Tensor names per alias: the inputs' headers and the current state.
    pub names: BTreeMap<String, BTreeSet<String>>,
}

/// Words that begin a terse statement besides op names and tensor names.
const TERSE_KEYWORDS: [&str; 2] = ["del", "output"];

/// The choices of a key that takes one, by op.
fn choices(key: &str, op: Option<&str>) -> &'static [&'static str] {
    match (key, op) {
        ("format", Some("dump")) => &["compact", "json", "tree"],
        ("format", _) => &["auto", "dcp", "numpy", "safetensors", "torch"],
        ("verbosity", _) => &["full", "shape", "stat"],
        ("mode", Some("fill" | "fill_")) => &["constant", "rand", "tensor"],
        ("mode", Some("prefixes")) => &["add", "list", "remove", "rename"],
        ("mode", Some("diff")) => &["aliases", "refs"],
        ("distribution", _) => &["normal", "uniform"],
        _ => &[],
    }
}

/// The word to complete starts after the last of these.
fn is_delimiter(character: char) -> bool {
    character.is_whitespace() || ",{}()[]=\"'".contains(character)
}

/// Where the word at `position` starts, and its candidates.
pub fn complete(line: &str, position: usize, vocabulary: &Vocabulary) -> (usize, Vec<String>) {
    let position = floor_boundary(line, position);
    let before = &line[..position];
    if let Some(quote) = open_quote(before) {
        let word = &before[quote + 1..];
        return (quote + 1, paths(word));
    }
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| is_delimiter(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let context = before[..start].trim_end();
    let mut candidates = candidates(line.trim_start(), context, word, vocabulary);
    candidates.sort();
    candidates.dedup();
    (start, candidates)
}

fn floor_boundary(text: &str, mut position: usize) -> usize {
    position = position.min(text.len());
    while !text.is_char_boundary(position) {
        position -= 1;
    }
    position
}

/// The byte position of an unclosed `"` before the cursor.
fn open_quote(before: &str) -> Option<usize> {
    let mut open = None;
    let mut escaped = false;
    for (index, character) in before.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => open = if open.is_some() { None } else { Some(index) },
            _ => {}
        }
    }
    open
}

fn candidates(line: &str, context: &str, word: &str, vocabulary: &Vocabulary) -> Vec<String> {
    if line.starts_with(':') {
        return command_candidates(context, word, vocabulary);
    }
    let statement = context.trim_start_matches("- ").trim_start();
    if statement.is_empty() || context == "-" {
        return first_word(word, vocabulary);
    }
    if statement == "help" || statement.ends_with("help:") {
        return prefixed(OP_NAMES.iter().chain(["assert"].iter()), word);
    }
    if statement.ends_with("help assert") || statement.ends_with("help: assert:") {
        return prefixed(ASSERT_NAMES.iter(), word);
    }
    let key = context
        .trim_end_matches([':', '='])
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .next()
        .unwrap_or("");
    let after_key = context.ends_with(':') || context.ends_with('=');
    let op = op_of(statement);
    if context.ends_with(" as") || context == "as" || (after_key && is_dtype_key(key, op)) {
        return prefixed(dtype_names().iter(), word);
    }
    if after_key && key == "path" {
        return paths(word);
    }
    let choices = choices(key, op);
    if after_key && !choices.is_empty() {
        return prefixed(choices.iter(), word);
    }
    if let Some(op) = op {
        if at_key_position(statement, op) {
            let keys: Vec<String> = keys_of(op).iter().map(|key| format!("{key}: ")).collect();
            return prefixed(keys.iter(), word);
        }
    }
    tensor_names(word, vocabulary)
}

/// The op of a YAML/OLY step: the identifier before its first `:`.
fn op_of(statement: &str) -> Option<&'static str> {
    let (head, _) = statement.split_once(':')?;
    OP_NAMES.iter().copied().find(|op| *op == head.trim())
}

fn is_dtype_key(key: &str, op: Option<&str>) -> bool {
    key == "dtype" || (key == "to" && op == Some("cast_"))
}

/// Whether the cursor is where a payload key goes: right after `op:`, or after `{` or `,` in a
/// mapping (not in a list).
fn at_key_position(statement: &str, op: &str) -> bool {
    let after_op = statement[op.len()..].trim_start_matches(':').trim();
    if after_op.is_empty() {
        return true;
    }
    let ends_separator = statement.ends_with('{') || statement.ends_with(',');
    let innermost = innermost_bracket(statement);
    ends_separator && innermost != Some('[')
}

fn innermost_bracket(text: &str) -> Option<char> {
    let mut stack = Vec::new();
    for character in text.chars() {
        match character {
            '[' | '{' | '(' => stack.push(character),
            ']' | '}' | ')' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

fn first_word(word: &str, vocabulary: &Vocabulary) -> Vec<String> {
    let mut candidates = prefixed(OP_NAMES.iter().chain(TERSE_KEYWORDS.iter()), word);
    candidates.extend(tensor_names(word, vocabulary));
    candidates
}

fn command_candidates(context: &str, word: &str, vocabulary: &Vocabulary) -> Vec<String> {
    if context.is_empty() {
        let names: Vec<String> = COMMANDS.iter().map(|c| format!(":{}", c.0)).collect();
        return prefixed(names.iter(), word);
    }
    let command = context
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches(':');
    match command {
        "help" => {
            let mut topics: Vec<&str> = OP_NAMES.to_vec();
            topics.extend(ASSERT_NAMES);
            prefixed(topics.iter(), word)
        }
        "plan" => prefixed(["terse", "yaml"].iter(), word),
        "save" | "graph" => paths(word),
        "show" | "ls" | "stats" => tensor_names(word, vocabulary),
        "run" => prefixed(["--dry-run"].iter(), word),
        _ => Vec::new(),
    }
}

fn prefixed<'c>(
    candidates: impl Iterator<Item = &'c (impl AsRef<str> + 'c + ?Sized)>,
    word: &str,
) -> Vec<String> {
    candidates
        .map(AsRef::as_ref)
        .filter(|candidate| candidate.starts_with(word))
        .map(str::to_string)
        .collect()
}

/// Every dtype's plan name (PyTorch's long names where they exist).
fn dtype_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = DType::ALL.iter().map(|dtype| dtype.plan_name()).collect();
    names.sort();
    names.dedup();
    names
}

/// Names of the default alias and `alias::` prefixes for an unqualified word; names of that alias
/// for `alias::word`. Each completes to the end of its next segment.
fn tensor_names(word: &str, vocabulary: &Vocabulary) -> Vec<String> {
    if let Some((alias, prefix)) = word.split_once("::") {
        let Some(names) = vocabulary.names.get(alias) else {
            return Vec::new();
        };
        return next_segments(names, prefix)
            .into_iter()
            .map(|name| format!("{alias}::{name}"))
            .collect();
    }
    let mut candidates: Vec<String> = vocabulary
        .aliases
        .iter()
        .filter(|alias| alias.starts_with(word))
        .map(|alias| format!("{alias}::"))
        .collect();
    if let Some(names) = vocabulary
        .default_alias
        .as_ref()
        .and_then(|alias| vocabulary.names.get(alias))
    {
        candidates.extend(next_segments(names, word));
    }
    candidates
}

/// The names starting with `prefix`, each cut after the first `.` beyond the prefix.
fn next_segments(names: &BTreeSet<String>, prefix: &str) -> BTreeSet<String> {
    names
        .range(prefix.to_string()..)
        .take_while(|name| name.starts_with(prefix))
        .map(|name| match name[prefix.len()..].find('.') {
            Some(dot) => name[..prefix.len() + dot + 1].to_string(),
            None => name.clone(),
        })
        .collect()
}

/// Files and directories (with a trailing `/`) whose path starts with `word`; hidden entries
/// only when the word's last part starts with `.`.
pub fn paths(word: &str) -> Vec<String> {
    let (directory, prefix) = match word.rfind('/') {
        Some(slash) => (&word[..=slash], &word[slash + 1..]),
        None => ("", word),
    };
    let listed = if directory.is_empty() { "." } else { directory };
    let Ok(entries) = std::fs::read_dir(listed) else {
        return Vec::new();
    };
    let mut candidates: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let visible = !name.starts_with('.') || prefix.starts_with('.');
            if !visible || !name.starts_with(prefix) {
                return None;
            }
            let is_directory = entry.file_type().is_ok_and(|kind| kind.is_dir());
            Some(format!(
                "{directory}{name}{}",
                if is_directory { "/" } else { "" }
            ))
        })
        .collect();
    candidates.sort();
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let names: BTreeSet<String> = [
            "h.0.attn.c_attn.weight",
            "h.0.attn.c_proj.weight",
            "h.0.ln_1.weight",
            "h.0.mlp.c_fc.weight",
            "h.1.ln_1.weight",
            "wte.weight",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut other = BTreeSet::new();
        other.insert("x.y".to_string());
        Vocabulary {
            default_alias: Some("model".into()),
            aliases: vec!["model".into(), "other".into()],
            names: [("model".to_string(), names), ("other".to_string(), other)]
                .into_iter()
                .collect(),
        }
    }

    fn at_end(line: &str) -> (usize, Vec<String>) {
        complete(line, line.len(), &vocabulary())
    }

    #[test]
    fn tensor_names_complete_one_segment_at_a_time() {
        let (start, candidates) = at_end("x = h.0.");
        assert_eq!(start, 4);
        assert_eq!(candidates, vec!["h.0.attn.", "h.0.ln_1.", "h.0.mlp."]);
        assert_eq!(at_end("x = h.0.ml").1, vec!["h.0.mlp."]);
        assert_eq!(at_end("x = h.0.mlp.c_fc.").1, vec!["h.0.mlp.c_fc.weight"]);
        assert_eq!(at_end("del other::x").1, vec!["other::x."]);
        assert_eq!(at_end("del other::x.").1, vec!["other::x.y"]);
        assert_eq!(at_end("x = oth").1, vec!["other::"]);
    }

    #[test]
    fn the_first_word_is_an_op_a_keyword_or_a_name() {
        assert_eq!(at_end("cas").1, vec!["cast", "cast_"]);
        assert_eq!(at_end("- sc").1, vec!["scale", "scale_"]);
        assert_eq!(at_end("w").1, vec!["wte."]);
        assert_eq!(at_end("de").1, vec!["del", "delete"]);
    }

    #[test]
    fn payload_keys_follow_the_op() {
        assert_eq!(
            at_end("clamp: ").1,
            vec!["from: ", "max: ", "min: ", "to: "]
        );
        assert_eq!(at_end("clamp: {from: a, m").1, vec!["max: ", "min: "]);
        assert_eq!(at_end("copy: from: h.0.ln_1.weight, t").1, vec!["to: "]);
        // Inside a list a comma separates values, not keys.
        assert_eq!(
            at_end("concat: {from: [h.1.ln_1.weight, h.0.ln").1,
            vec!["h.0.ln_1."]
        );
    }

    #[test]
    fn dtypes_and_choices_follow_their_keys() {
        assert!(at_end("x = a as bf").1.contains(&"bfloat16".to_string()));
        assert!(at_end("cast: {from: a, to: b, dtype: fl")
            .1
            .contains(&"float16".to_string()));
        assert!(at_end("cast_: {target: a, to: i")
            .1
            .contains(&"int8".to_string()));
        assert_eq!(at_end("dump: {format: t").1, vec!["tree"]);
        assert_eq!(at_end("x = ones([2], dtype=u").1[0], "uint16");
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(at_end(":s").1, vec![":save", ":show", ":stats"]);
        assert_eq!(at_end(":plan t").1, vec!["terse"]);
        assert_eq!(at_end(":stats wt").1, vec!["wte."]);
        assert_eq!(at_end(":help cl").1, vec!["clamp", "clamp_"]);
        assert_eq!(at_end("help co").1, vec!["concat", "copy"]);
    }

    #[test]
    fn file_paths_inside_quotes_and_after_path() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir(directory.path().join("models")).unwrap();
        std::fs::write(directory.path().join("model.safetensors"), b"").unwrap();
        std::fs::write(directory.path().join(".hidden"), b"").unwrap();
        let base = format!("{}/", directory.path().display());
        let line = format!("load \"{base}mod");
        let (start, candidates) = at_end(&line);
        assert_eq!(start, 6);
        assert_eq!(
            candidates,
            vec![format!("{base}model.safetensors"), format!("{base}models/")]
        );
        let line = format!("load: {{path: {base}");
        assert_eq!(at_end(&line).1.len(), 2, "hidden files are not offered");
        assert_eq!(
            at_end(&format!("{line}.")).1,
            vec![format!("{base}.hidden")]
        );
    }
}
