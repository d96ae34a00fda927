//! Destination templates: back-references into the source regex's match, substituted once.
//!
//! Receives a destination expression (`h.\1.weight`, `\g<layer>.w`, `copy_\g<0>`) and its span;
//! [`parse_template`] returns a [`Template`] or a diagnostic at the bad escape;
//! [`validate_template`] also checks that every referenced group exists in the source regex;
//! [`Template::expand`] (and [`substitute`]) build a destination name from one match.
//!
//! **Escapes follow Python's `re.sub` templates**, so YAML plans mean what they meant:
//! - `\1`…`\99` and `\g<1>` are groups by number, `\g<0>` the whole match, `\g<name>` a named
//!   group; an unmatched group contributes the empty string;
//! - `\\` is one backslash; `\a \b \f \n \r \t \v` are control characters; `\0`, `\0o`, `\0oo` and
//!   three-digit `\ooo` (first digit 0–3) are octal character escapes;
//! - another ASCII letter after `\` is an error; any other character after `\` keeps both
//!   (`\.` stays `\.`, as in Python).
//!
//! **Substituted once.** BrainSurgery applies `re.sub`, which replaces every match in the name,
//! so a source pattern that can also match the empty string at the end (`.*`) writes the
//! template twice (`.*` → `x` on `abc` gives `xx`). We expand the template once per matched name.

use super::regex::group_info;
use super::TextSpan;
use crate::diagnostics::Diagnostic;
use crate::plan::diagnostics;
use fancy_regex::Captures;
use std::ops::Range;

/// A parsed template: literal text and group references, with the byte range of each piece in
/// the template text (for diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<(TemplatePiece, Range<usize>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePiece {
    Text(String),
    Group(usize),
    Named(String),
}

impl Template {
    pub fn pieces(&self) -> impl Iterator<Item = &TemplatePiece> {
        self.pieces.iter().map(|(piece, _)| piece)
    }

    /// Whether the template refers to no group (its text is then the destination name).
    pub fn is_literal(&self) -> bool {
        self.pieces
            .iter()
            .all(|(piece, _)| matches!(piece, TemplatePiece::Text(_)))
    }

    /// The destination name for one match of the source regex.
    pub fn expand(&self, captures: &Captures<'_, str>) -> String {
        let mut out = String::new();
        for (piece, _) in &self.pieces {
            match piece {
                TemplatePiece::Text(text) => out.push_str(text),
                TemplatePiece::Group(index) => {
                    if let Some(group) = captures.get(*index) {
                        out.push_str(group.as_str());
                    }
                }
                TemplatePiece::Named(name) => {
                    if let Some(group) = captures.name(name) {
                        out.push_str(group.as_str());
                    }
                }
            }
        }
        out
    }
}

/// Parses a template's escapes (see the module documentation).
pub fn parse_template(text: &str, span: impl Into<TextSpan>) -> Result<Template, Diagnostic> {
    let span: TextSpan = span.into();
    let mut pieces: Vec<(TemplatePiece, Range<usize>)> = Vec::new();
    let mut literal = String::new();
    let mut literal_start = 0;
    let bytes = text.as_bytes();
    let mut index = 0;
    let flush = |literal: &mut String, pieces: &mut Vec<_>, start: usize, end: usize| {
        if !literal.is_empty() {
            pieces.push((TemplatePiece::Text(std::mem::take(literal)), start..end));
        }
    };
    while index < text.len() {
        let character = text[index..].chars().next().unwrap_or('\0');
        if character != '\\' {
            if literal.is_empty() {
                literal_start = index;
            }
            literal.push(character);
            index += character.len_utf8();
            continue;
        }
        let escape_start = index;
        let Some(next) = text[index + 1..].chars().next() else {
            return Err(diagnostics::bad_template_escape(
                "a trailing `\\` escapes nothing",
                span.part(index..text.len()),
            ));
        };
        let mut push_char = |literal: &mut String, value: char| {
            if literal.is_empty() {
                literal_start = escape_start;
            }
            literal.push(value);
        };
        match next {
            'g' => {
                let (piece, end) = parse_group_escape(text, index, span)?;
                flush(&mut literal, &mut pieces, literal_start, index);
                pieces.push((piece, index..end));
                index = end;
            }
            '0' => {
                let digits = octal_run(bytes, index + 2, 2);
                let value = u32::from_str_radix(&text[index + 1..index + 2 + digits], 8)
                    .unwrap_or(0)
                    & 0xff;
                push_char(&mut literal, char::from_u32(value).unwrap_or('\0'));
                index += 2 + digits;
            }
            '1'..='9' => {
                let second = bytes.get(index + 2).filter(|b| b.is_ascii_digit());
                let third = bytes.get(index + 3).filter(|b| (b'0'..=b'7').contains(b));
                let first_octal = (b'0'..=b'7').contains(&(next as u8));
                let second_octal = second.is_some_and(|b| (b'0'..=b'7').contains(b));
                if first_octal && second_octal && third.is_some() {
                    let digits = &text[index + 1..index + 4];
                    let value = u32::from_str_radix(digits, 8).unwrap_or(0);
                    if value > 0o377 {
                        return Err(diagnostics::bad_template_escape(
                            "octal escape above \\377",
                            span.part(index..index + 4),
                        ));
                    }
                    push_char(&mut literal, char::from_u32(value).unwrap_or('\0'));
                    index += 4;
                } else {
                    let length = if second.is_some() { 2 } else { 1 };
                    let number: usize = text[index + 1..index + 1 + length].parse().unwrap_or(0);
                    flush(&mut literal, &mut pieces, literal_start, index);
                    pieces.push((TemplatePiece::Group(number), index..index + 1 + length));
                    index += 1 + length;
                }
            }
            '\\' | 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' => {
                let value = match next {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    _ => '\\',
                };
                push_char(&mut literal, value);
                index += 2;
            }
            letter if letter.is_ascii_alphabetic() => {
                return Err(diagnostics::bad_template_escape(
                    &format!("unknown escape `\\{letter}`"),
                    span.part(index..index + 2),
                ));
            }
            other => {
                // Python keeps unknown non-letter escapes verbatim, backslash included.
                push_char(&mut literal, '\\');
                literal.push(other);
                index += 1 + other.len_utf8();
            }
        }
    }
    flush(&mut literal, &mut pieces, literal_start, text.len());
    Ok(Template { pieces })
}

/// `\g<…>` starting at `start` (the backslash): the piece and the end of the escape.
fn parse_group_escape(
    text: &str,
    start: usize,
    span: TextSpan,
) -> Result<(TemplatePiece, usize), Diagnostic> {
    let after = start + 2;
    if !text[after..].starts_with('<') {
        return Err(diagnostics::bad_template_escape(
            "`\\g` must be followed by `<group>`",
            span.part(start..after),
        ));
    }
    let Some(close) = text[after..].find('>') else {
        return Err(diagnostics::bad_template_escape(
            "unterminated `\\g<`",
            span.part(start..text.len()),
        ));
    };
    let name = &text[after + 1..after + close];
    let end = after + close + 1;
    let piece = if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        match name.parse::<usize>() {
            Ok(number) => TemplatePiece::Group(number),
            Err(_) => {
                return Err(diagnostics::bad_template_escape(
                    "group number too large",
                    span.part(start..end),
                ))
            }
        }
    } else if is_group_name(name) {
        TemplatePiece::Named(name.to_string())
    } else {
        let problem = if name.is_empty() {
            "missing group name in `\\g<>`".to_string()
        } else {
            format!("bad group name `{name}`")
        };
        return Err(diagnostics::bad_template_escape(
            &problem,
            span.part(start..end),
        ));
    };
    Ok((piece, end))
}

fn is_group_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && characters.all(|c| c == '_' || c.is_alphanumeric())
}

/// The number (at most `limit`) of octal digits starting at `start`.
fn octal_run(bytes: &[u8], start: usize, limit: usize) -> usize {
    bytes
        .iter()
        .skip(start)
        .take(limit)
        .take_while(|b| (b'0'..=b'7').contains(*b))
        .count()
}

/// Parses `template` and checks that every group it references exists in `regex` (which must
/// itself be valid; an invalid source regex is reported where it is written, not here).
pub fn validate_template(
    template: &str,
    regex: &str,
    span: impl Into<TextSpan>,
) -> Result<(), Diagnostic> {
    let span: TextSpan = span.into();
    let parsed = parse_template(template, span)?;
    let Some((groups, names)) = group_info(regex) else {
        return Ok(());
    };
    for (piece, range) in &parsed.pieces {
        match piece {
            TemplatePiece::Group(number) if *number > groups => {
                return Err(diagnostics::missing_template_group(
                    &template[range.clone()],
                    groups,
                    span.part(range.clone()),
                ));
            }
            TemplatePiece::Named(name) if !names.iter().any(|n| n == name) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                return Err(diagnostics::missing_template_group_name(
                    name,
                    &names,
                    span.part(range.clone()),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Expands `template` once for one match. A template that does not parse (the front ends reject
/// those) is returned as written.
pub fn substitute(template: &str, captures: &Captures<'_, str>) -> String {
    let span = crate::diagnostics::Span::default();
    match parse_template(template, span) {
        Ok(parsed) => parsed.expand(captures),
        Err(_) => template.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{SourceId, Span};
    use crate::plan::reference::compile_full_match;

    fn span_of(text: &str) -> Span {
        Span::new(SourceId(0), 0, text.len())
    }

    fn expand(pattern: &str, template: &str, name: &str) -> String {
        let regex = compile_full_match(pattern).unwrap();
        let captures = regex.captures(name).unwrap().unwrap();
        substitute(template, &captures)
    }

    #[test]
    fn every_back_reference_form_substitutes() {
        assert_eq!(expand("^h(.*)", "i\\1", "h.0.attn"), "i.0.attn");
        assert_eq!(expand("h\\.(\\d+)\\.w", "x.\\g<1>.w", "h.7.w"), "x.7.w");
        assert_eq!(
            expand("h\\.(?P<layer>\\d+)\\.w", "\\g<layer>.\\g<0>", "h.7.w"),
            "7.h.7.w"
        );
        assert_eq!(expand("(a)|(b)", "[\\2]", "a"), "[]");
        let many = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)";
        assert_eq!(expand(many, "\\12-\\1", "abcdefghijkl"), "l-a");
    }

    #[test]
    fn substitution_happens_once_even_when_the_pattern_matches_empty() {
        // re.part(".*", "x", "abc") is "xx" in Python; we write the template once.
        assert_eq!(expand(".*", "x", "abc"), "x");
    }

    #[test]
    fn escapes_follow_python() {
        assert_eq!(expand("a", "\\\\", "a"), "\\");
        assert_eq!(expand("a", "a\\.b", "a"), "a\\.b");
        assert_eq!(expand("a", "\\t", "a"), "\t");
        assert_eq!(expand("a", "\\101", "a"), "A");
        assert_eq!(expand("a", "\\0", "a"), "\0");
        let template = parse_template("lit.\\.x", span_of("lit.\\.x")).unwrap();
        assert!(template.is_literal());
    }

    #[test]
    fn bad_escapes_are_reported_at_the_escape() {
        for (text, labelled) in [
            ("a\\q", "\\q"),
            ("a\\g<1", "\\g<1"),
            ("a\\g<>", "\\g<>"),
            ("a\\g<1x>", "\\g<1x>"),
            ("a\\gx", "\\g"),
            ("a\\", "\\"),
            ("\\477", "\\477"),
        ] {
            let error = parse_template(text, span_of(text)).unwrap_err();
            assert_eq!(error.code, "E0207", "{text}");
            assert_eq!(
                &text[error.primary_span().unwrap().range()],
                labelled,
                "{text}"
            );
        }
    }

    #[test]
    fn groups_must_exist_in_the_source_regex() {
        let text = "h.\\2.w";
        let error = validate_template(text, "h\\.(\\d+)\\.w", span_of(text)).unwrap_err();
        assert_eq!(error.code, "E0206");
        assert_eq!(&text[error.primary_span().unwrap().range()], "\\2");

        let text = "\\g<layr>";
        let error = validate_template(text, "(?P<layer>\\d+)", span_of(text)).unwrap_err();
        assert_eq!(error.help.as_deref(), Some("did you mean `layer`?"));

        assert!(validate_template("\\g<0>\\1", "(a)", span_of("\\g<0>\\1")).is_ok());
        assert!(validate_template("x", "(", span_of("x")).is_ok());
    }
}
