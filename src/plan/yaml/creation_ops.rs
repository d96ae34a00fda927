//! Lowering of the ops that make new tensors: fill, zeroes, ones, rand, split, concat and phlora
//! (with their in-place variants).
//!
//! Receives the op name, its keyword span and its payload node; returns `None` for ops this module
//! does not handle, otherwise the lowered [`Op`] (or `Some(None)` after recording diagnostics).
//! Checks what the reference checks before running: a fill mode's keys, distribution parameters
//! (`low < high`, `std > 0`), rectangular `values`, split sizes matching the destinations, at least
//! two pieces for split and concat, distinct PHLoRA factor names.

use super::fields::{optional_read, Fields};
use super::lower::{Lowerer, Relation};
use super::node::{Node, Value};
use crate::diagnostics::Span;
use crate::plan::ast::{
    Concat, Create, Distribution, Fill, FillInPlace, FillSpec, NestedValues, Op, Phlora,
    PhloraInPlace, Rand, Spanned, Split,
};
use crate::plan::diagnostics;

const DISTRIBUTION_KEYS: [&str; 5] = ["distribution", "low", "high", "mean", "std"];

pub(super) fn lower(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Option<Op>> {
    let op = match name {
        "fill" => fill(lower, name, keyword_span, payload),
        "fill_" => fill_in_place(lower, name, keyword_span, payload),
        "zeroes" => create(lower, name, keyword_span, payload).map(Op::Zeroes),
        "ones" => create(lower, name, keyword_span, payload).map(Op::Ones),
        "rand" => rand(lower, name, keyword_span, payload),
        "split" => split(lower, name, keyword_span, payload),
        "concat" => concat(lower, name, keyword_span, payload),
        "phlora" => phlora(lower, name, keyword_span, payload),
        "phlora_" => phlora_in_place(lower, name, keyword_span, payload),
        _ => return None,
    };
    Some(op)
}

const FILL_KEYS: [&str; 9] = [
    "mode",
    "value",
    "values",
    "distribution",
    "low",
    "high",
    "mean",
    "std",
    "seed",
];

fn with_fill_keys(keys: &[&'static str]) -> Vec<&'static str> {
    keys.iter().chain(FILL_KEYS.iter()).copied().collect()
}

fn fill(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let allowed = with_fill_keys(&["from", "to"]);
    let fields = Fields::open(lower, name, keyword_span, payload, &allowed)?;
    let from = lower.reference(&fields, "from", Relation::Source, true);
    let to = lower.reference(&fields, "to", Relation::TemplateOf(from.as_ref()), false);
    let fill = fill_spec(lower, &fields, payload.span);
    Some(Op::Fill(Fill {
        from: from?,
        to: to?,
        fill: fill?,
    }))
}

fn fill_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let allowed = with_fill_keys(&["target"]);
    let fields = Fields::open(lower, name, keyword_span, payload, &allowed)?;
    let target = lower.reference(&fields, "target", Relation::Source, true);
    let fill = fill_spec(lower, &fields, payload.span);
    Some(Op::FillInPlace(FillInPlace {
        target: target?,
        fill: fill?,
    }))
}

#[derive(Clone, Copy)]
enum FillMode {
    Constant,
    Rand,
    Tensor,
}

/// `mode: constant | rand | tensor` and the keys of that mode.
fn fill_spec(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    span: Span,
) -> Option<Spanned<FillSpec>> {
    let mode_node = fields.required(lower, "mode")?;
    let mode = lower.choice(
        mode_node,
        "fill mode",
        &[
            ("constant", FillMode::Constant),
            ("rand", FillMode::Rand),
            ("tensor", FillMode::Tensor),
        ],
    )?;
    let spec = match mode.node {
        FillMode::Constant => {
            let mut unused = vec!["values", "seed"];
            unused.extend(DISTRIBUTION_KEYS);
            fields.reject_for_mode(lower, "constant", &unused);
            let value = fields
                .required(lower, "value")
                .and_then(|n| lower.number(n, &fields.what("value")))?;
            FillSpec::Constant { value }
        }
        FillMode::Rand => {
            fields.reject_for_mode(lower, "rand", &["value", "values"]);
            let distribution = distribution(lower, fields)?;
            let seed = fields
                .optional("seed")
                .map(|n| lower.integer(n, &fields.what("seed")));
            let distribution = distribution.unwrap_or_else(|| {
                Spanned::new(
                    Distribution::Uniform {
                        low: None,
                        high: None,
                    },
                    mode.span,
                )
            });
            FillSpec::Rand {
                distribution,
                seed: optional_read(seed)?,
            }
        }
        FillMode::Tensor => {
            let mut unused = vec!["value", "seed"];
            unused.extend(DISTRIBUTION_KEYS);
            fields.reject_for_mode(lower, "tensor", &unused);
            let node = fields.required(lower, "values")?;
            let values = nested_values(lower, node, &fields.what("values"))?;
            check_rectangular(lower, node, &values, &fields.what("values"))?;
            FillSpec::Tensor {
                values: Spanned::new(values, node.span),
            }
        }
    };
    Some(Spanned::new(spec, span))
}

#[derive(Clone, Copy, PartialEq)]
enum DistributionKind {
    Uniform,
    Normal,
}

/// The distribution keys: `None` when none is written (uniform on [0, 1)).
fn distribution(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
) -> Option<Option<Spanned<Distribution>>> {
    if DISTRIBUTION_KEYS
        .iter()
        .all(|key| fields.optional(key).is_none())
    {
        return Some(None);
    }
    let named = fields.optional("distribution");
    let kind = match named {
        Some(node) => {
            lower
                .choice(
                    node,
                    "distribution",
                    &[
                        ("uniform", DistributionKind::Uniform),
                        ("normal", DistributionKind::Normal),
                    ],
                )?
                .node
        }
        None => DistributionKind::Uniform,
    };
    let span = named.map_or(fields.keyword_span(), |n| n.span);
    let mut number = |key: &str| {
        fields
            .optional(key)
            .map(|n| lower.number(n, &fields.what(key)))
    };
    let distribution = match kind {
        DistributionKind::Uniform => {
            let low = number("low");
            let high = number("high");
            fields.reject_for_mode(lower, "uniform", &["mean", "std"]);
            let low = optional_read(low)?;
            let high = optional_read(high)?;
            let low_value = low.as_ref().map_or(0.0, |v| v.node);
            let high_value = high.as_ref().map_or(1.0, |v| v.node);
            if low_value >= high_value {
                let at = high.as_ref().or(low.as_ref()).map_or(span, |v| v.span);
                lower.error(diagnostics::invalid_argument(
                    &format!("uniform distribution needs low < high, found low {low_value} and high {high_value}"),
                    "not above `low`",
                    at,
                    "defaults are low 0 and high 1; make `high` larger than `low`",
                ));
                return None;
            }
            Distribution::Uniform { low, high }
        }
        DistributionKind::Normal => {
            let mean = number("mean");
            let std = number("std");
            fields.reject_for_mode(lower, "normal", &["low", "high"]);
            let mean = optional_read(mean)?;
            let std = optional_read(std)?;
            if let Some(deviation) = std.as_ref().filter(|s| s.node <= 0.0 || s.node.is_nan()) {
                lower.error(diagnostics::invalid_argument(
                    &format!(
                        "normal distribution needs std > 0, found {}",
                        deviation.node
                    ),
                    "must be positive",
                    deviation.span,
                    "write a positive standard deviation (the default is 1)",
                ));
                return None;
            }
            Distribution::Normal { mean, std }
        }
    };
    Some(Some(Spanned::new(distribution, span)))
}

fn nested_values(lower: &mut Lowerer<'_>, node: &Node, what: &str) -> Option<NestedValues> {
    match &node.value {
        Value::Sequence(items) => {
            let values: Vec<Option<NestedValues>> = items
                .iter()
                .map(|item| nested_values(lower, item, what))
                .collect();
            Some(NestedValues::List(
                values.into_iter().collect::<Option<_>>()?,
            ))
        }
        _ => lower
            .number(node, what)
            .map(|value| NestedValues::Scalar(value.node)),
    }
}

/// The shape of nested values, or `None` when sibling lists differ.
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

fn check_rectangular(
    lower: &mut Lowerer<'_>,
    node: &Node,
    values: &NestedValues,
    what: &str,
) -> Option<()> {
    if nested_shape(values).is_some() {
        return Some(());
    }
    lower.error(diagnostics::invalid_argument(
        &format!("{what} is ragged: nested lists have different lengths"),
        "not rectangular",
        node.span,
        "every list at the same depth must have the same length",
    ));
    None
}

fn create(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Create> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["target", "shape", "dtype"],
    )?;
    let target = lower.reference(&fields, "target", Relation::Name, false);
    let shape = fields
        .required(lower, "shape")
        .and_then(|n| lower.count_list(n, &fields.what("shape"), true));
    let dtype = fields
        .optional("dtype")
        .map(|n| lower.dtype(n, &fields.what("dtype")));
    Some(Create {
        target: target?,
        shape: shape?,
        dtype: optional_read(dtype)?,
    })
}

fn rand(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let allowed = [
        "target",
        "shape",
        "distribution",
        "low",
        "high",
        "mean",
        "std",
        "seed",
        "dtype",
    ];
    let fields = Fields::open(lower, name, keyword_span, payload, &allowed)?;
    let target = lower.reference(&fields, "target", Relation::Name, false);
    let shape = fields
        .required(lower, "shape")
        .and_then(|n| lower.count_list(n, &fields.what("shape"), true));
    let distribution = distribution(lower, &fields);
    let seed = fields
        .optional("seed")
        .map(|n| lower.integer(n, &fields.what("seed")));
    let dtype = fields
        .optional("dtype")
        .map(|n| lower.dtype(n, &fields.what("dtype")));
    Some(Op::Rand(Rand {
        target: target?,
        shape: shape?,
        distribution: distribution?,
        seed: optional_read(seed)?,
        dtype: optional_read(dtype)?,
    }))
}

/// The items of a list-valued key, with at least `minimum` of them.
fn list_of<'n>(
    lower: &mut Lowerer<'_>,
    node: &'n Node,
    what: &str,
    minimum: usize,
) -> Option<&'n [Node]> {
    let Value::Sequence(items) = &node.value else {
        lower.error(diagnostics::wrong_type(
            what,
            &format!("a list of at least {minimum} tensor references"),
            &node.describe(),
            node.span,
        ));
        return None;
    };
    if items.len() < minimum {
        lower.error(diagnostics::too_few_items(what, minimum, node.span));
        return None;
    }
    Some(items)
}

fn split(
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
        &["from", "to", "sizes", "dim"],
    )?;
    let from = lower.reference(&fields, "from", Relation::Source, true);
    let to = fields.required(lower, "to").and_then(|node| {
        let items = list_of(lower, node, &fields.what("to"), 2)?;
        let pieces: Vec<_> = items
            .iter()
            .map(|item| lower.reference_node(item, name, "to", Relation::Name, false))
            .collect();
        pieces.into_iter().collect::<Option<Vec<_>>>()
    });
    let sizes = fields
        .required(lower, "sizes")
        .and_then(|n| lower.count_list(n, &fields.what("sizes"), true));
    let dim = fields
        .optional("dim")
        .map(|n| lower.integer(n, &fields.what("dim")));
    let (to, sizes) = (to?, sizes?);
    if to.len() != sizes.node.len() {
        lower.error(diagnostics::invalid_argument(
            &format!(
                "split has {} destinations but {} sizes",
                to.len(),
                sizes.node.len()
            ),
            "one size per destination",
            sizes.span,
            "list exactly one size for each name in `to`",
        ));
        return None;
    }
    Some(Op::Split(Split {
        from: from?,
        to,
        sizes,
        dim: optional_read(dim)?,
    }))
}

fn concat(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["from", "to", "dim"])?;
    let from = fields.required(lower, "from").and_then(|node| {
        let items = list_of(lower, node, &fields.what("from"), 2)?;
        let pieces: Vec<_> = items
            .iter()
            .map(|item| lower.reference_node(item, name, "from", Relation::Source, true))
            .collect();
        pieces.into_iter().collect::<Option<Vec<_>>>()
    });
    let to = lower.reference(&fields, "to", Relation::Name, false);
    let dim = fields
        .optional("dim")
        .map(|n| lower.integer(n, &fields.what("dim")));
    Some(Op::Concat(Concat {
        from: from?,
        to: to?,
        dim: optional_read(dim)?,
    }))
}

fn phlora(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let allowed = [
        "target",
        "target_a",
        "target_b",
        "rank",
        "delete_original",
        "require_missing_dest",
    ];
    let fields = Fields::open(lower, name, keyword_span, payload, &allowed)?;
    let target = lower.reference(&fields, "target", Relation::Source, false);
    let relation = Relation::TemplateOf(target.as_ref());
    let target_a = lower.reference(&fields, "target_a", relation, false);
    let target_b = lower.reference(&fields, "target_b", relation, false);
    let rank = fields
        .required(lower, "rank")
        .and_then(|n| lower.count(n, &fields.what("rank"), true));
    let mut flag = |key: &str| {
        fields
            .optional(key)
            .map(|n| lower.boolean(n, &fields.what(key)))
    };
    let delete_original = flag("delete_original");
    let require_missing_dest = flag("require_missing_dest");
    let (target_a, target_b) = (target_a?, target_b?);
    if target_a.node == target_b.node {
        lower.error(
            diagnostics::invalid_argument(
                "phlora factors A and B would get the same names",
                "same as `target_a`",
                target_b.span,
                "give `target_a` and `target_b` different names",
            )
            .with_label(target_a.span, "`target_a`"),
        );
        return None;
    }
    Some(Op::Phlora(Phlora {
        target: target?,
        target_a,
        target_b,
        rank: rank?,
        delete_original: optional_read(delete_original)?,
        require_missing_dest: optional_read(require_missing_dest)?,
    }))
}

fn phlora_in_place(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(lower, name, keyword_span, payload, &["target", "rank"])?;
    let target = lower.reference(&fields, "target", Relation::Source, false);
    let rank = fields
        .required(lower, "rank")
        .and_then(|n| lower.count(n, &fields.what("rank"), true));
    Some(Op::PhloraInPlace(PhloraInPlace {
        target: target?,
        rank: rank?,
    }))
}
