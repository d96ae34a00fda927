//! The comments of a terse source, found by the grammar itself.
//!
//! Receives the text of a `.bs` source; returns its comments in source order, each with the byte
//! offset of its `#` and the text after it. A line is parsed with the `line` rule, as the parser
//! reads it: whatever follows the line's last token (or the whole line, when it holds none) is
//! the grammar's `WHITESPACE`/`COMMENT` skip, so its first `#` starts the comment. A `#` inside a
//! string, a `/regex/` or a bare regex (`[#]`, `\#`) belongs to that token and is never taken
//! for a comment. A line that does not parse gives no comment (`fmt` prints only plans that parse).

use super::grammar::{PlanParser, Rule};
use super::plan::lines;
use crate::plan::comments::SourceComment;
use pest::Parser;

/// The comments of a terse text, in source order.
pub fn comments(text: &str) -> Vec<SourceComment> {
    let mut found = Vec::new();
    for (offset, line) in lines(text) {
        if !line.contains('#') {
            continue;
        }
        let Ok(mut pairs) = PlanParser::parse(Rule::line, line) else {
            continue;
        };
        let Some(line_pair) = pairs.next() else {
            continue;
        };
        // The end of the line's last token. A rule's own span may reach past it: pest skips
        // whitespace and comments before trying an optional or repeated part, even when that part
        // then matches nothing, so only tokens (pairs without inner pairs, not empty) count.
        let content_end = line_pair
            .into_inner()
            .flatten()
            .filter(|pair| {
                pair.as_rule() != Rule::EOI
                    && !pair.as_str().is_empty()
                    && pair.clone().into_inner().next().is_none()
            })
            .map(|pair| pair.as_span().end())
            .max()
            .unwrap_or(0);
        let rest = line.get(content_end..).unwrap_or("");
        if let Some(hash) = rest.find('#') {
            found.push(SourceComment {
                offset: offset + content_end + hash,
                text: rest[hash + 1..].to_string(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(usize, String)> {
        comments(text)
            .into_iter()
            .map(|comment| (comment.offset, comment.text))
            .collect()
    }

    #[test]
    fn comments_are_what_the_grammar_skips() {
        let text = "# head\nx = y  # why\ndel \"a # b\"\ndel /c#d/ # e\ndel a[#]b\n  #\n";
        assert_eq!(
            texts(text),
            vec![
                (0, " head".to_string()),
                (14, " why".to_string()),
                (42, " e".to_string()),
                (58, String::new()),
            ]
        );
    }

    #[test]
    fn a_rule_ending_in_an_optional_part_does_not_hide_the_comment() {
        // pest skips the comment before trying `set_option*`, the `bounds` and the infix part.
        let text = "set # a\nassert dimensions(x) # b\nx = y as f16 # c\n";
        let found: Vec<String> = texts(text).into_iter().map(|(_, text)| text).collect();
        assert_eq!(found, [" a", " b", " c"]);
    }

    #[test]
    fn a_line_that_does_not_parse_gives_no_comment() {
        assert!(comments("x = = y # not read\n").is_empty());
    }
}
