//! Function calls: `clamp(…)`, `reshape(…)`, `fill(…)`, `zeroes(…)`, `split(…)`, `phlora(…)`, …
//! on the right of `=`, and their in-place forms (`clamp_(x, …)`) as statements. The calls that
//! make or fill tensors are in [`super::creation`]; this file dispatches and handles the shaping
//! calls (clamp, reshape, permute, transpose).
//!
//! Receives a call pair (and, out of place, the destination reference pairs written before `=`);
//! returns the op with the span of the function name, which becomes the step's keyword span. The
//! source reference is parsed before the destinations, because a destination is a template of its
//! source. Every argument problem of the call is reported, not only the first.

use super::creation;
use super::diagnostics;
use super::grammar::Rule;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_dtype, parse_integer, parse_integer_items, parse_number,
    significant, Builder, Parsed, SeenArguments,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{
    CastInPlace, Clamp, ClampInPlace, Fill, FillInPlace, Op, Permute, Reshape, ReshapeInPlace,
    Spanned, TensorRef, Transpose,
};
use crate::plan::rules::{self, Syntax};
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
    let (rule, keyword_span, arguments) = call_parts(builder, call)?;
    let source = arguments.first();
    // The arguments after the source.
    let rest = arguments.get(1..).unwrap_or(&[]);
    let op = match rule {
        Rule::clamp_call => from_to_op(
            builder,
            "clamp",
            source,
            destinations,
            clamp_bounds(builder, "clamp", rest, keyword_span),
            |from, to, (min, max)| Op::Clamp(Clamp { from, to, min, max }),
        )?,
        Rule::reshape_call => from_to_op(
            builder,
            "reshape",
            source,
            destinations,
            shape_argument(builder, "reshape `shape`", rest),
            |from, to, shape| Op::Reshape(Reshape { from, to, shape }),
        )?,
        Rule::permute_call => from_to_op(
            builder,
            "permute",
            source,
            destinations,
            order_argument(builder, rest),
            |from, to, order| Op::Permute(Permute { from, to, order }),
        )?,
        Rule::transpose_call => from_to_op(
            builder,
            "transpose",
            source,
            destinations,
            dimension_pair(builder, rest),
            |from, to, (dim0, dim1)| {
                Op::Transpose(Transpose {
                    from,
                    to,
                    dim0,
                    dim1,
                })
            },
        )?,
        Rule::fill_call => from_to_op(
            builder,
            "fill",
            source,
            destinations,
            creation::fill_spec(builder, "fill", rest, Span::default()),
            |from, to, fill| Op::Fill(Fill { from, to, fill }),
        )?,
        Rule::zeroes_call => Op::Zeroes(creation::create(
            builder,
            "zeroes",
            &arguments,
            destinations,
        )?),
        Rule::ones_call => Op::Ones(creation::create(builder, "ones", &arguments, destinations)?),
        Rule::rand_call => creation::rand(builder, &arguments, destinations)?,
        Rule::concat_call => creation::concat(builder, &arguments, destinations)?,
        Rule::split_call => creation::split(builder, &arguments, destinations)?,
        Rule::lora_extract_call => {
            super::lowrank::lora_extract(builder, &arguments, destinations, keyword_span)?
        }
        _ => creation::phlora(builder, &arguments, destinations, keyword_span)?,
    };
    Ok((op, keyword_span))
}

/// An in-place call statement `name_(TARGET, …)`.
pub fn lower_in_place(builder: &Builder, call: Pair<'_, Rule>) -> Parsed<(Op, Span)> {
    let (rule, keyword_span, arguments) = call_parts(builder, call)?;
    let Some((target, rest)) = arguments.split_first() else {
        return Err(diagnostics::unexpected_tree(keyword_span).into());
    };
    let op = match rule {
        Rule::clamp_in_place => target_op(
            builder,
            "clamp_",
            target,
            clamp_bounds(builder, "clamp_", rest, keyword_span),
            |target, (min, max)| Op::ClampInPlace(ClampInPlace { target, min, max }),
        )?,
        Rule::reshape_in_place => target_op(
            builder,
            "reshape_",
            target,
            shape_argument(builder, "reshape_ `shape`", rest),
            |target, shape| Op::ReshapeInPlace(ReshapeInPlace { target, shape }),
        )?,
        Rule::cast_in_place => target_op(
            builder,
            "cast_",
            target,
            dtype_at(builder, rest, 0, keyword_span),
            |target, dtype| Op::CastInPlace(CastInPlace { target, dtype }),
        )?,
        Rule::fill_in_place => target_op(
            builder,
            "fill_",
            target,
            creation::fill_spec(builder, "fill_", rest, keyword_span),
            |target, fill| Op::FillInPlace(FillInPlace { target, fill }),
        )?,
        _ => creation::phlora_in_place(builder, target, rest, keyword_span)?,
    };
    Ok((op, keyword_span))
}

/// A call's rule, the span of its function name and its arguments.
pub(super) fn call_parts<'i>(
    builder: &Builder,
    call: Pair<'i, Rule>,
) -> Parsed<(Rule, Span, Vec<Pair<'i, Rule>>)> {
    let rule = call.as_rule();
    let mut parts = significant(call);
    let Some(keyword) = parts.next() else {
        return Err(diagnostics::unexpected_tree(Span::default()).into());
    };
    Ok((rule, builder.span(&keyword), parts.collect()))
}

/// The source (first argument) and the single destination, a template of the source.
pub(super) fn source_and_destination(
    builder: &Builder,
    op: &'static str,
    source: Option<&Pair<'_, Rule>>,
    destinations: &Destinations<'_>,
    errors: &mut Vec<Diagnostic>,
) -> (Option<Spanned<TensorRef>>, Option<Spanned<TensorRef>>) {
    let from = source.and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source(op, "from")),
            errors,
        )
    });
    let to = keep(destinations.single(op), errors).and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::template(op, "to", from.as_ref())),
            errors,
        )
    });
    (from, to)
}

/// `to = op(from, …)`: the source, the single destination (a template of the source) and the
/// op's other arguments, already read; built into an op when all three are, otherwise every
/// diagnostic of the three, in that order.
pub(super) fn from_to_op<T>(
    builder: &Builder,
    op: &'static str,
    source: Option<&Pair<'_, Rule>>,
    destinations: &Destinations<'_>,
    arguments: Parsed<T>,
    build: impl FnOnce(Spanned<TensorRef>, Spanned<TensorRef>, T) -> Op,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (from, to) = source_and_destination(builder, op, source, destinations, &mut errors);
    let arguments = keep(arguments, &mut errors);
    let op = match (from, to, arguments) {
        (Some(from), Some(to), Some(arguments)) => Some(build(from, to, arguments)),
        _ => None,
    };
    finish(op, errors)
}

/// `op_(target, …)`: the target, a source the op rewrites, and the op's other arguments, already
/// read; every diagnostic of both, in that order.
fn target_op<T>(
    builder: &Builder,
    op: &'static str,
    target: &Pair<'_, Rule>,
    arguments: Parsed<T>,
    build: impl FnOnce(Spanned<TensorRef>, T) -> Op,
) -> Parsed<Op> {
    let mut errors = Vec::new();
    let target = keep(
        parse_reference(builder, target.clone(), Role::source(op, "target")),
        &mut errors,
    );
    let arguments = keep(arguments, &mut errors);
    finish(
        target
            .zip(arguments)
            .map(|(target, arguments)| build(target, arguments)),
        errors,
    )
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
    rules::clamp_bounds(Syntax::Terse, op, min.as_ref(), max.as_ref(), keyword_span)?;
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
    rules::reshape_shape(what, &shape, &items)?;
    Ok(shape)
}

/// A permute `order` (the first argument of `rest`).
fn order_argument(builder: &Builder, rest: &[Pair<'_, Rule>]) -> Parsed<Spanned<Vec<i64>>> {
    let Some(list) = rest.first() else {
        return Err(diagnostics::unexpected_tree(Span::default()).into());
    };
    let (order, items) = parse_integer_items(builder, list.clone())?;
    rules::permutation("permute `order`", &order, &items)?;
    Ok(order)
}

/// Transpose's two dimensions (the first two arguments of `rest`), each reported if bad.
fn dimension_pair(
    builder: &Builder,
    rest: &[Pair<'_, Rule>],
) -> Parsed<(Spanned<i64>, Spanned<i64>)> {
    let mut errors = Vec::new();
    let mut dimension = |index: usize| {
        rest.get(index)
            .and_then(|pair| keep(parse_integer(builder, pair.clone()), &mut errors))
    };
    let (dim0, dim1) = (dimension(0), dimension(1));
    finish(dim0.zip(dim1), errors)
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
