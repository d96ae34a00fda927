//! Value checks on arguments, the same ones the YAML front end makes, so that a plan is refused
//! (or accepted) identically in both syntaxes.
//!
//! Receives parsed arguments with their spans; returns `Ok` or the diagnostics, built with the
//! shared constructors of [`crate::plan::diagnostics`] (codes E01xx), worded with the YAML key
//! names (`reshape \`shape\``) that `docs/language.md` pairs with every terse form.

use super::values::Parsed;
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{Bounds, Distribution, NestedValues, Spanned, TensorRef};
use crate::plan::diagnostics as shared;

/// A reshape target: non-empty, at most one `-1`, no `0` and nothing below `-1`.
pub fn reshape_shape(what: &str, shape: &Spanned<Vec<i64>>, items: &[Span]) -> Parsed<()> {
    if shape.node.is_empty() {
        return Err(shared::too_few_items(what, 1, shape.span).into());
    }
    let mut errors = Vec::new();
    let mut inferred: Option<Span> = None;
    for (index, &dimension) in shape.node.iter().enumerate() {
        let span = items.get(index).copied().unwrap_or(shape.span);
        if dimension == 0 || dimension < -1 {
            errors.push(shared::invalid_argument(
                &format!("{what} dimension {dimension} is invalid"),
                "dimensions are positive, or -1 for one inferred dimension",
                span,
                "write positive sizes and at most one -1",
            ));
        } else if dimension == -1 {
            if let Some(first) = inferred {
                errors.push(
                    shared::invalid_argument(
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
    into_result(errors)
}

/// `order` lists every dimension `0..rank` once (negative entries count from the end).
pub fn permutation(what: &str, order: &Spanned<Vec<i64>>, items: &[Span]) -> Parsed<()> {
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
            errors.push(shared::invalid_argument(
                &format!("{what} entry {dimension} is out of range for {rank} dimensions"),
                "out of range",
                span,
                "`order` lists every dimension 0..rank-1 exactly once",
            ));
        } else if std::mem::replace(&mut seen[normalized as usize], true) {
            errors.push(shared::invalid_argument(
                &format!("{what} repeats dimension {dimension}"),
                "repeated",
                span,
                "`order` lists every dimension 0..rank-1 exactly once",
            ));
        }
    }
    into_result(errors)
}

/// Clamp bounds: at least one, and `min <= max`.
pub fn clamp_bounds(
    op: &str,
    min: Option<&Spanned<f64>>,
    max: Option<&Spanned<f64>>,
    keyword_span: Span,
) -> Parsed<()> {
    match (min, max) {
        (None, None) => Err(shared::invalid_argument(
            &format!("{op} needs at least one bound"),
            "neither `min` nor `max` given",
            keyword_span,
            "add `min=…`, `max=…` or both",
        )
        .into()),
        (Some(low), Some(high)) if low.node > high.node => Err(shared::invalid_argument(
            &format!(
                "{op} bounds are reversed: min {} > max {}",
                low.node, high.node
            ),
            "smaller than `min`",
            high.span,
            "`min` must not exceed `max`",
        )
        .into()),
        _ => Ok(()),
    }
}

/// A distribution's parameters: uniform needs `low < high` (defaults 0 and 1), normal `std > 0`.
pub fn distribution(distribution: &Spanned<Distribution>) -> Parsed<()> {
    match &distribution.node {
        Distribution::Uniform { low, high } => {
            let low_value = low.as_ref().map_or(0.0, |v| v.node);
            let high_value = high.as_ref().map_or(1.0, |v| v.node);
            if low_value >= high_value {
                let at = high
                    .as_ref()
                    .or(low.as_ref())
                    .map_or(distribution.span, |v| v.span);
                return Err(shared::invalid_argument(
                    &format!(
                        "uniform distribution needs low < high, found low {low_value} and high {high_value}"
                    ),
                    "not above `low`",
                    at,
                    "defaults are low 0 and high 1; make `high` larger than `low`",
                )
                .into());
            }
            Ok(())
        }
        Distribution::Normal { std, .. } => match std.as_ref() {
            Some(deviation) if deviation.node <= 0.0 || deviation.node.is_nan() => {
                Err(shared::invalid_argument(
                    &format!(
                        "normal distribution needs std > 0, found {}",
                        deviation.node
                    ),
                    "must be positive",
                    deviation.span,
                    "write a positive standard deviation (the default is 1)",
                )
                .into())
            }
            _ => Ok(()),
        },
    }
}

/// Nested values must be rectangular (every list at one depth has one length).
pub fn rectangular(what: &str, values: &Spanned<NestedValues>) -> Parsed<()> {
    if nested_shape(&values.node).is_some() {
        return Ok(());
    }
    Err(shared::invalid_argument(
        &format!("{what} is ragged: nested lists have different lengths"),
        "not rectangular",
        values.span,
        "every list at the same depth must have the same length",
    )
    .into())
}

fn nested_shape(values: &NestedValues) -> Option<Vec<usize>> {
    match values {
        NestedValues::Scalar(_) => Some(Vec::new()),
        NestedValues::List(items) => {
            let mut shapes = items.iter().map(nested_shape);
            let first = match shapes.next() {
                None => return Some(vec![0]),
                Some(shape) => shape?,
            };
            for shape in shapes {
                if shape? != first {
                    return None;
                }
            }
            let mut shape = vec![items.len()];
            shape.extend(first);
            Some(shape)
        }
    }
}

/// A tolerance is not negative.
pub fn eps(what: &str, eps: &Spanned<f64>) -> Parsed<()> {
    if eps.node < 0.0 || eps.node.is_nan() {
        return Err(shared::invalid_argument(
            &format!("{what} must not be negative, found {}", eps.node),
            "negative tolerance",
            eps.span,
            "write a tolerance of 0 or more",
        )
        .into());
    }
    Ok(())
}

/// Integer bounds that can hold together (`>= 3, < 2` is refused).
pub fn bounds(op: &str, bounds: &Bounds, span: Span) -> Parsed<()> {
    let lowest = [
        bounds.is.as_ref().map(|v| v.node),
        bounds.ge.as_ref().map(|v| v.node),
        bounds.gt.as_ref().map(|v| v.node.saturating_add(1)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    let lt_impossible = bounds.lt.as_ref().is_some_and(|v| v.node == 0);
    let highest = [
        bounds.is.as_ref().map(|v| v.node),
        bounds.le.as_ref().map(|v| v.node),
        bounds.lt.as_ref().map(|v| v.node.saturating_sub(1)),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(u64::MAX);
    if lowest > highest || lt_impossible {
        return Err(shared::invalid_argument(
            &format!("{op} bounds contradict each other"),
            "no count satisfies all of these bounds",
            span,
            "all given bounds must hold together; remove or relax one",
        )
        .into());
    }
    Ok(())
}

/// A list of references or names with at least `minimum` items.
pub fn at_least(what: &str, count: usize, minimum: usize, span: Span) -> Parsed<()> {
    if count < minimum {
        return Err(shared::too_few_items(what, minimum, span).into());
    }
    Ok(())
}

/// One split size per destination.
pub fn split_sizes(destinations: usize, sizes: &Spanned<Vec<u64>>) -> Parsed<()> {
    if destinations != sizes.node.len() {
        return Err(shared::invalid_argument(
            &format!(
                "split has {destinations} destinations but {} sizes",
                sizes.node.len()
            ),
            "one size per destination",
            sizes.span,
            "list exactly one size for each destination",
        )
        .into());
    }
    Ok(())
}

/// The two PHLoRA factors get different names.
pub fn distinct_factors(a: &Spanned<TensorRef>, b: &Spanned<TensorRef>) -> Parsed<()> {
    if a.node == b.node {
        return Err(shared::invalid_argument(
            "phlora factors A and B would get the same names",
            "same as `target_a`",
            b.span,
            "give `target_a` and `target_b` different names",
        )
        .with_label(a.span, "`target_a`")
        .into());
    }
    Ok(())
}

fn into_result(errors: Vec<Diagnostic>) -> Parsed<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}
