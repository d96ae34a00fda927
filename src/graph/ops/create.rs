//! Creators: `zeros`, `ones`, a constant fill, random values and a fill from literal values — nodes
//! with no operands whose type is a parameter.
//!
//! A creator's type is decided by the plan (a shape and dtype, or a template tensor's type), so
//! its rule only checks that the parameters make sense: random values need a floating-point dtype
//! (as in PyTorch), and literal values must be as many as their shape says and broadcast to the
//! target shape (the one place besides matmul where BrainSurgery broadcasts).

use serde_json::Value;

use super::linalg::broadcast;
use super::{shape_json, TypeError};
use crate::tensor::{Shape, TensorType};

#[derive(Debug, Clone, PartialEq)]
pub enum Create {
    Zeros {
        ty: TensorType,
    },
    Ones {
        ty: TensorType,
    },
    FillConstant {
        ty: TensorType,
        value: f64,
    },
    Rand {
        ty: TensorType,
        distribution: RandomDistribution,
        seed: Option<i64>,
    },
    /// Literal values (row-major, of `values_shape`) broadcast to `ty`'s shape.
    FillTensor {
        ty: TensorType,
        values: Vec<f64>,
        values_shape: Shape,
    },
}

/// A distribution with the reference's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomDistribution {
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

impl Create {
    pub fn name(&self) -> &'static str {
        match self {
            Create::Zeros { .. } => "zeros",
            Create::Ones { .. } => "ones",
            Create::FillConstant { .. } => "fill",
            Create::Rand { .. } => "rand",
            Create::FillTensor { .. } => "fill_values",
        }
    }

    pub fn ty(&self) -> &TensorType {
        match self {
            Create::Zeros { ty }
            | Create::Ones { ty }
            | Create::FillConstant { ty, .. }
            | Create::Rand { ty, .. }
            | Create::FillTensor { ty, .. } => ty,
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Create::Zeros { .. } | Create::Ones { .. } => Vec::new(),
            Create::FillConstant { value, .. } => vec![("value", Value::from(*value))],
            Create::Rand {
                distribution, seed, ..
            } => {
                let mut parameters = match *distribution {
                    RandomDistribution::Uniform { low, high } => vec![
                        ("distribution", Value::from("uniform")),
                        ("low", Value::from(low)),
                        ("high", Value::from(high)),
                    ],
                    RandomDistribution::Normal { mean, std } => vec![
                        ("distribution", Value::from("normal")),
                        ("mean", Value::from(mean)),
                        ("std", Value::from(std)),
                    ],
                };
                if let Some(seed) = seed {
                    parameters.push(("seed", Value::from(*seed)));
                }
                parameters
            }
            Create::FillTensor {
                values,
                values_shape,
                ..
            } => vec![
                ("values_shape", shape_json(values_shape)),
                ("values", Value::from(values.clone())),
            ],
        }
    }

    pub fn infer(&self) -> Result<TensorType, TypeError> {
        let ty = self.ty();
        ty.byte_len().ok_or_else(|| TypeError::TooLarge {
            shape: ty.shape.clone(),
        })?;
        match self {
            Create::Rand { .. } if !ty.dtype.is_float() => Err(TypeError::UnsupportedDtype {
                op: "rand",
                dtype: ty.dtype,
                reason: "random values are drawn for floating-point tensors only",
            }),
            Create::FillTensor {
                values,
                values_shape,
                ..
            } => {
                let expected = values_shape.element_count().unwrap_or(u64::MAX);
                if expected != values.len() as u64 {
                    return Err(TypeError::ValuesCount {
                        expected,
                        found: values.len(),
                    });
                }
                match broadcast(values_shape.dims(), ty.shape.dims()) {
                    Some(dims) if dims == ty.shape.dims() => Ok(ty.clone()),
                    _ => Err(TypeError::ValuesDoNotBroadcast {
                        values: values_shape.clone(),
                        target: ty.shape.clone(),
                    }),
                }
            }
            _ => Ok(ty.clone()),
        }
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
    fn literal_values_broadcast_to_the_target() {
        let row = Create::FillTensor {
            ty: ty(DType::F32, &[2, 3]),
            values: vec![1.0, 2.0, 3.0],
            values_shape: Shape::new(vec![3]),
        };
        assert_eq!(row.infer(), Ok(ty(DType::F32, &[2, 3])));
        let column = Create::FillTensor {
            ty: ty(DType::F32, &[2, 3]),
            values: vec![1.0, 2.0],
            values_shape: Shape::new(vec![2]),
        };
        assert!(matches!(
            column.infer(),
            Err(TypeError::ValuesDoNotBroadcast { .. })
        ));
        let short = Create::FillTensor {
            ty: ty(DType::F32, &[3]),
            values: vec![1.0],
            values_shape: Shape::new(vec![3]),
        };
        assert!(matches!(short.infer(), Err(TypeError::ValuesCount { .. })));
    }

    #[test]
    fn random_values_need_a_float_dtype() {
        let uniform = RandomDistribution::Uniform {
            low: 0.0,
            high: 1.0,
        };
        let ok = Create::Rand {
            ty: ty(DType::BF16, &[4]),
            distribution: uniform,
            seed: Some(1),
        };
        assert!(ok.infer().is_ok());
        let ints = Create::Rand {
            ty: ty(DType::I32, &[4]),
            distribution: uniform,
            seed: None,
        };
        assert!(ints.infer().is_err());
        let zeros = Create::Zeros {
            ty: ty(DType::I8, &[2, 2]),
        };
        assert_eq!(zeros.infer(), Ok(ty(DType::I8, &[2, 2])));
    }
}
