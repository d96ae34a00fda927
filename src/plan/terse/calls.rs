//! Function calls: `clamp(…)`, `reshape(…)`, `fill(…)`, `zeroes(…)`, `split(…)`, `phlora(…)`, …
//! on the right of `=`, and their in-place forms (`clamp_(x, …)`) as statements.
//!
//! Receives a call pair (and, out of place, the destination reference pairs written before `=`);
//! returns the op with the span of the function name, which becomes the step's keyword span. The
//! source reference is parsed before the destinations, because a destination is a template of its
//! source. Every argument problem of the call is reported, not only the first.

use super::checks;
use super::diagnostics;
use super::grammar::Rule;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_boolean, parse_dtype, parse_integer, parse_integer_items,
    parse_number, parse_unsigned, parse_unsigned_list, significant, Builder, Parsed, SeenArguments,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{
    CastInPlace, Clamp, ClampInPlace, Concat, Create, Distribution, Fill, FillInPlace, FillSpec,
    NestedValues, Op, Permute, Phlora, PhloraInPlace, Rand, Reshape, ReshapeInPlace, Spanned,
    Split, TensorRef, Transpose,
};
use crate::tensor::DType;
use pest::iterators::Pair;

/// The destinations written before `=`, with the span covering them.
pub struct Destinations<'i> {
    pub pairs: Vec<Pair<'i, Rule>>,
    pub span: Span,
}

impl<'i> Destinations<'i> {
    /// The only destination, or an error naming how many the op writes.
    pub fn single(&self, op: &str) -> Parsed<Pair<'i, Rule>> {
        match self.pairs.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(
                diagnostics::destination_count(op, "one tensor", self.pairs.len(), self.span)
                    .into(),
            ),
        }
    }
}

/// An out-of-place call `DESTINATIONS = name(…)`.
pub fn lower_call(
    builder: &Builder,
    call: Pair<'_, Rule>,
    destinations: &Destinations<'_>,
) -> Parsed<(Op, Span)> {
    let rule = call.as_rule();
    let mut arguments = significant(call);
    let Some(keyword) = arguments.next() else {
        return Err(diagnostics::unexpected_tree(Span::default()).into());
    };
    let keyword_span = builder.span(&keyword);
    let arguments: Vec<Pair<'_, Rule>> = arguments.collect();
    let op = match rule {
        Rule::clamp_call => clamp(builder, &arguments, destinations, keyword_span)?,
        Rule::reshape_call => reshape(builder, &arguments, destinations)?,
        Rule::permute_call => permute(builder, &arguments, destinations)?,
        Rule::transpose_call => transpose(builder, &arguments, destinations)?,
        Rule::fill_call => fill(builder, &arguments, destinations)?,
        Rule::zeroes_call => Op::Zeroes(create(builder, "zeroes", &arguments, destinations)?),
        Rule::ones_call => Op::Ones(create(builder, "ones", &arguments, destinations)?),
        Rule::rand_call => rand(builder, &arguments, destinations)?,
        Rule::concat_call => concat(builder, &arguments, destinations)?,
        Rule::split_call => split(builder, &arguments, destinations)?,
        _ => phlora(builder, &arguments, destinations, keyword_span)?,
    };
    Ok((op, keyword_span))
}

/// An in-place call statement `name_(TARGET, …)`.
pub fn lower_in_place(builder: &Builder, call: Pair<'_, Rule>) -> Parsed<(Op, Span)> {
    let rule = call.as_rule();
    let mut arguments = significant(call);
    let Some(keyword) = arguments.next() else {
        return Err(diagnostics::unexpected_tree(Span::default()).into());
    };
    let keyword_span = builder.span(&keyword);
    let arguments: Vec<Pair<'_, Rule>> = arguments.collect();
    let Some((target_pair, rest)) = arguments.split_first() else {
        return Err(diagnostics::unexpected_tree(keyword_span).into());
    };
    let mut errors = Vec::new();
    let op = match rule {
        Rule::clamp_in_place => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("clamp_", "target", true),
                ),
                &mut errors,
            );
            let bounds = keep(
                clamp_bounds(builder, "clamp_", rest, keyword_span),
                &mut errors,
            );
            target
                .zip(bounds)
                .map(|(target, (min, max))| Op::ClampInPlace(ClampInPlace { target, min, max }))
        }
        Rule::reshape_in_place => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("reshape_", "target", false),
                ),
                &mut errors,
            );
            let shape = keep(
                shape_argument(builder, "reshape_ `shape`", rest),
                &mut errors,
            );
            target
                .zip(shape)
                .map(|(target, shape)| Op::ReshapeInPlace(ReshapeInPlace { target, shape }))
        }
        Rule::cast_in_place => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("cast_", "target", false),
                ),
                &mut errors,
            );
            let dtype = keep(dtype_at(builder, rest, 0, keyword_span), &mut errors);
            target
                .zip(dtype)
                .map(|(target, dtype)| Op::CastInPlace(CastInPlace { target, dtype }))
        }
        Rule::fill_in_place => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("fill_", "target", true),
                ),
                &mut errors,
            );
            let fill = keep(fill_spec(builder, "fill_", rest, keyword_span), &mut errors);
            target
                .zip(fill)
                .map(|(target, fill)| Op::FillInPlace(FillInPlace { target, fill }))
        }
        _ => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("phlora_", "target", false),
                ),
                &mut errors,
            );
            let rank = match rest.first() {
                Some(argument) => keep(rank(builder, argument.clone()), &mut errors),
                None => {
                    errors.push(rank_missing("phlora_", keyword_span));
                    None
                }
            };
            target
                .zip(rank)
                .map(|(target, rank)| Op::PhloraInPlace(PhloraInPlace { target, rank }))
        }
    };
    finish(op.map(|op| (op, keyword_span)), errors)
}

/// The source (first argument) and the single destination, a template of the source.
fn source_and_destination(
    builder: &Builder,
    op: &'static str,
    source: Option<&Pair<'_, Rule>>,
    destinations: &Destinations<'_>,
    errors: &mut Vec<Diagnostic>,
) -> (Option<Spanned<TensorRef>>, Option<Spanned<TensorRef>>) {
    let from = source.and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source(op, "from", true)),
            errors,
        )
    });
    let to = keep(destinations.single(op), errors).and_then(|pair| {
        keep(
            parse_reference(
                builder,
                pair,
                Role::template(op, "to", from.as_ref(), false),
            ),
            errors,
        )
    });
    (from, to)
}

fn clamp(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
    keyword_span: Span,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(
        builder,
        "clamp",
        arguments.first(),
        destinations,
        &mut errors,
    );
    let bounds = keep(
        clamp_bounds(
            builder,
            "clamp",
            arguments.get(1..).unwrap_or(&[]),
            keyword_span,
        ),
        &mut errors,
    );
    let op = match (from, to, bounds) {
        (Some(from), Some(to), Some((min, max))) => Some(Op::Clamp(Clamp { from, to, min, max })),
        _ => None,
    };
    finish(op, errors)
}

type ClampBounds = (Option<Spanned<f64>>, Option<Spanned<f64>>);

/// `min=…`, `max=…` in any order, at least one, `min <= max`.
fn clamp_bounds(
    builder: &Builder,
    op: &str,
    arguments: &[Pair<'_, Rule>],
    keyword_span: Span,
) -> Parsed<ClampBounds> {
    let mut seen = SeenArguments::default();
    let (mut min, mut max) = (None, None);
    for argument in arguments {
        let (name, value) = argument_parts(argument.clone());
        seen.record(name.as_str(), builder.span(&name))?;
        let Some(value) = value else { continue };
        let number = parse_number(builder, value)?;
        if name.as_rule() == Rule::kw_min {
            min = Some(number);
        } else {
            max = Some(number);
        }
    }
    checks::clamp_bounds(op, min.as_ref(), max.as_ref(), keyword_span)?;
    Ok((min, max))
}

/// A reshape `shape` (the first argument of `rest`).
fn shape_argument(
    builder: &Builder,
    what: &str,
    rest: &[Pair<'_, Rule>],
) -> Parsed<Spanned<Vec<i64>>> {
    let Some(list) = rest.first() else {
        return Err(diagnostics::unexpected_tree(Span::default()).into());
    };
    let (shape, items) = parse_integer_items(builder, list.clone())?;
    checks::reshape_shape(what, &shape, &items)?;
    Ok(shape)
}

fn reshape(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(
        builder,
        "reshape",
        arguments.first(),
        destinations,
        &mut errors,
    );
    let shape = keep(
        shape_argument(
            builder,
            "reshape `shape`",
            arguments.get(1..).unwrap_or(&[]),
        ),
        &mut errors,
    );
    let op = match (from, to, shape) {
        (Some(from), Some(to), Some(shape)) => Some(Op::Reshape(Reshape { from, to, shape })),
        _ => None,
    };
    finish(op, errors)
}

fn permute(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(
        builder,
        "permute",
        arguments.first(),
        destinations,
        &mut errors,
    );
    let order = arguments.get(1).and_then(|list| {
        let (order, items) = keep(parse_integer_items(builder, list.clone()), &mut errors)?;
        keep(
            checks::permutation("permute `order`", &order, &items),
            &mut errors,
        )?;
        Some(order)
    });
    let op = match (from, to, order) {
        (Some(from), Some(to), Some(order)) => Some(Op::Permute(Permute { from, to, order })),
        _ => None,
    };
    finish(op, errors)
}

fn transpose(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(
        builder,
        "transpose",
        arguments.first(),
        destinations,
        &mut errors,
    );
    let mut dimension = |index: usize| {
        arguments
            .get(index)
            .and_then(|pair| keep(parse_integer(builder, pair.clone()), &mut errors))
    };
    let (dim0, dim1) = (dimension(1), dimension(2));
    let op = match (from, to, dim0, dim1) {
        (Some(from), Some(to), Some(dim0), Some(dim1)) => Some(Op::Transpose(Transpose {
            from,
            to,
            dim0,
            dim1,
        })),
        _ => None,
    };
    finish(op, errors)
}

fn fill(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(
        builder,
        "fill",
        arguments.first(),
        destinations,
        &mut errors,
    );
    let spec = keep(
        fill_spec(
            builder,
            "fill",
            arguments.get(1..).unwrap_or(&[]),
            Span::default(),
        ),
        &mut errors,
    );
    let op = match (from, to, spec) {
        (Some(from), Some(to), Some(fill)) => Some(Op::Fill(Fill { from, to, fill })),
        _ => None,
    };
    finish(op, errors)
}

/// What `fill`/`fill_` writes: `fill_constant`, `fill_tensor` or `fill_random`.
fn fill_spec(
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
            checks::rectangular(&format!("{op} `values`"), &values)?;
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
    checks::distribution(&distribution)?;
    Ok(distribution)
}

fn seed(builder: &Builder, argument: Pair<'_, Rule>) -> Parsed<Spanned<i64>> {
    let (name, value) = argument_parts(argument);
    match value {
        Some(value) => parse_integer(builder, value),
        None => Err(diagnostics::unexpected_tree(builder.span(&name)).into()),
    }
}

fn rank(builder: &Builder, argument: Pair<'_, Rule>) -> Parsed<Spanned<u64>> {
    let (name, value) = argument_parts(argument);
    match value {
        Some(value) => parse_unsigned(builder, value, "phlora `rank`", true),
        None => Err(diagnostics::unexpected_tree(builder.span(&name)).into()),
    }
}

fn rank_missing(op: &str, span: Span) -> Diagnostic {
    diagnostics::missing_argument(op, "rank", "rank=16", span)
}

/// The dtype pair at `index` of `rest`.
fn dtype_at(
    builder: &Builder,
    rest: &[Pair<'_, Rule>],
    index: usize,
    span: Span,
) -> Parsed<Spanned<DType>> {
    match rest.get(index) {
        Some(pair) => parse_dtype(builder, pair.clone()),
        None => Err(diagnostics::unexpected_tree(span).into()),
    }
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
fn create(
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
fn rand(
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
fn concat(
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
            parse_reference(
                builder,
                argument.clone(),
                Role::source("concat", "from", true),
            ),
            &mut errors,
        ) {
            from.push(reference);
        }
    }
    let count = from.len();
    keep(
        checks::at_least(
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
fn split(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let from = arguments.first().and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source("split", "from", true)),
            &mut errors,
        )
    });
    keep(
        checks::at_least("split `to`", destinations.pairs.len(), 2, destinations.span),
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
            keep(checks::split_sizes(to.len(), sizes), &mut errors);
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
fn phlora(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
    keyword_span: Span,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let target = arguments.first().and_then(|pair| {
        keep(
            parse_reference(
                builder,
                pair.clone(),
                Role::source("phlora", "target", false),
            ),
            &mut errors,
        )
    });
    let factors = match destinations.pairs.as_slice() {
        [a, b] => {
            let a = keep(
                parse_reference(
                    builder,
                    a.clone(),
                    Role::template("phlora", "target_a", target.as_ref(), false),
                ),
                &mut errors,
            );
            let b = keep(
                parse_reference(
                    builder,
                    b.clone(),
                    Role::template("phlora", "target_b", target.as_ref(), false),
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
        keep(checks::distinct_factors(a, b), &mut errors);
    }
    let mut seen = SeenArguments::default();
    let (mut rank_value, mut delete_original, mut require_missing_dest) = (None, None, None);
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
            _ => require_missing_dest = value.map(|value| parse_boolean(builder, value)),
        }
    }
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
        })),
        _ => None,
    };
    finish(op, errors)
}

/// Whether no `rank=` argument was written at all.
fn seen_rank_missing(arguments: &[Pair<'_, Rule>]) -> bool {
    !arguments
        .iter()
        .any(|argument| argument.as_rule() == Rule::rank_argument)
}
