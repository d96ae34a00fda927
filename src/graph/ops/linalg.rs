//! Linear algebra: `matmul` and the PHLoRA low-rank factors and reconstruction, with their rules.
//!
//! `matmul` follows `torch.matmul`: two vectors give a scalar; a leading vector is treated as a
//! row (and that dim removed again), a trailing vector as a column; beyond two dims the batch
//! dimensions broadcast. Both operands need the same dtype. PHLoRA needs a 2-D floating-point
//! `W` of shape `[out, in]` and clamps the rank to `r = min(rank, out, in)`: factor A is `[r, in]`,
//! factor B is `[out, r]` (so `B @ A` approximates `W`), and the in-place reconstruction keeps
//! `W`'s type. The SVD runs in f32/f64 whatever the storage dtype, so half precision is accepted.
//! A factorization node yields both factors of its one SVD packed in a 1-D tensor
//! ([`PackedFactors`] says where each lies), which byte views split; the SVD `method` (exact or
//! randomized, with its settings) is a parameter of the node.
//! `lora_extract` (A and B of `tuned − base`) and `lora_merge` (`W + (alpha / r)·B·A`) take their
//! type rules from the low-rank kernels, so the compiler refuses exactly what the kernels would.

use serde_json::Value;

use super::{Arity, TypeError};
use crate::exec::error::KernelError;
use crate::exec::kernels::lowrank::{self, RankRule, SvdMethod};
use crate::tensor::{DType, Shape, TensorType};

#[derive(Debug, Clone, PartialEq)]
pub enum Linalg {
    Matmul,
    /// PHLoRA's two factors of one SVD, packed in one 1-D tensor of W's dtype: first
    /// `A = diag(√S_r)·Vh_r` (`[r, in]`, row-major), then `B = U_r·diag(√S_r)` (`[out, r]`). The
    /// compiler views each factor out of it ([`super::ByteView`]), so one SVD serves both.
    PhloraFactors {
        rank: u64,
        method: SvdMethod,
    },
    /// `U_r·diag(S_r)·Vh_r`, shape of `W`.
    PhloraReconstruct {
        rank: u64,
        method: SvdMethod,
    },
    /// `lora_extract`'s factors of `tuned − base` (operands: base, tuned), packed as
    /// [`Linalg::PhloraFactors`]: A `[min(rank, out, in), in]` then B `[out, min(rank, out, in)]`;
    /// with `energy` the kept rank may be lower and each factor is zero-padded to that shape.
    LoraExtractFactors {
        rank: u64,
        energy: Option<f64>,
        method: SvdMethod,
    },
    /// `W + (alpha / r)·B·A` (operands: W, A, B), shape of `W`.
    LoraMerge {
        alpha: f64,
    },
}

/// The two factors' types inside a packed factor tensor, and where B starts.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedFactors {
    pub a: TensorType,
    pub b: TensorType,
    /// The byte offset of B (A starts at 0).
    pub b_offset: u64,
}

impl PackedFactors {
    fn new(a: TensorType, b: TensorType) -> Result<PackedFactors, TypeError> {
        let too_large = |ty: &TensorType| TypeError::LowRank {
            op: "phlora",
            reason: format!("a factor of type {ty} has more bytes than this machine can address"),
        };
        let b_offset = a.byte_len().ok_or_else(|| too_large(&a))?;
        b.byte_len().ok_or_else(|| too_large(&b))?;
        Ok(PackedFactors { a, b, b_offset })
    }

    /// The packed tensor's type: A's and B's elements, one after the other.
    pub fn packed_type(&self) -> TensorType {
        let elements = |ty: &TensorType| ty.shape.element_count().unwrap_or(0);
        TensorType::new(
            self.a.dtype,
            Shape::new(vec![elements(&self.a) + elements(&self.b)]),
        )
    }
}

impl Linalg {
    pub fn name(&self) -> &'static str {
        match self {
            Linalg::Matmul => "matmul",
            Linalg::PhloraFactors { .. } => "phlora_factors",
            Linalg::PhloraReconstruct { .. } => "phlora_reconstruct",
            Linalg::LoraExtractFactors { .. } => "lora_extract_factors",
            Linalg::LoraMerge { .. } => "lora_merge",
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Linalg::Matmul | Linalg::LoraExtractFactors { .. } => Arity::Exactly(2),
            Linalg::LoraMerge { .. } => Arity::Exactly(3),
            _ => Arity::Exactly(1),
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Linalg::Matmul => Vec::new(),
            Linalg::PhloraFactors { rank, method } | Linalg::PhloraReconstruct { rank, method } => {
                let mut parameters = vec![("rank", Value::from(*rank))];
                method_parameters(method, &mut parameters);
                parameters
            }
            Linalg::LoraExtractFactors {
                rank,
                energy,
                method,
            } => {
                let mut parameters = vec![("rank", Value::from(*rank))];
                if let Some(energy) = energy {
                    parameters.push(("energy", Value::from(*energy)));
                }
                method_parameters(method, &mut parameters);
                parameters
            }
            Linalg::LoraMerge { alpha } => vec![("alpha", Value::from(*alpha))],
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
        match self {
            Linalg::Matmul => matmul_type(inputs[0], inputs[1]),
            Linalg::PhloraFactors { rank, .. } => {
                Ok(phlora_factor_types(inputs[0], *rank)?.packed_type())
            }
            Linalg::PhloraReconstruct { rank, .. } => {
                let w = inputs[0];
                phlora_factor_types(w, *rank)?;
                Ok(w.clone())
            }
            Linalg::LoraExtractFactors { rank, energy, .. } => {
                let (a, b) = lora_extract_factor_types(inputs[0], inputs[1], *rank, *energy)?;
                Ok(PackedFactors::new(a, b)?.packed_type())
            }
            Linalg::LoraMerge { .. } => lowrank::lora_merge_type(inputs[0], inputs[1], inputs[2])
                .map_err(|error| low_rank_error("lora_merge", error)),
        }
    }
}

/// `method` (and the randomized SVD's settings) as graph parameters, for DOT and JSON.
fn method_parameters(method: &SvdMethod, parameters: &mut Vec<(&'static str, Value)>) {
    match method {
        SvdMethod::Exact => parameters.push(("method", Value::from("exact"))),
        SvdMethod::Randomized(settings) => {
            parameters.push(("method", Value::from("randomized")));
            parameters.push(("oversampling", Value::from(settings.oversampling)));
            parameters.push(("power_iterations", Value::from(settings.power_iterations)));
            parameters.push(("seed", Value::from(settings.seed)));
        }
    }
}

/// PHLoRA's factor types for a matrix W (A `[r, in]`, B `[out, r]`, `r = min(rank, out, in)`),
/// from the kernels' rule, with B's place in the packed tensor.
pub fn phlora_factor_types(w: &TensorType, rank: u64) -> Result<PackedFactors, TypeError> {
    let [_, _] = *w.shape.dims() else {
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
    let (a, b) = lowrank::phlora_types(w, rank).map_err(|error| low_rank_error("phlora", error))?;
    PackedFactors::new(a, b)
}

/// `lora_extract`'s factor types with B's place in the packed tensor.
pub fn lora_extract_packed(
    base: &TensorType,
    tuned: &TensorType,
    rank: u64,
    energy: Option<f64>,
) -> Result<PackedFactors, TypeError> {
    let (a, b) = lora_extract_factor_types(base, tuned, rank, energy)?;
    PackedFactors::new(a, b)
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

    fn exact(rank: u64) -> Linalg {
        Linalg::PhloraFactors {
            rank,
            method: SvdMethod::Exact,
        }
    }

    #[test]
    fn phlora_clamps_the_rank_and_packs_the_factors() {
        let w = f32(&[8, 32]);
        let packed = phlora_factor_types(&w, 4).unwrap();
        assert_eq!(packed.a, f32(&[4, 32]));
        assert_eq!(packed.b, f32(&[8, 4]));
        assert_eq!(packed.b_offset, 4 * 32 * 4);
        assert_eq!(exact(4).infer(&[&w]).unwrap(), f32(&[4 * 32 + 8 * 4]));
        // A rank above min(out, in) is clamped to it.
        let clamped = phlora_factor_types(&w, 100).unwrap();
        assert_eq!((clamped.a, clamped.b), (f32(&[8, 32]), f32(&[8, 8])));
        let reconstruct = Linalg::PhloraReconstruct {
            rank: 2,
            method: SvdMethod::Exact,
        };
        assert_eq!(reconstruct.infer(&[&w]).unwrap(), w);
        let half = TensorType::new(DType::BF16, Shape::new(vec![6, 10]));
        assert_eq!(phlora_factor_types(&half, 3).unwrap().b_offset, 3 * 10 * 2);
    }

    #[test]
    fn phlora_needs_a_floating_point_matrix() {
        assert!(matches!(
            exact(2).infer(&[&f32(&[8])]),
            Err(TypeError::NotTwoDimensional { .. })
        ));
        let ints = TensorType::new(DType::I64, Shape::new(vec![4, 4]));
        assert!(exact(2).infer(&[&ints]).is_err());
    }

    #[test]
    fn the_method_is_a_graph_parameter() {
        let randomized = Linalg::PhloraFactors {
            rank: 4,
            method: SvdMethod::Randomized(lowrank::RandomizedSvd {
                oversampling: 6,
                power_iterations: 1,
                seed: 9,
            }),
        };
        let parameters = randomized.parameters();
        assert!(parameters.contains(&("method", Value::from("randomized"))));
        assert!(parameters.contains(&("oversampling", Value::from(6))));
        assert!(parameters.contains(&("seed", Value::from(9))));
        assert!(exact(4)
            .parameters()
            .contains(&("method", Value::from("exact"))));
    }
}
