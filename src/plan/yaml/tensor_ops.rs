//! Lowering of the ops that rewrite existing tensors: copy, move, delete, assign, the arithmetic
//! ops, scale, cast, clamp, reshape, permute and transpose (each with its in-place variant).
//!
//! Receives the op name, its keyword span and its payload node; returns `None` for ops this module
//! does not handle, otherwise the lowered [`Op`] (or `Some(None)` after recording diagnostics).
//! Which references may be sliced follows the "slice" column of the reference's op table.

use super::fields::Fields;
use super::lower::{Lowerer, Relation};
use super::node::{Node, Value};
use crate::diagnostics::Span;
use crate::plan::ast::{
    Cast, CastInPlace, Clamp, ClampInPlace, Mapping, Op, Permute, Reshape, ReshapeInPlace, Scale,
    ScaleInPlace, Spanned, Ternary, Transpose, Unary,
};
use crate::plan::diagnostics;

/// Whether each side of a mapping may be sliced.
#[derive(Clone, Copy)]
struct Slices {
    from: bool,
    to: bool,
}

pub(super) fn lower(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Option<Op>> {
    let both = Slices {
        from: true,
        to: true,
    };
    let source_only = Slices {
        from: true,
        to: false,
    };
    let neither = Slices {
        from: false,
        to: false,
    };
    let op = match name {
        "copy" => mapping(lower, name, keyword_span, payload, source_only).map(Op::Copy),
        "move" => mapping(lower, name, keyword_span, payload, neither).map(Op::Move),
        "assign" => mapping(lower, name, keyword_span, payload, both).map(Op::Assign),
        "add_" => mapping(lower, name, keyword_span, payload, both).map(Op::AddInPlace),
        "subtract_" => mapping(lower, name, keyword_span, payload, both).map(Op::SubtractInPlace),
        "delete" => delete(lower, name, keyword_span, payload),
        "add" => ternary(lower, name, keyword_span, payload, true).map(Op::Add),
        "subtract" => ternary(lower, name, keyword_span, payload, true).map(Op::Subtract),
        "multiply" => ternary(lower, name, keyword_span, payload, true).map(Op::Multiply),
        "matmul" => ternary(lower, name, keyword_span, payload, false).map(Op::Matmul),
        "scale" => scale(lower, name, keyword_span, payload),
        "scale_" => scale_in_place(lower, name, keyword_span, payload),
        "cast" => cast(lower, name, keyword_span, payload),
        "cast_" => cast_in_place(lower, name, keyword_span, payload),
        "clamp" => clamp(lower, name, keyword_span, payload),
        "clamp_" => clamp_in_place(lower, name, keyword_span, payload),
        "reshape" => reshape(lower, name, keyword_span, payload),
        "reshape_" => reshape_in_place(lower, name, keyword_span, payload),
        "permute" => permute(lower, name, keyword_span, payload),
        "transpose" => transpose(lower, name, keyword_span, payload),
        _ => return None,
    };
    Some(op)
}

/// `from` and `to`, with the destination a template of the source.
fn from_to(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    slices: Slices,
) -> (
    Option<Spanned<crate::plan::ast::TensorRef>>,
    Option<Spanned<crate::plan::ast::TensorRef>>,
) {
    let from = lower.reference(fields, "from", Relation::Source, slices.from);
    let to = lower.reference(fields, "to", Relation::TemplateOf(from.as_ref()), slices.to);
    (from, to)
}

fn mapping(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
    slices: Slices,
) -> Option<Mapping> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to"])?;
    let (from, to) = from_to(lower, &fields, slices);
    Some(Mapping {
        from: from?,
        to: to?,
    })
}

fn delete(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["target"])?;
    let target = lower.reference(&fields, "target", Relation::Source, false)?;
    Some(Op::Delete(Unary { target }))
}

fn ternary(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
    slice_destination: bool,
) -> Option<Ternary> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["from_a", "from_b", "to"],
    )?;
    let from_a = lower.reference(&fields, "from_a", Relation::Source, true);
    let from_b = lower.reference(
        &fields,
        "from_b",
        Relation::TemplateOf(from_a.as_ref()),
        true,
    );
    let to = lower.reference(
        &fields,
        "to",
        Relation::TemplateOf(from_a.as_ref()),
        slice_destination,
    );
    Some(Ternary {
        from_a: from_a?,
        from_b: from_b?,
        to: to?,
    })
}

fn scale(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to", "by"])?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let by = fields
        .required(lower, "by")
        .and_then(|n| lower.number(n, &fields.what("by")));
    Some(Op::Scale(Scale {
        from: from?,
        to: to?,
        by: by?,
    }))
}

fn scale_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["target", "by"])?;
    let target = lower.reference(&fields, "target", Relation::Source, true);
    let by = fields
        .required(lower, "by")
        .and_then(|n| lower.number(n, &fields.what("by")));
    Some(Op::ScaleInPlace(ScaleInPlace {
        target: target?,
        by: by?,
    }))
}

fn cast(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to", "dtype"])?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let dtype = fields
        .required(lower, "dtype")
        .and_then(|n| lower.dtype(n, &fields.what("dtype")));
    Some(Op::Cast(Cast {
        from: from?,
        to: to?,
        dtype: dtype?,
    }))
}

/// `cast_: {target, to: dtype}`: the reference names the dtype `to` here.
fn cast_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["target", "to"])?;
    let target = lower.reference(&fields, "target", Relation::Source, false);
    let dtype = fields
        .required(lower, "to")
        .and_then(|n| lower.dtype(n, &fields.what("to")));
    Some(Op::CastInPlace(CastInPlace {
        target: target?,
        dtype: dtype?,
    }))
}

type Bounds = (Option<Spanned<f64>>, Option<Spanned<f64>>);

/// `min` and `max`: at least one, and `min <= max`.
fn clamp_bounds(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Bounds> {
    let min_node = fields.optional("min");
    let max_node = fields.optional("max");
    let min = min_node.map(|n| lower.number(n, &fields.what("min")));
    let max = max_node.map(|n| lower.number(n, &fields.what("max")));
    if min.is_none() && max.is_none() {
        lower.error(diagnostics::invalid_argument(
            &format!("{} needs at least one bound", fields.op()),
            "neither `min` nor `max` given",
            fields.keyword_span(),
            "add `min: …`, `max: …` or both",
        ));
        return None;
    }
    let min = match min {
        Some(value) => Some(value?),
        None => None,
    };
    let max = match max {
        Some(value) => Some(value?),
        None => None,
    };
    if let (Some(low), Some(high)) = (&min, &max) {
        if low.node > high.node {
            lower.error(diagnostics::invalid_argument(
                &format!(
                    "{} bounds are reversed: min {} > max {}",
                    fields.op(),
                    low.node,
                    high.node
                ),
                "smaller than `min`",
                high.span,
                "`min` must not exceed `max`",
            ));
            return None;
        }
    }
    Some((min, max))
}

fn clamp(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["from", "to", "min", "max"],
    )?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let (min, max) = clamp_bounds(lower, &fields)?;
    Some(Op::Clamp(Clamp {
        from: from?,
        to: to?,
        min,
        max,
    }))
}

fn clamp_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["target", "min", "max"],
    )?;
    let target = lower.reference(&fields, "target", Relation::Source, true);
    let (min, max) = clamp_bounds(lower, &fields)?;
    Some(Op::ClampInPlace(ClampInPlace {
        target: target?,
        min,
        max,
    }))
}

/// A reshape target: non-empty, at most one `-1`, no `0` and nothing below `-1`.
fn shape(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Spanned<Vec<i64>>> {
    let node = fields.required(lower, "shape")?;
    let shape = lower.integer_list(node, &fields.what("shape"))?;
    let items = list_items(node);
    if shape.node.is_empty() {
        lower.error(diagnostics::too_few_items(
            &fields.what("shape"),
            1,
            node.span,
        ));
        return None;
    }
    let mut inferred = None;
    let mut valid = true;
    for (index, &dimension) in shape.node.iter().enumerate() {
        let span = items.get(index).map_or(node.span, |item| item.span);
        if dimension == 0 || dimension < -1 {
            lower.error(diagnostics::invalid_argument(
                &format!("{} dimension {dimension} is invalid", fields.what("shape")),
                "dimensions are positive, or -1 for one inferred dimension",
                span,
                "write positive sizes and at most one -1",
            ));
            valid = false;
        } else if dimension == -1 {
            if let Some(first) = inferred {
                lower.error(
                    diagnostics::invalid_argument(
                        &format!("{} has more than one -1", fields.what("shape")),
                        "a second inferred dimension",
                        span,
                        "only one dimension can be inferred",
                    )
                    .with_label(first, "first -1"),
                );
                valid = false;
            }
            inferred = Some(span);
        }
    }
    valid.then_some(shape)
}

fn list_items(node: &Node) -> &[Node] {
    match &node.value {
        Value::Sequence(items) => items,
        _ => &[],
    }
}

fn reshape(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to", "shape"])?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let shape = shape(lower, &fields);
    Some(Op::Reshape(Reshape {
        from: from?,
        to: to?,
        shape: shape?,
    }))
}

fn reshape_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["target", "shape"])?;
    let target = lower.reference(&fields, "target", Relation::Source, false);
    let shape = shape(lower, &fields);
    Some(Op::ReshapeInPlace(ReshapeInPlace {
        target: target?,
        shape: shape?,
    }))
}

/// `order` must be a permutation of `0..order.len()` (negative entries count from the end).
fn permute(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to", "order"])?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let order = fields
        .required(lower, "order")
        .and_then(|node| check_permutation(lower, &fields, node));
    Some(Op::Permute(Permute {
        from: from?,
        to: to?,
        order: order?,
    }))
}

fn check_permutation(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    node: &Node,
) -> Option<Spanned<Vec<i64>>> {
    let order = lower.integer_list(node, &fields.what("order"))?;
    let items = list_items(node);
    let rank = order.node.len() as i64;
    let mut seen = vec![false; order.node.len()];
    let mut valid = true;
    for (index, &dimension) in order.node.iter().enumerate() {
        let span = items.get(index).map_or(node.span, |item| item.span);
        let normalized = if dimension < 0 {
            dimension + rank
        } else {
            dimension
        };
        if !(0..rank).contains(&normalized) {
            lower.error(diagnostics::invalid_argument(
                &format!(
                    "{} entry {dimension} is out of range for {rank} dimensions",
                    fields.what("order")
                ),
                "out of range",
                span,
                "`order` lists every dimension 0..rank-1 exactly once",
            ));
            valid = false;
        } else if std::mem::replace(&mut seen[normalized as usize], true) {
            lower.error(diagnostics::invalid_argument(
                &format!("{} repeats dimension {dimension}", fields.what("order")),
                "repeated",
                span,
                "`order` lists every dimension 0..rank-1 exactly once",
            ));
            valid = false;
        }
    }
    valid.then_some(order)
}

fn transpose(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["from", "to", "dim0", "dim1"],
    )?;
    let (from, to) = from_to(
        lower,
        &fields,
        Slices {
            from: true,
            to: false,
        },
    );
    let dim0 = fields
        .required(lower, "dim0")
        .and_then(|n| lower.integer(n, &fields.what("dim0")));
    let dim1 = fields
        .required(lower, "dim1")
        .and_then(|n| lower.integer(n, &fields.what("dim1")));
    Some(Op::Transpose(Transpose {
        from: from?,
        to: to?,
        dim0: dim0?,
        dim1: dim1?,
    }))
}
