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
    CastInPlace, Clamp, ClampInPlace, FillInPlace, Op, Permute, PhloraInPlace, Reshape,
    ReshapeInPlace, Spanned, TensorRef, Transpose,
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
        Rule::fill_call => creation::fill(builder, &arguments, destinations)?,
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
        _ => creation::phlora(builder, &arguments, destinations, keyword_span)?,
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
                    Role::source("clamp_", "target"),
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
                    Role::source("reshape_", "target"),
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
                    Role::source("cast_", "target"),
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
                    Role::source("fill_", "target"),
                ),
                &mut errors,
            );
            let fill = keep(
                creation::fill_spec(builder, "fill_", rest, keyword_span),
                &mut errors,
            );
            target
                .zip(fill)
                .map(|(target, fill)| Op::FillInPlace(FillInPlace { target, fill }))
        }
        _ => {
            let target = keep(
                parse_reference(
                    builder,
                    target_pair.clone(),
                    Role::source("phlora_", "target"),
                ),
                &mut errors,
            );
            let rank = match rest.first() {
                Some(argument) => keep(creation::rank(builder, argument.clone()), &mut errors),
                None => {
                    errors.push(creation::rank_missing("phlora_", keyword_span));
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
            rules::permutation("permute `order`", &order, &items),
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
