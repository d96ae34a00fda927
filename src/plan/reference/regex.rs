//! Python-dialect regular expressions through `fancy_regex`.
//!
//! Receives a pattern as the user wrote it; [`validate_regex`] returns a diagnostic labelled at the
//! position the regex parser complained about, and [`compile_full_match`] returns a regex that
//! matches only whole names, as Python's `re.fullmatch` does.
//!
//! **Full match.** The pattern is wrapped as `\A(?:pattern)\z`: the non-capturing group keeps
//! group numbers unchanged and confines a top-level `|`, and `\A`/`\z` (rather than `^`/`$`) stay
//! anchored at the ends of the name even when the pattern turns on multi-line mode with `(?m)`.
//!
//! **Known differences from Python's `re`** (names are plain ASCII in practice, so these rarely
//! matter; each is pinned by a test below):
//! - `\Z` is "end of text" in Python but "end of text, ignoring trailing newlines" in
//!   fancy-regex; use `\z` or rely on the full-match anchoring.
//! - `[[:alpha:]]` is a POSIX class here; Python reads it as the characters `[:alph` then `]`.
//! - `\k<name>` is a named back-reference here and an error in Python; Python's `(?P=name)`
//!   works in both.
//! - Python 3.11's flag `(?a)` (ASCII-only classes) and `(?L)` (locale) are not supported;
//!   `(?i)`, `(?m)`, `(?s)`, `(?x)` are.
//! - Look-behind must have a bounded width in both; fancy-regex reports it when compiling.
//! - `a{,3}` means "0 to 3 `a`" in both.

use super::TextSpan;
use crate::diagnostics::Diagnostic;
use crate::plan::diagnostics;
use fancy_regex::Regex;

/// Checks that `pattern` compiles in full-match form; the label points at the offending part of
/// the pattern when the regex parser names a position.
pub fn validate_regex(pattern: &str, span: impl Into<TextSpan>) -> Result<(), Diagnostic> {
    let span: TextSpan = span.into();
    let Err(full_error) = analyze(pattern) else {
        return Ok(());
    };
    // The bare pattern gives error positions relative to what the user wrote.
    match Regex::new(pattern) {
        Err(error) => Err(regex_diagnostic(pattern, &error, span)),
        Ok(_) => Err(diagnostics::bad_regex(
            pattern,
            &describe(&full_error),
            span.whole(),
        )),
    }
}

/// Compiles `pattern` so that it matches whole names only (`\A(?:pattern)\z`).
pub fn compile_full_match(pattern: &str) -> Result<Regex, fancy_regex::Error> {
    Regex::new(&format!("\\A(?:{pattern})\\z"))
}

/// The number of capture groups of a valid pattern (not counting the whole match), and the names
/// of its named groups.
pub(crate) fn group_info(pattern: &str) -> Option<(usize, Vec<String>)> {
    analyze(pattern).ok()
}

/// Group facts of a valid pattern, remembered per thread.
type GroupFacts = (usize, Vec<String>);

/// Most patterns remembered before the memo starts over (it only saves repeated compilation).
const MEMO_LIMIT: usize = 4096;

thread_local! {
    // A template is checked against its source regex, which was compiled moments before when the
    // source was validated; remembering the facts keeps that to one compilation per pattern, which
    // dominates the cost of reading large plans.
    static MEMO: std::cell::RefCell<std::collections::HashMap<String, GroupFacts>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Compiles the full-match form of `pattern` once and returns its group facts.
fn analyze(pattern: &str) -> Result<GroupFacts, fancy_regex::Error> {
    if let Some(facts) = MEMO.with(|memo| memo.borrow().get(pattern).cloned()) {
        return Ok(facts);
    }
    let regex = compile_full_match(pattern)?;
    let names = regex
        .capture_names()
        .flatten()
        .map(str::to_string)
        .collect();
    let facts = (regex.captures_len().saturating_sub(1), names);
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(pattern.to_string(), facts.clone());
    });
    Ok(facts)
}

fn regex_diagnostic(pattern: &str, error: &fancy_regex::Error, span: TextSpan) -> Diagnostic {
    let label_span = match error {
        // The parser notices a missing `)` at the end of the pattern; the `(` is what to fix.
        fancy_regex::Error::ParseError(_, fancy_regex::ParseError::UnclosedOpenParen) => {
            match unclosed_paren(pattern) {
                Some(open) => span.part(open..open + 1),
                None => span.whole(),
            }
        }
        fancy_regex::Error::ParseError(position, _) => {
            let start = (*position).min(pattern.len());
            let end = next_char_boundary(pattern, start);
            span.part(start..end)
        }
        _ => span.whole(),
    };
    diagnostics::bad_regex(pattern, &describe(error), label_span)
}

/// The byte offset of the last `(` that no `)` closes (escapes and character classes skipped).
fn unclosed_paren(pattern: &str) -> Option<usize> {
    let mut open = Vec::new();
    let mut in_class = false;
    let mut escaped = false;
    for (index, character) in pattern.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => open.push(index),
            ')' if !in_class => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

fn next_char_boundary(text: &str, start: usize) -> usize {
    text[start..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8())
}

/// A one-line, lower-case description of a regex error (the inner regex crate prints several
/// lines with its own caret; we keep only the message, since our label does the pointing).
fn describe(error: &fancy_regex::Error) -> String {
    let text = error.to_string();
    let message = text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or("").trim().to_string());
    // fancy-regex prefixes "Parsing error at position N: "; our label already points there.
    let message = match message.strip_prefix("Parsing error at position ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m).to_string(),
        None => message,
    };
    let message = message
        .strip_prefix("Regex error: ")
        .unwrap_or(&message)
        .to_string();
    let mut characters = message.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => "invalid regex".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{SourceId, Span};

    fn validate(pattern: &str) -> Result<(), Diagnostic> {
        validate_regex(pattern, Span::new(SourceId(0), 0, pattern.len()))
    }

    fn full_match(pattern: &str, name: &str) -> bool {
        compile_full_match(pattern).unwrap().is_match(name).unwrap()
    }

    #[test]
    fn valid_python_patterns_compile() {
        for pattern in [
            "ln_f.weight",
            "h\\.(\\d+)\\.attn\\.(?P<part>c_attn|c_proj)\\.weight",
            "(?:a|b)+",
            "(a)b?",
            "(?P<x>a)(?P=x)",
            "(?i)Model\\.layers",
            "(?<=a)b",
            "a{,3}",
        ] {
            assert!(validate(pattern).is_ok(), "{pattern}");
        }
    }

    #[test]
    fn errors_point_at_the_problem_and_read_as_one_line() {
        let pattern = "h.(\\d+";
        let error = validate(pattern).unwrap_err();
        assert_eq!(error.code, "E0205");
        assert!(!error.labels[0].text.contains('\n'));
        assert_eq!(
            error.labels[0].text,
            "opening parenthesis without closing parenthesis"
        );
        assert_eq!(error.primary_span().unwrap().range(), 2..3);
        let pattern = "(a)[(]\\((b";
        let error = validate(pattern).unwrap_err();
        assert_eq!(error.primary_span().unwrap().range(), 8..9);
        let pattern = "a**";
        let error = validate(pattern).unwrap_err();
        assert!(!error.labels[0].text.is_empty());
        let pattern = "[z-a]";
        let error = validate(pattern).unwrap_err();
        assert!(
            !error.labels[0].text.contains('\n'),
            "{:?}",
            error.labels[0].text
        );
    }

    #[test]
    fn full_match_needs_the_whole_name() {
        assert!(full_match("h\\.\\d+", "h.12"));
        assert!(!full_match("h\\.\\d+", "h.12.attn"));
        assert!(!full_match("h\\.\\d+", "xh.12"));
        // A top-level alternation stays anchored on both sides.
        assert!(!full_match("a|b", "ab"));
        assert!(full_match("a|b", "b"));
        // Multi-line mode does not let `$` stop at a newline inside the name.
        assert!(!full_match("(?m)a$", "a\nb"));
        // Group numbers are those the user wrote.
        let regex = compile_full_match("h\\.(\\d+)\\.(.*)").unwrap();
        let captures = regex.captures("h.3.mlp").unwrap().unwrap();
        assert_eq!(&captures[1], "3");
        assert_eq!(&captures[2], "mlp");
    }

    #[test]
    fn documented_differences_from_python_hold() {
        // `\Z` ignores trailing newlines here (Python: strict end of text).
        assert!(Regex::new("a\\Z").unwrap().is_match("a\n").unwrap());
        // POSIX classes are classes here.
        assert!(full_match("[[:alpha:]]+", "abc"));
        // `\k<name>` is a named back-reference here.
        assert!(full_match("(?P<x>a)\\k<x>", "aa"));
        // `{,3}` means 0 to 3.
        assert!(full_match("a{,3}", ""));
        assert!(full_match("a{,3}", "aaa"));
    }

    #[test]
    fn group_info_counts_groups_and_names() {
        assert_eq!(
            group_info("(a)(?:b)(?P<c>d)"),
            Some((2, vec!["c".to_string()]))
        );
        assert_eq!(group_info("("), None);
    }
}
