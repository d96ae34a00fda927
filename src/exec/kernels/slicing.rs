//! Python basic indexing on tensors: reading a slice, and writing a value into a slice of a base
//! tensor (the in-place-on-a-view case of BrainSurgery's `scale_: {target: 'w::[:, :10]'}`).
//!
//! [`SliceGeometry::new`] is the type rule: it resolves a [`Slice`] against a shape with Python's
//! rules (negative indices count from the end, range bounds clamp to the dimension, an integer
//! index must be in range and drops its dimension, trailing dimensions not mentioned are taken
//! whole, steps must be positive as in PyTorch) and yields the output shape, the strided view,
//! and — when the selection is one contiguous run of the base — its byte range, so a reader can
//! take the slice straight from a file without a copy.

use std::ops::Range;

use super::strided::{contiguous_strides, gather, scatter, Strided};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{element_size, TensorData, TensorView};
use crate::plan::ast::{Slice, SliceComponent};
use crate::tensor::{Shape, TensorType};

/// The selection one slice component makes in one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimensionSelection {
    pub start: u64,
    pub step: u64,
    pub length: u64,
    /// False for an integer index, whose dimension disappears from the result.
    pub kept: bool,
}

/// A slice resolved against a shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceGeometry {
    base: Shape,
    selections: Vec<DimensionSelection>,
}

impl SliceGeometry {
    pub fn new(base: &Shape, slice: &Slice) -> Result<SliceGeometry, KernelError> {
        let rank = base.rank();
        if slice.0.len() > rank {
            return Err(KernelError::TooManyIndices {
                given: slice.0.len(),
                rank,
            });
        }
        let mut selections = Vec::with_capacity(rank);
        for (dim, &size) in base.dims().iter().enumerate() {
            let selection = match slice.0.get(dim) {
                None => DimensionSelection {
                    start: 0,
                    step: 1,
                    length: size,
                    kept: true,
                },
                Some(&SliceComponent::Index(index)) => {
                    let resolved = if index < 0 {
                        index.checked_add(size as i64)
                    } else {
                        Some(index)
                    };
                    match resolved {
                        Some(position) if position >= 0 && (position as u64) < size => {
                            DimensionSelection {
                                start: position as u64,
                                step: 1,
                                length: 1,
                                kept: false,
                            }
                        }
                        _ => return Err(KernelError::IndexOutOfRange { index, dim, size }),
                    }
                }
                Some(&SliceComponent::Range { start, stop, step }) => {
                    let step = step.unwrap_or(1);
                    if step <= 0 {
                        return Err(KernelError::NonPositiveStep { step });
                    }
                    let clamp = |bound: i64| -> u64 {
                        let size = size as i128;
                        let position = if bound < 0 {
                            bound as i128 + size
                        } else {
                            bound as i128
                        };
                        position.clamp(0, size) as u64
                    };
                    let first = start.map_or(0, clamp);
                    let end = stop.map_or(size, clamp);
                    let step = step as u64;
                    let length = if end > first {
                        (end - first).div_ceil(step)
                    } else {
                        0
                    };
                    DimensionSelection {
                        start: first,
                        step,
                        length,
                        kept: true,
                    }
                }
            };
            selections.push(selection);
        }
        Ok(SliceGeometry {
            base: base.clone(),
            selections,
        })
    }

    pub fn selections(&self) -> &[DimensionSelection] {
        &self.selections
    }

    /// The result's shape: the kept dimensions' lengths.
    pub fn output_shape(&self) -> Shape {
        Shape::new(
            self.selections
                .iter()
                .filter(|s| s.kept)
                .map(|s| s.length)
                .collect::<Vec<_>>(),
        )
    }

    /// The selection as a byte range of the base, when it is one contiguous run: every dimension
    /// after some `k` is taken whole, dimension `k` has step 1, and every dimension before `k`
    /// selects one position.
    pub fn contiguous_byte_range(&self, element_size: u64) -> Option<Range<u64>> {
        let dims = self.base.dims();
        let strides: Vec<u64> = {
            let mut strides = vec![0u64; dims.len()];
            let mut stride = 1u64;
            for (slot, dim) in strides.iter_mut().zip(dims).rev() {
                *slot = stride;
                stride = stride.checked_mul(*dim)?;
            }
            strides
        };
        let count: u64 = self.selections.iter().map(|s| s.length).product();
        let offset: u64 = self
            .selections
            .iter()
            .zip(&strides)
            .map(|(s, stride)| s.start * stride)
            .sum();
        if count == 0 {
            return Some(0..0);
        }
        let mut axis = dims.len();
        while axis > 0 {
            let s = &self.selections[axis - 1];
            if s.start == 0 && s.length == dims[axis - 1] && (s.step == 1 || s.length <= 1) {
                axis -= 1;
            } else {
                break;
            }
        }
        if axis > 0 {
            let s = &self.selections[axis - 1];
            if s.step != 1 && s.length > 1 {
                return None;
            }
            if self.selections[..axis - 1].iter().any(|s| s.length != 1) {
                return None;
            }
        }
        Some(offset * element_size..(offset + count) * element_size)
    }

    /// The selection as a strided view of the base's elements.
    fn strided(&self) -> Strided {
        let dims: Vec<usize> = self.base.dims().iter().map(|&d| d as usize).collect();
        let base_strides = contiguous_strides(&dims);
        let offset = self
            .selections
            .iter()
            .zip(&base_strides)
            .map(|(s, stride)| s.start as usize * stride)
            .sum();
        Strided {
            offset,
            dims: self.selections.iter().map(|s| s.length as usize).collect(),
            strides: self
                .selections
                .iter()
                .zip(&base_strides)
                .map(|(s, stride)| s.step as usize * stride)
                .collect(),
        }
    }
}

/// The type of `slice` applied to a tensor of type `ty`.
pub fn slice_type(ty: &TensorType, slice: &Slice) -> Result<TensorType, KernelError> {
    let geometry = SliceGeometry::new(&ty.shape, slice)?;
    Ok(TensorType::new(ty.dtype, geometry.output_shape()))
}

/// A copy of the selected elements.
pub fn slice(input: &TensorView, slice: &Slice) -> Result<TensorData, KernelError> {
    let size = element_size("slice", input.dtype())?;
    let geometry = SliceGeometry::new(input.shape(), slice)?;
    let bytes = gather(input.bytes(), size, &geometry.strided());
    TensorData::new(
        TensorType::new(input.dtype(), geometry.output_shape()),
        bytes,
    )
}

/// A copy of `base` whose selected elements are replaced by `value`, which must have the
/// selection's shape and the base's dtype (no broadcasting, no casting, as BrainSurgery's
/// `assign`).
pub fn write_into_slice(
    base: &TensorView,
    slice: &Slice,
    value: &TensorView,
) -> Result<TensorData, KernelError> {
    let size = element_size("write into slice", base.dtype())?;
    if value.dtype() != base.dtype() {
        return Err(KernelError::DTypeMismatch {
            op: "write into slice",
            left: base.dtype(),
            right: value.dtype(),
        });
    }
    let geometry = SliceGeometry::new(base.shape(), slice)?;
    let shape = geometry.output_shape();
    if value.shape() != &shape {
        return Err(KernelError::ShapeMismatch {
            op: "write into slice",
            left: shape,
            right: value.shape().clone(),
        });
    }
    let mut out = base.to_data();
    scatter(out.bytes_mut(), size, &geometry.strided(), value.bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> SliceComponent {
        SliceComponent::Range { start, stop, step }
    }

    fn byte_range(dims: &[u64], components: Vec<SliceComponent>) -> Option<Range<u64>> {
        SliceGeometry::new(&Shape::new(dims.to_vec()), &Slice(components))
            .expect("valid slice")
            .contiguous_byte_range(2)
    }

    #[test]
    fn rows_and_single_positions_are_contiguous_columns_are_not() {
        assert_eq!(
            byte_range(&[4, 3], vec![range(Some(1), Some(3), None)]),
            Some(6..18)
        );
        assert_eq!(
            byte_range(&[4, 3], vec![SliceComponent::Index(-1)]),
            Some(18..24)
        );
        assert_eq!(
            byte_range(
                &[4, 3],
                vec![SliceComponent::Index(2), range(Some(1), None, None)]
            ),
            Some(14..18)
        );
        assert_eq!(
            byte_range(
                &[4, 3],
                vec![range(None, None, None), range(None, Some(2), None)]
            ),
            None
        );
        assert_eq!(byte_range(&[4, 3], vec![range(None, None, Some(2))]), None);
        assert_eq!(
            byte_range(&[4, 3], vec![range(Some(3), Some(1), None)]),
            Some(0..0)
        );
    }

    #[test]
    fn the_type_rule_drops_indexed_dimensions() {
        let ty = TensorType::new(crate::tensor::DType::BF16, Shape::new(vec![4, 3, 2]));
        let sliced = slice_type(
            &ty,
            &Slice(vec![range(None, None, Some(3)), SliceComponent::Index(-3)]),
        )
        .expect("valid slice");
        assert_eq!(sliced.shape, Shape::new(vec![2, 2]));
        assert!(matches!(
            slice_type(&ty, &Slice(vec![SliceComponent::Index(4)])),
            Err(KernelError::IndexOutOfRange {
                index: 4,
                dim: 0,
                size: 4
            })
        ));
    }
}
