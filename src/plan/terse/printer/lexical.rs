//! The lexical choices of the printer: how a string, a number, an alias, a regex, a structured
//! token or a slice is written so that it reads back as exactly the same value.
//!
//! Receives values of the AST; returns their terse spelling. **Every choice is checked against
//! the grammar itself**: a regex is printed bare only when the `bare_regex` rule reads it whole
//! (and it is not a number or a keyword), between slashes only when `slash_body` reads it whole,
//! and as an escaped string otherwise, which always works.

use crate::plan::ast::{Pattern, StructuredToken, TensorRef};
use crate::plan::reference::{slice_text, token_text};
use crate::plan::terse::grammar::{PlanParser, Rule};
use pest::Parser;

/// Words that read as something else where a reference may stand.
const RESERVED: [&str; 7] = ["aliases", "as", "not", "plan", "true", "false", "none"];

/// Whether `rule` reads all of `text`.
fn reads_whole(rule: Rule, text: &str) -> bool {
    PlanParser::parse(rule, text)
        .ok()
        .and_then(|mut pairs| pairs.next())
        .is_some_and(|pair| pair.as_str().len() == text.len())
}

/// A double-quoted string with escapes.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            control if control.is_control() => {
                out.push_str(&format!("\\u{{{:x}}}", control as u32));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A number that parses back to the same `f64` (the shortest such decimal).
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let text = format!("{value:?}");
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

/// An alias: bare when it is letters, digits, `_`, `-` and `.`, else quoted.
pub fn alias(name: &str) -> String {
    if !name.is_empty() && reads_whole(Rule::bare_alias, name) {
        name.to_string()
    } else {
        string(name)
    }
}

/// A word (an option value, a help topic): bare when the `word` rule reads it, else quoted.
pub fn word(text: &str) -> String {
    if !text.is_empty() && reads_whole(Rule::word, text) {
        text.to_string()
    } else {
        string(text)
    }
}

/// A regex written bare, between slashes, or quoted, whichever reads back unchanged first.
pub fn regex(text: &str) -> String {
    let bare = !text.is_empty()
        && reads_whole(Rule::bare_regex, text)
        && !reads_whole(Rule::number, text)
        && PlanParser::parse(Rule::statement_keyword, text).is_err()
        && !RESERVED.contains(&text);
    if bare {
        return text.to_string();
    }
    if !text.is_empty() && reads_whole(Rule::slash_body, text) {
        return format!("/{text}/");
    }
    string(text)
}

/// A structured token, bare when the token rules read it whole, else quoted.
fn token(token: &StructuredToken, quote: bool) -> String {
    let text = token_text(token);
    let rule = if text.starts_with('~') {
        Rule::regex_token
    } else {
        Rule::plain_token
    };
    if !quote && !text.is_empty() && reads_whole(rule, &text) {
        text
    } else {
        string(&text)
    }
}

/// Whether `text` would read as a slice after `alias::` (so a structured list must not look so).
fn slice_like(text: &str) -> bool {
    text.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|inner| inner.chars().all(|c| "0123456789-+:, \t".contains(c)))
}

/// A pattern; after an alias, a structured list that would read as a slice is quoted.
pub fn pattern(pattern: &Pattern, after_alias: bool) -> String {
    match pattern {
        Pattern::Regex(text) => regex(text),
        Pattern::Structured(tokens) => {
            let render = |quote: bool| {
                let items: Vec<String> = tokens.iter().map(|t| token(&t.node, quote)).collect();
                format!("[{}]", items.join(", "))
            };
            let plain = render(false);
            if after_alias && slice_like(&plain) {
                render(true)
            } else {
                plain
            }
        }
    }
}

/// `[alias::]pattern[::[slice]]`.
pub fn reference(reference: &TensorRef) -> String {
    let mut out = String::new();
    if let Some(name) = &reference.alias {
        out.push_str(&alias(&name.node));
        out.push_str("::");
    }
    out.push_str(&pattern(&reference.pattern.node, reference.alias.is_some()));
    if let Some(cut) = &reference.slice {
        out.push_str("::");
        out.push_str(&slice_text(&cut.node));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_choose_the_plainest_form_that_reads_back() {
        assert_eq!(
            regex("h.(\\d+).mlp.c_fc.weight"),
            "h.(\\d+).mlp.c_fc.weight"
        );
        assert_eq!(regex("^h(.*)"), "^h(.*)");
        assert_eq!(regex("layer(\\d+)"), "/layer(\\d+)/");
        assert_eq!(regex("[ab].x"), "/[ab].x/");
        assert_eq!(regex("a b"), "/a b/");
        assert_eq!(regex("0.5"), "/0.5/");
        assert_eq!(regex("exit"), "/exit/");
        assert_eq!(regex("as"), "/as/");
        assert_eq!(regex("exit.weight"), "exit.weight");
        assert_eq!(regex("a/b"), "\"a/b\"");
        assert_eq!(regex(""), "\"\"");
        assert_eq!(regex("x\\"), "\"x\\\\\"");
    }

    #[test]
    fn numbers_print_the_shortest_exact_decimal() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(-1e-7), "-1e-7");
        assert_eq!(number(1.0 / 3.0).parse::<f64>().unwrap(), 1.0 / 3.0);
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn structured_lists_after_an_alias_never_read_as_slices() {
        let tokens = vec![crate::plan::ast::Spanned::new(
            StructuredToken::Literal("0".into()),
            crate::diagnostics::Span::default(),
        )];
        let structured = Pattern::Structured(tokens);
        assert_eq!(pattern(&structured, false), "[0]");
        assert_eq!(pattern(&structured, true), "[\"0\"]");
    }
}
