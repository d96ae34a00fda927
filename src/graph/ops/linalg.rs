//! Linear algebra: `matmul` and the PHLoRA low-rank factors and reconstruction, with their rules.
//!
//! `matmul` follows `torch.matmul`: two vectors give a scalar; a leading vector is treated as a
//! row (and that dim removed again), a trailing vector as a column; beyond two dims the batch
//! dimensions broadcast. Both operands need the same dtype. PHLoRA needs a 2-D floating-point
//! `W` of shape `[out, in]` and clamps the rank to `r = min(rank, out, in)`: factor A is `[r, in]`,
//! factor B is `[out, r]` (so `B @ A` approximates `W`), and the in-place reconstruction keeps
//! `W`'s type. The SVD runs in f32/f64 whatever the storage dtype, so half precision is accepted.
//! `lora_extract` (A and B of `tuned − base`) and `lora_merge` (`W + (alpha / r)·B·A`) take their
//! type rules from the low-rank kernels, so the compiler refuses exactly what the kernels would.

use serde_json::Value;

use super::{Arity, TypeError};
use crate::exec::error::KernelError;
use crate::exec::kernels::lowrank::{self, RankRule};
use crate::tensor::{DType, Shape, TensorType};

#[derive(Debug, Clone, PartialEq)]
pub enum Linalg {
    Matmul,
    /// `A = diag(√S_r)·Vh_r`, shape `[r, in]`.
    PhloraA {
        rank: u64,
    },
    /// `B = U_r·diag(√S_r)`, shape `[out, r]`.
    PhloraB {
        rank: u64,
    },
    /// `U_r·diag(S_r)·Vh_r`, shape of `W`.
    PhloraReconstruct {
        rank: u64,
    },
    /// `lora_extract`'s A factor of `tuned − base` (operands: base, tuned), shape
    /// `[min(rank, out, in), in]`; with `energy` the kept rank may be lower and the factor is
    /// zero-padded to that shape.
    LoraExtractA {
        rank: u64,
        energy: Option<f64>,
    },
    /// `lora_extract`'s B factor (operands: base, tuned), shape `[out, min(rank, out, in)]`.
    LoraExtractB {
        rank: u64,
        energy: Option<f64>,
    },
    /// `W + (alpha / r)·B·A` (operands: W, A, B), shape of `W`.
    LoraMerge {
        alpha: f64,
    },
}

impl Linalg {
    pub fn name(&self) -> &'static str {
        match self {
            Linalg::Matmul => "matmul",
            Linalg::PhloraA { .. } => "phlora_a",
            Linalg::PhloraB { .. } => "phlora_b",
            Linalg::PhloraReconstruct { .. } => "phlora_reconstruct",
            Linalg::LoraExtractA { .. } => "lora_extract_a",
            Linalg::LoraExtractB { .. } => "lora_extract_b",
            Linalg::LoraMerge { .. } => "lora_merge",
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Linalg::Matmul | Linalg::LoraExtractA { .. } | Linalg::LoraExtractB { .. } => {
                Arity::Exactly(2)
            }
            Linalg::LoraMerge { .. } => Arity::Exactly(3),
            _ => Arity::Exactly(1),
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Linalg::Matmul => Vec::new(),
            Linalg::PhloraA { rank }
            | Linalg::PhloraB { rank }
            | Linalg::PhloraReconstruct { rank } => vec![("rank", Value::from(*rank))],
            Linalg::LoraExtractA { rank, energy } | Linalg::LoraExtractB { rank, energy } => {
                let mut parameters = vec![("rank", Value::from(*rank))];
                if let Some(energy) = energy {
                    parameters.push(("energy", Value::from(*energy)));
                }
                parameters
            }
            Linalg::LoraMerge { alpha } => vec![("alpha", Value::from(*alpha))],
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
        match self {
            Linalg::Matmul => matmul_type(inputs[0], inputs[1]),
            Linalg::PhloraA { rank }
            | Linalg::PhloraB { rank }
            | Linalg::PhloraReconstruct { rank } => {
                let w = inputs[0];
                let (out, input) = phlora_dims(w)?;
                let r = effective_rank(*rank, &w.shape).unwrap_or(0);
                let shape = match self {
                    Linalg::PhloraA { .. } => vec![r, input],
                    Linalg::PhloraB { .. } => vec![out, r],
                    _ => vec![out, input],
                };
                Ok(TensorType::new(w.dtype, Shape::new(shape)))
            }
            Linalg::LoraExtractA { rank, energy } | Linalg::LoraExtractB { rank, energy } => {
                let (a, b) = lora_extract_factor_types(inputs[0], inputs[1], *rank, *energy)?;
                Ok(if matches!(self, Linalg::LoraExtractA { .. }) {
                    a
                } else {
                    b
                })
            }
            Linalg::LoraMerge { .. } => lowrank::lora_merge_type(inputs[0], inputs[1], inputs[2])
                .map_err(|error| low_rank_error("lora_merge", error)),
        }
    }
}

/// The rank rule of `lora_extract`: `rank` components, or with `energy` the fewest reaching that
/// fraction of Σσ², at most `rank`.
pub fn lora_extract_rule(rank: u64, energy: Option<f64>) -> RankRule {
    match energy {
        None => RankRule::Fixed(rank),
        Some(fraction) => RankRule::Energy {
            fraction,
            max_rank: Some(rank),
        },
    }
}

/// The factor types of `lora_extract`, from the kernels' rule: with `energy` the rank depends on
/// the values, so the factors are typed at the cap `min(rank, out, in)` (and zero-padded to it).
pub fn lora_extract_factor_types(
    base: &TensorType,
    tuned: &TensorType,
    rank: u64,
    energy: Option<f64>,
) -> Result<(TensorType, TensorType), TypeError> {
    let error = |error| low_rank_error("lora_extract", error);
    lowrank::lora_extract_types(base, tuned, &lora_extract_rule(rank, energy)).map_err(error)?;
    lowrank::lora_extract_types(base, tuned, &RankRule::Fixed(rank))
        .map_err(error)?
        .ok_or_else(|| TypeError::LowRank {
            op: "lora_extract",
            reason: "a fixed rank always has static factor types".to_string(),
        })
}

fn low_rank_error(op: &'static str, error: KernelError) -> TypeError {
    TypeError::LowRank {
        op,
        reason: error.to_string(),
    }
}

/// `min(rank, out, in)` for a 2-D shape (`None` otherwise).
pub fn effective_rank(rank: u64, shape: &Shape) -> Option<u64> {
    match shape.dims() {
        [out, input] => Some(rank.min(*out).min(*input)),
        _ => None,
    }
}

fn phlora_dims(w: &TensorType) -> Result<(u64, u64), TypeError> {
    let [out, input] = *w.shape.dims() else {
        return Err(TypeError::NotTwoDimensional {
            shape: w.shape.clone(),
        });
    };
    if !w.dtype.is_float() || matches!(w.dtype, DType::C64) {
        return Err(TypeError::UnsupportedDtype {
            op: "phlora",
            dtype: w.dtype,
            reason: "a singular value decomposition needs a floating-point tensor",
        });
    }
    Ok((out, input))
}

/// `torch.matmul`'s shape rule.
pub fn matmul_type(a: &TensorType, b: &TensorType) -> Result<TensorType, TypeError> {
    if a.dtype != b.dtype {
        return Err(TypeError::DtypeMismatch {
            left: 0,
            right: 1,
            left_type: a.clone(),
            right_type: b.clone(),
        });
    }
    let fail = |reason: String| TypeError::MatmulShapes {
        left_type: a.clone(),
        right_type: b.clone(),
        reason,
    };
    let (left, right) = (a.shape.dims(), b.shape.dims());
    if left.is_empty() || right.is_empty() {
        return Err(fail("both operands need at least one dimension".into()));
    }
    // Promote vectors to matrices as torch does, remembering which dims to drop afterwards.
    let left_is_vector = left.len() == 1;
    let right_is_vector = right.len() == 1;
    let left_matrix: Vec<u64> = if left_is_vector {
        vec![1, left[0]]
    } else {
        left.to_vec()
    };
    let right_matrix: Vec<u64> = if right_is_vector {
        vec![right[0], 1]
    } else {
        right.to_vec()
    };
    let (left_batch, left_rows) = left_matrix.split_at(left_matrix.len() - 2);
    let (right_batch, right_rows) = right_matrix.split_at(right_matrix.len() - 2);
    let (n, k) = (left_rows[0], left_rows[1]);
    let (k2, m) = (right_rows[0], right_rows[1]);
    if k != k2 {
        return Err(fail(format!("the inner dimensions differ ({k} and {k2})")));
    }
    let batch = broadcast(left_batch, right_batch)
        .ok_or_else(|| fail("the batch dimensions do not broadcast".into()))?;
    let mut dims = batch;
    if !left_is_vector {
        dims.push(n);
    }
    if !right_is_vector {
        dims.push(m);
    }
    Ok(TensorType::new(a.dtype, Shape::new(dims)))
}

/// NumPy/PyTorch broadcasting of two dim lists (aligned on the right; sizes equal or one is 1).
pub fn broadcast(left: &[u64], right: &[u64]) -> Option<Vec<u64>> {
    let rank = left.len().max(right.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let l = left.len().checked_sub(i + 1).map_or(1, |j| left[j]);
        let r = right.len().checked_sub(i + 1).map_or(1, |j| right[j]);
        out[rank - 1 - i] = match (l, r) {
            _ if l == r => l,
            (1, r) => r,
            (l, 1) => l,
            _ => return None,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    #[test]
    fn matmul_follows_torch_for_matrices_and_vectors() {
        assert_eq!(
            matmul_type(&f32(&[8, 24]), &f32(&[24, 3])),
            Ok(f32(&[8, 3]))
        );
        assert_eq!(matmul_type(&f32(&[4]), &f32(&[4])), Ok(f32(&[])));
        assert_eq!(matmul_type(&f32(&[8]), &f32(&[8, 24])), Ok(f32(&[24])));
        assert_eq!(matmul_type(&f32(&[8, 24]), &f32(&[24])), Ok(f32(&[8])));
        assert!(matmul_type(&f32(&[8, 24]), &f32(&[8, 24])).is_err());
        assert!(matmul_type(&f32(&[]), &f32(&[3])).is_err());
    }

    #[test]
    fn matmul_broadcasts_batch_dimensions() {
        assert_eq!(
            matmul_type(&f32(&[5, 1, 2, 3]), &f32(&[4, 3, 6])),
            Ok(f32(&[5, 4, 2, 6]))
        );
        assert_eq!(matmul_type(&f32(&[7, 2, 3]), &f32(&[3])), Ok(f32(&[7, 2])));
        assert!(matmul_type(&f32(&[2, 2, 3]), &f32(&[4, 3, 6])).is_err());
        let ints = TensorType::new(DType::I32, Shape::new(vec![3, 3]));
        assert!(matches!(
            matmul_type(&f32(&[3, 3]), &ints),
            Err(TypeError::DtypeMismatch { .. })
        ));
    }

    #[test]
    fn phlora_clamps_the_rank_and_shapes_the_factors() {
        let w = f32(&[8, 32]);
        assert_eq!(
            Linalg::PhloraA { rank: 4 }.infer(&[&w]).unwrap(),
            f32(&[4, 32])
        );
        assert_eq!(
            Linalg::PhloraB { rank: 4 }.infer(&[&w]).unwrap(),
            f32(&[8, 4])
        );
        // A rank above min(out, in) is clamped to it.
        assert_eq!(
            Linalg::PhloraA { rank: 100 }.infer(&[&w]).unwrap(),
            f32(&[8, 32])
        );
        assert_eq!(
            Linalg::PhloraReconstruct { rank: 2 }.infer(&[&w]).unwrap(),
            w
        );
    }

    #[test]
    fn phlora_needs_a_floating_point_matrix() {
        assert!(matches!(
            Linalg::PhloraA { rank: 2 }.infer(&[&f32(&[8])]),
            Err(TypeError::NotTwoDimensional { .. })
        ));
        let ints = TensorType::new(DType::I64, Shape::new(vec![4, 4]));
        assert!(Linalg::PhloraB { rank: 2 }.infer(&[&ints]).is_err());
    }
}
