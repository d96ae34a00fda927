//! BrainSurgery's one-line step syntax (OLY/1): `op`, `op: k: v, k2: v2`, `op: {inline map}`.
//!
//! Receives one line of text (with the source it belongs to and its byte offset there) and
//! returns the step as a spanned YAML [`Node`] — the same tree the YAML front end builds — so that
//! the YAML lowering checks it and every diagnostic points into the line. Rules, after the
//! reference (§6.3):
//! - identifiers (op names and keys) are `[A-Za-z_][A-Za-z0-9_-]*`;
//! - a value is a scalar (bare, `'single'` without escapes, or `"double"` with backslash
//!   escapes), a `[list]`, a `{map}`, or itself `k: v, …` (a nested map, which takes every entry
//!   up to the end of its enclosing bracket or line: `help: assert: equal`,
//!   `assert: shape: of: x, is: [2]`);
//! - bare scalars cannot hold whitespace or `, : [ ] { } #`, so references with `::` or slices are
//!   quoted; there are no comments; a key written twice in one map is an error.
//!
//! **Guarantees.** Never panics; the first error is returned with the span where it was found.

use super::diagnostics;
use crate::diagnostics::{Diagnostic, SourceId, Span};
use crate::plan::reference::TextSpan;
use crate::plan::yaml::node::{Entry, Node, Scalar, Value};

/// Parses one OLY line into the node of a step: a scalar (`op`) or a one-key mapping.
pub fn parse_oly(text: &str, source: SourceId, offset: usize) -> Result<Node, Diagnostic> {
    let mut parser = Parser {
        text,
        position: 0,
        source,
        offset,
    };
    parser.skip_spaces();
    let start = parser.position;
    let (op, op_span) = parser.identifier("an op name")?;
    parser.skip_spaces();
    if parser.at_end() {
        return Ok(Node {
            value: Value::Scalar(Scalar {
                text: op,
                quoted: false,
                text_span: TextSpan::exact(op_span),
            }),
            span: op_span,
        });
    }
    parser.expect(':')?;
    parser.skip_spaces();
    let payload = if parser.at_end() {
        Node::null(parser.span(parser.position, parser.position))
    } else {
        parser.payload(None)?
    };
    parser.skip_spaces();
    if !parser.at_end() {
        return Err(parser.unexpected("the end of the line"));
    }
    let span = parser.span(start, text.len());
    Ok(Node {
        value: Value::Mapping(vec![Entry {
            key: op,
            key_span: op_span,
            value: payload,
        }]),
        span,
    })
}

struct Parser<'t> {
    text: &'t str,
    position: usize,
    source: SourceId,
    offset: usize,
}

/// Characters that end a bare scalar.
fn ends_bare(character: char) -> bool {
    character.is_whitespace() || ",:[]{}#".contains(character)
}

impl Parser<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, self.offset + start, self.offset + end)
    }

    fn peek(&self) -> Option<char> {
        self.text[self.position..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> Diagnostic {
        let found = self.peek();
        let end = self.position + found.map_or(0, char::len_utf8);
        diagnostics::oly_unexpected(expected, found, self.span(self.position, end))
    }

    fn expect(&mut self, character: char) -> Result<(), Diagnostic> {
        if self.peek() == Some(character) {
            self.position += character.len_utf8();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{character}`")))
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_-]*`.
    fn identifier(&mut self, what: &str) -> Result<(String, Span), Diagnostic> {
        let start = self.position;
        let rest = &self.text[start..];
        let first_ok = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok {
            return Err(self.unexpected(what));
        }
        let length = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        self.position += length;
        Ok((rest[..length].to_string(), self.span(start, start + length)))
    }

    /// Whether an identifier followed by `:` (and not `::`) starts here: a nested map.
    fn at_key(&self) -> bool {
        let rest = &self.text[self.position..];
        let mut characters = rest.char_indices();
        match characters.next() {
            Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return false,
        }
        let length = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let after = rest[length..].trim_start_matches([' ', '\t']);
        after.starts_with(':') && !after.starts_with("::")
    }

    /// The value after `op:` or `key:`: a nested `k: v, …` map or a single value. `closing` is
    /// the bracket that ends the enclosing collection, if any.
    fn payload(&mut self, closing: Option<char>) -> Result<Node, Diagnostic> {
        if self.at_key() {
            self.entries(closing)
        } else {
            self.value()
        }
    }

    /// `k: v, k2: v2` up to `closing` (or the end of the line), as a mapping.
    fn entries(&mut self, closing: Option<char>) -> Result<Node, Diagnostic> {
        let start = self.position;
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            self.skip_spaces();
            let (key, key_span) = self.identifier("a key")?;
            if let Some(first) = entries.iter().find(|entry| entry.key == key) {
                return Err(diagnostics::oly_duplicate_key(
                    &key,
                    key_span,
                    first.key_span,
                ));
            }
            self.skip_spaces();
            self.expect(':')?;
            self.skip_spaces();
            let value = if self.at_end() || self.peek() == closing || self.peek() == Some(',') {
                Node::null(self.span(self.position, self.position))
            } else {
                self.payload(closing)?
            };
            entries.push(Entry {
                key,
                key_span,
                value,
            });
            self.skip_spaces();
            if self.peek() == Some(',') {
                self.position += 1;
                continue;
            }
            break;
        }
        Ok(Node {
            value: Value::Mapping(entries),
            span: self.span(start, self.position),
        })
    }

    fn value(&mut self) -> Result<Node, Diagnostic> {
        match self.peek() {
            Some('[') => self.list(),
            Some('{') => self.map(),
            Some('"') => self.double_quoted(),
            Some('\'') => self.single_quoted(),
            Some(c) if !ends_bare(c) => self.bare(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn list(&mut self) -> Result<Node, Diagnostic> {
        let start = self.position;
        self.position += 1;
        let mut items = Vec::new();
        self.skip_spaces();
        if self.peek() != Some(']') {
            loop {
                self.skip_spaces();
                items.push(self.payload(Some(']'))?);
                self.skip_spaces();
                match self.peek() {
                    Some(',') => self.position += 1,
                    Some(']') => break,
                    None => return Err(self.unclosed('[', start)),
                    _ => return Err(self.unexpected("`,` or `]`")),
                }
            }
        }
        self.position += 1;
        Ok(Node {
            value: Value::Sequence(items),
            span: self.span(start, self.position),
        })
    }

    fn map(&mut self) -> Result<Node, Diagnostic> {
        let start = self.position;
        self.position += 1;
        self.skip_spaces();
        let entries = if self.peek() == Some('}') {
            Vec::new()
        } else {
            match self.entries(Some('}'))?.value {
                Value::Mapping(entries) => entries,
                _ => Vec::new(),
            }
        };
        self.skip_spaces();
        match self.peek() {
            Some('}') => self.position += 1,
            None => return Err(self.unclosed('{', start)),
            _ => return Err(self.unexpected("`,` or `}`")),
        }
        Ok(Node {
            value: Value::Mapping(entries),
            span: self.span(start, self.position),
        })
    }

    fn unclosed(&self, bracket: char, start: usize) -> Diagnostic {
        diagnostics::oly_unclosed(bracket, self.span(start, start + 1))
    }

    fn bare(&mut self) -> Result<Node, Diagnostic> {
        let start = self.position;
        let rest = &self.text[start..];
        let length = rest.find(ends_bare).unwrap_or(rest.len());
        self.position += length;
        let text = &rest[..length];
        if rest[length..].starts_with("::") {
            let end = rest[length..]
                .find(char::is_whitespace)
                .map_or(self.text.len(), |i| start + length + i);
            return Err(diagnostics::oly_colon_in_bare_value(
                &self.text[start..end],
                self.span(start, end),
            ));
        }
        let span = self.span(start, self.position);
        if matches!(text, "~" | "null" | "Null" | "NULL") {
            return Ok(Node::null(span));
        }
        Ok(Node {
            value: Value::Scalar(Scalar {
                text: text.to_string(),
                quoted: false,
                text_span: TextSpan::exact(span),
            }),
            span,
        })
    }

    /// `'text'`: no escapes, so the text is exactly the source between the quotes.
    fn single_quoted(&mut self) -> Result<Node, Diagnostic> {
        let start = self.position;
        let body_start = start + 1;
        let Some(length) = self.text[body_start..].find('\'') else {
            return Err(diagnostics::oly_unclosed_quote(self.span(start, start + 1)));
        };
        self.position = body_start + length + 1;
        Ok(quoted_node(
            &self.text[body_start..body_start + length],
            TextSpan::exact(self.span(body_start, body_start + length)),
            self.span(start, self.position),
        ))
    }

    /// `"text"` with the escapes `\\ \" \n \t \r \0`.
    fn double_quoted(&mut self) -> Result<Node, Diagnostic> {
        let start = self.position;
        let mut text = String::new();
        let mut escaped = false;
        let mut characters = self.text[start + 1..].char_indices();
        loop {
            let Some((index, character)) = characters.next() else {
                return Err(diagnostics::oly_unclosed_quote(self.span(start, start + 1)));
            };
            let at = start + 1 + index;
            match character {
                '"' => {
                    self.position = at + 1;
                    break;
                }
                '\\' => {
                    escaped = true;
                    let Some((_, next)) = characters.next() else {
                        return Err(diagnostics::oly_unclosed_quote(self.span(start, start + 1)));
                    };
                    text.push(match next {
                        '\\' => '\\',
                        '"' => '"',
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        other => {
                            let end = at + 1 + other.len_utf8();
                            return Err(diagnostics::oly_bad_escape(other, self.span(at, end)));
                        }
                    });
                }
                other => text.push(other),
            }
        }
        let body = self.span(start + 1, self.position - 1);
        let text_span = if escaped {
            TextSpan::approximate(body)
        } else {
            TextSpan::exact(body)
        };
        Ok(quoted_node(
            &text,
            text_span,
            self.span(start, self.position),
        ))
    }
}

fn quoted_node(text: &str, text_span: TextSpan, span: Span) -> Node {
    Node {
        value: Value::Scalar(Scalar {
            text: text.to_string(),
            quoted: true,
            text_span,
        }),
        span,
    }
}

/// A node as OLY text (the inverse of [`parse_oly`] for the nodes it builds), used to check that
/// OLY → node → OLY is stable.
pub fn print_oly(node: &Node) -> String {
    match &node.value {
        Value::Scalar(scalar) => scalar.text.clone(),
        Value::Mapping(entries) => match entries.as_slice() {
            [entry] => match &entry.value.value {
                Value::Null => entry.key.clone(),
                _ => format!("{}: {}", entry.key, print_value(&entry.value)),
            },
            _ => print_value(node),
        },
        _ => print_value(node),
    }
}

fn print_value(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_string(),
        Value::Scalar(scalar) if !scalar.quoted => scalar.text.clone(),
        Value::Scalar(scalar) => quote(&scalar.text),
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(print_value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Mapping(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|entry| format!("{}: {}", entry.key, print_value(&entry.value)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Diagnostic> {
        parse_oly(text, SourceId(0), 0)
    }

    /// The node as compact text: keys, scalars (quoted ones in quotes), lists and maps.
    fn shape(node: &Node) -> String {
        match &node.value {
            Value::Null => "~".into(),
            Value::Scalar(s) if s.quoted => format!("'{}'", s.text),
            Value::Scalar(s) => s.text.clone(),
            Value::Sequence(items) => {
                format!(
                    "[{}]",
                    items.iter().map(shape).collect::<Vec<_>>().join(",")
                )
            }
            Value::Mapping(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|e| format!("{}:{}", e.key, shape(&e.value)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    #[test]
    fn accepts_the_reference_forms() {
        let cases = [
            ("exit", "exit"),
            ("help", "help"),
            ("copy: from: a, to: b", "{copy:{from:a,to:b}}"),
            ("copy: {from: a, to: b}", "{copy:{from:a,to:b}}"),
            ("help: copy", "{help:copy}"),
            ("help: assert: equal", "{help:{assert:equal}}"),
            (
                "assert: exists: 'model::ln_f.weight'",
                "{assert:{exists:'model::ln_f.weight'}}",
            ),
            (
                "assert: shape: of: x, is: [2, 3]",
                "{assert:{shape:{of:x,is:[2,3]}}}",
            ),
            (
                "concat: from: [a, b], to: c, dim: -1",
                "{concat:{from:[a,b],to:c,dim:-1}}",
            ),
            ("set: dry-run: true", "{set:{dry-run:true}}"),
            (
                r#"scale_: target: "w::[:, :2]", by: 0.5"#,
                "{scale_:{target:'w::[:, :2]',by:0.5}}",
            ),
            (
                r"move: from: h\.(\d+)\.x, to: 'y\1'",
                r"{move:{from:h\.(\d+)\.x,to:'y\1'}}",
            ),
            ("dump:", "{dump:~}"),
            (
                "dump: target: x, format: tree",
                "{dump:{target:x,format:tree}}",
            ),
            (
                "fill: {mode: tensor, values: [[1, 2], [3]]}",
                "{fill:{mode:tensor,values:[[1,2],[3]]}}",
            ),
            ("copy: {}", "{copy:{}}"),
        ];
        for (text, expected) in cases {
            let node = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(shape(&node), expected, "{text}");
        }
    }

    #[test]
    fn rejects_malformed_lines_with_a_code_and_a_span() {
        let cases = [
            ("copy: from: a, from: b", "E0701", 15),
            ("copy: {from: a, to: b", "E0702", 6),
            ("copy: from: 'a", "E0703", 12),
            ("assert: exists: model::x", "E0704", 16),
            (r#"copy: from: "a\q""#, "E0705", 14),
            ("copy: from: a to: b", "E0700", 14),
            ("1copy: from: a", "E0700", 0),
            ("copy: from: [a, b", "E0702", 12),
            ("copy: ,", "E0700", 6),
            ("copy: from: a # comment", "E0700", 14),
        ];
        for (text, code, start) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(error.code, code, "{text}: {}", error.message);
            assert_eq!(
                error.primary_span().map(|s| s.start),
                Some(start),
                "{text}: {}",
                error.message
            );
        }
    }

    #[test]
    fn spans_point_into_the_source_at_its_offset() {
        let node = parse_oly("copy: from: a, to: b", SourceId(3), 100).unwrap();
        let Value::Mapping(entries) = &node.value else {
            panic!("not a mapping")
        };
        assert_eq!(entries[0].key_span, Span::new(SourceId(3), 100, 104));
        let payload = entries[0].value.get("to").unwrap();
        assert_eq!(payload.value.span, Span::new(SourceId(3), 119, 120));
    }

    #[test]
    fn escaped_double_quoted_text_is_unescaped_and_approximate() {
        let node = parse(r#"load: "a\"b\\c""#).unwrap();
        let Value::Mapping(entries) = &node.value else {
            panic!("not a mapping")
        };
        let Value::Scalar(scalar) = &entries[0].value.value else {
            panic!("not a scalar")
        };
        assert_eq!(scalar.text, "a\"b\\c");
        assert!(!scalar.text_span.is_exact());
    }

    #[test]
    fn printing_and_parsing_again_is_stable() {
        let lines = [
            "copy: from: a, to: b",
            "help: assert: equal",
            r#"scale_: target: "w::[:, :2]", by: 0.5"#,
            "fill: {mode: tensor, values: [[1, 2], [3]]}",
            "exit",
        ];
        for line in lines {
            let once = print_oly(&parse(line).unwrap());
            let twice = print_oly(&parse(&once).unwrap());
            assert_eq!(once, twice, "{line}");
            assert_eq!(shape(&parse(&once).unwrap()), shape(&parse(line).unwrap()));
        }
    }
}
