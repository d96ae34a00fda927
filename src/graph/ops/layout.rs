//! Layout ops — `slice`, `reshape`, `permute`, `transpose`, `concat`, one piece of a `split`, and
//! the update of a slice region — with their type rules and the helpers that resolve a plan's
//! arguments (Python slices, `-1` in reshape, negative dims) against an operand's shape.
//!
//! Rules (BrainSurgery's, which are PyTorch's): a slice is a **view** with Python basic-indexing
//! semantics (an integer drops its dimension and must be in range; range bounds are clamped);
//! reshape keeps the element count and allows at most one `-1`; permute's order is a permutation
//! of the dims; transpose swaps two dims in range; concat needs equal ranks, dtypes and sizes
//! outside its dim; split pieces lie within the dim. An update of a slice region takes the whole
//! tensor and a value shaped like the region, and yields a new version of the whole tensor — the
//! dataflow form of an in-place op on a view. The optimizer's byte view (a contiguous byte range of
//! the operand) is a layout op too; its rule lives in `view.rs`.

use serde_json::Value;

use super::elementwise::same_type_at;
use super::view::ByteView;
use super::{shape_json, Arity, TypeError};
use crate::plan::ast::SliceComponent;
use crate::tensor::{Shape, TensorType};

#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    Slice(SliceSpec),
    Reshape {
        shape: Shape,
    },
    Permute {
        order: Vec<usize>,
    },
    Transpose {
        dim0: usize,
        dim1: usize,
    },
    Concat {
        dim: usize,
    },
    /// `length` elements of `dim` from `start`: one destination of a `split`.
    SplitPiece {
        dim: usize,
        start: u64,
        length: u64,
    },
    /// Operands: the whole tensor, then the region's new value.
    UpdateRegion(SliceSpec),
    /// A contiguous byte range of the operand, read in place (made by the optimizer's view
    /// folding; its rule is in `view.rs`).
    ByteView(ByteView),
}

/// A slice resolved against a shape: one entry per leading dimension it indexes; dimensions past
/// the end are kept whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SliceSpec(pub Vec<SliceDim>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceDim {
    /// One index; the dimension is dropped.
    Index(u64),
    /// `length` elements from `start`, `step` apart.
    Range { start: u64, step: u64, length: u64 },
}

impl SliceSpec {
    /// The shape of the view of a tensor of `base` shape, or why the slice does not fit it.
    pub fn view_shape(&self, base: &Shape) -> Result<Shape, TypeError> {
        let dims = base.dims();
        if self.0.len() > dims.len() {
            return Err(TypeError::SliceTooManyIndices {
                rank: dims.len(),
                indices: self.0.len(),
            });
        }
        let mut out = Vec::with_capacity(dims.len());
        for (dim, (component, &size)) in self.0.iter().zip(dims).enumerate() {
            match *component {
                SliceDim::Index(index) => {
                    if index >= size {
                        return Err(TypeError::SliceDoesNotFit { dim, size });
                    }
                }
                SliceDim::Range {
                    start,
                    step,
                    length,
                } => {
                    let last = if length == 0 {
                        Some(start)
                    } else {
                        (length - 1)
                            .checked_mul(step)
                            .and_then(|offset| offset.checked_add(start))
                    };
                    if step == 0
                        || last.is_none_or(|last| last > size || (length > 0 && last >= size))
                    {
                        return Err(TypeError::SliceDoesNotFit { dim, size });
                    }
                    out.push(length);
                }
            }
        }
        out.extend_from_slice(&dims[self.0.len()..]);
        Ok(Shape::new(out))
    }

    /// Written as Python would (`[0, 2:8, ::2]`), for labels.
    pub fn to_text(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|component| match *component {
                SliceDim::Index(index) => index.to_string(),
                SliceDim::Range {
                    start,
                    step,
                    length,
                } => {
                    let stop = start + length.saturating_sub(1) * step + u64::from(length > 0);
                    if step == 1 {
                        format!("{start}:{stop}")
                    } else {
                        format!("{start}:{stop}:{step}")
                    }
                }
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

/// Resolves a plan's slice against a tensor's shape with Python basic-indexing rules: negative
/// indices count from the end; an integer must be in range; range bounds are clamped to the
/// dimension; a missing step is 1 (the front ends refuse steps below 1).
pub fn resolve_slice(components: &[SliceComponent], base: &Shape) -> Result<SliceSpec, TypeError> {
    let dims = base.dims();
    if components.len() > dims.len() {
        return Err(TypeError::SliceTooManyIndices {
            rank: dims.len(),
            indices: components.len(),
        });
    }
    let mut resolved = Vec::with_capacity(components.len());
    for (dim, (component, &size)) in components.iter().zip(dims).enumerate() {
        let size_signed = i64::try_from(size).map_err(|_| TypeError::TooLarge {
            shape: base.clone(),
        })?;
        match *component {
            SliceComponent::Index(index) => {
                let absolute = if index < 0 {
                    index + size_signed
                } else {
                    index
                };
                if absolute < 0 || absolute >= size_signed {
                    return Err(TypeError::SliceIndexOutOfRange { dim, index, size });
                }
                resolved.push(SliceDim::Index(absolute as u64));
            }
            SliceComponent::Range { start, stop, step } => {
                let step = step.unwrap_or(1).max(1);
                let clamp = |bound: i64| {
                    let absolute = if bound < 0 {
                        bound + size_signed
                    } else {
                        bound
                    };
                    absolute.clamp(0, size_signed)
                };
                let start = start.map_or(0, clamp);
                let stop = stop.map_or(size_signed, clamp);
                let length = if stop > start {
                    (stop - start + step - 1) / step
                } else {
                    0
                };
                resolved.push(SliceDim::Range {
                    start: start as u64,
                    step: step as u64,
                    length: length as u64,
                });
            }
        }
    }
    Ok(SliceSpec(resolved))
}

/// Turns a reshape request (positive sizes, at most one `-1`) into the shape it means for a tensor
/// of `from` shape; the element count must match.
pub fn resolve_reshape(requested: &[i64], from: &Shape) -> Result<Shape, TypeError> {
    let invalid = || TypeError::ReshapeInvalid {
        requested: requested.to_vec(),
    };
    let mismatch = || TypeError::ReshapeElementCount {
        from: from.clone(),
        requested: requested.to_vec(),
    };
    if requested.is_empty()
        || requested.iter().any(|&d| d == 0 || d < -1)
        || requested.iter().filter(|&&d| d == -1).count() > 1
    {
        return Err(invalid());
    }
    let total = from.element_count().ok_or_else(|| TypeError::TooLarge {
        shape: from.clone(),
    })?;
    let known = requested
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(mismatch)?;
    let mut dims = Vec::with_capacity(requested.len());
    for &d in requested {
        if d == -1 {
            if known == 0 || total % known != 0 {
                return Err(mismatch());
            }
            dims.push(total / known);
        } else {
            dims.push(d as u64);
        }
    }
    let shape = Shape::new(dims);
    if shape.element_count() != Some(total) {
        return Err(mismatch());
    }
    Ok(shape)
}

/// A dimension index with Python's negative counting, checked against `rank`.
pub fn normalize_dim(dim: i64, rank: usize) -> Result<usize, TypeError> {
    let rank_signed = rank as i64;
    let absolute = if dim < 0 { dim + rank_signed } else { dim };
    if absolute < 0 || absolute >= rank_signed {
        return Err(TypeError::DimensionOutOfRange { dim, rank });
    }
    Ok(absolute as usize)
}

/// A permute order with negative dims resolved; it must name every dim exactly once.
pub fn resolve_permutation(order: &[i64], rank: usize) -> Result<Vec<usize>, TypeError> {
    let not_permutation = || TypeError::NotAPermutation {
        order: order.to_vec(),
        rank,
    };
    if order.len() != rank {
        return Err(not_permutation());
    }
    let mut seen = vec![false; rank];
    let mut resolved = Vec::with_capacity(rank);
    for &dim in order {
        let dim = normalize_dim(dim, rank).map_err(|_| not_permutation())?;
        if std::mem::replace(&mut seen[dim], true) {
            return Err(not_permutation());
        }
        resolved.push(dim);
    }
    Ok(resolved)
}

impl Layout {
    pub fn name(&self) -> &'static str {
        match self {
            Layout::Slice(_) => "slice",
            Layout::Reshape { .. } => "reshape",
            Layout::Permute { .. } => "permute",
            Layout::Transpose { .. } => "transpose",
            Layout::Concat { .. } => "concat",
            Layout::SplitPiece { .. } => "split",
            Layout::UpdateRegion(_) => "update",
            Layout::ByteView(_) => "view",
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Layout::Concat { .. } => Arity::AtLeast(2),
            Layout::UpdateRegion(_) => Arity::Exactly(2),
            _ => Arity::Exactly(1),
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Layout::Slice(spec) | Layout::UpdateRegion(spec) => {
                vec![("region", Value::from(spec.to_text()))]
            }
            Layout::Reshape { shape } => vec![("shape", shape_json(shape))],
            Layout::Permute { order } => vec![("order", Value::from(order.clone()))],
            Layout::Transpose { dim0, dim1 } => {
                vec![("dim0", Value::from(*dim0)), ("dim1", Value::from(*dim1))]
            }
            Layout::Concat { dim } => vec![("dim", Value::from(*dim))],
            Layout::SplitPiece { dim, start, length } => vec![
                ("dim", Value::from(*dim)),
                ("start", Value::from(*start)),
                ("length", Value::from(*length)),
            ],
            Layout::ByteView(view) => view.parameters(),
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
        let first = inputs[0];
        let dtype = first.dtype;
        let dims = first.shape.dims();
        match self {
            Layout::Slice(spec) => Ok(TensorType::new(dtype, spec.view_shape(&first.shape)?)),
            Layout::UpdateRegion(spec) => {
                let region = TensorType::new(dtype, spec.view_shape(&first.shape)?);
                // The region (operand 0 viewed) and the new value (operand 1) must agree exactly:
                // no casting or broadcasting into a slice.
                same_type_at(&region, 0, inputs[1], 1)?;
                Ok(first.clone())
            }
            Layout::Reshape { shape } => {
                if shape.element_count() != first.shape.element_count() {
                    return Err(TypeError::ReshapeElementCount {
                        from: first.shape.clone(),
                        requested: shape.dims().iter().map(|&d| d as i64).collect(),
                    });
                }
                Ok(TensorType::new(dtype, shape.clone()))
            }
            Layout::Permute { order } => {
                let signed: Vec<i64> = order.iter().map(|&d| d as i64).collect();
                let order = resolve_permutation(&signed, dims.len())?;
                let permuted = order.iter().map(|&d| dims[d]).collect::<Vec<_>>();
                Ok(TensorType::new(dtype, Shape::new(permuted)))
            }
            Layout::Transpose { dim0, dim1 } => {
                for &dim in [dim0, dim1] {
                    if dim >= dims.len() {
                        return Err(TypeError::DimensionOutOfRange {
                            dim: dim as i64,
                            rank: dims.len(),
                        });
                    }
                }
                let mut swapped = dims.to_vec();
                swapped.swap(*dim0, *dim1);
                Ok(TensorType::new(dtype, Shape::new(swapped)))
            }
            Layout::SplitPiece { dim, start, length } => {
                let size = *dims.get(*dim).ok_or(TypeError::DimensionOutOfRange {
                    dim: *dim as i64,
                    rank: dims.len(),
                })?;
                if start.checked_add(*length).is_none_or(|end| end > size) {
                    return Err(TypeError::SplitOutOfRange {
                        dim: *dim,
                        start: *start,
                        length: *length,
                        size,
                    });
                }
                let mut piece = dims.to_vec();
                piece[*dim] = *length;
                Ok(TensorType::new(dtype, Shape::new(piece)))
            }
            Layout::Concat { dim } => concat_type(inputs, *dim),
            Layout::ByteView(view) => view.infer(first),
        }
    }
}

fn concat_type(inputs: &[&TensorType], dim: usize) -> Result<TensorType, TypeError> {
    let first = inputs[0];
    let rank = first.shape.rank();
    if dim >= rank {
        return Err(TypeError::DimensionOutOfRange {
            dim: dim as i64,
            rank,
        });
    }
    let mut total = 0u64;
    for (operand, other) in inputs.iter().enumerate() {
        if other.dtype != first.dtype {
            return Err(TypeError::DtypeMismatch {
                left: 0,
                right: operand,
                left_type: first.clone(),
                right_type: (*other).clone(),
            });
        }
        let agrees = other.shape.rank() == rank
            && (0..rank)
                .filter(|&d| d != dim)
                .all(|d| other.shape.dims()[d] == first.shape.dims()[d]);
        if !agrees {
            return Err(TypeError::ConcatMismatch {
                operand,
                dim,
                first_type: first.clone(),
                other_type: (*other).clone(),
            });
        }
        total = total
            .checked_add(other.shape.dims()[dim])
            .ok_or_else(|| TypeError::TooLarge {
                shape: other.shape.clone(),
            })?;
    }
    let mut dims = first.shape.dims().to_vec();
    dims[dim] = total;
    Ok(TensorType::new(first.dtype, Shape::new(dims)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> SliceComponent {
        SliceComponent::Range { start, stop, step }
    }

    #[test]
    fn slices_follow_python_basic_indexing() {
        let base = Shape::new(vec![8, 24]);
        let spec = resolve_slice(
            &[range(None, None, None), range(None, Some(10), None)],
            &base,
        )
        .unwrap();
        assert_eq!(spec.view_shape(&base).unwrap(), Shape::new(vec![8, 10]));
        let spec = resolve_slice(&[SliceComponent::Index(-1)], &base).unwrap();
        assert_eq!(spec.0, vec![SliceDim::Index(7)]);
        assert_eq!(spec.view_shape(&base).unwrap(), Shape::new(vec![24]));
        // Bounds past the end are clamped, as Python does; steps round up.
        let spec = resolve_slice(&[range(Some(-3), Some(100), Some(2))], &base).unwrap();
        assert_eq!(
            spec.0,
            vec![SliceDim::Range {
                start: 5,
                step: 2,
                length: 2
            }]
        );
        let empty = resolve_slice(&[range(Some(6), Some(2), None)], &base).unwrap();
        assert_eq!(empty.view_shape(&base).unwrap(), Shape::new(vec![0, 24]));
    }

    #[test]
    fn slice_errors_name_the_dimension() {
        let base = Shape::new(vec![8]);
        assert_eq!(
            resolve_slice(&[SliceComponent::Index(8)], &base),
            Err(TypeError::SliceIndexOutOfRange {
                dim: 0,
                index: 8,
                size: 8
            })
        );
        assert!(matches!(
            resolve_slice(&[SliceComponent::Index(0), SliceComponent::Index(0)], &base),
            Err(TypeError::SliceTooManyIndices {
                rank: 1,
                indices: 2
            })
        ));
        let outside = SliceSpec(vec![SliceDim::Range {
            start: 6,
            step: 1,
            length: 4,
        }]);
        assert!(outside.view_shape(&base).is_err());
    }

    #[test]
    fn reshape_infers_one_dimension_and_keeps_the_count() {
        let from = Shape::new(vec![8, 24]);
        assert_eq!(
            resolve_reshape(&[-1, 8], &from).unwrap(),
            Shape::new(vec![24, 8])
        );
        assert!(matches!(
            resolve_reshape(&[5, -1], &from),
            Err(TypeError::ReshapeElementCount { .. })
        ));
        assert!(matches!(
            resolve_reshape(&[-1, -1], &from),
            Err(TypeError::ReshapeInvalid { .. })
        ));
        let rule = Layout::Reshape {
            shape: Shape::new(vec![7]),
        };
        assert!(rule.infer(&[&f32(&[8])]).is_err());
    }

    #[test]
    fn permute_needs_a_permutation() {
        assert_eq!(resolve_permutation(&[1, 0], 2).unwrap(), vec![1, 0]);
        assert_eq!(resolve_permutation(&[-1, 0, 1], 3).unwrap(), vec![2, 0, 1]);
        assert!(resolve_permutation(&[0, 0], 2).is_err());
        assert!(resolve_permutation(&[0], 2).is_err());
        let permuted = Layout::Permute { order: vec![1, 0] }
            .infer(&[&f32(&[8, 24])])
            .unwrap();
        assert_eq!(permuted, f32(&[24, 8]));
    }

    #[test]
    fn transpose_swaps_dims_in_range() {
        let op = Layout::Transpose { dim0: 0, dim1: 2 };
        assert_eq!(op.infer(&[&f32(&[2, 3, 4])]).unwrap(), f32(&[4, 3, 2]));
        assert!(op.infer(&[&f32(&[2, 3])]).is_err());
        assert_eq!(normalize_dim(-1, 2), Ok(1));
        assert!(normalize_dim(2, 2).is_err());
    }

    #[test]
    fn concat_agrees_outside_its_dim() {
        let op = Layout::Concat { dim: 1 };
        assert_eq!(
            op.infer(&[&f32(&[8, 24]), &f32(&[8, 8])]).unwrap(),
            f32(&[8, 32])
        );
        assert!(matches!(
            op.infer(&[&f32(&[8, 24]), &f32(&[4, 8])]),
            Err(TypeError::ConcatMismatch { operand: 1, .. })
        ));
        assert!(op.infer(&[&f32(&[8, 24]), &f32(&[8])]).is_err());
    }

    #[test]
    fn split_pieces_stay_inside_the_dim() {
        let piece = Layout::SplitPiece {
            dim: 1,
            start: 16,
            length: 8,
        };
        assert_eq!(piece.infer(&[&f32(&[8, 24])]).unwrap(), f32(&[8, 8]));
        let past = Layout::SplitPiece {
            dim: 1,
            start: 20,
            length: 8,
        };
        assert!(past.infer(&[&f32(&[8, 24])]).is_err());
    }

    #[test]
    fn region_updates_need_the_region_type() {
        let base = f32(&[8, 24]);
        let spec = resolve_slice(
            &[range(None, None, None), range(None, Some(10), None)],
            &base.shape,
        )
        .unwrap();
        let op = Layout::UpdateRegion(spec);
        assert_eq!(op.infer(&[&base, &f32(&[8, 10])]).unwrap(), base);
        assert!(op.infer(&[&base, &f32(&[8, 24])]).is_err());
    }
}
