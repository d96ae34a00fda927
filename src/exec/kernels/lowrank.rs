//! Low-rank kernels: PHLoRA factorization (`phlora`) and reconstruction (`phlora_`), LoRA
//! extraction from a base/tuned pair (`lora_extract`) and merging an adapter (`lora_merge`).
//!
//! Receives 2-D float tensors (F16, BF16, F8_E4M3, F8_E5M2, F32, F64); returns the factors or
//! the rewritten weight in the input's dtype. Every computation runs in `f32` (F64: `f64`)
//! whatever the storage dtype, and each output is rounded to the storage dtype exactly once, so
//! half precision works (BrainSurgery's `torch.linalg.svd` refuses it) and a half-precision result
//! equals the `f32` result rounded. Singular values come from `faer`'s thin SVD, or from a
//! randomized SVD when [`SvdMethod::Randomized`] is asked for (the `spectrum` submodule describes
//! the algorithm, `docs/lowrank.md` its error bound). Bad input (not 2-D, a non-float dtype,
//! mismatched operands, NaN or infinity where an SVD is needed, a zero rank, an energy outside
//! (0, 1]) is a [`KernelError`].
//!
//! **Factors.** For M = U·diag(S)·Vᵀ and r kept components, A = diag(√S_r)·V_rᵀ (r × columns)
//! and B = U_r·diag(√S_r) (rows × r), so B·A is the best rank-r approximation of M (Eckart–Young)
//! and the two factors have equal norms component by component. `phlora` and `lora_extract`
//! share this split; for LoRA it is the PEFT layout (`lora_A` r × in, `lora_B` out × r) with
//! B·A ≈ ΔW. The `*_types` functions are the ops' type rules, shared with the compiler.

mod numeric;
mod spectrum;
mod types;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use self::numeric::{parallelism, Real};
use self::spectrum::Spectrum;
use self::types::{check_dtype, check_rule, dtype_mismatch, invalid, matrix_dims};
pub use self::types::{lora_extract_types, lora_merge_type, phlora_shapes, phlora_types};
use super::codec::{decode, encode, Lanes};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{TensorData, TensorView};
use crate::tensor::{Shape, TensorType};

/// Which SVD computes the leading singular triplets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SvdMethod {
    /// `faer`'s thin SVD of the whole matrix (optimal to working precision).
    #[default]
    Exact,
    /// Halko–Martinsson–Tropp randomized SVD: much faster for ranks well below min(shape),
    /// with the expected error bound documented in `docs/lowrank.md`.
    Randomized(RandomizedSvd),
}

/// Parameters of the randomized SVD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomizedSvd {
    /// Extra sample columns beyond the rank (p); the error bound needs p ≥ 2.
    pub oversampling: usize,
    /// Power iterations (q); each sharpens the spectrum's decay by a factor 2q + 1 in the bound.
    pub power_iterations: usize,
    /// Seed of the Gaussian test matrix, so that a run is reproducible.
    pub seed: u64,
}

impl Default for RandomizedSvd {
    fn default() -> RandomizedSvd {
        RandomizedSvd {
            oversampling: 10,
            power_iterations: 2,
            seed: 0,
        }
    }
}

/// How many components a factorization keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RankRule {
    /// `rank` components, clamped to min(shape). The rank must be positive.
    Fixed(u64),
    /// The fewest components r ≥ 1 with Σ_{i<r} σᵢ² ≥ fraction · Σσ², at most `max_rank`
    /// (default min(shape)). `fraction` must be in (0, 1].
    Energy {
        fraction: f64,
        max_rank: Option<u64>,
    },
}

/// A pair of low-rank factors in the input's dtype: `a` is rank × columns, `b` rows × rank.
#[derive(Debug, Clone, PartialEq)]
pub struct LowRankFactors {
    pub a: TensorData,
    pub b: TensorData,
    pub rank: u64,
}

/// PHLoRA: the √S-split factors of W's best rank-r approximation, r = min(rank, min(shape)).
pub fn phlora(
    w: &TensorView,
    rank: u64,
    method: &SvdMethod,
) -> Result<LowRankFactors, KernelError> {
    let op = "phlora";
    let (a_type, b_type) = phlora_types(w.ty(), rank)?;
    let (rows, columns) = dims(w.shape());
    let rule = RankRule::Fixed(rank);
    let (a, b, rank) = match decode_floats(op, w)? {
        Floats::F32(values) => factorize(op, &values, rows, columns, &rule, method)?,
        Floats::F64(values) => factorize(op, &values, rows, columns, &rule, method)?,
    };
    Ok(LowRankFactors {
        a: encode_tensor(&a, a_type)?,
        b: encode_tensor(&b, b_type)?,
        rank: rank as u64,
    })
}

/// `phlora_`: W replaced by its best rank-r approximation U_r·diag(S_r)·V_rᵀ, in W's dtype.
pub fn phlora_reconstruct(
    w: &TensorView,
    rank: u64,
    method: &SvdMethod,
) -> Result<TensorData, KernelError> {
    let op = "phlora_";
    check_dtype(op, w.dtype())?;
    matrix_dims(op, w.shape())?;
    check_rule(op, &RankRule::Fixed(rank))?;
    let (rows, columns) = dims(w.shape());
    let lanes = match decode_floats(op, w)? {
        Floats::F32(values) => reconstruct(op, &values, rows, columns, rank, method)?,
        Floats::F64(values) => reconstruct(op, &values, rows, columns, rank, method)?,
    };
    encode_tensor(&lanes, w.ty().clone())
}

/// LoRA extraction: ΔW = tuned − base (in the compute type, not the storage dtype), factorized
/// by `rule` into A (r × in) and B (out × r) with B·A ≈ ΔW, in the inputs' dtype.
pub fn lora_extract(
    base: &TensorView,
    tuned: &TensorView,
    rule: &RankRule,
    method: &SvdMethod,
) -> Result<LowRankFactors, KernelError> {
    let op = "lora_extract";
    lora_extract_types(base.ty(), tuned.ty(), rule)?;
    let (rows, columns) = dims(base.shape());
    let (a, b, rank) = match (decode_floats(op, base)?, decode_floats(op, tuned)?) {
        (Floats::F32(base), Floats::F32(tuned)) => {
            factorize(op, &difference(tuned, base), rows, columns, rule, method)?
        }
        (Floats::F64(base), Floats::F64(tuned)) => {
            factorize(op, &difference(tuned, base), rows, columns, rule, method)?
        }
        _ => return Err(dtype_mismatch(op, base.dtype(), tuned.dtype())),
    };
    let dtype = base.dtype();
    let shapes = (
        Shape::new(vec![rank as u64, columns as u64]),
        Shape::new(vec![rows as u64, rank as u64]),
    );
    Ok(LowRankFactors {
        a: encode_tensor(&a, TensorType::new(dtype, shapes.0))?,
        b: encode_tensor(&b, TensorType::new(dtype, shapes.1))?,
        rank: rank as u64,
    })
}

/// LoRA merge as PEFT does it: W + (alpha / r)·B·A with r = A's rows, computed in the compute
/// type (the scale `alpha / r` is converted to it first) and rounded once to W's dtype.
pub fn lora_merge(
    w: &TensorView,
    a: &TensorView,
    b: &TensorView,
    alpha: f64,
) -> Result<TensorData, KernelError> {
    let op = "lora_merge";
    let ty = lora_merge_type(w.ty(), a.ty(), b.ty())?;
    if !alpha.is_finite() {
        return Err(invalid(op, format!("alpha must be finite, got {alpha}")));
    }
    let (rows, columns) = dims(w.shape());
    let rank = dims(a.shape()).0;
    if rank == 0 && rows * columns > 0 {
        return Err(invalid(
            op,
            "the adapter has rank 0, so its scale alpha / r is undefined".to_string(),
        ));
    }
    let scale = if rank == 0 { 0.0 } else { alpha / rank as f64 };
    let lanes = match (
        decode_floats(op, w)?,
        decode_floats(op, a)?,
        decode_floats(op, b)?,
    ) {
        (Floats::F32(w), Floats::F32(a), Floats::F32(b)) => {
            merge(w, &a, &b, (rows, rank, columns), scale)
        }
        (Floats::F64(w), Floats::F64(a), Floats::F64(b)) => {
            merge(w, &a, &b, (rows, rank, columns), scale)
        }
        _ => return Err(dtype_mismatch(op, w.dtype(), a.dtype())),
    };
    encode_tensor(&lanes, ty)
}

/// Decoded values in their compute type.
enum Floats {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

fn decode_floats(op: &'static str, view: &TensorView) -> Result<Floats, KernelError> {
    check_dtype(op, view.dtype())?;
    let mut lanes = Lanes::default();
    decode(view.dtype(), view.bytes(), &mut lanes);
    match lanes {
        Lanes::F32(values) => Ok(Floats::F32(values)),
        Lanes::F64(values) => Ok(Floats::F64(values)),
        _ => Err(KernelError::UnsupportedDType {
            op,
            dtype: view.dtype(),
        }),
    }
}

/// The factors of `matrix` (rows × columns, row-major) under `rule`, and the rank kept.
fn factorize<T: Real>(
    op: &'static str,
    matrix: &[T],
    rows: usize,
    columns: usize,
    rule: &RankRule,
    method: &SvdMethod,
) -> Result<(Lanes, Lanes, usize), KernelError> {
    check_finite(op, matrix)?;
    let size = rows.min(columns);
    let clamp = |rank: u64| usize::try_from(rank).unwrap_or(usize::MAX).min(size);
    let (components, fraction) = match *rule {
        RankRule::Fixed(rank) => (clamp(rank), None),
        RankRule::Energy { fraction, max_rank } => (max_rank.map_or(size, clamp), Some(fraction)),
    };
    let view = MatRef::from_row_major_slice(matrix, rows, columns);
    let spectrum = Spectrum::compute(view, components, method).map_err(|_| no_convergence(op))?;
    let rank = fraction.map_or(components, |fraction| {
        spectrum.energy_rank(fraction, components)
    });
    let (a, b) = spectrum.square_root_split(rank);
    Ok((T::into_lanes(a), T::into_lanes(b), rank))
}

fn reconstruct<T: Real>(
    op: &'static str,
    matrix: &[T],
    rows: usize,
    columns: usize,
    rank: u64,
    method: &SvdMethod,
) -> Result<Lanes, KernelError> {
    check_finite(op, matrix)?;
    let rank = usize::try_from(rank)
        .unwrap_or(usize::MAX)
        .min(rows.min(columns));
    let view = MatRef::from_row_major_slice(matrix, rows, columns);
    let spectrum = Spectrum::compute(view, rank, method).map_err(|_| no_convergence(op))?;
    Ok(T::into_lanes(spectrum.reconstruct(rank)))
}

/// `w + scale · b·a` for w (rows × columns), b (rows × rank), a (rank × columns), row-major.
fn merge<T: Real>(
    mut w: Vec<T>,
    a: &[T],
    b: &[T],
    (rows, rank, columns): (usize, usize, usize),
    scale: f64,
) -> Lanes {
    if rank > 0 && rows * columns > 0 {
        matmul(
            MatMut::from_row_major_slice_mut(&mut w, rows, columns),
            Accum::Add,
            MatRef::from_row_major_slice(b, rows, rank),
            MatRef::from_row_major_slice(a, rank, columns),
            T::from_f64(scale),
            parallelism(rows.saturating_mul(columns).saturating_mul(rank)),
        );
    }
    T::into_lanes(w)
}

/// `tuned − base`, written over `tuned` so that the factorization holds one decoded copy less.
fn difference<T: Real>(mut tuned: Vec<T>, base: Vec<T>) -> Vec<T> {
    for (value, subtrahend) in tuned.iter_mut().zip(base) {
        *value -= subtrahend;
    }
    tuned
}

fn encode_tensor(lanes: &Lanes, ty: TensorType) -> Result<TensorData, KernelError> {
    let mut out = TensorData::zeroed(ty)?;
    let dtype = out.dtype();
    encode(lanes, dtype, out.bytes_mut());
    Ok(out)
}

/// The dimensions of a 2-D shape already checked and backed by in-memory bytes, so they fit
/// in `usize`.
fn dims(shape: &Shape) -> (usize, usize) {
    match shape.dims() {
        [rows, columns] => (*rows as usize, *columns as usize),
        _ => (0, 0),
    }
}

fn check_finite<T: Real>(op: &'static str, values: &[T]) -> Result<(), KernelError> {
    if values.iter().all(|v| v.to_f64().is_finite()) {
        Ok(())
    } else {
        Err(invalid(
            op,
            "the matrix contains NaN or infinite values, which have no SVD".into(),
        ))
    }
}

fn no_convergence(op: &'static str) -> KernelError {
    invalid(op, "the SVD did not converge".into())
}
