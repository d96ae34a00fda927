//! The roles references play in their step: which may be sliced, and how a destination must agree
//! with its source.
//!
//! Receives a parsed [`TensorRef`] with the op and key it fills (`copy` `to`) and its [`Relation`]
//! to the other references of the step; returns `Ok` or the diagnostics. The table of sliceable
//! references is the "slice" column of BrainSurgery's op table, kept here once so that both front
//! ends refuse `move: {from: x::[:2], …}` and `move x::[:2] -> y` alike.

use super::{all, Checked};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{Pattern, Spanned, StructuredToken, TensorRef};
use crate::plan::diagnostics;
use crate::plan::reference::{
    validate_structured_pair, validate_template, ReferenceRole, Side, TextSpan,
};

/// How a reference relates to the other references of its step.
#[derive(Debug, Clone, Copy)]
pub enum Relation<'a> {
    /// Matched against existing names on its own (sources, `diff` sides, `dump` targets).
    Source,
    /// Built from this source's match (`to` of a mapping, `from_b` of a ternary, …); `None` when
    /// the source itself failed to parse, so that only the reference's own form is checked.
    TemplateOf(Option<&'a Spanned<TensorRef>>),
    /// The exact name of a new tensor.
    Name,
}

impl Relation<'_> {
    /// How the reference's expression is validated on its own.
    pub fn role(self) -> ReferenceRole {
        match self {
            Relation::Source => ReferenceRole::Source,
            Relation::TemplateOf(_) => ReferenceRole::Destination,
            Relation::Name => ReferenceRole::Name,
        }
    }

    /// Which side of a structured mapping the reference is on.
    pub fn side(self) -> Side {
        match self {
            Relation::Source => Side::Source,
            Relation::TemplateOf(_) | Relation::Name => Side::Destination,
        }
    }
}

/// The references that may be sliced, by op (or assertion) and key; every other one may not.
/// Destinations that are new names never are, and neither are the references of ops that move or
/// rewrite a whole stored tensor (`move`, `delete`, `cast_`, `reshape_`, `phlora`).
const SLICEABLE: &[(&str, &[&str])] = &[
    ("copy", &["from"]),
    ("assign", &["from", "to"]),
    ("add_", &["from", "to"]),
    ("subtract_", &["from", "to"]),
    ("add", &["from_a", "from_b", "to"]),
    ("subtract", &["from_a", "from_b", "to"]),
    ("multiply", &["from_a", "from_b", "to"]),
    ("matmul", &["from_a", "from_b"]),
    ("scale", &["from"]),
    ("scale_", &["target"]),
    ("cast", &["from"]),
    ("clamp", &["from"]),
    ("clamp_", &["target"]),
    ("reshape", &["from"]),
    ("permute", &["from"]),
    ("transpose", &["from"]),
    ("fill", &["from"]),
    ("fill_", &["target"]),
    ("split", &["from"]),
    ("concat", &["from"]),
    ("dump", &["target"]),
    ("diff", &["left", "right"]),
    // Assertions only read what they name.
    ("exists", &["reference"]),
    ("count", &["of"]),
    ("shape", &["of"]),
    ("dimensions", &["of"]),
    ("dtype", &["of"]),
    ("equal", &["left", "right"]),
    ("iszero", &["of", "reference"]),
    ("reads", &["of"]),
    ("writes", &["of"]),
];

/// Whether the reference an op (or assertion) takes under `key` may carry a slice.
pub fn slice_allowed(op: &str, key: &str) -> bool {
    SLICEABLE
        .iter()
        .any(|(name, keys)| *name == op && keys.contains(&key))
}

/// Refuses a slice (at `slice`) on a reference that may not be sliced.
pub fn check_slice(op: &str, key: &str, slice: Option<Span>) -> Result<(), Diagnostic> {
    match slice {
        Some(span) if !slice_allowed(op, key) => Err(diagnostics::slice_not_allowed(op, key, span)),
        _ => Ok(()),
    }
}

/// The reference against the others of its step: a new tensor's name is literal, and a
/// destination agrees with its source (the same kind of pattern; template groups and structured
/// variables that the source provides). `span` is the whole reference; `text_span` maps the
/// characters of a regex template, so that an unknown group is pointed at exactly.
pub fn check_relation(
    reference: &TensorRef,
    relation: Relation<'_>,
    span: Span,
    text_span: Option<TextSpan>,
    op: &str,
    key: &str,
) -> Checked {
    match relation {
        Relation::Name => {
            let Pattern::Structured(tokens) = &reference.pattern.node else {
                return Ok(());
            };
            all(tokens
                .iter()
                .filter(|token| !matches!(token.node, StructuredToken::Literal(_)))
                .map(|token| diagnostics::pattern_where_name_expected(op, key, token.span))
                .collect())
        }
        Relation::TemplateOf(Some(source)) => {
            match (&source.pattern.node, &reference.pattern.node) {
                (Pattern::Regex(regex), Pattern::Regex(template)) => {
                    let text_span =
                        text_span.unwrap_or_else(|| TextSpan::exact(reference.pattern.span));
                    validate_template(template, regex, text_span).map_err(|error| vec![error])
                }
                (Pattern::Structured(from), Pattern::Structured(to)) => {
                    validate_structured_pair(from, to)
                }
                _ => Err(vec![diagnostics::mixed_reference_kinds(
                    op,
                    span,
                    source.span,
                )]),
            }
        }
        Relation::TemplateOf(None) | Relation::Source => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceId;

    fn span(from: usize, to: usize) -> Span {
        Span::new(SourceId(0), from, to)
    }

    fn regex(text: &str, at: Span) -> Spanned<TensorRef> {
        Spanned::new(
            TensorRef {
                alias: None,
                pattern: Spanned::new(Pattern::Regex(text.to_string()), at),
                slice: None,
            },
            at,
        )
    }

    fn structured(tokens: Vec<StructuredToken>, at: Span) -> Spanned<TensorRef> {
        let tokens = tokens.into_iter().map(|t| Spanned::new(t, at)).collect();
        Spanned::new(
            TensorRef {
                alias: None,
                pattern: Spanned::new(Pattern::Structured(tokens), at),
                slice: None,
            },
            at,
        )
    }

    #[test]
    fn the_slice_column_follows_the_reference_op_table() {
        assert!(slice_allowed("copy", "from"));
        assert!(!slice_allowed("copy", "to"));
        assert!(!slice_allowed("move", "from"));
        assert!(slice_allowed("add", "to"));
        assert!(!slice_allowed("matmul", "to"));
        assert!(!slice_allowed("cast_", "target"));
        assert!(slice_allowed("clamp_", "target"));
        assert!(!slice_allowed("zeroes", "target"));
        assert!(slice_allowed("iszero", "reference"));
        assert!(!slice_allowed("no-such-op", "from"));
    }

    #[test]
    fn a_refused_slice_is_reported_at_the_slice() {
        assert!(check_slice("copy", "from", Some(span(5, 9))).is_ok());
        assert!(check_slice("move", "from", None).is_ok());
        let error = check_slice("move", "from", Some(span(5, 9))).unwrap_err();
        assert_eq!(error.code, "E0215");
        assert_eq!(error.primary_span(), Some(span(5, 9)));
    }

    #[test]
    fn a_new_name_must_be_literal() {
        let name = structured(
            vec![
                StructuredToken::Literal("h".to_string()),
                StructuredToken::Bind("i".to_string()),
            ],
            span(0, 4),
        );
        let errors =
            check_relation(&name, Relation::Name, name.span, None, "zeroes", "target").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "E0216");
    }

    #[test]
    fn a_destination_agrees_with_its_source() {
        let source = regex(r"h\.(\d+)", span(0, 8));
        let good = regex(r"g.\1", span(10, 14));
        let relation = Relation::TemplateOf(Some(&source));
        assert!(check_relation(&good, relation, good.span, None, "copy", "to").is_ok());
        let missing_group = regex(r"g.\2", span(10, 14));
        let errors = check_relation(
            &missing_group,
            relation,
            missing_group.span,
            None,
            "copy",
            "to",
        )
        .unwrap_err();
        assert_eq!(errors[0].code, "E0206");
        let other_kind = structured(vec![StructuredToken::Literal("g".into())], span(10, 11));
        let errors =
            check_relation(&other_kind, relation, other_kind.span, None, "copy", "to").unwrap_err();
        assert_eq!(errors[0].code, "E0214");
        // Without a parsed source only the reference's own form counts.
        assert!(check_relation(
            &missing_group,
            Relation::TemplateOf(None),
            missing_group.span,
            None,
            "copy",
            "to"
        )
        .is_ok());
    }
}
