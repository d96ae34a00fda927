//! The dense linear algebra the low-rank kernels need, over `f32` and `f64`, on top of `faer`:
//! matrix products, an orthonormal basis of a column space (thin Householder QR), and the thin
//! SVD, each with an explicit choice of parallelism.
//!
//! Receives faer matrix views; returns owned faer matrices. Guarantees: small problems run
//! sequentially (the same input always gives the same bits), large ones on the rayon pool; the
//! only failure is the SVD's non-convergence, returned as [`faer::linalg::svd::SvdError`].

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::householder::{
    apply_block_householder_sequence_on_the_left_in_place_scratch,
    apply_block_householder_sequence_on_the_left_in_place_with_conj,
};
use faer::linalg::matmul::matmul;
use faer::linalg::qr::no_pivoting::factor::{
    qr_in_place, qr_in_place_scratch, recommended_block_size,
};
use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors, SvdError};
use faer::traits::RealField;
use faer::{Accum, Conj, Mat, MatRef, Par};

use crate::exec::kernels::codec::Lanes;

/// Work (in multiply-adds) above which one operation is split across the rayon pool. Below it
/// the cost of waking threads outweighs the gain, and sequential runs are bit-reproducible.
const PARALLEL_WORK: usize = 1 << 21;

/// The two compute types: `f32` (for F16, BF16, F8 and F32 storage) and `f64`.
pub(crate) trait Real: RealField + Copy + Send + Sync + 'static {
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    /// Wraps computed values as codec lanes, ready to be encoded to the storage dtype.
    fn into_lanes(values: Vec<Self>) -> Lanes;
}

impl Real for f32 {
    fn from_f64(value: f64) -> f32 {
        value as f32
    }

    fn to_f64(self) -> f64 {
        self as f64
    }

    fn into_lanes(values: Vec<f32>) -> Lanes {
        Lanes::F32(values)
    }
}

impl Real for f64 {
    fn from_f64(value: f64) -> f64 {
        value
    }

    fn to_f64(self) -> f64 {
        self
    }

    fn into_lanes(values: Vec<f64>) -> Lanes {
        Lanes::F64(values)
    }
}

/// Sequential for small work, the whole rayon pool for large work.
pub(crate) fn parallelism(work: usize) -> Par {
    if work >= PARALLEL_WORK {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// `lhs · rhs` as a new column-major matrix.
pub(crate) fn product<T: Real>(lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) -> Mat<T> {
    let mut out = Mat::<T>::zeros(lhs.nrows(), rhs.ncols());
    let work = lhs.nrows().saturating_mul(lhs.ncols());
    let par = parallelism(work.saturating_mul(rhs.ncols()));
    matmul(
        out.as_mut(),
        Accum::Replace,
        lhs,
        rhs,
        T::from_f64(1.0),
        par,
    );
    out
}

/// An orthonormal basis of the column space of `matrix` (rows ≥ columns): the thin `Q` of its
/// Householder QR. Householder QR stays orthonormal to working precision even when the columns
/// are nearly dependent, which a range finder's samples of a fast-decaying spectrum are.
pub(crate) fn orthonormal_basis<T: Real>(mut matrix: Mat<T>) -> Mat<T> {
    let (rows, columns) = matrix.shape();
    let size = rows.min(columns);
    if size == 0 {
        return Mat::zeros(rows, size);
    }
    let par = parallelism(rows.saturating_mul(columns).saturating_mul(size));
    let block = recommended_block_size::<T>(rows, columns);
    let mut coefficients = Mat::<T>::zeros(block, size);
    let scratch = qr_in_place_scratch::<T>(rows, columns, block, par, Default::default());
    qr_in_place(
        matrix.as_mut(),
        coefficients.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    );
    // Applying the reflectors to the first `size` columns of the identity yields the thin Q.
    let mut basis = Mat::<T>::identity(rows, size);
    let scratch =
        apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(rows, block, size);
    apply_block_householder_sequence_on_the_left_in_place_with_conj(
        matrix.as_ref(),
        coefficients.as_ref(),
        Conj::No,
        basis.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
    );
    basis
}

/// The thin SVD `matrix = U · diag(S) · Vᵀ`: `U` (rows × k), `S` (k values, non-negative and
/// non-increasing), `V` (columns × k), with k = min(rows, columns).
pub(crate) struct ThinSvd<T> {
    pub left: Mat<T>,
    pub values: Vec<T>,
    pub right: Mat<T>,
}

pub(crate) fn thin_svd<T: Real>(matrix: MatRef<'_, T>) -> Result<ThinSvd<T>, SvdError> {
    let (rows, columns) = matrix.shape();
    let size = rows.min(columns);
    let par = parallelism(rows.saturating_mul(columns).saturating_mul(size));
    let mut left = Mat::<T>::zeros(rows, size);
    let mut right = Mat::<T>::zeros(columns, size);
    let mut values = faer::diag::Diag::<T>::zeros(size);
    let scratch = svd_scratch::<T>(
        rows,
        columns,
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::Thin,
        par,
        Default::default(),
    );
    svd(
        matrix,
        values.as_mut(),
        Some(left.as_mut()),
        Some(right.as_mut()),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )?;
    let values = values.column_vector().iter().copied().collect();
    Ok(ThinSvd {
        left,
        values,
        right,
    })
}
