//! Slices: `[c1, c2, …]` with Python basic indexing per component.
//!
//! Receives the bracketed text and its span; returns an [`ast::Slice`](crate::plan::ast::Slice)
//! or a diagnostic labelled on the offending component (or the offending bound of it). Accepted
//! per component: an integer (selects one index, drops the dimension), `:`, `a:b`, `a:b:c`, any
//! bound omitted, negative bounds. Steps must be positive, as in PyTorch. `[]` is the whole
//! tensor. Not accepted: `...`, `None`/newaxis, lists and masks.

use super::TextSpan;
use crate::diagnostics::Diagnostic;
use crate::plan::ast::{Slice, SliceComponent};
use crate::plan::diagnostics;

/// Parses `[c1, c2, …]`; see the module documentation for the accepted forms.
pub fn parse_slice(text: &str, span: impl Into<TextSpan>) -> Result<Slice, Diagnostic> {
    let span: TextSpan = span.into();
    let leading = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if !(trimmed.starts_with('[') && trimmed.ends_with(']')) || trimmed.len() < 2 {
        return Err(diagnostics::slice_not_bracketed(text, span.whole()));
    }
    let inner_start = leading + 1;
    let inner = &trimmed[1..trimmed.len() - 1];
    if inner.trim().is_empty() {
        return Ok(Slice::default());
    }
    let mut components = Vec::new();
    let pieces = split_with_offsets(inner, ',');
    let count = pieces.len();
    for (index, (offset, piece)) in pieces.into_iter().enumerate() {
        let absolute = inner_start + offset;
        // Python accepts one trailing comma (`x[1,]`), so an empty last piece after a comma is fine.
        if piece.trim().is_empty() && index == count - 1 && index > 0 {
            continue;
        }
        components.push(parse_component(
            piece,
            span.narrow(absolute..absolute + piece.len()),
        )?);
    }
    Ok(Slice(components))
}

fn parse_component(text: &str, span: TextSpan) -> Result<SliceComponent, Diagnostic> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(diagnostics::bad_slice_component(
            "empty component",
            span.whole(),
        ));
    }
    if trimmed == "..." {
        return Err(diagnostics::bad_slice_component(
            "`...` (ellipsis) is not supported",
            trimmed_span(text, span),
        ));
    }
    if !trimmed.contains(':') {
        let value = parse_bound(text, span)?.unwrap_or_default();
        return Ok(SliceComponent::Index(value));
    }
    let parts = split_with_offsets(text, ':');
    if parts.len() > 3 {
        let (offset, _) = parts[3];
        return Err(diagnostics::bad_slice_component(
            "a component has at most two `:`",
            span.part(offset.saturating_sub(1)..text.len()),
        ));
    }
    let bound = |index: usize| -> Result<Option<i64>, Diagnostic> {
        match parts.get(index) {
            None => Ok(None),
            Some((offset, part)) => parse_bound(part, span.narrow(*offset..*offset + part.len())),
        }
    };
    let start = bound(0)?;
    let stop = bound(1)?;
    let step = bound(2)?;
    if let Some(step_value) = step.filter(|&s| s <= 0) {
        let (offset, part) = parts[2];
        return Err(diagnostics::slice_step_not_positive(
            step_value,
            trimmed_span(part, span.narrow(offset..offset + part.len())),
        ));
    }
    Ok(SliceComponent::Range { start, stop, step })
}

/// An optional integer bound; empty means omitted.
fn parse_bound(text: &str, span: TextSpan) -> Result<Option<i64>, Diagnostic> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let well_formed = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let problem = match trimmed {
        "None" => "`None` (newaxis) is not supported".to_string(),
        "..." => "`...` (ellipsis) is not supported".to_string(),
        _ if trimmed.starts_with('[') => "lists and masks are not supported".to_string(),
        _ if well_formed => match trimmed.parse::<i64>() {
            Ok(value) => return Ok(Some(value)),
            Err(_) => format!("`{trimmed}` does not fit in 64 bits"),
        },
        _ => format!("`{trimmed}` is not an integer"),
    };
    Err(diagnostics::bad_slice_component(
        &problem,
        trimmed_span(text, span),
    ))
}

/// The span of `text` without its surrounding whitespace.
fn trimmed_span(text: &str, span: TextSpan) -> crate::diagnostics::Span {
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    span.part(start..end.max(start))
}

/// Splits on `separator`, keeping each piece's byte offset.
fn split_with_offsets(text: &str, separator: char) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (index, character) in text.char_indices() {
        if character == separator {
            pieces.push((start, &text[start..index]));
            start = index + character.len_utf8();
        }
    }
    pieces.push((start, &text[start..]));
    pieces
}

/// The text of a slice in Python's notation, `[c1, c2, …]`: what [`parse_slice`] reads back to
/// the same slice. Both front ends print slices with it.
pub fn slice_text(slice: &Slice) -> String {
    let bound = |value: Option<i64>| value.map_or_else(String::new, |v| v.to_string());
    let components: Vec<String> = slice
        .0
        .iter()
        .map(|component| match component {
            SliceComponent::Index(index) => index.to_string(),
            SliceComponent::Range { start, stop, step } => match step {
                Some(step) => format!("{}:{}:{step}", bound(*start), bound(*stop)),
                None => format!("{}:{}", bound(*start), bound(*stop)),
            },
        })
        .collect();
    format!("[{}]", components.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{SourceId, Span};

    fn parse(text: &str) -> Result<Slice, Diagnostic> {
        parse_slice(text, Span::new(SourceId(0), 0, text.len()))
    }

    fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> SliceComponent {
        SliceComponent::Range { start, stop, step }
    }

    fn labelled<'a>(text: &'a str, error: &Diagnostic) -> &'a str {
        &text[error.primary_span().unwrap().range()]
    }

    #[test]
    fn every_basic_indexing_form_parses() {
        assert_eq!(parse("[]").unwrap(), Slice(vec![]));
        assert_eq!(parse("[ ]").unwrap(), Slice(vec![]));
        assert_eq!(parse("[:]").unwrap(), Slice(vec![range(None, None, None)]));
        assert_eq!(
            parse("[1:-2, ::2, -3, 4:, :5]").unwrap(),
            Slice(vec![
                range(Some(1), Some(-2), None),
                range(None, None, Some(2)),
                SliceComponent::Index(-3),
                range(Some(4), None, None),
                range(None, Some(5), None),
            ])
        );
        assert_eq!(
            parse("[ 0 : 8 : 2 ]").unwrap(),
            Slice(vec![range(Some(0), Some(8), Some(2))])
        );
        assert_eq!(
            parse("[1,]").unwrap(),
            Slice(vec![SliceComponent::Index(1)])
        );
        assert_eq!(parse("[::]").unwrap(), Slice(vec![range(None, None, None)]));
    }

    #[test]
    fn errors_point_at_the_offending_component() {
        let text = "[:16, a:4]";
        let error = parse(text).unwrap_err();
        assert_eq!(error.code, "E0203");
        assert_eq!(labelled(text, &error), "a");

        let text = "[0, ::0]";
        let error = parse(text).unwrap_err();
        assert_eq!(error.code, "E0204");
        assert_eq!(labelled(text, &error), "0");
        assert_eq!(error.primary_span().unwrap().range(), 6..7);

        let text = "[1:2:-1]";
        assert_eq!(labelled(text, &parse(text).unwrap_err()), "-1");
    }

    #[test]
    fn unsupported_python_forms_are_named() {
        assert!(parse("[...]").unwrap_err().message.contains("ellipsis"));
        assert!(parse("[None, 1]").unwrap_err().message.contains("None"));
        assert!(parse("[1:2:3:4]").unwrap_err().message.contains("two `:`"));
        assert!(parse("[1, , 2]").unwrap_err().message.contains("empty"));
        assert!(parse("[99999999999999999999]")
            .unwrap_err()
            .message
            .contains("64 bits"));
        assert_eq!(parse("1:2").unwrap_err().code, "E0203");
        assert_eq!(parse("[").unwrap_err().code, "E0203");
    }

    #[test]
    fn slices_print_as_written_and_read_back() {
        let text = "[1:-2, ::2, 3, :]";
        let slice = parse(text).unwrap();
        assert_eq!(slice_text(&slice), text);
        assert_eq!(parse(&slice_text(&slice)).unwrap(), slice);
        assert_eq!(slice_text(&Slice::default()), "[]");
    }
}
