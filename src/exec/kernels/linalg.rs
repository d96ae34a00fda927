//! Matrix multiplication with `torch.matmul` semantics, computed by `faer`.
//!
//! Receives two tensors of one dtype; returns their product. Shapes follow `torch.matmul`: two
//! vectors give their dot product (a 0-dim tensor); a vector on the left is a row (prepended 1,
//! removed from the result), on the right a column (appended 1, removed); with more than two
//! dimensions the leading ones are batch dimensions, broadcast against each other. F32 and F64
//! compute in their own precision; F16 and BF16 are widened to `f32`, multiplied in `f32`, and
//! rounded once to the dtype (PyTorch's CPU kernels accumulate reduced-precision matmuls in `f32`
//! too, though their blocking, hence the last bits, differ). Other dtypes are refused.

use faer::linalg::matmul::matmul as faer_matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::codec::{decode, encode, Lanes};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{TensorData, TensorView};
use crate::tensor::{DType, Shape, TensorType};

/// Work (m·n·k) above which one product is split across the rayon pool by faer.
const PARALLEL_WORK: usize = 1 << 21;

/// How the operands are laid out as a batch of matrices.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    rows: usize,
    inner: usize,
    columns: usize,
    batch: Vec<u64>,
    left_batch: Vec<u64>,
    right_batch: Vec<u64>,
    output: Shape,
}

fn plan(left: &Shape, right: &Shape) -> Result<Plan, KernelError> {
    let error = |reason: &str| KernelError::Matmul {
        left: left.clone(),
        right: right.clone(),
        reason: reason.to_string(),
    };
    let scalar_operand = || error("both operands need at least one dimension");
    let (left_batch, rows, left_inner) = match left.dims() {
        [] => return Err(scalar_operand()),
        [k] => (&[][..], None, *k),
        [batch @ .., m, k] => (batch, Some(*m), *k),
    };
    let (right_batch, right_inner, columns) = match right.dims() {
        [] => return Err(scalar_operand()),
        [k] => (&[][..], *k, None),
        [batch @ .., k, n] => (batch, *k, Some(*n)),
    };
    if left_inner != right_inner {
        return Err(error(&format!(
            "the inner dimensions differ ({left_inner} and {right_inner})"
        )));
    }
    let rank = left_batch.len().max(right_batch.len());
    let mut batch = Vec::with_capacity(rank);
    for axis in 0..rank {
        let pick = |dims: &[u64]| {
            (axis + dims.len())
                .checked_sub(rank)
                .map_or(1, |index| dims[index])
        };
        let (a, b) = (pick(left_batch), pick(right_batch));
        if a != b && a != 1 && b != 1 {
            return Err(error(&format!(
                "batch dimensions {a} and {b} do not broadcast"
            )));
        }
        batch.push(if a == 1 { b } else { a });
    }
    let mut output = batch.clone();
    output.extend(rows);
    output.extend(columns);
    let to_usize = |value: u64| usize::try_from(value).map_err(|_| error("too large"));
    Ok(Plan {
        rows: to_usize(rows.unwrap_or(1))?,
        inner: to_usize(left_inner)?,
        columns: to_usize(columns.unwrap_or(1))?,
        left_batch: left_batch.to_vec(),
        right_batch: right_batch.to_vec(),
        batch,
        output: Shape::new(output),
    })
}

/// The type of `left @ right`.
pub fn matmul_type(left: &TensorType, right: &TensorType) -> Result<TensorType, KernelError> {
    if left.dtype != right.dtype {
        return Err(KernelError::DTypeMismatch {
            op: "matmul",
            left: left.dtype,
            right: right.dtype,
        });
    }
    if !matches!(
        left.dtype,
        DType::F16 | DType::BF16 | DType::F32 | DType::F64
    ) {
        return Err(KernelError::UnsupportedDType {
            op: "matmul",
            dtype: left.dtype,
        });
    }
    Ok(TensorType::new(
        left.dtype,
        plan(&left.shape, &right.shape)?.output,
    ))
}

/// `left @ right`.
pub fn matmul(left: &TensorView, right: &TensorView) -> Result<TensorData, KernelError> {
    let ty = matmul_type(left.ty(), right.ty())?;
    let plan = plan(left.shape(), right.shape())?;
    let mut out = TensorData::zeroed(ty)?;
    let (mut left_lanes, mut right_lanes) = (Lanes::default(), Lanes::default());
    decode(left.dtype(), left.bytes(), &mut left_lanes);
    decode(right.dtype(), right.bytes(), &mut right_lanes);
    let result = match (left_lanes, right_lanes) {
        (Lanes::F32(a), Lanes::F32(b)) => Lanes::F32(multiply(&plan, &a, &b)),
        (Lanes::F64(a), Lanes::F64(b)) => Lanes::F64(multiply(&plan, &a, &b)),
        _ => {
            return Err(KernelError::UnsupportedDType {
                op: "matmul",
                dtype: left.dtype(),
            })
        }
    };
    encode(&result, out.dtype(), out.bytes_mut());
    Ok(out)
}

/// The element types faer multiplies for us.
trait Element: Copy + Default + Send + Sync {
    fn product(out: MatMut<'_, Self>, left: MatRef<'_, Self>, right: MatRef<'_, Self>, par: Par);
}

impl Element for f32 {
    fn product(out: MatMut<'_, f32>, left: MatRef<'_, f32>, right: MatRef<'_, f32>, par: Par) {
        faer_matmul(out, Accum::Replace, left, right, 1.0, par);
    }
}

impl Element for f64 {
    fn product(out: MatMut<'_, f64>, left: MatRef<'_, f64>, right: MatRef<'_, f64>, par: Par) {
        faer_matmul(out, Accum::Replace, left, right, 1.0, par);
    }
}

fn multiply<T: Element>(plan: &Plan, left: &[T], right: &[T]) -> Vec<T> {
    let (m, k, n) = (plan.rows, plan.inner, plan.columns);
    let batch_count: usize = plan.batch.iter().map(|&d| d as usize).product();
    let mut out = vec![T::default(); batch_count * m * n];
    if out.is_empty() || k == 0 {
        // An empty sum is zero, which `T::default()` already is.
        return out;
    }
    let left_offsets = batch_offsets(&plan.batch, &plan.left_batch, m * k);
    let right_offsets = batch_offsets(&plan.batch, &plan.right_batch, k * n);
    let run = |index: usize, block: &mut [T], par: Par| {
        let a = &left[left_offsets[index]..left_offsets[index] + m * k];
        let b = &right[right_offsets[index]..right_offsets[index] + k * n];
        T::product(
            MatMut::from_row_major_slice_mut(block, m, n),
            MatRef::from_row_major_slice(a, m, k),
            MatRef::from_row_major_slice(b, k, n),
            par,
        );
    };
    if batch_count == 1 {
        let par = if m * n * k >= PARALLEL_WORK {
            Par::rayon(0)
        } else {
            Par::Seq
        };
        run(0, &mut out, par);
    } else {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(index, block)| run(index, block, Par::Seq));
    }
    out
}

/// For every batch index of the broadcast batch shape, the element offset of the operand's
/// matrix (an operand dimension of size 1, or a missing one, repeats).
fn batch_offsets(batch: &[u64], operand: &[u64], matrix: usize) -> Vec<usize> {
    let count: usize = batch.iter().map(|&d| d as usize).product();
    let leading = batch.len() - operand.len();
    let mut strides = vec![0usize; batch.len()];
    let mut stride = matrix;
    for axis in (0..operand.len()).rev() {
        if operand[axis] != 1 {
            strides[leading + axis] = stride;
        }
        stride *= operand[axis] as usize;
    }
    (0..count)
        .map(|flat| {
            let mut rest = flat;
            let mut offset = 0;
            for axis in (0..batch.len()).rev() {
                let size = batch[axis] as usize;
                offset += (rest % size) * strides[axis];
                rest /= size;
            }
            offset
        })
        .collect()
}
