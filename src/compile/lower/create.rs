//! Creators: `fill`/`fill_` (shaped like a template tensor), `zeroes`, `ones`, `rand`.
//!
//! A creator's node has no operands: its type is decided here, from the template (after slicing)
//! or from the step's `shape` and `dtype` (float32 when not given, as BrainSurgery's creators
//! are). Omitted distribution parameters take the reference's defaults (uniform on [0, 1),
//! normal with mean 0 and std 1). `fill_` on a slice region yields a new version of the whole
//! tensor.

use super::{check_policy, map_in_place, map_out_of_place, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Create, NodeKind, RandomDistribution};
use crate::graph::NodeId;
use crate::plan::ast::{self, Distribution, FillSpec, NestedValues, Spanned};
use crate::tensor::{DType, Shape, TensorType};

/// The creator node `spec` describes for a tensor of type `ty`.
fn creator(spec: &Spanned<FillSpec>, ty: TensorType) -> Result<Create, Diagnostic> {
    Ok(match &spec.node {
        FillSpec::Constant { value } => Create::FillConstant {
            ty,
            value: value.node,
        },
        FillSpec::Rand { distribution, seed } => Create::Rand {
            ty,
            distribution: resolve_distribution(Some(distribution)),
            seed: seed.as_ref().map(|s| s.node),
        },
        FillSpec::Tensor { values } => {
            let (flat, shape) =
                flatten(&values.node).ok_or_else(|| diagnostics::ragged_values(values.span))?;
            Create::FillTensor {
                ty,
                values: flat,
                values_shape: shape,
            }
        }
    })
}

/// A distribution with the reference's defaults filled in.
fn resolve_distribution(distribution: Option<&Spanned<Distribution>>) -> RandomDistribution {
    let value = |v: &Option<Spanned<f64>>, default: f64| v.as_ref().map_or(default, |v| v.node);
    match distribution.map(|d| &d.node) {
        None => RandomDistribution::Uniform {
            low: 0.0,
            high: 1.0,
        },
        Some(Distribution::Uniform { low, high }) => RandomDistribution::Uniform {
            low: value(low, 0.0),
            high: value(high, 1.0),
        },
        Some(Distribution::Normal { mean, std }) => RandomDistribution::Normal {
            mean: value(mean, 0.0),
            std: value(std, 1.0),
        },
    }
}

/// Row-major values and their shape, or `None` when the nesting is ragged.
fn flatten(values: &NestedValues) -> Option<(Vec<f64>, Shape)> {
    match values {
        NestedValues::Scalar(value) => Some((vec![*value], Shape::new(vec![]))),
        NestedValues::List(items) => {
            let mut flat = Vec::new();
            let mut inner: Option<Shape> = None;
            for item in items {
                let (values, shape) = flatten(item)?;
                if inner.as_ref().is_some_and(|known| *known != shape) {
                    return None;
                }
                inner = Some(shape);
                flat.extend(values);
            }
            let mut dims = vec![items.len() as u64];
            dims.extend(inner.map(|s| s.0).unwrap_or_default());
            Some((flat, Shape::new(dims)))
        }
    }
}

fn add_creator(draft: &mut Draft, op: &str, create: Create) -> Result<NodeId, Diagnostic> {
    draft.add(op, NodeKind::Create(create), &[])
}

fn template_type(draft: &Draft, operand: &Operand) -> Result<TensorType, Diagnostic> {
    draft.operand_type(operand)
}

pub(super) fn fill(draft: &mut Draft, fill: &ast::Fill) -> Result<(), Diagnostic> {
    map_out_of_place(draft, "fill", &fill.from, &fill.to, |draft, template| {
        let ty = template_type(draft, &template)?;
        let create = creator(&fill.fill, ty)?;
        add_creator(draft, "fill", create)
    })
}

pub(super) fn fill_in_place(draft: &mut Draft, fill: &ast::FillInPlace) -> Result<(), Diagnostic> {
    map_in_place(draft, "fill_", &fill.target, true, |draft, region| {
        let ty = template_type(draft, &region)?;
        let create = creator(&fill.fill, ty)?;
        add_creator(draft, "fill_", create)
    })
}

/// The literal destination of a creator, checked to be new.
fn new_destination(
    draft: &mut Draft,
    op: &str,
    target: &Spanned<ast::TensorRef>,
) -> Result<Option<(String, String)>, Diagnostic> {
    if let Some(slice) = &target.slice {
        return Err(diagnostics::slice_not_allowed(op, "target", slice.span));
    }
    let (alias, name) = draft.literal_destination(op, "target", target)?;
    Ok(
        check_policy(draft, op, &alias, &name, target, Policy::MustNotExist)
            .then_some((alias, name)),
    )
}

fn shaped(shape: &Spanned<Vec<u64>>, dtype: Option<&Spanned<DType>>) -> TensorType {
    TensorType::new(
        dtype.map_or(DType::F32, |d| d.node),
        Shape::new(shape.node.clone()),
    )
}

/// `zeroes` (`value` 0) and `ones` (`value` 1).
pub(super) fn constant(
    draft: &mut Draft,
    op: &str,
    spec: &ast::Create,
    value: f64,
) -> Result<(), Diagnostic> {
    let Some((alias, name)) = new_destination(draft, op, &spec.target)? else {
        return Ok(());
    };
    let ty = shaped(&spec.shape, spec.dtype.as_ref());
    let create = if value == 0.0 {
        Create::Zeros { ty }
    } else {
        Create::Ones { ty }
    };
    let node = add_creator(draft, op, create)?;
    write(draft, &alias, &name, node);
    Ok(())
}

pub(super) fn rand(draft: &mut Draft, rand: &ast::Rand) -> Result<(), Diagnostic> {
    let op = "rand";
    let Some((alias, name)) = new_destination(draft, op, &rand.target)? else {
        return Ok(());
    };
    let create = Create::Rand {
        ty: shaped(&rand.shape, rand.dtype.as_ref()),
        distribution: resolve_distribution(rand.distribution.as_ref()),
        seed: rand.seed.as_ref().map(|s| s.node),
    };
    let node = add_creator(draft, op, create)?;
    write(draft, &alias, &name, node);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_flatten_row_major() {
        let values = NestedValues::List(vec![
            NestedValues::List(vec![NestedValues::Scalar(1.0), NestedValues::Scalar(2.0)]),
            NestedValues::List(vec![NestedValues::Scalar(3.0), NestedValues::Scalar(4.0)]),
        ]);
        let (flat, shape) = flatten(&values).unwrap();
        assert_eq!(flat, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(shape, Shape::new(vec![2, 2]));
        let ragged = NestedValues::List(vec![
            NestedValues::List(vec![NestedValues::Scalar(1.0)]),
            NestedValues::Scalar(2.0),
        ]);
        assert!(flatten(&ragged).is_none());
    }
}
