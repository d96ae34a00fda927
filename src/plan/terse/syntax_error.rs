//! Turning a pest error into a diagnostic that speaks the user's words.
//!
//! Receives the pest error of one line, the line's text and where it starts; returns a
//! [`Diagnostic`] (E0301) saying what was expected ("expected `=`, `<-` or `+=`"), never a rule
//! name, with a caret under the text found instead, and a help line when a likely intent is
//! recognizable: an op written in YAML style (`copy a b`), a misspelled function (`zeros(`), a
//! tensor named like a keyword.

use super::diagnostics;
use super::grammar::{describe, Rule};
use super::values::Builder;
use crate::diagnostics::{edit_distance, nearest, Diagnostic};
use crate::plan::ast::{ASSERT_NAMES, OP_NAMES};
use pest::error::{ErrorVariant, InputLocation};

/// The functions of the terse syntax, for "did you mean" on a misspelled call.
const FUNCTIONS: [&str; 18] = [
    "clamp",
    "reshape",
    "permute",
    "transpose",
    "fill",
    "zeroes",
    "ones",
    "rand",
    "concat",
    "split",
    "phlora",
    "clamp_",
    "reshape_",
    "cast_",
    "fill_",
    "phlora_",
    "lora_extract",
    "lora_merge_",
];

/// The statement keywords, for "did you mean" on a misspelled statement.
const STATEMENTS: [&str; 15] = [
    "input", "output", "assert", "del", "delete", "move", "dump", "diff", "help", "load", "save",
    "prefixes", "set", "exit", "execute",
];

/// How each YAML op is written in the terse syntax, for a line that starts with an op name.
pub const OP_FORMS: [(&str, &str); 41] = [
    ("help", "help [OP]"),
    ("dump", "dump [REF] [format=…] [verbosity=…]"),
    ("diff", "diff LEFT RIGHT [eps=…]"),
    ("assert", "assert EXPRESSION"),
    ("load", "load \"PATH\" [alias=…] [to=…]"),
    ("save", "save \"PATH\" [alias=…] [target=…]"),
    ("copy", "TO = FROM"),
    ("move", "move FROM -> TO"),
    ("delete", "del TARGET"),
    ("assign", "TO <- FROM"),
    ("add", "TO <- A + B"),
    ("subtract", "TO <- A - B"),
    ("multiply", "TO <- A * B"),
    ("matmul", "TO = A @ B"),
    ("add_", "TO += FROM"),
    ("subtract_", "TO -= FROM"),
    ("scale", "TO = FROM * FACTOR"),
    ("scale_", "TARGET *= FACTOR"),
    ("cast", "TO = FROM as DTYPE"),
    ("cast_", "cast_(TARGET, DTYPE)"),
    ("clamp", "TO = clamp(FROM, min=…, max=…)"),
    ("clamp_", "clamp_(TARGET, min=…, max=…)"),
    ("reshape", "TO = reshape(FROM, [SHAPE])"),
    ("reshape_", "reshape_(TARGET, [SHAPE])"),
    ("permute", "TO = permute(FROM, [ORDER])"),
    ("transpose", "TO = transpose(FROM, DIM0, DIM1)"),
    ("fill", "TO = fill(FROM, VALUE)"),
    ("fill_", "fill_(TARGET, VALUE)"),
    ("zeroes", "TARGET = zeroes([SHAPE])"),
    ("ones", "TARGET = ones([SHAPE])"),
    ("rand", "TARGET = rand([SHAPE])"),
    ("split", "A, B = split(FROM, [SIZES])"),
    ("concat", "TO = concat(A, B)"),
    ("phlora", "A, B = phlora(TARGET, rank=…)"),
    ("phlora_", "phlora_(TARGET, rank=…)"),
    ("lora_extract", "A, B = lora_extract(TUNED, BASE, rank=…)"),
    ("lora_merge", "lora_merge_(TARGET, A, B, alpha=…)"),
    ("prefixes", "prefixes [add|remove|rename …]"),
    ("set", "set [dry-run=…] [preview=…] [verbose=…]"),
    ("exit", "exit"),
    ("execute", "execute \"PATH\" | execute { … }"),
];

/// The diagnostic for a line that did not parse.
pub fn from_pest(builder: &Builder, line: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    let position = match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    }
    .min(line.len());
    let found = token_at(line, position);
    let span = builder.line_span(position, position + found.len());
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_phrases(positives),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let help = help_for(line, position);
    if expected.is_empty() {
        let diagnostic = diagnostics::unexpected_text(
            if found.is_empty() {
                "end of line"
            } else {
                found
            },
            span,
        );
        return match help {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic,
        };
    }
    diagnostics::syntax_error(&expected, found, span, help)
}

/// The user-facing phrases of the expected rules, without repeats, at most a handful.
fn expected_phrases(positives: &[Rule]) -> Vec<&'static str> {
    let mut phrases: Vec<&'static str> = Vec::new();
    for rule in positives {
        let phrase = describe(*rule);
        if !phrases.contains(&phrase) {
            phrases.push(phrase);
        }
    }
    // A line start expects every statement; name that once rather than listing them all.
    if phrases.len() > 8 {
        return vec!["a statement"];
    }
    phrases
}

/// The text to underline at `position`: an operator, a punctuation mark, or a word.
fn token_at(line: &str, position: usize) -> &str {
    let rest = line[position..].trim_end_matches(['\r', ' ', '\t']);
    // Nothing but spaces or a comment is the end of the line; a caret goes at `position`.
    if rest.is_empty() || rest.starts_with(['#', ' ', '\t']) {
        return "";
    }
    for operator in ["<-", "->", "+=", "-=", "*=", "==", "::", ">=", "<="] {
        if rest.starts_with(operator) {
            return &rest[..operator.len()];
        }
    }
    let first = rest.chars().next().map_or(1, char::len_utf8);
    if rest.starts_with(|c: char| "()[]{},=\"/<>".contains(c)) {
        return &rest[..first];
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || "()[]{},=\"#".contains(c))
        .unwrap_or(rest.len());
    &rest[..end.max(first)]
}

/// A help line when the line's intent can be guessed.
fn help_for(line: &str, position: usize) -> Option<String> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let first_word: &str = trimmed
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .next()
        .unwrap_or("");
    let after_first = trimmed[first_word.len()..].trim_start();
    // An op written the YAML way: `copy a b`, `scale_: {…}`.
    if let Some((op, form)) = OP_FORMS.iter().find(|(op, _)| *op == first_word) {
        if !STATEMENTS.contains(op) {
            return Some(format!("in the terse syntax, {op} is written `{form}`"));
        }
    }
    // A misspelled function call (`zeros([2])`) or assertion (`assert exist(x)`).
    let word_at = word_at(line, position);
    if line[position + word_at.len()..]
        .trim_start()
        .starts_with('(')
        && !word_at.is_empty()
    {
        let (kind, candidates): (&str, &[&str]) = if first_word == "assert" {
            ("an assertion", &ASSERT_NAMES)
        } else {
            ("a function", &FUNCTIONS)
        };
        if let Some(best) = close_match(word_at, candidates) {
            return Some(format!("did you mean `{best}(…)`?"));
        }
        let names: Vec<String> = candidates.iter().map(|name| format!("`{name}`")).collect();
        return Some(format!(
            "`{word_at}` is not {kind}; the choices are {}",
            names.join(", ")
        ));
    }
    // An unclosed bracket in a bare pattern: `h.(\d+ = x`.
    if line[position..].starts_with(['(', '[', '{']) && position > indent {
        return Some(
            "a bracket in a pattern must be closed within the pattern; write a pattern with \
             spaces or unbalanced brackets between slashes, e.g. `/h\\.(\\d+)/`"
                .to_string(),
        );
    }
    if position == indent && !first_word.is_empty() {
        if let Some(best) = close_match(first_word, &STATEMENTS) {
            return Some(format!("did you mean `{best}`?"));
        }
        if let Some(best) = close_match(first_word, &OP_NAMES) {
            let form = OP_FORMS
                .iter()
                .find(|(op, _)| *op == best)
                .map_or("", |(_, form)| form);
            return Some(format!("did you mean {best}, written `{form}`?"));
        }
    }
    // A tensor named like a statement keyword: `exit = x`.
    if STATEMENTS.contains(&first_word)
        && (after_first.starts_with('=') || after_first.starts_with("<-"))
    {
        return Some(format!(
            "a line starting with `{first_word}` is the `{first_word}` statement; write a tensor \
             named `{first_word}` between slashes: `/{first_word}/`"
        ));
    }
    None
}

/// The identifier-like word starting at `position`.
fn word_at(line: &str, position: usize) -> &str {
    let rest = &line[position..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The nearest candidate when it is a plausible typo of `word`.
fn close_match<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let best = nearest(word, candidates.iter().copied(), 1)
        .into_iter()
        .next()?;
    let distance = edit_distance(word, best);
    (distance > 0 && distance <= (word.len() / 3).max(1)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_underlined_token_is_an_operator_a_mark_or_a_word() {
        assert_eq!(token_at("x <- y", 2), "<-");
        assert_eq!(token_at("f(a, b)", 1), "(");
        assert_eq!(token_at("move a b", 7), "b");
        assert_eq!(token_at("x = zeros([2])", 4), "zeros");
        assert_eq!(token_at("del   # note", 3), "");
        assert_eq!(token_at("x", 1), "");
    }

    #[test]
    fn expected_rules_become_distinct_phrases() {
        let phrases =
            expected_phrases(&[Rule::kw_clamp, Rule::kw_fill, Rule::number, Rule::reference]);
        assert_eq!(
            phrases,
            ["a function call", "a number", "a tensor reference"]
        );
    }

    #[test]
    fn helps_recognize_yaml_style_ops_and_typos() {
        assert!(help_for("copy a b", 5).unwrap().contains("TO = FROM"));
        assert!(help_for("x = zeros([2])", 4).unwrap().contains("zeroes"));
        assert!(help_for("dell x", 0).unwrap().contains("`del`"));
        assert!(help_for("exit = x", 5).unwrap().contains("/exit/"));
        assert_eq!(help_for("x = a", 5), None);
    }
}
