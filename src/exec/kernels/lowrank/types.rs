//! The type rules of the low-rank ops, shared by the compiler and the kernels: the output types
//! of `phlora`, `lora_extract` and `lora_merge`, and the checks behind them.
//!
//! Receives tensor types and op arguments, never data. Returns the output types, or the
//! [`KernelError`] that the kernel would return for the same input, so a plan refused here is
//! exactly a plan the kernels would refuse.

use super::RankRule;
use crate::exec::error::KernelError;
use crate::exec::kernels::codec::LaneKind;
use crate::tensor::{DType, Shape, TensorType};

/// The factor shapes of `phlora` on a matrix of `shape`: A (r × in), B (out × r) with
/// r = min(rank, out, in).
pub fn phlora_shapes(shape: &Shape, rank: u64) -> Result<(Shape, Shape), KernelError> {
    let (rows, columns) = matrix_dims("phlora", shape)?;
    check_rule("phlora", &RankRule::Fixed(rank))?;
    let rank = rank.min(rows).min(columns);
    Ok((
        Shape::new(vec![rank, columns]),
        Shape::new(vec![rows, rank]),
    ))
}

/// The factor types of `phlora`: [`phlora_shapes`] in the input's dtype.
pub fn phlora_types(ty: &TensorType, rank: u64) -> Result<(TensorType, TensorType), KernelError> {
    check_dtype("phlora", ty.dtype)?;
    let (a, b) = phlora_shapes(&ty.shape, rank)?;
    Ok((TensorType::new(ty.dtype, a), TensorType::new(ty.dtype, b)))
}

/// The factor types of `lora_extract`, or `None` when the rank depends on the values
/// ([`RankRule::Energy`]; it is then at most `max_rank` and min(shape)).
pub fn lora_extract_types(
    base: &TensorType,
    tuned: &TensorType,
    rule: &RankRule,
) -> Result<Option<(TensorType, TensorType)>, KernelError> {
    let op = "lora_extract";
    check_pair(op, base, tuned)?;
    check_dtype(op, base.dtype)?;
    let (rows, columns) = matrix_dims(op, &base.shape)?;
    check_rule(op, rule)?;
    Ok(match *rule {
        RankRule::Fixed(rank) => {
            let rank = rank.min(rows).min(columns);
            Some((
                TensorType::new(base.dtype, Shape::new(vec![rank, columns])),
                TensorType::new(base.dtype, Shape::new(vec![rows, rank])),
            ))
        }
        RankRule::Energy { .. } => None,
    })
}

/// The type of `lora_merge(w, a, b)`: W's, once A is r × in and B out × r for W out × in.
pub fn lora_merge_type(
    w: &TensorType,
    a: &TensorType,
    b: &TensorType,
) -> Result<TensorType, KernelError> {
    let op = "lora_merge";
    same_dtype(op, w.dtype, a.dtype)?;
    same_dtype(op, w.dtype, b.dtype)?;
    check_dtype(op, w.dtype)?;
    let (rows, columns) = matrix_dims(op, &w.shape)?;
    let shape_error = || KernelError::InvalidArgument {
        op,
        reason: format!(
            "for W of shape {}, A must be r × {columns} and B {rows} × r, got A {} and B {}",
            w.shape, a.shape, b.shape
        ),
    };
    let (a_rows, a_columns) = matrix_dims(op, &a.shape).map_err(|_| shape_error())?;
    let (b_rows, b_columns) = matrix_dims(op, &b.shape).map_err(|_| shape_error())?;
    if a_columns != columns || b_rows != rows || b_columns != a_rows {
        return Err(shape_error());
    }
    Ok(w.clone())
}

/// The (rows, columns) of a 2-D shape.
pub(super) fn matrix_dims(op: &'static str, shape: &Shape) -> Result<(u64, u64), KernelError> {
    match shape.dims() {
        [rows, columns] => Ok((*rows, *columns)),
        _ => Err(invalid(
            op,
            format!("target must be 2-D, got shape {shape}"),
        )),
    }
}

pub(super) fn check_dtype(op: &'static str, dtype: DType) -> Result<(), KernelError> {
    match LaneKind::of(dtype) {
        Some(LaneKind::F32 | LaneKind::F64) => Ok(()),
        _ => Err(KernelError::UnsupportedDType { op, dtype }),
    }
}

pub(super) fn check_rule(op: &'static str, rule: &RankRule) -> Result<(), KernelError> {
    match *rule {
        RankRule::Fixed(0) => Err(invalid(op, "rank must be a positive integer, got 0".into())),
        RankRule::Energy { fraction, .. } if !(fraction > 0.0 && fraction <= 1.0) => Err(invalid(
            op,
            format!("energy must be in (0, 1], got {fraction}"),
        )),
        RankRule::Energy {
            max_rank: Some(0), ..
        } => Err(invalid(
            op,
            "the maximum rank must be a positive integer, got 0".into(),
        )),
        _ => Ok(()),
    }
}

/// Two operands of one dtype and one shape.
pub(super) fn check_pair(
    op: &'static str,
    left: &TensorType,
    right: &TensorType,
) -> Result<(), KernelError> {
    same_dtype(op, left.dtype, right.dtype)?;
    if left.shape != right.shape {
        return Err(KernelError::ShapeMismatch {
            op,
            left: left.shape.clone(),
            right: right.shape.clone(),
        });
    }
    Ok(())
}

pub(super) fn same_dtype(op: &'static str, left: DType, right: DType) -> Result<(), KernelError> {
    if left == right {
        Ok(())
    } else {
        Err(dtype_mismatch(op, left, right))
    }
}

pub(super) fn dtype_mismatch(op: &'static str, left: DType, right: DType) -> KernelError {
    KernelError::DTypeMismatch { op, left, right }
}

pub(super) fn invalid(op: &'static str, reason: String) -> KernelError {
    KernelError::InvalidArgument { op, reason }
}
