//! A spanned YAML node tree, built from the event parser that `serde-saphyr` itself uses.
//!
//! Receives one YAML text (a plan file, an override value, a nested `plan-yaml` string) with the
//! [`SourceId`] it belongs to and the byte offset of the text inside that source; returns a
//! [`Node`] whose every key and value carries its byte span, or a diagnostic with line:column.
//!
//! **Why events and not `serde_saphyr::Spanned`.** serde's data model hands a generic value over
//! typed: a scalar's source text and quoting style are gone by then (`1.50` arrives as 1.5,
//! `'true'` and `true` look alike, `0x10` as 16). Plans need both: a reference or path must be read
//! as written, and `fmt` prints numbers back as written. `serde_saphyr::granit_parser` (the
//! saphyr-parser fork serde-saphyr 2.2 is built on, re-exported by it) gives every event with exact
//! byte offsets, so the tree is built here from events.
//!
//! **Guarantees.** Duplicate keys are errors (as in OmegaConf); anchors and aliases are resolved
//! (an alias node is a copy of its anchor's node, spans included) with a bound on the expanded
//! size, so "billion laughs" documents are refused instead of exhausting memory; `<<` merge keys
//! are applied; a stream with several documents is refused; comments are not part of the tree
//! ([`comments`] lists them for `fmt`). Never panics:
//! nesting depth is bounded by the parser (255 levels).

use crate::diagnostics::{Diagnostic, SourceId, Span};
use crate::plan::comments::SourceComment;
use crate::plan::diagnostics;
use crate::plan::reference::TextSpan;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as EventSpan};
use std::collections::HashMap;

/// Most nodes an alias-expanded document may have; far above any real plan.
const NODE_BUDGET: usize = 2_000_000;

#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<Entry>),
}

/// A scalar as written: its text after YAML escape processing, and how that text maps back to
/// the source.
#[derive(Debug, Clone)]
pub struct Scalar {
    pub text: String,
    /// Whether the scalar was quoted (or a block scalar): quoted text is never null, a number
    /// or a boolean in YAML's eyes.
    pub quoted: bool,
    pub text_span: TextSpan,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    pub fn null(span: Span) -> Node {
        Node {
            value: Value::Null,
            span,
        }
    }

    /// A string scalar whose text is exactly the source at `span`.
    pub fn string(text: impl Into<String>, span: Span) -> Node {
        Node {
            value: Value::Scalar(Scalar {
                text: text.into(),
                quoted: true,
                text_span: TextSpan::exact(span),
            }),
            span,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// How the node reads in an error message: "a mapping", "the string `abc`", ….
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "nothing (null)".to_string(),
            Value::Scalar(scalar) => format!("`{}`", scalar.text),
            Value::Sequence(_) => "a list".to_string(),
            Value::Mapping(_) => "a mapping".to_string(),
        }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|entry| entry.key == key)
    }
}

/// Parses one YAML document. `offset` is where `text` starts inside the source `source` (non-zero
/// for override values), so spans point into the source's full text.
pub fn parse_document(
    text: &str,
    source: SourceId,
    offset: usize,
) -> Result<Node, Vec<Diagnostic>> {
    let mut builder = Builder {
        source,
        offset,
        text,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        errors: Vec::new(),
        root: None,
        documents: 0,
    };
    for event in Parser::new_from_str(text) {
        match event {
            Ok((event, span)) => {
                if let Err(error) = builder.event(event, span) {
                    return Err(vec![error]);
                }
            }
            Err(error) => {
                let marker = error.marker();
                let at = marker.byte_offset().unwrap_or(text.len()).min(text.len());
                let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                let span = Span::new(source, offset + at, offset + end);
                return Err(vec![diagnostics::yaml_syntax(
                    &error.kind().to_string(),
                    span,
                )]);
            }
        }
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    Ok(builder
        .root
        .unwrap_or_else(|| Node::null(Span::new(source, offset, offset))))
}

/// The comments of one YAML text, in source order: where each `#` is and the text after it. The
/// parser decides what a comment is, so a `#` inside a quoted or block scalar is none. A text that
/// does not parse gives the comments found before the error.
pub fn comments(text: &str) -> Vec<SourceComment> {
    let mut found = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        if let Event::Comment(comment, _) = event {
            let offset = span.start.byte_offset().unwrap_or(0).min(text.len());
            found.push(SourceComment {
                offset,
                text: comment.to_string(),
            });
        }
    }
    // The parser reports a block scalar's header comment after the scalar.
    found.sort_by_key(|comment| comment.offset);
    found
}

enum Frame {
    Sequence {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Mapping {
        entries: Vec<Entry>,
        pending_key: Option<(String, Span)>,
        start: usize,
        anchor: usize,
        merges: Vec<Node>,
    },
}

struct Builder<'t> {
    source: SourceId,
    offset: usize,
    text: &'t str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    errors: Vec<Diagnostic>,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(
            self.source,
            self.offset + start,
            self.offset + end.max(start),
        )
    }

    fn byte_range(&self, span: &EventSpan) -> (usize, usize) {
        let start = span.start.byte_offset().unwrap_or(0).min(self.text.len());
        let end = span
            .end
            .byte_offset()
            .unwrap_or(start)
            .clamp(start, self.text.len());
        (start, end)
    }

    fn event(&mut self, event: Event<'_>, span: EventSpan) -> Result<(), Diagnostic> {
        let (start, end) = self.byte_range(&span);
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(diagnostics::unsupported_yaml(
                        "several documents in one file",
                        self.span(start, end.max(start + 3)),
                        "a plan is one YAML document; split the file or remove the `---`",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.core_suffix() == Some("str"));
                let node = self.scalar(&text, style, forced_string, start, end);
                self.finish(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Sequence {
                items: Vec::new(),
                start,
                anchor,
            }),
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Mapping {
                entries: Vec::new(),
                pending_key: None,
                start,
                anchor,
                merges: Vec::new(),
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Sequence {
                    items,
                    start,
                    anchor,
                }) = self.stack.pop()
                {
                    // Block collections end where their last item ends; flow ones at the bracket.
                    let last = items
                        .last()
                        .map_or(end, |n| n.span.end as usize - self.offset);
                    let close = if self.text[start..].starts_with('[') {
                        end
                    } else {
                        last
                    };
                    let node = Node {
                        value: Value::Sequence(items),
                        span: self.span(start, close),
                    };
                    self.finish(node, anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Mapping {
                    entries,
                    start,
                    anchor,
                    merges,
                    ..
                }) = self.stack.pop()
                {
                    let last = entries
                        .last()
                        .map_or(end, |e| e.value.span.end as usize - self.offset);
                    let close = if self.text[start..].starts_with('{') {
                        end
                    } else {
                        last
                    };
                    let entries = apply_merges(entries, merges);
                    let node = Node {
                        value: Value::Mapping(entries),
                        span: self.span(start, close),
                    };
                    self.finish(node, anchor)?;
                }
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(diagnostics::unsupported_yaml(
                        "an alias to an unknown anchor",
                        self.span(start, end),
                        "define the anchor (`&name`) before its alias (`*name`)",
                    ));
                };
                self.nodes += count_nodes(&node);
                if self.nodes > NODE_BUDGET {
                    return Err(diagnostics::unsupported_yaml(
                        "aliases expand to too large a document",
                        self.span(start, end),
                        "write the plan without deeply nested aliases",
                    ));
                }
                self.finish(node, 0)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        forced_string: bool,
        start: usize,
        end: usize,
    ) -> Node {
        let span = self.span(start, end);
        let quoted = forced_string || !matches!(style, ScalarStyle::Plain);
        if !quoted && matches!(text, "" | "~" | "null" | "Null" | "NULL") {
            return Node::null(span);
        }
        // The text maps to the source exactly when the source between the quotes is the text.
        let (content_start, content_end) = match style {
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if end >= start + 2 => {
                (start + 1, end - 1)
            }
            _ => (start, end),
        };
        let exact = self.text.get(content_start..content_end) == Some(text);
        let content = self.span(content_start, content_end);
        Node {
            value: Value::Scalar(Scalar {
                text: text.to_string(),
                quoted,
                text_span: if exact {
                    TextSpan::exact(content)
                } else {
                    TextSpan::approximate(span)
                },
            }),
            span,
        }
    }

    /// Places a finished node into its parent (or as the document root).
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                entries,
                pending_key,
                merges,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match &node.value {
                        Value::Scalar(scalar) => scalar.text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(diagnostics::unsupported_yaml(
                                "a mapping key that is not a scalar",
                                node.span,
                                "keys in a plan are plain names",
                            ))
                        }
                    };
                    *pending_key = Some((key, node.span));
                }
                Some((key, key_span)) => {
                    if key == "<<" {
                        merges.push(node);
                    } else if let Some(first) = entries.iter().find(|e| e.key == key) {
                        self.errors.push(diagnostics::duplicate_key(
                            &key,
                            key_span,
                            first.key_span,
                        ));
                    } else {
                        entries.push(Entry {
                            key,
                            key_span,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }
}

/// `<<: *base` (or a list of them): keys of the merged mappings that the mapping does not write
/// itself, as YAML's merge-key convention (and PyYAML, which OmegaConf uses) defines.
fn apply_merges(mut entries: Vec<Entry>, merges: Vec<Node>) -> Vec<Entry> {
    for merge in merges {
        let sources: Vec<Node> = match merge.value {
            Value::Sequence(items) => items,
            _ => vec![merge],
        };
        for source in sources {
            if let Value::Mapping(inherited) = source.value {
                for entry in inherited {
                    if !entries.iter().any(|e| e.key == entry.key) {
                        entries.push(entry);
                    }
                }
            }
        }
    }
    entries
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Sequence(items) => items.iter().map(count_nodes).sum(),
        Value::Mapping(entries) => entries.iter().map(|e| 1 + count_nodes(&e.value)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_document(text, SourceId(0), 0).unwrap()
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    #[test]
    fn keys_and_values_carry_byte_spans() {
        let text = "transforms:\n  - copy: {from: 'a(b', to: \"x\\ty\"}\n  - exit\n";
        let root = parse(text);
        let transforms = root.get("transforms").unwrap();
        assert_eq!(slice(text, transforms.key_span), "transforms");
        let Value::Sequence(steps) = &transforms.value.value else {
            panic!("not a list")
        };
        let copy = steps[0].get("copy").unwrap();
        assert_eq!(slice(text, copy.key_span), "copy");
        assert_eq!(slice(text, copy.value.span), "{from: 'a(b', to: \"x\\ty\"}");
        let from = &copy.value.get("from").unwrap().value;
        assert_eq!(slice(text, from.span), "'a(b'");
        let Value::Scalar(scalar) = &from.value else {
            panic!("not a scalar")
        };
        assert_eq!(slice(text, scalar.text_span.whole()), "a(b");
        assert_eq!(slice(text, scalar.text_span.part(1..2)), "(");
        // Escapes make the text differ from the source: sub-spans fall back to the whole scalar.
        let Value::Scalar(to) = &copy.value.get("to").unwrap().value.value else {
            panic!("not a scalar")
        };
        assert_eq!(to.text, "x\ty");
        assert_eq!(slice(text, to.text_span.part(1..2)), "\"x\\ty\"");
        assert_eq!(slice(text, steps[1].span), "exit");
        assert_eq!(
            slice(text, steps[0].span),
            "copy: {from: 'a(b', to: \"x\\ty\"}"
        );
    }

    #[test]
    fn nulls_are_plain_only() {
        let root = parse("a:\nb: ~\nc: null\nd: 'null'\ne: ''\n");
        for key in ["a", "b", "c"] {
            assert!(root.get(key).unwrap().value.is_null(), "{key}");
        }
        for key in ["d", "e"] {
            assert!(!root.get(key).unwrap().value.is_null(), "{key}");
        }
        assert!(parse("").is_null());
        assert!(parse("# only a comment\n").is_null());
    }

    #[test]
    fn anchors_aliases_and_merge_keys_resolve() {
        let root = parse("base: &b {x: 1, y: 2}\ncopy: *b\nmerged:\n  <<: *b\n  y: 3\n");
        assert_eq!(root.get("copy").unwrap().value.entries().unwrap().len(), 2);
        let merged = &root.get("merged").unwrap().value;
        let Value::Scalar(y) = &merged.get("y").unwrap().value.value else {
            panic!("not a scalar")
        };
        assert_eq!(y.text, "3");
        assert!(merged.get("x").is_some());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let text = "transforms:\n  - copy:\n      from: a\n     to: b\n";
        let errors = parse_document(text, SourceId(0), 0).unwrap_err();
        assert_eq!(errors[0].code, "E0100");
        let span = errors[0].primary_span().unwrap();
        assert_eq!(crate::diagnostics::line_col(text, span.start as usize).0, 4);
    }

    #[test]
    fn duplicate_keys_and_several_documents_are_refused() {
        let errors = parse_document("a: 1\nb: 2\na: 3\n", SourceId(0), 0).unwrap_err();
        assert_eq!(errors[0].code, "E0115");
        assert_eq!(errors[0].labels[0].span.range(), 10..11);
        let errors = parse_document("a: 1\n---\nb: 2\n", SourceId(0), 0).unwrap_err();
        assert_eq!(errors[0].code, "E0122");
    }

    #[test]
    fn exponential_aliases_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, \
                 *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let errors = parse_document(&text, SourceId(0), 0).unwrap_err();
        assert_eq!(errors[0].code, "E0122");
    }

    #[test]
    fn offsets_shift_spans_into_the_enclosing_source() {
        let node = parse_document("[1, 2]", SourceId(3), 10).unwrap();
        assert_eq!(node.span, Span::new(SourceId(3), 10, 16));
    }
}
