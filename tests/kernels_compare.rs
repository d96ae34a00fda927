//! Comparisons (equal, iszero, max abs diff, statistics) against a naive element-by-element
//! reference in f64, on random bit patterns of every dtype (NaN, ±0 and infinities included).

mod kernels_support;

use brainsurgery::exec::kernels::compare::{equal, is_zero, max_abs_diff, statistics};
use brainsurgery::exec::KernelError;
use brainsurgery::tensor::DType;
use kernels_support::*;
use proptest::prelude::*;

fn case() -> impl Strategy<Value = (DType, Vec<u64>, Vec<u64>)> {
    (prop::sample::select(castable_dtypes()), 0usize..80).prop_flat_map(|(dtype, length)| {
        let width = dtype.bit_size();
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        // Few distinct patterns, so that equal elements and equal tensors are common.
        let element = prop_oneof![
            any::<u64>().prop_map(move |b| b & mask),
            (0u64..4).prop_map(move |b| b & mask),
            Just(if dtype.is_float() {
                1u64 << (width - 1)
            } else {
                0
            }),
        ];
        (
            Just(dtype),
            prop::collection::vec(element.clone(), length),
            prop::collection::vec(element, length),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn comparisons_match_the_naive_reference(
        (dtype, a, b) in case(),
        same in any::<bool>(),
        eps in prop_oneof![Just(0.0), 0.0f64..2.0, Just(f64::INFINITY)],
    ) {
        let b = if same { a.clone() } else { b };
        let (left, right) = (from_bits(dtype, &a), from_bits(dtype, &b));
        let values = |bits: &[u64]| -> Vec<f64> { bits.iter().map(|&x| reference_value(dtype, x)).collect() };
        let (x, y) = (values(&a), values(&b));

        let exact = if dtype.is_float() {
            x.iter().zip(&y).all(|(p, q)| p == q)
        } else {
            a.iter().zip(&b).all(|(&p, &q)| reference_integer(dtype, p) == reference_integer(dtype, q))
        };
        prop_assert_eq!(equal(&left.view(), &right.view(), None).expect("same type"), exact);

        let differences: Vec<f64> = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).collect();
        let within = differences.iter().all(|d| *d <= eps);
        prop_assert_eq!(equal(&left.view(), &right.view(), Some(eps)).expect("same type"), within);

        let largest = max_abs_diff(&left.view(), &right.view()).expect("same type");
        match largest {
            None => prop_assert!(a.is_empty()),
            Some(value) if differences.iter().any(|d| d.is_nan()) => prop_assert!(value.is_nan()),
            Some(value) => prop_assert_eq!(value, differences.iter().copied().fold(0.0, f64::max)),
        }

        prop_assert_eq!(is_zero(&left.view(), None).expect("numeric"), x.iter().all(|v| *v == 0.0));
        prop_assert_eq!(is_zero(&left.view(), Some(eps)).expect("numeric"), x.iter().all(|v| v.abs() <= eps));

        match statistics(&left.view()).expect("numeric") {
            None => prop_assert!(a.is_empty()),
            Some(stats) => {
                if x.iter().any(|v| v.is_nan()) {
                    prop_assert!(stats.min.is_nan() && stats.max.is_nan());
                } else {
                    prop_assert_eq!(stats.min, x.iter().copied().fold(f64::INFINITY, f64::min));
                    prop_assert_eq!(stats.max, x.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                    let mean = x.iter().sum::<f64>() / x.len() as f64;
                    // Chunked and sequential sums round differently; the difference is bounded
                    // relative to the mean magnitude of the terms, not to the (possibly cancelled)
                    // mean itself. Infinite values of both signs make both means NaN.
                    let magnitude = x.iter().map(|v| v.abs()).sum::<f64>() / x.len() as f64;
                    prop_assert!(
                        stats.mean == mean
                            || (stats.mean.is_nan() && mean.is_nan())
                            || (stats.mean - mean).abs() <= 1e-12 * magnitude,
                        "mean {} vs reference {}", stats.mean, mean
                    );
                }
            }
        }
    }
}

#[test]
fn signed_zeros_are_equal_and_nans_are_not() {
    let positive = from_bits(DType::F32, &[0x0000_0000, 0x7FC0_0000]);
    let negative = from_bits(DType::F32, &[0x8000_0000, 0x7FC0_0000]);
    assert_eq!(equal(&positive.view(), &negative.view(), None), Ok(false));
    let zeros = from_bits(DType::F32, &[0x0000_0000]);
    let negative_zeros = from_bits(DType::F32, &[0x8000_0000]);
    assert_eq!(equal(&zeros.view(), &negative_zeros.view(), None), Ok(true));
    assert_eq!(is_zero(&negative_zeros.view(), None), Ok(true));
}

#[test]
fn large_unsigned_integers_compare_exactly() {
    // 2^64 − 1 and 2^64 − 2 are the same f64; exact comparison must still tell them apart.
    let a = from_bits(DType::U64, &[u64::MAX]);
    let b = from_bits(DType::U64, &[u64::MAX - 1]);
    assert_eq!(equal(&a.view(), &b.view(), None), Ok(false));
}

#[test]
fn mismatched_operands_and_bad_eps_are_errors() {
    let a = from_bits(DType::F16, &[0, 0]);
    let b = from_bits(DType::BF16, &[0, 0]);
    let c = from_bits(DType::F16, &[0]);
    assert!(matches!(
        equal(&a.view(), &b.view(), None),
        Err(KernelError::DTypeMismatch { .. })
    ));
    assert!(matches!(
        equal(&a.view(), &c.view(), None),
        Err(KernelError::ShapeMismatch { .. })
    ));
    assert!(equal(&a.view(), &a.view(), Some(-1.0)).is_err());
    assert!(is_zero(&a.view(), Some(f64::NAN)).is_err());
}

#[test]
fn many_chunks_reduce_to_the_same_answers() {
    let length = 300_000u64;
    let bits: Vec<u64> = (0..length).map(|i| (i as f32).to_bits() as u64).collect();
    let mut shifted = bits.clone();
    shifted[250_000] = (250_000.5f32).to_bits() as u64;
    let (a, b) = (
        from_bits(DType::F32, &bits),
        from_bits(DType::F32, &shifted),
    );
    assert_eq!(max_abs_diff(&a.view(), &b.view()), Ok(Some(0.5)));
    assert_eq!(equal(&a.view(), &b.view(), Some(0.5)), Ok(true));
    assert_eq!(equal(&a.view(), &b.view(), Some(0.25)), Ok(false));
    let stats = statistics(&a.view()).expect("numeric").expect("not empty");
    assert_eq!((stats.min, stats.max), (0.0, 299_999.0));
    assert_eq!(stats.mean, 149_999.5);
}
