//! The byte-range view: a node that reinterprets a contiguous run of its operand's bytes as a
//! tensor of another shape, without copying.
//!
//! A [`ByteView`] takes one operand and yields a tensor of the operand's dtype and the view's
//! shape, made of the operand's bytes from `byte_offset` on. The optimizer's view folding produces
//! it for contiguous slices (leading-dimension ranges over whole trailing dimensions), split
//! pieces and reshapes of a `Load`, so the executor reads only that byte range of the input map.
//! Its rule: the range must lie inside the operand and hold whole bytes; the dtype never changes.

use serde_json::Value;

use super::{shape_json, TypeError};
use crate::tensor::{Shape, TensorType};

/// `shape`-shaped elements of the operand's dtype, from byte `byte_offset` of the operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteView {
    pub byte_offset: u64,
    pub shape: Shape,
}

impl ByteView {
    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("byte_offset", Value::from(self.byte_offset)),
            ("shape", shape_json(&self.shape)),
        ]
    }

    pub fn infer(&self, operand: &TensorType) -> Result<TensorType, TypeError> {
        let ty = TensorType::new(operand.dtype, self.shape.clone());
        let outside = || TypeError::ViewOutsideOperand {
            byte_offset: self.byte_offset,
            view: ty.clone(),
            operand: operand.clone(),
        };
        let bytes = ty.byte_len().ok_or_else(outside)?;
        let operand_bytes = operand.byte_len().ok_or_else(outside)?;
        let end = self.byte_offset.checked_add(bytes).ok_or_else(outside)?;
        if end > operand_bytes {
            return Err(outside());
        }
        Ok(ty)
    }

    /// The view's byte range within its operand.
    pub fn byte_range(&self, ty: &TensorType) -> Option<std::ops::Range<u64>> {
        let bytes = ty.byte_len()?;
        Some(self.byte_offset..self.byte_offset.checked_add(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;

    fn ty(dtype: DType, dims: &[u64]) -> TensorType {
        TensorType::new(dtype, Shape::new(dims.to_vec()))
    }

    #[test]
    fn a_view_keeps_the_dtype_and_takes_its_shape() {
        let view = ByteView {
            byte_offset: 16,
            shape: Shape::new(vec![2, 2]),
        };
        let operand = ty(DType::F32, &[4, 2]);
        assert_eq!(view.infer(&operand), Ok(ty(DType::F32, &[2, 2])));
        assert_eq!(view.byte_range(&ty(DType::F32, &[2, 2])), Some(16..32));
    }

    #[test]
    fn a_view_past_the_operand_is_refused() {
        let view = ByteView {
            byte_offset: 20,
            shape: Shape::new(vec![2, 2]),
        };
        assert!(matches!(
            view.infer(&ty(DType::F32, &[4, 2])),
            Err(TypeError::ViewOutsideOperand {
                byte_offset: 20,
                ..
            })
        ));
        // Three 4-bit elements do not fill whole bytes.
        let odd = ByteView {
            byte_offset: 0,
            shape: Shape::new(vec![3]),
        };
        assert!(odd.infer(&ty(DType::F4, &[4])).is_err());
    }
}
