//! What the PHLoRA benchmarks share: the synthetic matrices (fine-tuning-delta-like spectra), the
//! relative error a factorization reaches, and small readings of the environment.
//!
//! Included by `benches/phlora.rs` (the kernel alone) and `benches/phlora_run.rs` (the whole
//! `brainsurgery run`) with `#[path]`, so both measure the same matrices the same way.

use brainsurgery::exec::kernels::random::RandomDistribution;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// The rank both benchmarks factorize to.
pub const RANK: u64 = 64;
/// Components of the synthetic spectrum above the noise floor, and their decay per component.
const SIGNAL_COMPONENTS: usize = 256;
const DECAY: f64 = 0.97;
const NOISE: f64 = 0.01;

/// A rows × columns row-major F32 matrix with σⱼ ∝ 0.97ʲ over 256 components plus a Gaussian noise
/// floor, generated deterministically from the kernels' seeded generator.
pub fn synthetic_matrix(seed: u64, rows: usize, columns: usize) -> Vec<f32> {
    let normal = RandomDistribution::Normal {
        mean: 0.0,
        std: 1.0,
    };
    let sample = |stream: u64, index: usize| normal.sample(seed * 3 + stream, index as u64);
    let left = Mat::<f32>::from_fn(rows, SIGNAL_COMPONENTS, |i, j| {
        (sample(0, i * SIGNAL_COMPONENTS + j) * DECAY.powi(j as i32)) as f32
    });
    let scale = 1.0 / (columns as f64).sqrt();
    let right = Mat::<f32>::from_fn(SIGNAL_COMPONENTS, columns, |i, j| {
        (sample(1, i * columns + j) * scale) as f32
    });
    let mut values: Vec<f32> = (0..rows * columns)
        .into_par_iter()
        .map(|index| (sample(2, index) * NOISE) as f32)
        .collect();
    matmul(
        MatMut::from_row_major_slice_mut(&mut values, rows, columns),
        Accum::Add,
        left.as_ref(),
        right.as_ref(),
        1.0,
        Par::rayon(0),
    );
    values
}

/// ‖W − B·A‖_F / ‖W‖_F for W (rows × columns), B (rows × rank) and A (rank × columns), all
/// row-major F32; B·A is computed in f32 and the norms accumulate in f64. The residual overwrites
/// one copy of W, so measuring holds less memory than the factorization did.
pub fn relative_error(w: &[f32], rows: usize, columns: usize, b: &[f32], a: &[f32]) -> f64 {
    let norm = |data: &[f32]| data.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
    let rank = a.len() / columns;
    let mut residual = w.to_vec();
    let weight_norm = norm(&residual);
    matmul(
        MatMut::from_row_major_slice_mut(&mut residual, rows, columns),
        Accum::Add,
        MatRef::from_row_major_slice(b, rows, rank),
        MatRef::from_row_major_slice(a, rank, columns),
        -1.0,
        Par::rayon(0),
    );
    norm(&residual) / weight_norm
}

/// Little-endian F32 bytes as values.
pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A size setting from the environment, or its default.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
