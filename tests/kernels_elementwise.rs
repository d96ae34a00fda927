//! Elementwise kernels (scale, add, subtract, multiply, clamp, fill-constant) against a naive f64
//! reference, in every float and integer dtype.
//!
//! Float results must be bit-exact, not merely close: the kernel computes in `f32` (F16, BF16,
//! F8, F32) and rounds once, and the reference computes in `f64` and rounds once. For one `+`, `-`
//! or `×` of two values of a format with p significant bits, computing in a format of q ≥ 2p + 2
//! bits and rounding again is known to equal the correctly rounded result (f32: 24 ≥ 2·11 + 2 for
//! F16; f64: 53 ≥ 2·24 + 2 for F32), so both sides produce the correctly rounded value. `scale`
//! multiplies by an `f32` scalar, which breaks that argument, so its reference rounds to `f32`
//! first, exactly as PyTorch's kernel does. NaN results are compared as "is NaN" only, since a
//! NaN's payload is the hardware's choice.

mod kernels_support;

use brainsurgery::exec::kernels::elementwise::ElementwiseOp;
use brainsurgery::exec::kernels::program::evaluate;
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::tensor::DType;
use kernels_support::*;
use proptest::prelude::*;

/// The exact result of a binary op on two decoded floats (before rounding to the dtype).
type FloatReference = fn(f64, f64) -> f64;

/// A binary op on two integers, modulo 2^128.
type IntegerReference = fn(i128, i128) -> i128;

/// The scalar as the kernel sees it: rounded to f32 for the f32-computed dtypes.
fn compute_scalar(dtype: DType, value: f64) -> f64 {
    if dtype == DType::F64 {
        value
    } else {
        value as f32 as f64
    }
}

fn run(op: ElementwiseOp, inputs: &[TensorData]) -> Result<Vec<u64>, KernelError> {
    evaluate(op, &views(inputs)).map(|out| to_bits(&out))
}

fn check_float(dtype: DType, got: u64, expected: f64, context: &str) -> Result<(), TestCaseError> {
    match reference_round(dtype, expected) {
        Some(bits) => prop_assert_eq!(got, bits, "{} {}: expected {}", dtype, context, expected),
        None => prop_assert!(
            is_nan_bits(dtype, got),
            "{} {}: expected NaN",
            dtype,
            context
        ),
    }
    Ok(())
}

/// Element bits of a float dtype: any pattern, including NaN and infinities.
fn float_case() -> impl Strategy<Value = (DType, Vec<u64>, Vec<u64>)> {
    (prop::sample::select(FLOAT_DTYPES.to_vec()), 0usize..64).prop_flat_map(|(dtype, length)| {
        let element = any::<u64>().prop_map(move |bits| {
            let width = dtype.bit_size();
            if width == 64 {
                bits
            } else {
                bits & ((1u64 << width) - 1)
            }
        });
        (
            Just(dtype),
            prop::collection::vec(element.clone(), length),
            prop::collection::vec(element, length),
        )
    })
}

fn integer_case() -> impl Strategy<Value = (DType, Vec<u64>, Vec<u64>)> {
    (prop::sample::select(INTEGER_DTYPES.to_vec()), 0usize..64).prop_flat_map(|(dtype, length)| {
        let element = any::<u64>().prop_map(move |bits| {
            let width = dtype.bit_size();
            if width == 64 {
                bits
            } else {
                bits & ((1u64 << width) - 1)
            }
        });
        (
            Just(dtype),
            prop::collection::vec(element.clone(), length),
            prop::collection::vec(element, length),
        )
    })
}

fn scalar() -> impl Strategy<Value = f64> {
    prop_oneof![
        -4.0f64..4.0,
        -1e6f64..1e6,
        Just(0.3),
        Just(-0.0),
        Just(1e300)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn float_binary_ops_round_once((dtype, a, b) in float_case()) {
        let inputs = [from_bits(dtype, &a), from_bits(dtype, &b)];
        let cases: [(ElementwiseOp, FloatReference); 3] = [
            (ElementwiseOp::Add, |x, y| x + y),
            (ElementwiseOp::Subtract, |x, y| x - y),
            (ElementwiseOp::Multiply, |x, y| x * y),
        ];
        for (op, reference) in cases {
            let name = op.name();
            let got = run(op, &inputs).expect("same dtypes");
            for ((&x, &y), &result) in a.iter().zip(&b).zip(&got) {
                let expected = reference(reference_value(dtype, x), reference_value(dtype, y));
                check_float(dtype, result, expected, &format!("{name} {x:#x} {y:#x}"))?;
            }
        }
    }

    #[test]
    fn float_scale_uses_the_compute_type_scalar((dtype, a, _) in float_case(), by in scalar()) {
        let got = run(ElementwiseOp::Scale { by }, &[from_bits(dtype, &a)]).expect("scale");
        let factor = compute_scalar(dtype, by);
        for (&x, &result) in a.iter().zip(&got) {
            // The scalar is an f32 with more bits than the dtype, so the double-rounding argument
            // does not hold here: the reference rounds the exact product (at most 48 bits, exact in
            // f64) to f32 first, as the kernel's f32 multiply does, then to the dtype.
            let product = reference_value(dtype, x) * factor;
            let expected = if dtype == DType::F64 { product } else { product as f32 as f64 };
            check_float(dtype, result, expected, &format!("{x:#x} * {by}"))?;
        }
    }

    #[test]
    fn float_clamp_is_torch_clamp(
        (dtype, a, _) in float_case(),
        min in prop::option::of(scalar()),
        max in prop::option::of(scalar()),
    ) {
        let got = run(ElementwiseOp::Clamp { min, max }, &[from_bits(dtype, &a)]).expect("clamp");
        let low = min.map(|v| compute_scalar(dtype, v));
        let high = max.map(|v| compute_scalar(dtype, v));
        for (&x, &result) in a.iter().zip(&got) {
            let mut expected = reference_value(dtype, x);
            if !expected.is_nan() {
                if let Some(low) = low {
                    expected = if expected < low { low } else { expected };
                }
                if let Some(high) = high {
                    expected = if expected > high { high } else { expected };
                }
            }
            check_float(dtype, result, expected, &format!("clamp {x:#x}"))?;
        }
    }

    #[test]
    fn integer_ops_wrap((dtype, a, b) in integer_case(), by in -1000i64..1000) {
        let inputs = [from_bits(dtype, &a), from_bits(dtype, &b)];
        let cases: [(ElementwiseOp, IntegerReference); 3] = [
            // Reduction modulo 2^128 commutes with the final one modulo 2^width.
            (ElementwiseOp::Add, i128::wrapping_add),
            (ElementwiseOp::Subtract, i128::wrapping_sub),
            (ElementwiseOp::Multiply, i128::wrapping_mul),
        ];
        for (op, reference) in cases {
            let got = run(op, &inputs).expect("same dtypes");
            for ((&x, &y), &result) in a.iter().zip(&b).zip(&got) {
                let expected = reference(reference_integer(dtype, x), reference_integer(dtype, y));
                prop_assert_eq!(result, wrap_integer(expected, dtype));
            }
        }
        let scaled = run(ElementwiseOp::Scale { by: by as f64 }, &inputs[..1]).expect("integral");
        for (&x, &result) in a.iter().zip(&scaled) {
            let expected = reference_integer(dtype, x).wrapping_mul(by as i128);
            prop_assert_eq!(result, wrap_integer(expected, dtype));
        }
    }

    #[test]
    fn integer_clamp_saturates_at_the_bounds(
        (dtype, a, _) in integer_case(),
        low in 0i64..100,
        span in 0i64..27,
    ) {
        let (min, max) = (low as f64, (low + span) as f64);
        let op = ElementwiseOp::Clamp { min: Some(min), max: Some(max) };
        let got = run(op, &[from_bits(dtype, &a)]).expect("bounds fit every integer dtype");
        for (&x, &result) in a.iter().zip(&got) {
            let expected = reference_integer(dtype, x).clamp(low as i128, (low + span) as i128);
            prop_assert_eq!(reference_integer(dtype, result), expected);
        }
    }

    #[test]
    fn fill_constant_encodes_the_value_in_every_dtype(value in scalar(), length in 0usize..40) {
        for dtype in FLOAT_DTYPES {
            let template = from_bits(dtype, &vec![0; length]);
            let got = run(ElementwiseOp::FillConstant { value, dtype }, &[template]).expect("fill");
            let expected = reference_round(dtype, value as f32 as f64);
            let expected = if dtype == DType::F64 { Some(value.to_bits()) } else { expected };
            prop_assert!(got.iter().all(|&bits| Some(bits) == expected), "{} {}", dtype, value);
        }
        let integer = value.trunc();
        for dtype in [DType::I32, DType::I64] {
            let template = from_bits(dtype, &vec![0; length]);
            let got = run(ElementwiseOp::FillConstant { value: integer, dtype }, &[template]);
            if integer.abs() < 2f64.powi(31) {
                let got = got.expect("fits");
                prop_assert!(got.iter().all(|&bits| reference_integer(dtype, bits) == integer as i128));
            }
        }
    }
}

#[test]
fn scale_by_point_three_on_bf16_is_computed_in_f32() {
    // 3.0 in bf16 × 0.3: f32(0.3) = 0.300000011920928955078125, the product 0.90000003576…
    // rounds to the bf16 0.8984375 (0x3F66); multiplying in bf16 directly would give 0x3F67.
    let input = from_bits(DType::BF16, &[0x4040]);
    let got = run(ElementwiseOp::Scale { by: 0.3 }, &[input]).expect("scale");
    assert_eq!(got, [0x3F66]);
}

#[test]
fn integer_tensors_refuse_fractional_or_unrepresentable_scalars() {
    let input = from_bits(DType::I32, &[1, 2]);
    assert!(matches!(
        run(
            ElementwiseOp::Scale { by: 2.5 },
            std::slice::from_ref(&input)
        ),
        Err(KernelError::NonIntegralScalar { .. })
    ));
    assert!(matches!(
        run(
            ElementwiseOp::Clamp {
                min: Some(-1.0),
                max: None
            },
            &[from_bits(DType::U8, &[1])]
        ),
        Err(KernelError::ScalarOutOfRange { .. })
    ));
    assert!(matches!(
        run(
            ElementwiseOp::FillConstant {
                value: 0.5,
                dtype: DType::I64
            },
            &[input]
        ),
        Err(KernelError::NonIntegralScalar { .. })
    ));
    assert_eq!(
        run(
            ElementwiseOp::Scale { by: 3.0 },
            &[from_bits(DType::I32, &[7])]
        ),
        Ok(vec![21])
    );
}

#[test]
fn binary_ops_refuse_mixed_dtypes_and_shapes() {
    let a = from_bits(DType::F16, &[0, 0]);
    let b = from_bits(DType::BF16, &[0, 0]);
    let c = from_bits(DType::F16, &[0, 0, 0]);
    assert!(matches!(
        run(ElementwiseOp::Add, &[a.clone(), b]),
        Err(KernelError::DTypeMismatch { .. })
    ));
    assert!(matches!(
        run(ElementwiseOp::Add, &[a, c]),
        Err(KernelError::ShapeMismatch { .. })
    ));
}
