//! Scalar arguments of elementwise ops (`by`, `min`, `max`, `value`), converted once to the
//! compute type of the tensor they apply to.
//!
//! PyTorch converts a Python scalar to the op's compute type before the loop: `f32` for F16, BF16,
//! F8 and F32 tensors, `f64` for F64. We do the same, so `scale by 0.3` on BF16 multiplies by
//! `0.3_f32`. Integer tensors take integer scalars only: a fractional or out-of-range scalar is an
//! error, because PyTorch would either promote the result to a float dtype (we never promote) or
//! refuse. The rules are in `docs/numerics.md`.

use super::codec::{encode_values, LaneKind};
use crate::exec::error::KernelError;
use crate::tensor::DType;

/// A scalar in the lane type of one dtype.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar {
    F32(f32),
    F64(f64),
    Signed(i64),
    Unsigned(u64),
}

/// The multiplier of `scale`: integral for integer dtypes, any `i64`/`u64` value (the product
/// wraps in the tensor's width, so `by` only matters modulo 2^64).
pub(crate) fn multiplier(
    op: &'static str,
    value: f64,
    dtype: DType,
) -> Result<Scalar, KernelError> {
    match LaneKind::require(op, dtype)? {
        LaneKind::F32 => Ok(Scalar::F32(value as f32)),
        LaneKind::F64 => Ok(Scalar::F64(value)),
        kind @ (LaneKind::Signed | LaneKind::Unsigned) => {
            if dtype == DType::BOOL {
                return Err(KernelError::UnsupportedDType { op, dtype });
            }
            require_integral(op, "by", value, dtype)?;
            let in_range = (-(2f64.powi(63))..2f64.powi(64)).contains(&value);
            if !in_range {
                return Err(KernelError::ScalarOutOfRange {
                    op,
                    argument: "by",
                    value,
                    dtype,
                });
            }
            let bits = if value < 0.0 {
                value as i64 as u64
            } else {
                value as u64
            };
            Ok(match kind {
                LaneKind::Signed => Scalar::Signed(bits as i64),
                _ => Scalar::Unsigned(bits),
            })
        }
    }
}

/// A clamp bound: any value for float dtypes; for integer dtypes an integer representable in the
/// dtype (PyTorch's `Scalar::to<int_t>` refuses overflow too).
pub(crate) fn bound(
    op: &'static str,
    argument: &'static str,
    value: f64,
    dtype: DType,
) -> Result<Scalar, KernelError> {
    match LaneKind::require(op, dtype)? {
        LaneKind::F32 => Ok(Scalar::F32(value as f32)),
        LaneKind::F64 => Ok(Scalar::F64(value)),
        LaneKind::Signed | LaneKind::Unsigned if dtype == DType::BOOL => {
            Err(KernelError::UnsupportedDType { op, dtype })
        }
        LaneKind::Signed => Ok(Scalar::Signed(
            representable_integer(op, argument, value, dtype)? as i64,
        )),
        LaneKind::Unsigned => Ok(Scalar::Unsigned(
            representable_integer(op, argument, value, dtype)? as u64,
        )),
    }
}

/// One element of `dtype` holding `value`, encoded: floats round by the cast rules (so a value
/// beyond the dtype's range becomes ±inf, or NaN for F8_E4M3), integers must be representable,
/// BOOL is `value != 0`.
pub(crate) fn element_bytes(
    op: &'static str,
    argument: &'static str,
    value: f64,
    dtype: DType,
) -> Result<Vec<u8>, KernelError> {
    let kind = LaneKind::require(op, dtype)?;
    let mut bytes = vec![0u8; dtype.bit_size() / 8];
    match kind {
        LaneKind::F32 | LaneKind::F64 => encode_values(&[value], dtype, &mut bytes),
        _ if dtype == DType::BOOL => encode_values(&[value], dtype, &mut bytes),
        LaneKind::Signed => {
            let integer = representable_integer(op, argument, value, dtype)? as i64;
            encode_values(&[integer], dtype, &mut bytes);
        }
        LaneKind::Unsigned => {
            let integer = representable_integer(op, argument, value, dtype)? as u64;
            encode_values(&[integer], dtype, &mut bytes);
        }
    }
    Ok(bytes)
}

/// `value` as an integer in `dtype`'s range, widened to `i128`.
fn representable_integer(
    op: &'static str,
    argument: &'static str,
    value: f64,
    dtype: DType,
) -> Result<i128, KernelError> {
    require_integral(op, argument, value, dtype)?;
    let (low, high) = integer_range(dtype);
    // `high + 1` is a power of two, so the comparison in f64 is exact.
    if value < low as f64 || value >= (high + 1) as f64 {
        return Err(KernelError::ScalarOutOfRange {
            op,
            argument,
            value,
            dtype,
        });
    }
    Ok(value as i128)
}

fn require_integral(
    op: &'static str,
    argument: &'static str,
    value: f64,
    dtype: DType,
) -> Result<(), KernelError> {
    if value.is_finite() && value.fract() == 0.0 {
        Ok(())
    } else {
        Err(KernelError::NonIntegralScalar {
            op,
            argument,
            value,
            dtype,
        })
    }
}

/// The inclusive range of an integer dtype.
pub(crate) fn integer_range(dtype: DType) -> (i128, i128) {
    match dtype {
        DType::I8 => (i8::MIN as i128, i8::MAX as i128),
        DType::I16 => (i16::MIN as i128, i16::MAX as i128),
        DType::I32 => (i32::MIN as i128, i32::MAX as i128),
        DType::I64 => (i64::MIN as i128, i64::MAX as i128),
        DType::U8 => (0, u8::MAX as i128),
        DType::U16 => (0, u16::MAX as i128),
        DType::U32 => (0, u32::MAX as i128),
        DType::U64 => (0, u64::MAX as i128),
        _ => (0, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_scalars_become_the_compute_type() {
        assert_eq!(
            multiplier("scale", 0.3, DType::BF16),
            Ok(Scalar::F32(0.3_f32))
        );
        assert_eq!(multiplier("scale", 0.3, DType::F64), Ok(Scalar::F64(0.3)));
    }

    #[test]
    fn integer_scalars_must_be_integral_and_fit() {
        assert_eq!(multiplier("scale", 2.0, DType::I8), Ok(Scalar::Signed(2)));
        assert_eq!(
            multiplier("scale", -1.0, DType::U8),
            Ok(Scalar::Unsigned(u64::MAX))
        );
        assert!(matches!(
            multiplier("scale", 0.5, DType::I32),
            Err(KernelError::NonIntegralScalar { .. })
        ));
        assert!(matches!(
            bound("clamp", "min", 128.0, DType::I8),
            Err(KernelError::ScalarOutOfRange { .. })
        ));
        assert_eq!(
            bound("clamp", "min", -128.0, DType::I8),
            Ok(Scalar::Signed(-128))
        );
        assert!(matches!(
            bound("clamp", "max", 2f64.powi(63), DType::I64),
            Err(KernelError::ScalarOutOfRange { .. })
        ));
        assert!(matches!(
            multiplier("scale", 2.0, DType::BOOL),
            Err(KernelError::UnsupportedDType { .. })
        ));
    }

    #[test]
    fn element_bytes_encode_by_the_cast_rules() {
        assert_eq!(
            element_bytes("fill", "value", 1.0, DType::BF16),
            Ok(vec![0x80, 0x3F])
        );
        assert_eq!(
            element_bytes("fill", "value", -2.0, DType::I16),
            Ok(vec![0xFE, 0xFF])
        );
        assert_eq!(
            element_bytes("fill", "value", 3.0, DType::BOOL),
            Ok(vec![1])
        );
        assert_eq!(
            element_bytes("fill", "value", 1e6, DType::F16),
            Ok(vec![0x00, 0x7C])
        );
        assert!(element_bytes("fill", "value", 256.0, DType::U8).is_err());
        assert!(element_bytes("fill", "value", 1.0, DType::C64).is_err());
    }
}
