//! Deep merging of plan files and `key=value` overrides, as BrainSurgery (OmegaConf) does it.
//!
//! Receives node trees (one per plan file, one per override) and returns the merged tree. Rules:
//! mapping + mapping merges key by key, recursively; list + list merges **by index** (the patch
//! element wins unless it is null, elements merge recursively, the longer list's tail is kept), so
//! a second file's `transforms` overlays the first's rather than appending; anything else: the
//! later value wins.
//!
//! An override `transforms[0].dump.format=tree` is turned into the tree `{transforms: [{dump:
//! {format: tree}}]}` and merged like a file; an index past the end pads with nulls, which the
//! list merge reads as "keep the base element". The value is parsed as YAML (`1` is a number,
//! `[1, 2]` a list) and taken as the raw string when it does not parse. Every node of an override
//! keeps a span into the override's own source text (`<override N>`), so diagnostics about an
//! overridden value point at the command line argument.

use super::node::{parse_document, Entry, Node, Value};
use crate::diagnostics::{Diagnostic, SourceId, Span};
use crate::plan::diagnostics;

/// Largest list index an override may name; larger ones are typos, and padding to them would
/// allocate without bound.
const MAX_OVERRIDE_INDEX: usize = 100_000;

/// Merges `patch` into `base` (see the module documentation).
pub fn merge(base: Node, patch: Node) -> Node {
    match (base.value, patch.value) {
        (Value::Mapping(mut entries), Value::Mapping(patch_entries)) => {
            for entry in patch_entries {
                match entries.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => {
                        let old =
                            std::mem::replace(&mut existing.value, Node::null(entry.key_span));
                        existing.value = merge(old, entry.value);
                    }
                    None => entries.push(entry),
                }
            }
            Node {
                value: Value::Mapping(entries),
                span: base.span,
            }
        }
        (Value::Sequence(items), Value::Sequence(patch_items)) => {
            let mut base_items = items.into_iter();
            let mut patch_items = patch_items.into_iter();
            let mut merged = Vec::new();
            loop {
                let next = match (base_items.next(), patch_items.next()) {
                    (Some(old), Some(new)) if new.is_null() => old,
                    (Some(old), Some(new)) => merge(old, new),
                    (Some(old), None) => old,
                    (None, Some(new)) => new,
                    (None, None) => break,
                };
                merged.push(next);
            }
            Node {
                value: Value::Sequence(merged),
                span: base.span,
            }
        }
        (_, value) => Node {
            value,
            span: patch.span,
        },
    }
}

enum Segment {
    Key(String, Span),
    Index(usize, Span),
}

/// Parses one override (`dotted.path[0].key=value`) whose text is the source `source`.
pub fn parse_override(text: &str, source: SourceId) -> Result<Node, Diagnostic> {
    let span = |start: usize, end: usize| Span::new(source, start, end);
    let Some(equals) = text.find('=') else {
        return Err(diagnostics::override_without_equals(
            text,
            span(0, text.len()),
        ));
    };
    let segments = parse_path(&text[..equals], source)?;
    let value_text = &text[equals + 1..];
    let value_span = span(equals + 1, text.len());
    let mut node = match parse_document(value_text, source, equals + 1) {
        Ok(node) => node,
        Err(_) => Node::string(value_text, value_span),
    };
    for segment in segments.into_iter().rev() {
        node = match segment {
            Segment::Key(key, key_span) => Node {
                span: key_span.to(node.span),
                value: Value::Mapping(vec![Entry {
                    key,
                    key_span,
                    value: node,
                }]),
            },
            Segment::Index(index, index_span) => {
                let mut items = vec![Node::null(index_span); index];
                let node_span = node.span;
                items.push(node);
                Node {
                    value: Value::Sequence(items),
                    span: index_span.to(node_span),
                }
            }
        };
    }
    Ok(node)
}

/// `key(.key|[N])*`, with spans for every key and index.
fn parse_path(path: &str, source: SourceId) -> Result<Vec<Segment>, Diagnostic> {
    let span = |start: usize, end: usize| Span::new(source, start, end);
    if path.trim().is_empty() {
        return Err(diagnostics::bad_override_path(
            "empty path before `=`",
            span(0, path.len()),
        ));
    }
    let bytes = path.as_bytes();
    let mut segments = Vec::new();
    let mut position = 0;
    let mut expect_key = true;
    while position < path.len() {
        if bytes[position] == b'[' {
            if segments.is_empty() {
                return Err(diagnostics::bad_override_path(
                    "a path starts with a key",
                    span(0, position + 1),
                ));
            }
            let Some(close) = path[position..].find(']') else {
                return Err(diagnostics::bad_override_path(
                    "`[` without `]`",
                    span(position, path.len()),
                ));
            };
            let digits = &path[position + 1..position + close];
            let index_span = span(position, position + close + 1);
            let index = match digits.parse::<usize>() {
                Ok(index) if digits.bytes().all(|b| b.is_ascii_digit()) => index,
                _ => {
                    return Err(diagnostics::bad_override_path(
                        "a list index is a non-negative integer",
                        index_span,
                    ))
                }
            };
            if index > MAX_OVERRIDE_INDEX {
                return Err(diagnostics::bad_override_path(
                    "list index too large",
                    index_span,
                ));
            }
            segments.push(Segment::Index(index, index_span));
            position += close + 1;
            expect_key = false;
            continue;
        }
        if !expect_key {
            if bytes[position] != b'.' {
                return Err(diagnostics::bad_override_path(
                    "expected `.` or `[` after `]`",
                    span(position, position + 1),
                ));
            }
            position += 1;
        }
        let end = path[position..]
            .find(['.', '['])
            .map_or(path.len(), |offset| position + offset);
        if end == position {
            return Err(diagnostics::bad_override_path(
                "empty key",
                span(position.saturating_sub(1), position + 1),
            ));
        }
        segments.push(Segment::Key(
            path[position..end].to_string(),
            span(position, end),
        ));
        position = end;
        expect_key = false;
        if position < path.len() && bytes[position] == b'.' {
            position += 1;
            expect_key = true;
            if position == path.len() {
                return Err(diagnostics::bad_override_path(
                    "empty key",
                    span(position - 1, position),
                ));
            }
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_document(text, SourceId(0), 0).unwrap()
    }

    fn scalar(node: &Node) -> &str {
        match &node.value {
            Value::Scalar(scalar) => &scalar.text,
            _ => panic!("not a scalar: {node:?}"),
        }
    }

    fn items(node: &Node) -> &[Node] {
        match &node.value {
            Value::Sequence(items) => items,
            _ => panic!("not a list: {node:?}"),
        }
    }

    #[test]
    fn mappings_merge_recursively_and_scalars_take_the_later_value() {
        let merged = merge(
            parse("output: {path: a, shard: 1GB}\ninputs: [x]\n"),
            parse("output: {path: b}\n"),
        );
        let output = &merged.get("output").unwrap().value;
        assert_eq!(scalar(&output.get("path").unwrap().value), "b");
        assert_eq!(scalar(&output.get("shard").unwrap().value), "1GB");
        assert!(merged.get("inputs").is_some());
    }

    #[test]
    fn lists_merge_by_index_with_nulls_keeping_the_base() {
        let merged = merge(
            parse("t: [a, {dump: {format: tree}}, c]\n"),
            parse("t: [~, {dump: {verbosity: stat}}]\n"),
        );
        let list = items(&merged.get("t").unwrap().value);
        assert_eq!(list.len(), 3);
        assert_eq!(scalar(&list[0]), "a");
        let dump = &list[1].get("dump").unwrap().value;
        assert!(dump.get("format").is_some() && dump.get("verbosity").is_some());
        assert_eq!(scalar(&list[2]), "c");

        let longer = merge(parse("t: [a]\n"), parse("t: [b, c]\n"));
        let list = items(&longer.get("t").unwrap().value);
        assert_eq!((scalar(&list[0]), scalar(&list[1])), ("b", "c"));
    }

    #[test]
    fn overrides_build_trees_with_spans_into_their_text() {
        let text = "transforms[1].dump.format=tree";
        let node = parse_override(text, SourceId(7)).unwrap();
        let transforms = node.get("transforms").unwrap();
        assert_eq!(&text[transforms.key_span.range()], "transforms");
        let list = items(&transforms.value);
        assert!(list[0].is_null());
        let format = &list[1]
            .get("dump")
            .unwrap()
            .value
            .get("format")
            .unwrap()
            .value;
        assert_eq!(scalar(format), "tree");
        assert_eq!(&text[format.span.range()], "tree");
        assert_eq!(format.span.source, SourceId(7));
    }

    #[test]
    fn override_values_are_yaml_with_a_raw_string_fallback() {
        let node = parse_override("output.shard=[1, 2]", SourceId(0)).unwrap();
        let shard = &node
            .get("output")
            .unwrap()
            .value
            .get("shard")
            .unwrap()
            .value;
        assert_eq!(items(shard).len(), 2);
        let node = parse_override("output.path=a: b: c", SourceId(0)).unwrap();
        let path = &node.get("output").unwrap().value.get("path").unwrap().value;
        assert_eq!(scalar(path), "a: b: c");
    }

    #[test]
    fn bad_override_paths_are_reported_at_the_problem() {
        for (text, labelled) in [
            ("output.path", "output.path"),
            ("=x", ""),
            ("a..b=1", ".."),
            ("a.=1", "."),
            ("[0]=1", "["),
            ("a[x]=1", "[x]"),
            ("a[0=1", "[0"),
            ("a[0]b=1", "b"),
            ("a[1000000]=1", "[1000000]"),
        ] {
            let error = parse_override(text, SourceId(0)).unwrap_err();
            assert!(error.code == "E0116" || error.code == "E0117", "{text}");
            assert_eq!(
                &text[error.primary_span().unwrap().range()],
                labelled,
                "{text}"
            );
        }
    }
}
