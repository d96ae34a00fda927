//! Elementwise ops: `scale`, `add`, `subtract`, `multiply`, `clamp`, `cast` — and their type rule.
//!
//! Every op here maps each element independently, so its output has the shape of its operands.
//! The rule follows BrainSurgery (and PyTorch without promotion): binary ops need identical dtypes
//! and identical shapes — **no implicit promotion, no broadcasting**; `cast` changes only the dtype;
//! scaling an integer tensor needs an integral factor (the result must stay an integer); boolean
//! tensors cannot be scaled, clamped or subtracted, as in PyTorch.

use serde_json::Value;

use super::{Arity, TypeError};
use crate::tensor::{DType, TensorType};

#[derive(Debug, Clone, PartialEq)]
pub enum Elementwise {
    Scale { by: f64 },
    Add,
    Subtract,
    Multiply,
    Clamp { min: Option<f64>, max: Option<f64> },
    Cast { dtype: DType },
}

impl Elementwise {
    pub fn name(&self) -> &'static str {
        match self {
            Elementwise::Scale { .. } => "scale",
            Elementwise::Add => "add",
            Elementwise::Subtract => "subtract",
            Elementwise::Multiply => "multiply",
            Elementwise::Clamp { .. } => "clamp",
            Elementwise::Cast { .. } => "cast",
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Elementwise::Add | Elementwise::Subtract | Elementwise::Multiply => Arity::Exactly(2),
            _ => Arity::Exactly(1),
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Elementwise::Scale { by } => vec![("by", Value::from(*by))],
            Elementwise::Clamp { min, max } => {
                let mut parameters = Vec::new();
                if let Some(min) = min {
                    parameters.push(("min", Value::from(*min)));
                }
                if let Some(max) = max {
                    parameters.push(("max", Value::from(*max)));
                }
                parameters
            }
            Elementwise::Cast { dtype } => vec![("dtype", Value::from(dtype.to_string()))],
            Elementwise::Add | Elementwise::Subtract | Elementwise::Multiply => Vec::new(),
        }
    }

    /// The output type; `inputs` has the arity's length (checked by the caller).
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
        let first = inputs[0];
        match self {
            Elementwise::Scale { by } => {
                refuse_bool(
                    self.name(),
                    first,
                    "booleans cannot be multiplied by a number",
                )?;
                if first.dtype.is_integer() && by.fract() != 0.0 {
                    return Err(TypeError::FractionalFactor {
                        dtype: first.dtype,
                        factor: *by,
                    });
                }
                Ok(first.clone())
            }
            Elementwise::Clamp { .. } => {
                refuse_bool(self.name(), first, "booleans have no order to clamp by")?;
                Ok(first.clone())
            }
            Elementwise::Cast { dtype } => Ok(TensorType::new(*dtype, first.shape.clone())),
            Elementwise::Add | Elementwise::Subtract | Elementwise::Multiply => {
                let second = inputs[1];
                same_type(first, second)?;
                if matches!(self, Elementwise::Subtract) {
                    refuse_bool(self.name(), first, "booleans cannot be subtracted")?;
                }
                Ok(first.clone())
            }
        }
    }
}

/// Operands 0 and 1 must agree in dtype, then in shape (the dtype is reported first because a
/// dtype mismatch usually explains a shape mismatch too, e.g. a packed format).
pub(crate) fn same_type(first: &TensorType, second: &TensorType) -> Result<(), TypeError> {
    same_type_at(first, 0, second, 1)
}

/// Like [`same_type`] for operands at any two positions.
pub(crate) fn same_type_at(
    first: &TensorType,
    left: usize,
    second: &TensorType,
    right: usize,
) -> Result<(), TypeError> {
    if first.dtype != second.dtype {
        return Err(TypeError::DtypeMismatch {
            left,
            right,
            left_type: first.clone(),
            right_type: second.clone(),
        });
    }
    if first.shape != second.shape {
        return Err(TypeError::ShapeMismatch {
            left,
            right,
            left_type: first.clone(),
            right_type: second.clone(),
        });
    }
    Ok(())
}

fn refuse_bool(op: &'static str, ty: &TensorType, reason: &'static str) -> Result<(), TypeError> {
    if ty.dtype == DType::BOOL {
        return Err(TypeError::UnsupportedDtype {
            op,
            dtype: DType::BOOL,
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Shape;

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    #[test]
    fn binary_ops_need_identical_types() {
        let a = f32(&[2, 3]);
        assert_eq!(Elementwise::Add.infer(&[&a, &a]), Ok(a.clone()));
        let wide = f32(&[3, 2]);
        assert!(matches!(
            Elementwise::Multiply.infer(&[&a, &wide]),
            Err(TypeError::ShapeMismatch {
                left: 0,
                right: 1,
                ..
            })
        ));
        let half = TensorType::new(DType::F16, Shape::new(vec![2, 3]));
        assert!(matches!(
            Elementwise::Subtract.infer(&[&a, &half]),
            Err(TypeError::DtypeMismatch { .. })
        ));
    }

    #[test]
    fn broadcasting_is_refused() {
        let a = f32(&[2, 3]);
        let row = f32(&[3]);
        assert!(Elementwise::Add.infer(&[&a, &row]).is_err());
    }

    #[test]
    fn integer_scaling_needs_an_integral_factor() {
        let ints = TensorType::new(DType::I64, Shape::new(vec![4]));
        assert_eq!(
            Elementwise::Scale { by: 2.0 }.infer(&[&ints]),
            Ok(ints.clone())
        );
        assert!(matches!(
            Elementwise::Scale { by: 0.5 }.infer(&[&ints]),
            Err(TypeError::FractionalFactor { .. })
        ));
    }

    #[test]
    fn cast_changes_only_the_dtype() {
        let a = f32(&[5, 1]);
        let cast = Elementwise::Cast { dtype: DType::BF16 }
            .infer(&[&a])
            .unwrap();
        assert_eq!(cast, TensorType::new(DType::BF16, Shape::new(vec![5, 1])));
    }

    #[test]
    fn booleans_cannot_be_subtracted_or_clamped() {
        let flags = TensorType::new(DType::BOOL, Shape::new(vec![3]));
        assert!(Elementwise::Subtract.infer(&[&flags, &flags]).is_err());
        assert!(Elementwise::Clamp {
            min: Some(0.0),
            max: None
        }
        .infer(&[&flags])
        .is_err());
        assert!(Elementwise::Add.infer(&[&flags, &flags]).is_ok());
    }
}
