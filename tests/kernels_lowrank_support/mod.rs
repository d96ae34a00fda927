//! Shared helpers of the low-rank kernel tests: an independent `f64` reference SVD (one-sided
//! Jacobi in plain loops, no faer), matrices with a prescribed spectrum, and conversions between
//! tensors and `f64` values through the reference float formats of `kernels_support`.
//!
//! Matrices are row-major `Vec<f64>` with their dimensions passed alongside.
#![allow(dead_code)]

use crate::kernels_support::{reference_round, reference_value, tensor, to_bits};
use brainsurgery::exec::TensorData;
use brainsurgery::tensor::DType;

/// A small deterministic generator for test data (xorshift64*), independent of the crate's.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> TestRng {
        TestRng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub fn gaussian(rows: usize, columns: usize, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = TestRng::new(seed);
    (0..rows * columns).map(|_| scale * rng.normal()).collect()
}

/// `a (m × k) · b (k × n)`.
pub fn multiply(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            let left = a[i * k + p];
            for j in 0..n {
                out[i * n + j] += left * b[p * n + j];
            }
        }
    }
    out
}

pub fn transpose(matrix: &[f64], rows: usize, columns: usize) -> Vec<f64> {
    let mut out = vec![0.0; rows * columns];
    for i in 0..rows {
        for j in 0..columns {
            out[j * rows + i] = matrix[i * columns + j];
        }
    }
    out
}

pub fn subtract(left: &[f64], right: &[f64]) -> Vec<f64> {
    left.iter().zip(right).map(|(a, b)| a - b).collect()
}

pub fn frobenius_squared(matrix: &[f64]) -> f64 {
    matrix.iter().map(|v| v * v).sum()
}

/// `columns` orthonormal columns of length `rows` (row-major rows × columns), by modified
/// Gram–Schmidt applied twice to Gaussian vectors.
pub fn orthonormal_columns(rows: usize, columns: usize, seed: u64) -> Vec<f64> {
    let mut vectors: Vec<Vec<f64>> = (0..columns)
        .map(|j| gaussian(1, rows, 1.0, seed.wrapping_add(j as u64 * 7919)))
        .collect();
    for j in 0..columns {
        for _ in 0..2 {
            for i in 0..j {
                let projection: f64 = dot(&vectors[i], &vectors[j]);
                let previous = vectors[i].clone();
                for (value, basis) in vectors[j].iter_mut().zip(&previous) {
                    *value -= projection * basis;
                }
            }
        }
        let norm = dot(&vectors[j], &vectors[j]).sqrt();
        vectors[j].iter_mut().for_each(|v| *v /= norm);
    }
    let mut out = vec![0.0; rows * columns];
    for (j, vector) in vectors.iter().enumerate() {
        for (i, value) in vector.iter().enumerate() {
            out[i * columns + j] = *value;
        }
    }
    out
}

/// A rows × columns matrix with singular values `sigma` (length ≤ min(rows, columns)).
pub fn with_spectrum(rows: usize, columns: usize, sigma: &[f64], seed: u64) -> Vec<f64> {
    let k = sigma.len();
    let u = orthonormal_columns(rows, k, seed);
    let v = orthonormal_columns(columns, k, seed ^ 0xABCD);
    let mut scaled = u.clone();
    for i in 0..rows {
        for j in 0..k {
            scaled[i * k + j] *= sigma[j];
        }
    }
    multiply(&scaled, &transpose(&v, columns, k), rows, k, columns)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The SVD of the reference: `u` (rows × k), `sigma` (k, non-increasing), `v` (columns × k),
/// row-major, k = min(rows, columns).
pub struct ReferenceSvd {
    pub rows: usize,
    pub columns: usize,
    pub u: Vec<f64>,
    pub sigma: Vec<f64>,
    pub v: Vec<f64>,
}

impl ReferenceSvd {
    /// One-sided (Hestenes) Jacobi: rotate pairs of columns until all are orthogonal; the
    /// column norms are then the singular values. Accurate to a few ulps of σ₁ in `f64`.
    pub fn new(matrix: &[f64], rows: usize, columns: usize) -> ReferenceSvd {
        if rows < columns {
            let transposed = ReferenceSvd::new(&transpose(matrix, rows, columns), columns, rows);
            return ReferenceSvd {
                rows,
                columns,
                u: transposed.v,
                sigma: transposed.sigma,
                v: transposed.u,
            };
        }
        let mut a: Vec<Vec<f64>> = (0..columns)
            .map(|j| (0..rows).map(|i| matrix[i * columns + j]).collect())
            .collect();
        let mut v: Vec<Vec<f64>> = (0..columns)
            .map(|j| (0..columns).map(|i| (i == j) as u8 as f64).collect())
            .collect();
        for _sweep in 0..80 {
            let mut rotated = false;
            for p in 0..columns {
                for q in p + 1..columns {
                    let alpha = dot(&a[p], &a[p]);
                    let beta = dot(&a[q], &a[q]);
                    let gamma = dot(&a[p], &a[q]);
                    if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                        continue;
                    }
                    rotated = true;
                    let zeta = (beta - alpha) / (2.0 * gamma);
                    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                    let c = 1.0 / (1.0 + t * t).sqrt();
                    let s = c * t;
                    rotate(&mut a, p, q, c, s);
                    rotate(&mut v, p, q, c, s);
                }
            }
            if !rotated {
                break;
            }
        }
        let mut order: Vec<(f64, usize)> = a
            .iter()
            .enumerate()
            .map(|(j, column)| (dot(column, column).sqrt(), j))
            .collect();
        order.sort_by(|x, y| y.0.total_cmp(&x.0));
        let k = columns;
        let mut u = vec![0.0; rows * k];
        let mut right = vec![0.0; columns * k];
        let mut sigma = Vec::with_capacity(k);
        for (slot, &(value, j)) in order.iter().enumerate() {
            sigma.push(value);
            for i in 0..rows {
                u[i * k + slot] = if value > 0.0 { a[j][i] / value } else { 0.0 };
            }
            for i in 0..columns {
                right[i * k + slot] = v[j][i];
            }
        }
        ReferenceSvd {
            rows,
            columns,
            u,
            sigma,
            v: right,
        }
    }

    /// Σ_{i<rank} σᵢ uᵢ vᵢᵀ.
    pub fn truncated(&self, rank: usize) -> Vec<f64> {
        let k = self.sigma.len();
        let mut out = vec![0.0; self.rows * self.columns];
        for component in 0..rank.min(k) {
            for i in 0..self.rows {
                let left = self.u[i * k + component] * self.sigma[component];
                for j in 0..self.columns {
                    out[i * self.columns + j] += left * self.v[j * k + component];
                }
            }
        }
        out
    }

    /// Σ_{i≥rank} σᵢ², the squared Frobenius error of the best rank-`rank` approximation.
    pub fn tail_energy(&self, rank: usize) -> f64 {
        self.sigma.iter().skip(rank).map(|s| s * s).sum()
    }
}

fn rotate(vectors: &mut [Vec<f64>], p: usize, q: usize, c: f64, s: f64) {
    let (head, tail) = vectors.split_at_mut(q);
    for (x, y) in head[p].iter_mut().zip(tail[0].iter_mut()) {
        let (first, second) = (*x, *y);
        *x = c * first - s * second;
        *y = s * first + c * second;
    }
}

/// A rows × columns tensor of `dtype` holding `values` rounded to it by the reference.
pub fn matrix_tensor(dtype: DType, rows: usize, columns: usize, values: &[f64]) -> TensorData {
    let width = dtype.bit_size() / 8;
    let bytes = values
        .iter()
        .flat_map(|&value| {
            let bits = reference_round(dtype, value).expect("test values are not NaN");
            bits.to_le_bytes()[..width].to_vec()
        })
        .collect();
    tensor(dtype, vec![rows as u64, columns as u64], bytes)
}

/// The values of a tensor, decoded by the reference.
pub fn values(data: &TensorData) -> Vec<f64> {
    to_bits(data)
        .into_iter()
        .map(|bits| reference_value(data.dtype(), bits))
        .collect()
}

/// The (rows, columns) of a 2-D tensor.
pub fn dims(data: &TensorData) -> (usize, usize) {
    match data.shape().dims() {
        [rows, columns] => (*rows as usize, *columns as usize),
        other => panic!("expected a matrix, got dims {other:?}"),
    }
}

/// B·A of a factor pair, in `f64` from their stored values.
pub fn factor_product(a: &TensorData, b: &TensorData) -> Vec<f64> {
    let (rank, columns) = dims(a);
    let (rows, b_rank) = dims(b);
    assert_eq!(rank, b_rank, "factor ranks differ");
    multiply(&values(b), &values(a), rows, rank, columns)
}

/// The unit roundoff of a float dtype (half its machine epsilon).
pub fn unit_roundoff(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => 2f64.powi(-53),
        DType::F32 => 2f64.powi(-24),
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        DType::F8_E4M3 => 2f64.powi(-4),
        DType::F8_E5M2 => 2f64.powi(-3),
        other => panic!("{other} is not a float dtype"),
    }
}

/// A geometric spectrum `first · ratioⁱ`, i < count.
pub fn geometric(first: f64, ratio: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| first * ratio.powi(i as i32)).collect()
}
