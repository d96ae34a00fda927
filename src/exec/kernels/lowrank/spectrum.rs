//! The leading singular triplets of one matrix, computed exactly or by randomized SVD, and
//! what the kernels build from them: the √S split into PHLoRA/LoRA factors, the truncated
//! reconstruction, and the rank an energy threshold selects.
//!
//! Receives a finite matrix in its compute type (`f32` or `f64`) as a faer view. Returns a
//! [`Spectrum`] holding at least the requested number of components (all of them, up to
//! min(rows, columns), when the SVD is exact), sorted by non-increasing singular value. The
//! factor and reconstruction builders return row-major buffers in the compute type, ready for
//! one rounding to the storage dtype.
//!
//! **Randomized SVD** (Halko, Martinsson and Tropp, "Finding structure with randomness", 2011,
//! Algorithms 4.4 and 5.1): for k components with oversampling p and q power iterations, let
//! l = k + p and Ω be an n × l matrix of independent standard normal samples from the kernels'
//! counter-based generator ([`RandomDistribution`]; element (i, j) of Ω is sample `j·n + i` of
//! the seed). Then Q = orth(MΩ); q times: Q = orth(M·orth(MᵀQ)); finally the small SVD
//! QᵀM = Ũ S Vᵀ gives U = QŨ. Re-orthonormalizing between the products keeps the power
//! iterations from collapsing onto the leading direction in finite precision. When l reaches
//! min(rows, columns) the sketch would cost as much as the exact SVD, so the exact one runs.

use faer::linalg::matmul::matmul;
use faer::linalg::svd::SvdError;
use faer::{Accum, Mat, MatMut, MatRef};

use super::numeric::{orthonormal_basis, parallelism, product, thin_svd, Real};
use super::{RandomizedSvd, SvdMethod};
use crate::exec::kernels::random::RandomDistribution;

/// Singular triplets of a matrix M (rows × columns), largest first.
pub(crate) struct Spectrum<T> {
    /// Left singular vectors, rows × components.
    left: Mat<T>,
    values: Vec<T>,
    /// Right singular vectors, columns × components.
    right: Mat<T>,
    /// Σσ² over the whole spectrum, not only the components kept (= ‖M‖²_F), in `f64`.
    total_energy: f64,
}

impl<T: Real> Spectrum<T> {
    /// At least `components` leading triplets of `matrix` (all of them if it has fewer), by
    /// `method`.
    pub(crate) fn compute(
        matrix: MatRef<'_, T>,
        components: usize,
        method: &SvdMethod,
    ) -> Result<Spectrum<T>, SvdError> {
        let size = matrix.nrows().min(matrix.ncols());
        match method {
            SvdMethod::Randomized(parameters)
                if components.saturating_add(parameters.oversampling) < size =>
            {
                Spectrum::randomized(matrix, components, parameters)
            }
            _ => Spectrum::exact(matrix),
        }
    }

    fn exact(matrix: MatRef<'_, T>) -> Result<Spectrum<T>, SvdError> {
        let svd = thin_svd(matrix)?;
        // Summed in the same order as `energy_rank`'s prefix sums, so that a fraction of 1 is
        // reached exactly at the last nonzero component.
        let total_energy = svd.values.iter().map(|s| s.to_f64().powi(2)).sum();
        Ok(Spectrum {
            left: svd.left,
            values: svd.values,
            right: svd.right,
            total_energy,
        })
    }

    fn randomized(
        matrix: MatRef<'_, T>,
        components: usize,
        parameters: &RandomizedSvd,
    ) -> Result<Spectrum<T>, SvdError> {
        let columns = matrix.ncols();
        let width = components + parameters.oversampling;
        let normal = RandomDistribution::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let test_matrix = Mat::<T>::from_fn(columns, width, |row, column| {
            T::from_f64(normal.sample(parameters.seed, (column * columns + row) as u64))
        });
        let mut basis = orthonormal_basis(product(matrix, test_matrix.as_ref()));
        for _ in 0..parameters.power_iterations {
            let co_basis = orthonormal_basis(product(matrix.transpose(), basis.as_ref()));
            basis = orthonormal_basis(product(matrix, co_basis.as_ref()));
        }
        let projected = product(basis.transpose(), matrix);
        let small = thin_svd(projected.as_ref())?;
        Ok(Spectrum {
            left: product(basis.as_ref(), small.left.as_ref()),
            values: small.values,
            right: small.right,
            total_energy: frobenius_squared(matrix),
        })
    }

    /// How many triplets are held.
    pub(crate) fn components(&self) -> usize {
        self.values.len()
    }

    /// The smallest r ≥ 1 with Σ_{i<r} σᵢ² ≥ fraction · Σσ², or `cap` (at most the components
    /// held) when no r up to it reaches the fraction. An all-zero matrix gives 1, so that the
    /// factors of a zero delta are still a valid (zero) adapter rather than a rank-0 one.
    pub(crate) fn energy_rank(&self, fraction: f64, cap: usize) -> usize {
        let cap = cap.min(self.components());
        let target = fraction * self.total_energy;
        let mut kept = 0.0;
        for (index, value) in self.values.iter().take(cap).enumerate() {
            kept += value.to_f64().powi(2);
            if kept >= target {
                return index + 1;
            }
        }
        cap
    }

    /// The √S split of the first `rank` triplets: A = diag(√S)·Vᵀ (rank × columns) and
    /// B = U·diag(√S) (rows × rank), both row-major, so that B·A = U·diag(S)·Vᵀ.
    pub(crate) fn square_root_split(&self, rank: usize) -> (Vec<T>, Vec<T>) {
        let (rows, columns) = (self.left.nrows(), self.right.nrows());
        let roots: Vec<T> = self.values[..rank]
            .iter()
            .map(|value| T::from_f64(value.to_f64().sqrt()))
            .collect();
        let mut a = Vec::with_capacity(rank * columns);
        for (component, &root) in roots.iter().enumerate() {
            a.extend(self.right.col(component).iter().map(|&v| root * v));
        }
        let mut b = Vec::with_capacity(rows * rank);
        for row in 0..rows {
            b.extend(
                roots
                    .iter()
                    .enumerate()
                    .map(|(component, &root)| self.left[(row, component)] * root),
            );
        }
        (a, b)
    }

    /// U_r · diag(S_r) · V_rᵀ for r = `rank`, row-major (rows × columns).
    pub(crate) fn reconstruct(&self, rank: usize) -> Vec<T> {
        let (rows, columns) = (self.left.nrows(), self.right.nrows());
        let scaled_left = Mat::<T>::from_fn(rows, rank, |row, component| {
            self.left[(row, component)] * self.values[component]
        });
        let mut out = vec![T::from_f64(0.0); rows * columns];
        if rank > 0 {
            matmul(
                MatMut::from_row_major_slice_mut(&mut out, rows, columns),
                Accum::Replace,
                scaled_left.as_ref(),
                self.right.get(.., ..rank).transpose(),
                T::from_f64(1.0),
                parallelism(rows.saturating_mul(columns).saturating_mul(rank)),
            );
        }
        out
    }
}

/// ‖M‖²_F in `f64`.
fn frobenius_squared<T: Real>(matrix: MatRef<'_, T>) -> f64 {
    // Walk along the unit-stride dimension, so that a row-major view is read in memory order.
    let matrix = if matrix.row_stride() == 1 {
        matrix
    } else {
        matrix.transpose()
    };
    (0..matrix.ncols())
        .map(|column| {
            matrix
                .col(column)
                .iter()
                .map(|v| v.to_f64().powi(2))
                .sum::<f64>()
        })
        .sum()
}
