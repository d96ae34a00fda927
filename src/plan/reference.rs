//! Tensor references `[alias::]expr[::[slice]]`, shared by both front ends.
//!
//! Receives the text of a reference as the user wrote it (a YAML string, a terse token, or the
//! elements of a structured list) with the span it came from; returns an [`ast::TensorRef`] or a
//! [`Diagnostic`] whose label points at the offending part (the third `::`, the bad slice
//! component, the unbalanced parenthesis of a regex, the unknown template group).
//!
//! **Guarantees.** A returned reference is well formed: its regex compiles (source side), its
//! template escapes are valid (destination side), its slice follows Python basic indexing with a
//! positive step, its structured tokens are legal for their side. Names and aliases are *not*
//! resolved: whether `base::h.0` exists is the compiler's question. An unqualified reference keeps
//! `alias: None` (so `fmt` prints it back unqualified); it is accepted only when the plan has a
//! default alias, i.e. exactly one input.
//!
//! Submodules: [`slice`] (slices), [`regex`] (Python-dialect regexes, full-match compilation),
//! [`template`] (back-reference templates, substituted once), [`structured`] (segment tokens).

pub mod regex;
pub mod slice;
pub mod structured;
pub mod template;

pub use self::regex::{compile_full_match, validate_regex};
pub use self::slice::{parse_slice, slice_text};
pub use self::structured::{
    parse_structured_reference, parse_structured_token, token_text, validate_structured_pair, Side,
};
pub use self::template::{parse_template, substitute, validate_template, Template};

use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{Pattern, Spanned, TensorRef};
use crate::plan::diagnostics;

/// Maps byte ranges of a text to spans of its source.
///
/// When the text is exactly what the source holds at `span` (a plain or unescaped quoted YAML
/// scalar, a terse token), sub-ranges map to exact sub-spans, so a diagnostic can point at one
/// slice component. When the text went through escape processing or line folding, offsets no
/// longer correspond and every sub-range maps to the whole span: less precise, never wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSpan {
    span: Span,
    exact: bool,
}

impl TextSpan {
    /// The text is byte-for-byte the source at `span.start..`.
    pub fn exact(span: Span) -> TextSpan {
        TextSpan { span, exact: true }
    }

    /// The text was transformed on its way from the source; sub-ranges map to the whole span.
    pub fn approximate(span: Span) -> TextSpan {
        TextSpan { span, exact: false }
    }

    pub fn whole(self) -> Span {
        self.span
    }

    /// Whether sub-ranges map to exact sub-spans.
    pub fn is_exact(self) -> bool {
        self.exact
    }

    /// The span of `text[range]`, clamped to the whole span.
    pub fn part(self, range: std::ops::Range<usize>) -> Span {
        if !self.exact {
            return self.span;
        }
        let start = (self.span.start as usize + range.start).min(self.span.end as usize);
        let end = (self.span.start as usize + range.end).clamp(start, self.span.end as usize);
        Span::new(self.span.source, start, end)
    }

    /// A text span for `text[range]`, keeping exactness.
    pub fn narrow(self, range: std::ops::Range<usize>) -> TextSpan {
        TextSpan {
            span: self.part(range),
            exact: self.exact,
        }
    }
}

impl From<Span> for TextSpan {
    fn from(span: Span) -> TextSpan {
        TextSpan::exact(span)
    }
}

/// What a reference is used for, which decides how its expression is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceRole {
    /// Matched against existing names: the expression must be a valid regex.
    Source,
    /// Produced from a source match: the expression is a back-reference template (checked
    /// against the source regex with [`validate_template`] once both are known).
    Destination,
    /// A new tensor's exact name (zeroes/ones/rand, split and concat destinations): taken as is.
    Name,
}

/// The aliases an unqualified reference may mean: the plan's inputs and, when there is exactly
/// one, its alias as the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasScope {
    pub default: Option<String>,
    pub inputs: Vec<String>,
}

impl AliasScope {
    /// The scope of a plan with these input aliases (BrainSurgery's rule: a default alias exists
    /// only when there is exactly one input).
    pub fn from_inputs(inputs: Vec<String>) -> AliasScope {
        let default = match inputs.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        };
        AliasScope { default, inputs }
    }

    /// Checks that an unqualified reference has an alias to mean.
    pub fn require_default(&self, text: &str, span: Span) -> Result<(), Diagnostic> {
        if self.default.is_some() {
            return Ok(());
        }
        let inputs: Vec<&str> = self.inputs.iter().map(String::as_str).collect();
        Err(diagnostics::unqualified_reference(text, span, &inputs))
    }
}

/// Parses a string reference `[alias::]expr[::[slice]]` with BrainSurgery's splitting rules:
///
/// - one part: `expr` (the default alias);
/// - two parts `A::B`: when a default alias exists and `B` looks like a slice (`[…]`), `A` is the
///   expression and `B` its slice; otherwise `A` is the alias (empty = default) and `B` the
///   expression;
/// - three parts `A::expr::[slice]`: the slice must be bracketed;
/// - four or more: an error (so a regex can never contain `::`).
pub fn parse_reference_string(
    text: &str,
    span: impl Into<TextSpan>,
    scope: &AliasScope,
    role: ReferenceRole,
) -> Result<TensorRef, Diagnostic> {
    let text_span: TextSpan = span.into();
    let parts = split_parts(text);
    let (alias, expression, slice) = match parts.as_slice() {
        [expression] => (None, expression.clone(), None),
        [first, second] => {
            if scope.default.is_some() && looks_like_slice(&text[second.clone()]) {
                (None, first.clone(), Some(second.clone()))
            } else {
                (Some(first.clone()), second.clone(), None)
            }
        }
        [first, second, third] => (Some(first.clone()), second.clone(), Some(third.clone())),
        _ => {
            // Point at the separator that begins the fourth part.
            let extra = parts[3].start.saturating_sub(2)..text.len();
            return Err(diagnostics::too_many_reference_parts(
                text,
                text_span.part(extra),
            ));
        }
    };
    let alias = alias
        .filter(|range| !range.is_empty())
        .map(|range| Spanned::new(text[range.clone()].to_string(), text_span.part(range)));
    if alias.is_none() {
        scope.require_default(text, text_span.whole())?;
    }
    let expression_text = &text[expression.clone()];
    let expression_span = text_span.narrow(expression.clone());
    if expression_text.is_empty() {
        return Err(diagnostics::empty_expression(expression_span.whole()));
    }
    match role {
        ReferenceRole::Source => validate_regex(expression_text, expression_span)?,
        ReferenceRole::Destination => {
            parse_template(expression_text, expression_span)?;
        }
        ReferenceRole::Name => {}
    }
    let slice = match slice {
        None => None,
        Some(range) => {
            let slice_text = &text[range.clone()];
            let slice_span = text_span.narrow(range);
            if !looks_like_slice(slice_text) {
                return Err(diagnostics::slice_not_bracketed(
                    slice_text,
                    slice_span.whole(),
                ));
            }
            Some(Spanned::new(
                parse_slice(slice_text, slice_span)?,
                slice_span.whole(),
            ))
        }
    };
    Ok(TensorRef {
        alias,
        pattern: Spanned::new(
            Pattern::Regex(expression_text.to_string()),
            expression_span.whole(),
        ),
        slice,
    })
}

/// Byte ranges of the `::`-separated parts of `text`. A `::` inside brackets does not separate
/// (so a slice can hold a step, `w::[::2]`, which BrainSurgery's plain split cannot); a
/// backslash-escaped bracket does not count.
fn split_parts(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 1,
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(index + 1) == Some(&b':') => {
                parts.push(start..index);
                start = index + 2;
                index += 1;
            }
            _ => {}
        }
        index += 1;
    }
    parts.push(start..text.len());
    parts
}

/// The reference's test for "this part is a slice": bracketed.
fn looks_like_slice(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('[') && trimmed.ends_with(']')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceId;
    use crate::plan::ast::{Slice, SliceComponent};

    fn span_of(text: &str) -> Span {
        Span::new(SourceId(0), 0, text.len())
    }

    fn single() -> AliasScope {
        AliasScope::from_inputs(vec!["model".into()])
    }

    fn several() -> AliasScope {
        AliasScope::from_inputs(vec!["base".into(), "tuned".into()])
    }

    fn parse(text: &str, scope: &AliasScope) -> Result<TensorRef, Diagnostic> {
        parse_reference_string(text, span_of(text), scope, ReferenceRole::Source)
    }

    #[test]
    fn one_part_uses_the_default_alias() {
        let reference = parse("ln_f.weight", &single()).unwrap();
        assert_eq!(reference.alias, None);
        assert_eq!(reference.pattern.node, Pattern::Regex("ln_f.weight".into()));
        assert_eq!(reference.slice, None);
    }

    #[test]
    fn two_parts_with_a_bracketed_second_part_are_a_slice_when_a_default_exists() {
        let reference = parse("w::[:, 1]", &single()).unwrap();
        assert_eq!(reference.alias, None);
        assert_eq!(reference.pattern.node, Pattern::Regex("w".into()));
        assert_eq!(
            reference.slice.unwrap().node,
            Slice(vec![
                SliceComponent::Range {
                    start: None,
                    stop: None,
                    step: None
                },
                SliceComponent::Index(1)
            ])
        );
    }

    #[test]
    fn two_parts_without_a_default_are_alias_and_expression() {
        let reference = parse("base::[ab]", &several()).unwrap();
        assert_eq!(reference.alias.unwrap().node, "base");
        assert_eq!(reference.pattern.node, Pattern::Regex("[ab]".into()));
        assert_eq!(reference.slice, None);
    }

    #[test]
    fn an_empty_alias_means_the_default() {
        let reference = parse("::x", &single()).unwrap();
        assert_eq!(reference.alias, None);
        assert!(parse("::x", &several()).is_err());
    }

    #[test]
    fn three_parts_need_a_bracketed_slice() {
        let reference = parse("base::h\\.0::[0:4:2]", &several()).unwrap();
        assert_eq!(reference.alias.as_ref().unwrap().node, "base");
        assert_eq!(
            reference.slice.unwrap().node,
            Slice(vec![SliceComponent::Range {
                start: Some(0),
                stop: Some(4),
                step: Some(2)
            }])
        );
        let error = parse("base::x::0:4", &several()).unwrap_err();
        assert_eq!(error.code, "E0203");
        assert_eq!(error.primary_span().unwrap().range(), 9..12);
    }

    #[test]
    fn separators_inside_brackets_do_not_split() {
        let reference = parse("w::[::2, 1::]", &single()).unwrap();
        assert_eq!(reference.pattern.node, Pattern::Regex("w".into()));
        assert_eq!(reference.slice.unwrap().node.0.len(), 2);
        let reference = parse("base::a\\[x::[0]", &several()).unwrap();
        assert_eq!(reference.pattern.node, Pattern::Regex("a\\[x".into()));
        assert!(reference.slice.is_some());
    }

    #[test]
    fn four_parts_are_rejected_at_the_third_separator() {
        let text = "a::b::[1]::c";
        let error = parse(text, &several()).unwrap_err();
        assert_eq!(error.code, "E0201");
        assert_eq!(&text[error.primary_span().unwrap().range()], "::c");
    }

    #[test]
    fn unqualified_references_need_a_default_alias_and_name_the_inputs() {
        let error = parse("wte.weight", &several()).unwrap_err();
        assert_eq!(error.code, "E0202");
        assert!(error.help.unwrap().contains("`base`, `tuned`"));
        let none = AliasScope::from_inputs(vec![]);
        assert!(parse("wte.weight", &none)
            .unwrap_err()
            .message
            .contains("without inputs"));
    }

    #[test]
    fn source_regexes_are_validated_with_a_span_inside_the_reference() {
        let text = "base::h.(\\d+";
        let error = parse(text, &several()).unwrap_err();
        assert_eq!(error.code, "E0205");
        let range = error.primary_span().unwrap().range();
        assert!(range.start >= 6, "label {range:?} points into the alias");
    }

    #[test]
    fn destination_templates_are_checked_for_escape_syntax() {
        let text = "h.\\g<1";
        let error =
            parse_reference_string(text, span_of(text), &single(), ReferenceRole::Destination)
                .unwrap_err();
        assert_eq!(error.code, "E0207");
        let name = parse_reference_string("a(b", span_of("a(b"), &single(), ReferenceRole::Name);
        assert_eq!(name.unwrap().pattern.node, Pattern::Regex("a(b".into()));
    }

    #[test]
    fn empty_expressions_are_rejected() {
        assert_eq!(parse("", &single()).unwrap_err().code, "E0201");
        assert_eq!(parse("base::", &several()).unwrap_err().code, "E0201");
    }

    #[test]
    fn approximate_text_spans_map_every_range_to_the_whole_span() {
        let span = Span::new(SourceId(0), 10, 20);
        assert_eq!(TextSpan::approximate(span).part(2..4), span);
        assert_eq!(TextSpan::exact(span).part(2..4).range(), 12..14);
        assert_eq!(TextSpan::exact(span).part(8..40).range(), 18..20);
    }
}
