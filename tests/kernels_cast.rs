//! Cast kernel against the naive reference of `kernels_support`: exhaustive over every F16 and
//! BF16 bit pattern, random `f32`/`f64` bits (NaN, infinities and subnormals included) to every
//! narrow float format, and the integer, bool and float↔integer rules of `docs/numerics.md`.

mod kernels_support;

use brainsurgery::exec::kernels::cast::{cast, is_castable};
use brainsurgery::exec::KernelError;
use brainsurgery::tensor::DType;
use kernels_support::*;
use proptest::prelude::*;

/// Casts raw element bits and returns the result's bits.
fn cast_bits(from: DType, bits: &[u64], to: DType) -> Vec<u64> {
    let input = from_bits(from, bits);
    to_bits(&cast(&input.view(), to).expect("castable pair"))
}

/// The NaN our narrow encoders produce from a NaN: the sign kept, the payload truncated to the
/// top mantissa bits, the quiet bit set (F8: all mantissa bits set, as c10).
fn expected_nan(to: DType, f32_bits: u32) -> u64 {
    let sign = (f32_bits >> 31) as u64;
    match to {
        DType::F16 => (sign << 15) | 0x7E00 | ((f32_bits & 0x007F_FFFF) >> 13) as u64,
        DType::BF16 => (sign << 15) | 0x7FC0 | ((f32_bits & 0x007F_FFFF) >> 16) as u64,
        _ => (sign << 7) | 0x7F,
    }
}

#[test]
fn every_f16_and_bf16_pattern_widens_exactly_and_narrows_back() {
    let all: Vec<u64> = (0..=u16::MAX as u64).collect();
    for (dtype, format, quiet_bit) in [(DType::F16, F16, 0x0200), (DType::BF16, BF16, 0x0040)] {
        for wide in [DType::F32, DType::F64] {
            let widened = cast_bits(dtype, &all, wide);
            for (&bits, &wide_bits) in all.iter().zip(&widened) {
                let expected = format.decode(bits as u32);
                let got = reference_value(wide, wide_bits);
                if expected.is_nan() {
                    assert!(got.is_nan(), "{dtype} {bits:#06x} must widen to NaN");
                    assert_eq!(got.is_sign_negative(), bits & 0x8000 != 0);
                } else {
                    assert_eq!(got.to_bits(), expected.to_bits(), "{dtype} {bits:#06x}");
                }
            }
            let narrowed = cast_bits(wide, &widened, dtype);
            for (&bits, &back) in all.iter().zip(&narrowed) {
                let expected = if format.decode(bits as u32).is_nan() {
                    bits | quiet_bit
                } else {
                    bits
                };
                assert_eq!(back, expected, "{dtype} {bits:#06x} through {wide}");
            }
        }
    }
}

#[test]
fn every_f8_pattern_widens_exactly() {
    let all: Vec<u64> = (0..=255).collect();
    for dtype in [DType::F8_E4M3, DType::F8_E5M2] {
        let format = Format::of(dtype).expect("f8 format");
        let widened = cast_bits(dtype, &all, DType::F64);
        for (&bits, &wide_bits) in all.iter().zip(&widened) {
            let expected = format.decode(bits as u32);
            let got = f64::from_bits(wide_bits);
            assert!(
                got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                "{dtype} {bits:#04x}: {got} != {expected}"
            );
        }
    }
}

/// Random f32 bits, biased toward the interesting exponent ranges of the narrow formats.
fn f32_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (any::<bool>(), 90u32..160, any::<u32>()).prop_map(|(sign, exponent, mantissa)| ((sign
            as u32)
            << 31)
            | (exponent << 23)
            | (mantissa & 0x007F_FFFF)),
        (any::<bool>(), any::<u32>())
            .prop_map(|(sign, mantissa)| ((sign as u32) << 31) | (mantissa & 0x007F_FFFF)),
        Just(0x7F80_0000),
        Just(0xFF80_0000),
        Just(0x7FC0_0001),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn f32_narrows_like_the_reference(bits in prop::collection::vec(f32_bits(), 1..256)) {
        let input: Vec<u64> = bits.iter().map(|&b| b as u64).collect();
        for to in [DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2] {
            let got = cast_bits(DType::F32, &input, to);
            for (&source, &result) in bits.iter().zip(&got) {
                let value = f32::from_bits(source) as f64;
                let expected = Format::of(to)
                    .and_then(|format| format.round(value))
                    .map_or_else(|| expected_nan(to, source), u64::from);
                prop_assert_eq!(result, expected, "{} {:#010x}", to, source);
            }
        }
    }

    /// F64 narrows to F32 by Rust's correctly rounded `as`, and to the 16- and 8-bit formats
    /// through F32 — PyTorch's `c10::Half(float)` path — so the reference rounds twice too.
    #[test]
    fn f64_narrows_through_f32(values in prop::collection::vec(any::<f64>(), 1..128)) {
        let input: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        let to_f32 = cast_bits(DType::F64, &input, DType::F32);
        for (&value, &result) in values.iter().zip(&to_f32) {
            let expected = value as f32;
            prop_assert!(result == expected.to_bits() as u64
                || (expected.is_nan() && f32::from_bits(result as u32).is_nan()));
        }
        for to in [DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2] {
            let got = cast_bits(DType::F64, &input, to);
            for (&value, &result) in values.iter().zip(&got) {
                let through = value as f32;
                match Format::of(to).and_then(|format| format.round(through as f64)) {
                    Some(expected) => prop_assert_eq!(result, expected as u64),
                    None => prop_assert!(is_nan_bits(to, result)),
                }
            }
        }
    }

    #[test]
    fn integers_wrap_between_integer_dtypes(values in prop::collection::vec(any::<u64>(), 1..64)) {
        for from in INTEGER_DTYPES {
            for to in INTEGER_DTYPES {
                let got = cast_bits(from, &values, to);
                for (&bits, &result) in values.iter().zip(&got) {
                    let value = reference_integer(from, bits);
                    prop_assert_eq!(result, wrap_integer(value, to), "{} -> {}", from, to);
                }
            }
        }
    }

    /// Integers become floats with one rounding to F32 (F64: to F64), then the narrow format.
    #[test]
    fn integers_round_to_floats(values in prop::collection::vec(any::<u64>(), 1..64)) {
        for from in INTEGER_DTYPES {
            for to in FLOAT_DTYPES {
                let got = cast_bits(from, &values, to);
                for (&bits, &result) in values.iter().zip(&got) {
                    let value = reference_integer(from, bits);
                    let expected = if to == DType::F64 {
                        (round_integer(value, 53) as f64).to_bits()
                    } else {
                        let single = round_integer(value, 24) as f64;
                        reference_round(to, single).expect("integers are not NaN")
                    };
                    prop_assert_eq!(result, expected, "{} {} -> {}", from, value, to);
                }
            }
        }
    }

    /// Floats become integers by truncation toward zero, saturating at the dtype's range, and
    /// NaN becomes 0 (our documented choice where PyTorch is platform-defined).
    #[test]
    fn floats_truncate_and_saturate_to_integers(values in prop::collection::vec(
        prop_oneof![any::<f64>(), -1e20f64..1e20, -300.0f64..300.0], 1..64)) {
        let input: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        for to in INTEGER_DTYPES {
            let got = cast_bits(DType::F64, &input, to);
            let width = to.bit_size() as u32;
            let (low, high): (i128, i128) = if matches!(to, DType::I8 | DType::I16 | DType::I32 | DType::I64) {
                (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1)
            } else {
                (0, (1i128 << width) - 1)
            };
            for (&value, &result) in values.iter().zip(&got) {
                let expected = if value.is_nan() {
                    0
                } else if value.trunc() <= low as f64 {
                    low
                } else if value.trunc() >= high as f64 {
                    high
                } else {
                    value.trunc() as i128
                };
                prop_assert_eq!(reference_integer(to, result), expected, "{} -> {}", value, to);
            }
        }
    }

    #[test]
    fn bool_is_nonzero_and_true_is_one(values in prop::collection::vec(any::<u64>(), 1..64)) {
        for from in castable_dtypes() {
            let got = cast_bits(from, &values, DType::BOOL);
            for (&bits, &result) in values.iter().zip(&got) {
                let value = reference_value(from, bits);
                prop_assert_eq!(result, (value != 0.0) as u64, "{} {:#x}", from, bits);
            }
        }
        let flags: Vec<u64> = values.iter().map(|v| v & 1).collect();
        for to in castable_dtypes() {
            let got = cast_bits(DType::BOOL, &flags, to);
            for (&flag, &result) in flags.iter().zip(&got) {
                prop_assert_eq!(reference_value(to, result), flag as f64, "bool -> {}", to);
            }
        }
    }
}

#[test]
fn f64_to_f16_rounds_through_f32_as_pytorch_does() {
    // Just above the tie between 1.0 and the next f16: a direct rounding goes up, but the f32
    // intermediate lands exactly on the tie, which goes to the even 1.0.
    let value = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
    assert_eq!(F16.round(value), Some(0x3C01));
    let got = cast_bits(DType::F64, &[value.to_bits()], DType::F16);
    assert_eq!(got, [0x3C00]);
}

#[test]
fn float8_overflow_matches_c10() {
    let values = [
        448.0f32,
        464.0,
        470.0,
        1e6,
        f32::INFINITY,
        -f32::INFINITY,
        57344.0,
        61440.0,
    ];
    let bits: Vec<u64> = values.iter().map(|v| v.to_bits() as u64).collect();
    assert_eq!(
        cast_bits(DType::F32, &bits, DType::F8_E4M3),
        [0x7E, 0x7E, 0x7F, 0x7F, 0x7F, 0xFF, 0x7F, 0x7F]
    );
    assert_eq!(
        cast_bits(DType::F32, &bits, DType::F8_E5M2),
        [0x5F, 0x5F, 0x5F, 0x7C, 0x7C, 0xFC, 0x7B, 0x7C]
    );
}

#[test]
fn dtypes_without_numeric_meaning_are_refused_both_ways() {
    let unsupported = [
        DType::C64,
        DType::F8_E4M3FNUZ,
        DType::F8_E5M2FNUZ,
        DType::F8_E8M0,
        DType::F6_E2M3,
        DType::F6_E3M2,
        DType::F4,
    ];
    let float = from_bits(DType::F32, &[0, 0]);
    for dtype in unsupported {
        assert!(!is_castable(dtype));
        assert!(
            matches!(
                cast(&float.view(), dtype),
                Err(KernelError::UnsupportedDType { .. })
            ),
            "{dtype}"
        );
        let bytes = vec![0u8; dtype.byte_len(4).expect("whole bytes") as usize];
        let source = tensor(dtype, vec![4], bytes);
        assert!(cast(&source.view(), DType::F32).is_err(), "{dtype}");
    }
    for dtype in castable_dtypes() {
        assert!(is_castable(dtype));
    }
}

#[test]
fn the_reference_formats_agree_with_known_values() {
    assert_eq!(F16.decode(0x3C00), 1.0);
    assert_eq!(F16.decode(0x7BFF), 65504.0);
    assert_eq!(F16.decode(0x0001), 2f64.powi(-24));
    assert_eq!(BF16.decode(0x3F80), 1.0);
    assert_eq!(E4M3FN.decode(0x7E), 448.0);
    assert!(E4M3FN.decode(0x7F).is_nan());
    assert_eq!(E5M2.decode(0x7C), f64::INFINITY);
    assert_eq!(F16.round(65519.0), Some(0x7BFF));
    assert_eq!(F16.round(65520.0), Some(0x7C00));
    assert_eq!(F16.round(1.0 + 2f64.powi(-11)), Some(0x3C00));
    assert_eq!(F16.round(-(1.0 + 3.0 * 2f64.powi(-11))), Some(0xBC02));
    assert_eq!(E4M3FN.round(464.0), Some(0x7E));
    assert_eq!(E4M3FN.round(465.0), Some(0x7F));
    assert_eq!(round_integer((1 << 24) + 1, 24), 1 << 24);
    assert_eq!(round_integer((1 << 24) + 3, 24), (1 << 24) + 4);
}
