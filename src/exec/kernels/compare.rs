//! Value comparisons and summaries: `equal` (exact or within eps), `iszero`, the largest absolute
//! difference (for `diff`), and min / max / mean (for `dump` with stats, through [`super::moments`]).
//!
//! Receives tensor views; returns plain answers. Comparisons are by value, as `torch.equal` and
//! BrainSurgery's assertions compare: +0.0 equals −0.0, NaN equals nothing, integers compare
//! exactly. With an `eps`, both sides are widened to `f64` and `max |a − b| ≤ eps` decides, so a
//! NaN or an infinity on either side makes the tensors unequal. Operands must agree in dtype and
//! shape: a mismatch is an error, not "unequal", as in the reference. Work is split into chunks
//! reduced in parallel and combined in order, so the answers do not depend on scheduling.

use rayon::prelude::*;

use super::codec::{decode, LaneKind, Lanes};
use super::moments::{summarize_chunks, NonFinite, CHUNK_ELEMENTS};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::TensorView;

/// Minimum, maximum and mean, as `dump` with stats prints them.
pub use super::moments::Statistics;

/// Whether the two tensors hold equal values (`eps = None`) or values within `eps`.
pub fn equal(left: &TensorView, right: &TensorView, eps: Option<f64>) -> Result<bool, KernelError> {
    check_pair("equal", left, right)?;
    match eps {
        None => Ok(paired_chunks(left, right)
            .all(|(a, b)| lanes_equal(&decoded(left, a), &decoded(right, b)))),
        Some(eps) => {
            check_eps("equal", eps)?;
            Ok(match max_abs_diff(left, right)? {
                None => true,
                Some(difference) => difference <= eps,
            })
        }
    }
}

/// The largest `|a − b|` computed in `f64`, NaN when any difference is NaN, `None` for empty
/// tensors.
pub fn max_abs_diff(left: &TensorView, right: &TensorView) -> Result<Option<f64>, KernelError> {
    check_pair("diff", left, right)?;
    if left.element_count() == 0 {
        return Ok(None);
    }
    let largest = paired_chunks(left, right)
        .map(|(a, b)| {
            let (a, b) = (widened(left, a), widened(right, b));
            a.iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, nan_max)
        })
        .reduce(|| 0.0, nan_max);
    Ok(Some(largest))
}

/// Whether every element is zero (`eps = None`) or has `|x| ≤ eps`.
pub fn is_zero(input: &TensorView, eps: Option<f64>) -> Result<bool, KernelError> {
    LaneKind::require("iszero", input.dtype())?;
    let limit = match eps {
        Some(eps) => {
            check_eps("iszero", eps)?;
            eps
        }
        None => 0.0,
    };
    Ok(chunks(input).all(|chunk| widened(input, chunk).iter().all(|x| x.abs() <= limit)))
}

/// The min, max and mean of `input` in `f64`, or `None` for an empty tensor. NaN and infinities
/// propagate as in `torch.min` / `max` / `mean`: one NaN makes all three NaN.
pub fn statistics(input: &TensorView) -> Result<Option<Statistics>, KernelError> {
    LaneKind::require("statistics", input.dtype())?;
    let moments = summarize_chunks(input.bytes(), chunk_bytes(input), |chunk, values| {
        values.extend(widened(input, chunk));
    });
    Ok(moments.statistics(NonFinite::Propagate))
}

fn check_pair(op: &'static str, left: &TensorView, right: &TensorView) -> Result<(), KernelError> {
    if left.dtype() != right.dtype() {
        return Err(KernelError::DTypeMismatch {
            op,
            left: left.dtype(),
            right: right.dtype(),
        });
    }
    if left.shape() != right.shape() {
        return Err(KernelError::ShapeMismatch {
            op,
            left: left.shape().clone(),
            right: right.shape().clone(),
        });
    }
    LaneKind::require(op, left.dtype())?;
    Ok(())
}

fn check_eps(op: &'static str, eps: f64) -> Result<(), KernelError> {
    if eps >= 0.0 {
        Ok(())
    } else {
        Err(KernelError::InvalidArgument {
            op,
            reason: format!("eps must be a number ≥ 0, got {eps}"),
        })
    }
}

fn chunk_bytes(view: &TensorView) -> usize {
    (view.dtype().bit_size() / 8).max(1) * CHUNK_ELEMENTS
}

fn chunks<'a>(view: &TensorView<'a>) -> rayon::slice::Chunks<'a, u8> {
    view.bytes().par_chunks(chunk_bytes(view))
}

fn paired_chunks<'a>(
    left: &TensorView<'a>,
    right: &TensorView<'a>,
) -> impl IndexedParallelIterator<Item = (&'a [u8], &'a [u8])> {
    chunks(left).zip(chunks(right))
}

fn decoded(view: &TensorView, bytes: &[u8]) -> Lanes {
    let mut lanes = Lanes::default();
    decode(view.dtype(), bytes, &mut lanes);
    lanes
}

fn widened(view: &TensorView, bytes: &[u8]) -> Vec<f64> {
    match decoded(view, bytes) {
        Lanes::F32(values) => values.iter().map(|&v| v as f64).collect(),
        Lanes::F64(values) => values,
        Lanes::Signed(values) => values.iter().map(|&v| v as f64).collect(),
        Lanes::Unsigned(values) => values.iter().map(|&v| v as f64).collect(),
    }
}

fn lanes_equal(left: &Lanes, right: &Lanes) -> bool {
    match (left, right) {
        (Lanes::F32(a), Lanes::F32(b)) => a.iter().zip(b).all(|(x, y)| x == y),
        (Lanes::F64(a), Lanes::F64(b)) => a.iter().zip(b).all(|(x, y)| x == y),
        (Lanes::Signed(a), Lanes::Signed(b)) => a == b,
        (Lanes::Unsigned(a), Lanes::Unsigned(b)) => a == b,
        _ => false,
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
