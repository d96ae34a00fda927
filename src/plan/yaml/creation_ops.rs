//! Lowering of the ops that make new tensors: fill, zeroes, ones, rand, split, concat and phlora
//! (with their in-place variants).
//!
//! Receives an op's payload opened with the keys its entry in [`OPS`] names; returns the lowered
//! [`Op`], or `None` after recording diagnostics. What is YAML's own is checked here: a fill
//! mode's keys (a key of another mode is refused), the distribution keys, lists of references.
//! The rules on the values (distribution parameters, rectangular `values`, split sizes matching
//! the destinations, at least two pieces, distinct PHLoRA factor names) are the shared ones of
//! [`crate::plan::rules`].

use super::fields::Fields;
use super::lower::{Lowerer, Lowering, OpTable};
use super::node::{Node, Value};
use super::tensor_ops::from_to;
use crate::plan::ast::{
    Concat, Create, Distribution, Fill, FillInPlace, FillSpec, NestedValues, Op, Phlora,
    PhloraInPlace, Rand, Spanned, Split, SvdOptions, TensorRef,
};
use crate::plan::diagnostics;
use crate::plan::rules::{self, Relation, Syntax};

const DISTRIBUTION_KEYS: [&str; 5] = ["distribution", "low", "high", "mean", "std"];

/// Each op of this module, with its keys.
pub(super) const OPS: OpTable = &[
    (
        "fill",
        Lowering::Keys(
            &[
                "from",
                "to",
                "mode",
                "value",
                "values",
                "distribution",
                "low",
                "high",
                "mean",
                "std",
                "seed",
            ],
            fill,
        ),
    ),
    (
        "fill_",
        Lowering::Keys(
            &[
                "target",
                "mode",
                "value",
                "values",
                "distribution",
                "low",
                "high",
                "mean",
                "std",
                "seed",
            ],
            fill_in_place,
        ),
    ),
    (
        "zeroes",
        Lowering::Keys(CREATE, |l, f| create(l, f).map(Op::Zeroes)),
    ),
    (
        "ones",
        Lowering::Keys(CREATE, |l, f| create(l, f).map(Op::Ones)),
    ),
    (
        "rand",
        Lowering::Keys(
            &[
                "target",
                "shape",
                "distribution",
                "low",
                "high",
                "mean",
                "std",
                "seed",
                "dtype",
            ],
            rand,
        ),
    ),
    (
        "split",
        Lowering::Keys(&["from", "to", "sizes", "dim"], split),
    ),
    ("concat", Lowering::Keys(&["from", "to", "dim"], concat)),
    (
        "phlora",
        Lowering::Keys(
            &[
                "target",
                "target_a",
                "target_b",
                "rank",
                "delete_original",
                "require_missing_dest",
                "method",
                "oversampling",
                "power_iterations",
                "seed",
            ],
            phlora,
        ),
    ),
    (
        "phlora_",
        Lowering::Keys(
            &[
                "target",
                "rank",
                "method",
                "oversampling",
                "power_iterations",
                "seed",
            ],
            phlora_in_place,
        ),
    ),
];

const CREATE: &[&str] = &["target", "shape", "dtype"];

fn fill(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let (from, to) = from_to(lower, fields);
    let fill = fill_spec(lower, fields);
    Some(Op::Fill(Fill {
        from: from?,
        to: to?,
        fill: fill?,
    }))
}

fn fill_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.reference(fields, "target", Relation::Source);
    let fill = fill_spec(lower, fields);
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

const FILL_MODES: [(&str, FillMode); 3] = [
    ("constant", FillMode::Constant),
    ("rand", FillMode::Rand),
    ("tensor", FillMode::Tensor),
];

/// `mode: constant | rand | tensor` and the keys of that mode (a key of another mode is refused).
fn fill_spec(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Spanned<FillSpec>> {
    let mode = fields.read(lower, "mode", |lower, node, _| {
        lower.choice(node, "fill mode", &FILL_MODES)
    })?;
    let spec = match mode.node {
        FillMode::Constant => {
            let mut unused = vec!["values", "seed"];
            unused.extend(DISTRIBUTION_KEYS);
            fields.reject_for_mode(lower, "constant", &unused);
            let value = fields.read(lower, "value", Lowerer::number)?;
            FillSpec::Constant { value }
        }
        FillMode::Rand => {
            fields.reject_for_mode(lower, "rand", &["value", "values"]);
            let distribution = distribution(lower, fields)?;
            let seed = fields.read_optional(lower, "seed", Lowerer::integer);
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
                seed: seed?,
            }
        }
        FillMode::Tensor => {
            let mut unused = vec!["value", "seed"];
            unused.extend(DISTRIBUTION_KEYS);
            fields.reject_for_mode(lower, "tensor", &unused);
            let node = fields.required(lower, "values")?;
            let what = fields.what("values");
            let values = Spanned::new(nested_values(lower, node, &what)?, node.span);
            lower.check(rules::rectangular(&what, &values))?;
            FillSpec::Tensor { values }
        }
    };
    Some(Spanned::new(spec, fields.span()))
}

#[derive(Clone, Copy, PartialEq)]
enum DistributionKind {
    Uniform,
    Normal,
}

/// The distribution keys: `None` when none is written (uniform on [0, 1)). The parameters of the
/// other distribution are refused.
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
            let kinds = [
                ("uniform", DistributionKind::Uniform),
                ("normal", DistributionKind::Normal),
            ];
            lower.choice(node, "distribution", &kinds)?.node
        }
        None => DistributionKind::Uniform,
    };
    let span = named.map_or(fields.keyword_span(), |n| n.span);
    let distribution = match kind {
        DistributionKind::Uniform => {
            let low = fields.read_optional(lower, "low", Lowerer::number);
            let high = fields.read_optional(lower, "high", Lowerer::number);
            fields.reject_for_mode(lower, "uniform", &["mean", "std"]);
            Distribution::Uniform {
                low: low?,
                high: high?,
            }
        }
        DistributionKind::Normal => {
            let mean = fields.read_optional(lower, "mean", Lowerer::number);
            let std = fields.read_optional(lower, "std", Lowerer::number);
            fields.reject_for_mode(lower, "normal", &["low", "high"]);
            Distribution::Normal {
                mean: mean?,
                std: std?,
            }
        }
    };
    let distribution = Spanned::new(distribution, span);
    lower.check(rules::distribution(&distribution))?;
    Some(Some(distribution))
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

/// A list of positive sizes under `key` (a new tensor's `shape`, split `sizes`).
fn positive_list(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Option<Spanned<Vec<u64>>> {
    fields.read(lower, key, |lower, node, what| {
        lower.count_list(node, what, true)
    })
}

fn create(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Create> {
    let target = lower.reference(fields, "target", Relation::Name);
    let shape = positive_list(lower, fields, "shape");
    let dtype = fields.read_optional(lower, "dtype", Lowerer::dtype);
    Some(Create {
        target: target?,
        shape: shape?,
        dtype: dtype?,
    })
}

fn rand(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.reference(fields, "target", Relation::Name);
    let shape = positive_list(lower, fields, "shape");
    let distribution = distribution(lower, fields);
    let seed = fields.read_optional(lower, "seed", Lowerer::integer);
    let dtype = fields.read_optional(lower, "dtype", Lowerer::dtype);
    Some(Op::Rand(Rand {
        target: target?,
        shape: shape?,
        distribution: distribution?,
        seed: seed?,
        dtype: dtype?,
    }))
}

/// The references listed under `key` (split destinations, concat sources): at least two.
fn pieces(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    key: &str,
    relation: Relation<'_>,
) -> Option<Vec<Spanned<TensorRef>>> {
    const MINIMUM: usize = 2;
    let node = fields.required(lower, key)?;
    let what = fields.what(key);
    let Value::Sequence(items) = &node.value else {
        lower.error(diagnostics::wrong_type(
            &what,
            &format!("a list of at least {MINIMUM} tensor references"),
            &node.describe(),
            node.span,
        ));
        return None;
    };
    lower.check(rules::at_least(&what, items.len(), MINIMUM, node.span))?;
    let pieces: Vec<_> = items
        .iter()
        .map(|item| lower.reference_node(item, fields.op(), key, relation))
        .collect();
    pieces.into_iter().collect()
}

fn split(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let from = lower.reference(fields, "from", Relation::Source);
    let to = pieces(lower, fields, "to", Relation::Name);
    let sizes = positive_list(lower, fields, "sizes");
    let dim = fields.read_optional(lower, "dim", Lowerer::integer);
    let (to, sizes) = (to?, sizes?);
    lower.check(rules::split_sizes(Syntax::Yaml, to.len(), &sizes))?;
    Some(Op::Split(Split {
        from: from?,
        to,
        sizes,
        dim: dim?,
    }))
}

fn concat(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let from = pieces(lower, fields, "from", Relation::Source);
    let to = lower.reference(fields, "to", Relation::Name);
    let dim = fields.read_optional(lower, "dim", Lowerer::integer);
    Some(Op::Concat(Concat {
        from: from?,
        to: to?,
        dim: dim?,
    }))
}

/// A PHLoRA rank: a positive integer.
fn positive_rank(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Spanned<u64>> {
    fields.read(lower, "rank", |lower, node, what| {
        lower.count(node, what, true)
    })
}

fn phlora(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.reference(fields, "target", Relation::Source);
    let relation = Relation::TemplateOf(target.as_ref());
    let target_a = lower.reference(fields, "target_a", relation);
    let target_b = lower.reference(fields, "target_b", relation);
    let rank = positive_rank(lower, fields);
    let delete_original = fields.read_optional(lower, "delete_original", Lowerer::boolean);
    let require_missing_dest =
        fields.read_optional(lower, "require_missing_dest", Lowerer::boolean);
    let svd = svd_options(lower, fields);
    let (target_a, target_b) = (target_a?, target_b?);
    lower.check(rules::distinct_factors(&target_a, &target_b))?;
    Some(Op::Phlora(Phlora {
        target: target?,
        target_a,
        target_b,
        rank: rank?,
        delete_original: delete_original?,
        require_missing_dest: require_missing_dest?,
        svd: svd?,
    }))
}

fn phlora_in_place(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.reference(fields, "target", Relation::Source);
    let rank = positive_rank(lower, fields);
    let svd = svd_options(lower, fields);
    Some(Op::PhloraInPlace(PhloraInPlace {
        target: target?,
        rank: rank?,
        svd: svd?,
    }))
}

/// The SVD keys of a low-rank op (`method`, `oversampling`, `power_iterations`, `seed`), checked
/// by the shared rule.
pub(super) fn svd_options(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<SvdOptions> {
    let method = fields.read_optional(lower, "method", |lower, node, _| {
        lower.choice(node, "SVD method", &rules::SVD_METHODS)
    });
    let oversampling = optional_count(lower, fields, "oversampling");
    let power_iterations = optional_count(lower, fields, "power_iterations");
    let seed = optional_count(lower, fields, "seed");
    let svd = SvdOptions {
        method: method?,
        oversampling: oversampling?,
        power_iterations: power_iterations?,
        seed: seed?,
    };
    lower.check(rules::svd_options(Syntax::Yaml, fields.op(), &svd))?;
    Some(svd)
}

/// An optional non-negative integer key.
fn optional_count(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Option<Option<Spanned<u64>>> {
    fields.read_optional(lower, key, |lower, node, what| {
        lower.count(node, what, false)
    })
}
