//! Lowering of the ops that transform existing tensors: copy, move, delete, assign, add,
//! subtract, multiply, matmul, their in-place variants, scale, cast, clamp, reshape, permute and
//! transpose.
//!
//! Receives an op's payload opened with the keys its entry in [`OPS`] names; returns the lowered
//! [`Op`], or `None` after recording diagnostics. Which references may be sliced, and the rules
//! on clamp bounds, reshape shapes and permutations, are the shared ones of [`crate::plan::rules`].

use super::fields::Fields;
use super::lower::{Lowerer, Lowering, OpTable};
use super::node::{Node, Value};
use crate::diagnostics::Span;
use crate::plan::ast::{
    Cast, CastInPlace, Clamp, ClampInPlace, Mapping, Op, Permute, Reshape, ReshapeInPlace, Scale,
    ScaleInPlace, Spanned, TensorRef, Ternary, Transpose, Unary,
};
use crate::plan::rules::{self, Relation, Syntax};

const MAPPING: &[&str] = &["from", "to"];
const TERNARY: &[&str] = &["from_a", "from_b", "to"];

/// Each op of this module, with its keys.
pub(super) const OPS: OpTable = &[
    (
        "copy",
        Lowering::Keys(MAPPING, |l, f| mapping(l, f).map(Op::Copy)),
    ),
    (
        "move",
        Lowering::Keys(MAPPING, |l, f| mapping(l, f).map(Op::Move)),
    ),
    (
        "assign",
        Lowering::Keys(MAPPING, |l, f| mapping(l, f).map(Op::Assign)),
    ),
    (
        "add_",
        Lowering::Keys(MAPPING, |l, f| mapping(l, f).map(Op::AddInPlace)),
    ),
    (
        "subtract_",
        Lowering::Keys(MAPPING, |l, f| mapping(l, f).map(Op::SubtractInPlace)),
    ),
    ("delete", Lowering::Keys(&["target"], delete)),
    (
        "add",
        Lowering::Keys(TERNARY, |l, f| ternary(l, f).map(Op::Add)),
    ),
    (
        "subtract",
        Lowering::Keys(TERNARY, |l, f| ternary(l, f).map(Op::Subtract)),
    ),
    (
        "multiply",
        Lowering::Keys(TERNARY, |l, f| ternary(l, f).map(Op::Multiply)),
    ),
    (
        "matmul",
        Lowering::Keys(TERNARY, |l, f| ternary(l, f).map(Op::Matmul)),
    ),
    ("scale", Lowering::Keys(&["from", "to", "by"], scale)),
    ("scale_", Lowering::Keys(&["target", "by"], scale_in_place)),
    ("cast", Lowering::Keys(&["from", "to", "dtype"], cast)),
    // The reference names the dtype of `cast_` `to`.
    ("cast_", Lowering::Keys(&["target", "to"], cast_in_place)),
    (
        "clamp",
        Lowering::Keys(&["from", "to", "min", "max"], clamp),
    ),
    (
        "clamp_",
        Lowering::Keys(&["target", "min", "max"], clamp_in_place),
    ),
    ("reshape", Lowering::Keys(&["from", "to", "shape"], reshape)),
    (
        "reshape_",
        Lowering::Keys(&["target", "shape"], reshape_in_place),
    ),
    ("permute", Lowering::Keys(&["from", "to", "order"], permute)),
    (
        "transpose",
        Lowering::Keys(&["from", "to", "dim0", "dim1"], transpose),
    ),
];

type Reference = Option<Spanned<TensorRef>>;

/// `from` and `to`, with the destination a template of the source.
pub(super) fn from_to(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> (Reference, Reference) {
    let from = lower.reference(fields, "from", Relation::Source);
    let to = lower.reference(fields, "to", Relation::TemplateOf(from.as_ref()));
    (from, to)
}

/// `target`, a source the op rewrites.
fn target(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Reference {
    lower.reference(fields, "target", Relation::Source)
}

fn mapping(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Mapping> {
    let (from, to) = from_to(lower, fields);
    Some(Mapping {
        from: from?,
        to: to?,
    })
}

fn delete(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = target(lower, fields)?;
    Some(Op::Delete(Unary { target }))
}

/// `from_a`, then `from_b` and `to`, both templates of `from_a`.
fn ternary(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Ternary> {
    let from_a = lower.reference(fields, "from_a", Relation::Source);
    let relation = Relation::TemplateOf(from_a.as_ref());
    let from_b = lower.reference(fields, "from_b", relation);
    let to = lower.reference(fields, "to", relation);
    Some(Ternary {
        from_a: from_a?,
        from_b: from_b?,
        to: to?,
    })
}

fn scale(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let by = fields.read(lower, "by", Lowerer::number);
    Some(Op::Scale(Scale {
        from: from?,
        to: to?,
        by: by?,
    }))
}

fn scale_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = target(lower, fields);
    let by = fields.read(lower, "by", Lowerer::number);
    Some(Op::ScaleInPlace(ScaleInPlace {
        target: target?,
        by: by?,
    }))
}

fn cast(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let dtype = fields.read(lower, "dtype", Lowerer::dtype);
    Some(Op::Cast(Cast {
        from: from?,
        to: to?,
        dtype: dtype?,
    }))
}

fn cast_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = target(lower, fields);
    let dtype = fields.read(lower, "to", Lowerer::dtype);
    Some(Op::CastInPlace(CastInPlace {
        target: target?,
        dtype: dtype?,
    }))
}

type Bounds = (Option<Spanned<f64>>, Option<Spanned<f64>>);

/// `min` and `max`, read before the rule on them runs, so that a bad number is reported first.
fn clamp_bounds(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Bounds> {
    let min = fields.read_optional(lower, "min", Lowerer::number);
    let max = fields.read_optional(lower, "max", Lowerer::number);
    let (min, max) = (min?, max?);
    let rule = rules::clamp_bounds(
        Syntax::Yaml,
        fields.op(),
        min.as_ref(),
        max.as_ref(),
        fields.keyword_span(),
    );
    lower.check(rule)?;
    Some((min, max))
}

fn clamp(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let (min, max) = clamp_bounds(lower, fields)?;
    Some(Op::Clamp(Clamp {
        from: from?,
        to: to?,
        min,
        max,
    }))
}

fn clamp_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = target(lower, fields);
    let (min, max) = clamp_bounds(lower, fields)?;
    Some(Op::ClampInPlace(ClampInPlace {
        target: target?,
        min,
        max,
    }))
}

/// An integer list under `key` that `rule` accepts; the rule sees each item's span.
fn dimensions(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    key: &str,
    rule: fn(&str, &Spanned<Vec<i64>>, &[Span]) -> rules::Checked,
) -> Option<Spanned<Vec<i64>>> {
    let node = fields.required(lower, key)?;
    let what = fields.what(key);
    let list = lower.integer_list(node, &what)?;
    let items: Vec<Span> = list_items(node).iter().map(|item| item.span).collect();
    lower.check(rule(&what, &list, &items))?;
    Some(list)
}

fn list_items(node: &Node) -> &[Node] {
    match &node.value {
        Value::Sequence(items) => items,
        _ => &[],
    }
}

fn reshape(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let shape = dimensions(lower, fields, "shape", rules::reshape_shape);
    Some(Op::Reshape(Reshape {
        from: from?,
        to: to?,
        shape: shape?,
    }))
}

fn reshape_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = target(lower, fields);
    let shape = dimensions(lower, fields, "shape", rules::reshape_shape);
    Some(Op::ReshapeInPlace(ReshapeInPlace {
        target: target?,
        shape: shape?,
    }))
}

fn permute(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let order = dimensions(lower, fields, "order", rules::permutation);
    Some(Op::Permute(Permute {
        from: from?,
        to: to?,
        order: order?,
    }))
}

fn transpose(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let dim0 = fields.read(lower, "dim0", Lowerer::integer);
    let dim1 = fields.read(lower, "dim1", Lowerer::integer);
    Some(Op::Transpose(Transpose {
        from: from?,
        to: to?,
        dim0: dim0?,
        dim1: dim1?,
    }))
}
