//! Calls that make or fill tensors: the fill value of `fill(…)` and `fill_(…)`, `zeroes(…)`,
//! `ones(…)`, `rand(…)`, `split(…)`, `concat(…)`, `phlora(…)` and `phlora_(…)`.
//!
//! Receives the call's argument pairs and the destinations written before `=`; returns the op,
//! after the shared rules of [`crate::plan::rules`] (a distribution's parameters, rectangular
//! values, one split size per destination, at least two pieces, distinct PHLoRA factor names)
//! and a rank.

use super::calls::Destinations;
use super::diagnostics;
use super::grammar::Rule;
use super::lowrank;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_boolean, parse_dtype, parse_integer, parse_number,
    parse_unsigned, parse_unsigned_list, significant, Builder, Parsed, SeenArguments,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{
    Concat, Create, Distribution, FillSpec, NestedValues, Op, Phlora, PhloraInPlace, Rand, Spanned,
    Split, SvdOptions,
};
use crate::plan::rules::{self, Syntax};
use crate::tensor::DType;
use pest::iterators::Pair;

/// What `fill`/`fill_` writes: `fill_constant`, `fill_tensor` or `fill_random`.
pub(super) fn fill_spec(
    builder: &Builder,
    op: &str,
    rest: &[Pair<'_, Rule>],
    keyword_span: Span,
) -> Parsed<Spanned<FillSpec>> {
    let Some(spec) = rest.first() else {
        return Err(diagnostics::unexpected_tree(keyword_span).into());
    };
    let span = builder.span(spec);
    let filled = match spec.as_rule() {
        Rule::fill_constant => {
            let value = significant(spec.clone())
                .next()
                .map(|n| parse_number(builder, n));
            match value {
                Some(value) => FillSpec::Constant { value: value? },
                None => return Err(diagnostics::unexpected_tree(span).into()),
            }
        }
        Rule::fill_tensor => {
            let values_pair = significant(spec.clone())
                .find(|p| matches!(p.as_rule(), Rule::nested_list | Rule::number));
            let Some(values_pair) = values_pair else {
                return Err(diagnostics::unexpected_tree(span).into());
            };
            let values_span = builder.span(&values_pair);
            let values = Spanned::new(nested_values(builder, values_pair)?, values_span);
            rules::rectangular(&format!("{op} `values`"), &values)?;
            FillSpec::Tensor { values }
        }
        _ => {
            let mut parts = significant(spec.clone());
            let Some(distribution_pair) = parts.next() else {
                return Err(diagnostics::unexpected_tree(span).into());
            };
            let distribution = distribution(builder, distribution_pair)?;
            let seed = parts
                .next()
                .map(|argument| seed(builder, argument))
                .transpose()?;
            FillSpec::Rand { distribution, seed }
        }
    };
    Ok(Spanned::new(filled, span))
}

fn nested_values(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<NestedValues> {
    match pair.as_rule() {
        Rule::nested_list => Ok(NestedValues::List(
            significant(pair)
                .map(|item| nested_values(builder, item))
                .collect::<Parsed<Vec<_>>>()?,
        )),
        _ => Ok(NestedValues::Scalar(parse_number(builder, pair)?.node)),
    }
}

/// `uniform(low=…, high=…)` or `normal(mean=…, std=…)`, parameters in any order.
fn distribution(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<Distribution>> {
    let span = builder.span(&pair);
    let uniform = pair.as_rule() == Rule::uniform;
    let mut seen = SeenArguments::default();
    let (mut first, mut second) = (None, None);
    for parameter in significant(pair).skip(1) {
        let (name, value) = argument_parts(parameter);
        seen.record(name.as_str(), builder.span(&name))?;
        let Some(value) = value else { continue };
        let number = parse_number(builder, value)?;
        match name.as_rule() {
            Rule::kw_low | Rule::kw_mean => first = Some(number),
            _ => second = Some(number),
        }
    }
    let distribution = if uniform {
        Distribution::Uniform {
            low: first,
            high: second,
        }
    } else {
        Distribution::Normal {
            mean: first,
            std: second,
        }
    };
    let distribution = Spanned::new(distribution, span);
    rules::distribution(&distribution)?;
    Ok(distribution)
}

fn seed(builder: &Builder, argument: Pair<'_, Rule>) -> Parsed<Spanned<i64>> {
    let (name, value) = argument_parts(argument);
    match value {
        Some(value) => parse_integer(builder, value),
        None => Err(diagnostics::unexpected_tree(builder.span(&name)).into()),
    }
}

pub(super) fn rank(builder: &Builder, argument: Pair<'_, Rule>) -> Parsed<Spanned<u64>> {
    let (name, value) = argument_parts(argument);
    match value {
        Some(value) => parse_unsigned(builder, value, "phlora `rank`", true),
        None => Err(diagnostics::unexpected_tree(builder.span(&name)).into()),
    }
}

pub(super) fn rank_missing(op: &str, span: Span) -> Diagnostic {
    diagnostics::missing_argument(op, "rank", "rank=16", span)
}

/// `dtype=…` (a `dtype_argument` pair).
fn dtype_argument(builder: &Builder, argument: Pair<'_, Rule>) -> Parsed<Spanned<DType>> {
    let (name, value) = argument_parts(argument);
    match value {
        Some(value) => parse_dtype(builder, value),
        None => Err(diagnostics::unexpected_tree(builder.span(&name)).into()),
    }
}

/// `zeroes([…], dtype=…)` and `ones(…)`.
pub(super) fn create(
    builder: &Builder,
    op: &'static str,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Create> {
    let mut errors = Vec::new();
    let target = keep(destinations.single(op), &mut errors).and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::name(op, "target")),
            &mut errors,
        )
    });
    let shape = arguments.first().and_then(|list| {
        keep(
            parse_unsigned_list(builder, list.clone(), &format!("{op} `shape`"), true),
            &mut errors,
        )
    });
    let dtype = match arguments.get(1) {
        Some(argument) => keep(dtype_argument(builder, argument.clone()), &mut errors).map(Some),
        None => Some(None),
    };
    let create = match (target, shape, dtype) {
        (Some(target), Some(shape), Some(dtype)) => Some(Create {
            target,
            shape,
            dtype,
        }),
        _ => None,
    };
    finish(create, errors)
}

/// `rand([…], DISTRIBUTION, seed=…, dtype=…)`, the optional arguments in any order.
pub(super) fn rand(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let target = keep(destinations.single("rand"), &mut errors).and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::name("rand", "target")),
            &mut errors,
        )
    });
    let shape = arguments.first().and_then(|list| {
        keep(
            parse_unsigned_list(builder, list.clone(), "rand `shape`", true),
            &mut errors,
        )
    });
    let mut seen = SeenArguments::default();
    let (mut distribution_value, mut seed_value, mut dtype_value) = (None, None, None);
    for argument in arguments.iter().skip(1) {
        let span = builder.span(argument);
        let name = match argument.as_rule() {
            Rule::uniform | Rule::normal => "distribution",
            Rule::seed_argument => "seed",
            _ => "dtype",
        };
        if keep(seen.record(name, span), &mut errors).is_none() {
            continue;
        }
        match argument.as_rule() {
            Rule::uniform | Rule::normal => {
                distribution_value = keep(distribution(builder, argument.clone()), &mut errors)
            }
            Rule::seed_argument => seed_value = keep(seed(builder, argument.clone()), &mut errors),
            _ => dtype_value = keep(dtype_argument(builder, argument.clone()), &mut errors),
        }
    }
    let op = match (target, shape) {
        (Some(target), Some(shape)) => Some(Op::Rand(Rand {
            target,
            shape,
            distribution: distribution_value,
            seed: seed_value,
            dtype: dtype_value,
        })),
        _ => None,
    };
    finish(op, errors)
}

/// `concat(a, b, …, dim=…)`: at least two sources; the destination is a new tensor's name.
pub(super) fn concat(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let mut from = Vec::new();
    let mut dim = None;
    let mut from_span: Option<Span> = None;
    for argument in arguments {
        if argument.as_rule() == Rule::dim_argument {
            let (_, value) = argument_parts(argument.clone());
            dim = value.and_then(|value| keep(parse_integer(builder, value), &mut errors));
            continue;
        }
        let span = builder.span(argument);
        from_span = Some(from_span.map_or(span, |s| s.to(span)));
        if let Some(reference) = keep(
            parse_reference(builder, argument.clone(), Role::source("concat", "from")),
            &mut errors,
        ) {
            from.push(reference);
        }
    }
    let count = from.len();
    keep(
        rules::at_least(
            "concat `from`",
            count,
            2,
            from_span.unwrap_or(destinations.span),
        ),
        &mut errors,
    );
    let to = keep(destinations.single("concat"), &mut errors).and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::name("concat", "to")),
            &mut errors,
        )
    });
    let op = to.map(|to| Op::Concat(Concat { from, to, dim }));
    finish(op, errors)
}

/// `a, b, … = split(x, [sizes], dim=…)`: one size per destination, at least two destinations.
pub(super) fn split(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let from = arguments.first().and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source("split", "from")),
            &mut errors,
        )
    });
    keep(
        rules::at_least("split `to`", destinations.pairs.len(), 2, destinations.span),
        &mut errors,
    );
    let to: Vec<_> = destinations
        .pairs
        .iter()
        .filter_map(|pair| {
            keep(
                parse_reference(builder, pair.clone(), Role::name("split", "to")),
                &mut errors,
            )
        })
        .collect();
    let sizes = arguments.get(1).and_then(|list| {
        keep(
            parse_unsigned_list(builder, list.clone(), "split `sizes`", true),
            &mut errors,
        )
    });
    let dim = arguments.get(2).and_then(|argument| {
        let (_, value) = argument_parts(argument.clone());
        value.and_then(|value| keep(parse_integer(builder, value), &mut errors))
    });
    if let Some(sizes) = &sizes {
        if errors.is_empty() {
            keep(
                rules::split_sizes(Syntax::Terse, to.len(), sizes),
                &mut errors,
            );
        }
    }
    let op = match (from, sizes) {
        (Some(from), Some(sizes)) => Some(Op::Split(Split {
            from,
            to,
            sizes,
            dim,
        })),
        _ => None,
    };
    finish(op, errors)
}

/// `a, b = phlora(w, rank=…, delete_original=…, require_missing_dest=…)`: `a` and `b` are the
/// factor names, templates of `w`.
pub(super) fn phlora(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
    keyword_span: Span,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let target = arguments.first().and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source("phlora", "target")),
            &mut errors,
        )
    });
    let factors = match destinations.pairs.as_slice() {
        [a, b] => {
            let a = keep(
                parse_reference(
                    builder,
                    a.clone(),
                    Role::template("phlora", "target_a", target.as_ref()),
                ),
                &mut errors,
            );
            let b = keep(
                parse_reference(
                    builder,
                    b.clone(),
                    Role::template("phlora", "target_b", target.as_ref()),
                ),
                &mut errors,
            );
            a.zip(b)
        }
        pairs => {
            errors.push(diagnostics::destination_count(
                "phlora",
                "two factors (A, B)",
                pairs.len(),
                destinations.span,
            ));
            None
        }
    };
    if let Some((a, b)) = &factors {
        keep(rules::distinct_factors(a, b), &mut errors);
    }
    let mut seen = SeenArguments::default();
    let (mut rank_value, mut delete_original, mut require_missing_dest) = (None, None, None);
    let mut svd = SvdOptions::default();
    for argument in arguments.iter().skip(1) {
        let (name, value) = argument_parts(argument.clone());
        if keep(seen.record(name.as_str(), builder.span(&name)), &mut errors).is_none() {
            continue;
        }
        match argument.as_rule() {
            Rule::rank_argument => rank_value = keep(rank(builder, argument.clone()), &mut errors),
            Rule::delete_original_argument => {
                delete_original = value.map(|value| parse_boolean(builder, value))
            }
            Rule::require_missing_dest_argument => {
                require_missing_dest = value.map(|value| parse_boolean(builder, value))
            }
            _ => {
                lowrank::svd_argument(builder, argument, &mut svd, &mut errors);
            }
        }
    }
    keep(
        rules::svd_options(Syntax::Terse, "phlora", &svd),
        &mut errors,
    );
    if rank_value.is_none() && seen_rank_missing(arguments) {
        errors.push(rank_missing("phlora", keyword_span));
    }
    let op = match (target, factors, rank_value) {
        (Some(target), Some((target_a, target_b)), Some(rank)) => Some(Op::Phlora(Phlora {
            target,
            target_a,
            target_b,
            rank,
            delete_original,
            require_missing_dest,
            svd,
        })),
        _ => None,
    };
    finish(op, errors)
}

/// `phlora_(w, rank=…, method=…, …)`.
pub(super) fn phlora_in_place(
    builder: &Builder,
    target: &Pair<'_, Rule>,
    rest: &[Pair<'_, Rule>],
    keyword_span: Span,
) -> Parsed<Op> {
    let op = "phlora_";
    let mut errors = Vec::new();
    let target = keep(
        parse_reference(builder, target.clone(), Role::source(op, "target")),
        &mut errors,
    );
    let mut seen = SeenArguments::default();
    let mut rank_value = None;
    let mut svd = SvdOptions::default();
    for argument in rest {
        let (name, _) = argument_parts(argument.clone());
        if keep(seen.record(name.as_str(), builder.span(&name)), &mut errors).is_none() {
            continue;
        }
        if argument.as_rule() == Rule::rank_argument {
            rank_value = keep(rank(builder, argument.clone()), &mut errors);
        } else {
            lowrank::svd_argument(builder, argument, &mut svd, &mut errors);
        }
    }
    keep(rules::svd_options(Syntax::Terse, op, &svd), &mut errors);
    if rank_value.is_none() && seen_rank_missing(rest) {
        errors.push(rank_missing(op, keyword_span));
    }
    let result = match (target, rank_value) {
        (Some(target), Some(rank)) => Some(Op::PhloraInPlace(PhloraInPlace { target, rank, svd })),
        _ => None,
    };
    finish(result, errors)
}

/// Whether no `rank=` argument was written at all.
fn seen_rank_missing(arguments: &[Pair<'_, Rule>]) -> bool {
    !arguments
        .iter()
        .any(|argument| argument.as_rule() == Rule::rank_argument)
}
