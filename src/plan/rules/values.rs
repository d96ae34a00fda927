//! Rules on the values of op and assertion arguments, checked before any tensor is known.
//!
//! Receives a parsed value with its span (and, for lists, the span of each item, so a label can
//! point at the one bad entry) and the name the message gives it (`reshape \`shape\``); returns
//! `Ok` or every diagnostic. Messages name arguments by their YAML keys, which `docs/language.md`
//! pairs with every terse form; help lines that show how to write an argument take a [`Syntax`].

use super::{all, Checked, Syntax};
use crate::diagnostics::Span;
use crate::plan::ast::{Bounds, Distribution, NestedValues, Spanned, TensorRef};
use crate::plan::diagnostics;

/// A reshape target: non-empty, at most one `-1`, no `0` and nothing below `-1`.
pub fn reshape_shape(what: &str, shape: &Spanned<Vec<i64>>, items: &[Span]) -> Checked {
    if shape.node.is_empty() {
        return Err(vec![diagnostics::too_few_items(what, 1, shape.span)]);
    }
    let mut errors = Vec::new();
    let mut inferred: Option<Span> = None;
    for (index, &dimension) in shape.node.iter().enumerate() {
        let span = items.get(index).copied().unwrap_or(shape.span);
        if dimension == 0 || dimension < -1 {
            errors.push(diagnostics::invalid_argument(
                &format!("{what} dimension {dimension} is invalid"),
                "dimensions are positive, or -1 for one inferred dimension",
                span,
                "write positive sizes and at most one -1",
            ));
        } else if dimension == -1 {
            if let Some(first) = inferred {
                errors.push(
                    diagnostics::invalid_argument(
                        &format!("{what} has more than one -1"),
                        "a second inferred dimension",
                        span,
                        "only one dimension can be inferred",
                    )
                    .with_label(first, "first -1"),
                );
            }
            inferred = Some(span);
        }
    }
    all(errors)
}

/// A permutation lists every dimension `0..rank` once (negative entries count from the end).
pub fn permutation(what: &str, order: &Spanned<Vec<i64>>, items: &[Span]) -> Checked {
    const HELP: &str = "`order` lists every dimension 0..rank-1 exactly once";
    let rank = order.node.len() as i64;
    let mut seen = vec![false; order.node.len()];
    let mut errors = Vec::new();
    for (index, &dimension) in order.node.iter().enumerate() {
        let span = items.get(index).copied().unwrap_or(order.span);
        let normalized = if dimension < 0 {
            dimension + rank
        } else {
            dimension
        };
        if !(0..rank).contains(&normalized) {
            errors.push(diagnostics::invalid_argument(
                &format!("{what} entry {dimension} is out of range for {rank} dimensions"),
                "out of range",
                span,
                HELP,
            ));
        } else if std::mem::replace(&mut seen[normalized as usize], true) {
            errors.push(diagnostics::invalid_argument(
                &format!("{what} repeats dimension {dimension}"),
                "repeated",
                span,
                HELP,
            ));
        }
    }
    all(errors)
}

/// Clamp bounds: at least one (else reported at the op keyword), and `min <= max`.
pub fn clamp_bounds(
    syntax: Syntax,
    op: &str,
    min: Option<&Spanned<f64>>,
    max: Option<&Spanned<f64>>,
    keyword_span: Span,
) -> Checked {
    match (min, max) {
        (None, None) => Err(vec![diagnostics::invalid_argument(
            &format!("{op} needs at least one bound"),
            "neither `min` nor `max` given",
            keyword_span,
            &format!(
                "add {}, {} or both",
                syntax.argument("min", "…"),
                syntax.argument("max", "…")
            ),
        )]),
        (Some(low), Some(high)) if low.node > high.node => {
            Err(vec![diagnostics::invalid_argument(
                &format!(
                    "{op} bounds are reversed: min {} > max {}",
                    low.node, high.node
                ),
                "smaller than `min`",
                high.span,
                "`min` must not exceed `max`",
            )])
        }
        _ => Ok(()),
    }
}

/// A distribution's parameters: uniform needs `low < high` (defaults 0 and 1), normal `std > 0`.
pub fn distribution(distribution: &Spanned<Distribution>) -> Checked {
    match &distribution.node {
        Distribution::Uniform { low, high } => {
            let (low_value, high_value) = distribution.parameters_or_default();
            // Only `low >= high` is refused, so a NaN bound is accepted, as both front ends have
            // always accepted it.
            if low_value >= high_value {
                let at = high
                    .as_ref()
                    .or(low.as_ref())
                    .map_or(distribution.span, |v| v.span);
                return Err(vec![diagnostics::invalid_argument(
                    &format!(
                        "uniform distribution needs low < high, found low {low_value} and high {high_value}"
                    ),
                    "not above `low`",
                    at,
                    "defaults are low 0 and high 1; make `high` larger than `low`",
                )]);
            }
            Ok(())
        }
        Distribution::Normal { std, .. } => match std {
            Some(deviation) if deviation.node <= 0.0 || deviation.node.is_nan() => {
                Err(vec![diagnostics::invalid_argument(
                    &format!(
                        "normal distribution needs std > 0, found {}",
                        deviation.node
                    ),
                    "must be positive",
                    deviation.span,
                    "write a positive standard deviation (the default is 1)",
                )])
            }
            _ => Ok(()),
        },
    }
}

/// Fill values are rectangular: every list at one depth has one length.
pub fn rectangular(what: &str, values: &Spanned<NestedValues>) -> Checked {
    if values.node.shape().is_some() {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("{what} is ragged: nested lists have different lengths"),
        "not rectangular",
        values.span,
        "every list at the same depth must have the same length",
    )])
}

/// A tolerance is not negative (nor NaN).
pub fn eps(what: &str, eps: &Spanned<f64>) -> Checked {
    if eps.node >= 0.0 {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("{what} must not be negative, found {}", eps.node),
        "negative tolerance",
        eps.span,
        "write a tolerance of 0 or more",
    )])
}

/// Integer bounds of an assertion can hold together (`>= 3, < 2` is refused); `span` is where
/// the bounds are written.
pub fn bounds(op: &str, bounds: &Bounds, span: Span) -> Checked {
    let value = |bound: &Option<Spanned<u64>>| bound.as_ref().map(|v| v.node);
    let lowest = [
        value(&bounds.is),
        value(&bounds.ge),
        value(&bounds.gt).map(|v| v.saturating_add(1)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    // `lt: 0` excludes every count, which `saturating_sub` alone would not show.
    let lt_impossible = value(&bounds.lt) == Some(0);
    let highest = [
        value(&bounds.is),
        value(&bounds.le),
        value(&bounds.lt).map(|v| v.saturating_sub(1)),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(u64::MAX);
    if lowest <= highest && !lt_impossible {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("{op} bounds contradict each other"),
        "no count satisfies all of these bounds",
        span,
        "all given bounds must hold together; remove or relax one",
    )])
}

/// A list of pieces (split destinations, concat sources) has at least `minimum` items.
pub fn at_least(what: &str, count: usize, minimum: usize, span: Span) -> Checked {
    if count >= minimum {
        return Ok(());
    }
    Err(vec![diagnostics::too_few_items(what, minimum, span)])
}

/// `split` has one size per destination.
pub fn split_sizes(syntax: Syntax, destinations: usize, sizes: &Spanned<Vec<u64>>) -> Checked {
    if destinations == sizes.node.len() {
        return Ok(());
    }
    let each = match syntax {
        Syntax::Yaml => "name in `to`",
        Syntax::Terse => "destination",
    };
    Err(vec![diagnostics::invalid_argument(
        &format!(
            "split has {destinations} destinations but {} sizes",
            sizes.node.len()
        ),
        "one size per destination",
        sizes.span,
        &format!("list exactly one size for each {each}"),
    )])
}

/// The two PHLoRA factors get different names.
pub fn distinct_factors(a: &Spanned<TensorRef>, b: &Spanned<TensorRef>) -> Checked {
    if a.node != b.node {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        "phlora factors A and B would get the same names",
        "same as `target_a`",
        b.span,
        "give `target_a` and `target_b` different names",
    )
    .with_label(a.span, "`target_a`")])
}

/// A LoRA energy threshold: a fraction of Σσ² in (0, 1].
pub fn energy_fraction(energy: &Spanned<f64>) -> Checked {
    if energy.node > 0.0 && energy.node <= 1.0 {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("energy must be in (0, 1], got {}", energy.node),
        "not a fraction of the spectrum's energy",
        energy.span,
        "write the fraction of Σσ² to keep, e.g. `energy: 0.9`",
    )])
}

/// A LoRA merge scale `alpha`: a finite number.
pub fn finite_alpha(alpha: &Spanned<f64>) -> Checked {
    if alpha.node.is_finite() {
        return Ok(());
    }
    Err(vec![diagnostics::invalid_argument(
        &format!("alpha must be finite, got {}", alpha.node),
        "not finite",
        alpha.span,
        "write the adapter's `lora_alpha` (the merge scales B·A by alpha / r)",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceId;

    fn span(from: usize, to: usize) -> Span {
        Span::new(SourceId(0), from, to)
    }

    fn at<T>(node: T, from: usize) -> Spanned<T> {
        Spanned::new(node, span(from, from + 1))
    }

    fn codes_and_starts(result: Checked) -> Vec<(&'static str, u32)> {
        result
            .unwrap_err()
            .iter()
            .map(|d| (d.code, d.primary_span().map_or(0, |s| s.start)))
            .collect()
    }

    #[test]
    fn reshape_refuses_zero_and_a_second_inferred_dimension_at_the_item() {
        let items = [span(1, 2), span(4, 6), span(8, 10), span(12, 14)];
        assert!(reshape_shape("reshape `shape`", &at(vec![2, -1, 3], 0), &items).is_ok());
        let shape = at(vec![0, -1, -1, -2], 0);
        let found = codes_and_starts(reshape_shape("reshape `shape`", &shape, &items));
        assert_eq!(found, [("E0119", 1), ("E0119", 8), ("E0119", 12)]);
        let empty = codes_and_starts(reshape_shape("reshape `shape`", &at(vec![], 0), &[]));
        assert_eq!(empty, [("E0123", 0)]);
    }

    #[test]
    fn permutations_list_each_dimension_once() {
        let items = [span(1, 2), span(3, 4), span(5, 6)];
        assert!(permutation("permute `order`", &at(vec![2, 0, -2], 0), &items).is_ok());
        let found = codes_and_starts(permutation(
            "permute `order`",
            &at(vec![0, 3, -3], 0),
            &items,
        ));
        assert_eq!(found, [("E0119", 3), ("E0119", 5)]);
    }

    #[test]
    fn clamp_needs_a_bound_and_ordered_bounds_spelled_per_syntax() {
        let keyword = span(0, 5);
        let error = clamp_bounds(Syntax::Terse, "clamp", None, None, keyword).unwrap_err();
        assert_eq!(
            error[0].help.as_deref(),
            Some("add `min=…`, `max=…` or both")
        );
        let error = clamp_bounds(Syntax::Yaml, "clamp", None, None, keyword).unwrap_err();
        assert_eq!(
            error[0].help.as_deref(),
            Some("add `min: …`, `max: …` or both")
        );
        let (low, high) = (at(1.0, 7), at(-1.0, 9));
        let error =
            clamp_bounds(Syntax::Yaml, "clamp", Some(&low), Some(&high), keyword).unwrap_err();
        assert_eq!(error[0].primary_span(), Some(high.span));
        assert!(clamp_bounds(Syntax::Yaml, "clamp", Some(&high), Some(&low), keyword).is_ok());
        assert!(clamp_bounds(Syntax::Yaml, "clamp", None, Some(&low), keyword).is_ok());
    }

    #[test]
    fn distributions_need_a_range_or_a_positive_deviation() {
        let uniform = |low: Option<f64>, high: Option<f64>| {
            at(
                Distribution::Uniform {
                    low: low.map(|v| at(v, 3)),
                    high: high.map(|v| at(v, 6)),
                },
                0,
            )
        };
        assert!(distribution(&uniform(None, None)).is_ok());
        assert_eq!(
            codes_and_starts(distribution(&uniform(Some(2.0), None))),
            [("E0119", 3)]
        );
        assert_eq!(
            codes_and_starts(distribution(&uniform(Some(1.0), Some(1.0)))),
            [("E0119", 6)]
        );
        let normal = |std: f64| {
            at(
                Distribution::Normal {
                    mean: None,
                    std: Some(at(std, 4)),
                },
                0,
            )
        };
        assert!(distribution(&normal(0.5)).is_ok());
        assert!(distribution(&normal(0.0)).is_err());
        assert!(distribution(&normal(f64::NAN)).is_err());
    }

    #[test]
    fn ragged_values_and_negative_tolerances_are_refused() {
        let row = |n: usize| NestedValues::List(vec![NestedValues::Scalar(1.0); n]);
        assert!(rectangular(
            "fill `values`",
            &at(NestedValues::List(vec![row(2), row(2)]), 0)
        )
        .is_ok());
        assert!(rectangular(
            "fill `values`",
            &at(NestedValues::List(vec![row(2), row(3)]), 0)
        )
        .is_err());
        assert!(eps("diff `eps`", &at(0.0, 0)).is_ok());
        assert!(eps("diff `eps`", &at(-1e-9, 0)).is_err());
        assert!(eps("diff `eps`", &at(f64::NAN, 0)).is_err());
    }

    #[test]
    fn bounds_must_be_able_to_hold_together() {
        let bound = |v: u64| Some(at(v, 0));
        let holds = Bounds {
            ge: bound(1),
            lt: bound(4),
            ..Bounds::default()
        };
        assert!(bounds("dimensions", &holds, span(0, 9)).is_ok());
        let contradict = Bounds {
            ge: bound(3),
            lt: bound(2),
            ..Bounds::default()
        };
        assert!(bounds("dimensions", &contradict, span(0, 9)).is_err());
        let nothing_below_zero = Bounds {
            lt: bound(0),
            ..Bounds::default()
        };
        assert!(bounds("count", &nothing_below_zero, span(0, 9)).is_err());
    }

    #[test]
    fn counts_sizes_and_factor_names() {
        assert!(at_least("concat `from`", 2, 2, span(0, 1)).is_ok());
        assert_eq!(
            codes_and_starts(at_least("concat `from`", 1, 2, span(0, 1))),
            [("E0123", 0)]
        );
        let sizes = at(vec![1, 2], 5);
        assert!(split_sizes(Syntax::Terse, 2, &sizes).is_ok());
        let error = split_sizes(Syntax::Yaml, 3, &sizes).unwrap_err();
        assert_eq!(error[0].primary_span(), Some(sizes.span));
        let factor = |name: &str, from: usize| {
            let reference = TensorRef {
                alias: None,
                pattern: at(crate::plan::ast::Pattern::Regex(name.to_string()), from),
                slice: None,
            };
            at(reference, from)
        };
        assert!(distinct_factors(&factor("a", 0), &factor("b", 2)).is_ok());
        let error = distinct_factors(&factor("a", 0), &factor("a", 2)).unwrap_err();
        assert_eq!(error[0].labels.len(), 2);
    }
}
