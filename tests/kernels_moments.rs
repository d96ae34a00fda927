//! The shared statistics accumulator at the ends of the f64 range: values near ±1e300 (whose
//! squares overflow), near ±1e-300 (whose squares underflow) and subnormal ones have the mean and
//! std of a naive two-pass reference computed on the same values scaled exactly by a power of two
//! into the middle of the range, to 1e-12, however the values are cut into chunks. Also checks
//! the two users: `inspect --stats` (through `summarize`) and `dump` stat (through `statistics`).

mod kernels_support;

use brainsurgery::exec::kernels::compare::statistics;
use brainsurgery::exec::kernels::moments::{summarize_chunks, Moments, NonFinite};
use brainsurgery::inspect::stats::{summarize_in_chunks, TensorStats};
use brainsurgery::tensor::DType;
use kernels_support::from_bits;
use proptest::prelude::*;

/// `value · 2^exponent`, exact while the result is neither subnormal nor infinite; done in steps
/// because 2^exponent alone may not be representable.
fn times_power_of_two(mut value: f64, mut exponent: i32) -> f64 {
    while exponent != 0 {
        let step = exponent.clamp(-1000, 1000);
        value *= 2f64.powi(step);
        exponent -= step;
    }
    value
}

/// The binary exponent of a positive `magnitude`, so that `magnitude · 2^-exponent` is near 1.
fn exponent_of(magnitude: f64) -> i32 {
    magnitude.log2().round() as i32
}

/// Mean and population std by the textbook two passes, on the values brought near 1 first.
fn scaled_reference(values: &[f64], exponent: i32) -> (f64, f64) {
    let scaled: Vec<f64> = values
        .iter()
        .map(|&v| times_power_of_two(v, -exponent))
        .collect();
    let count = scaled.len() as f64;
    let mean = scaled.iter().sum::<f64>() / count;
    let variance = scaled.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
    (
        times_power_of_two(mean, exponent),
        times_power_of_two(variance.sqrt(), exponent),
    )
}

fn mean_and_std(moments: &Moments) -> (f64, f64) {
    let mean = moments
        .statistics(NonFinite::Exclude)
        .expect("finite values")
        .mean;
    (
        mean,
        moments.std(NonFinite::Exclude).expect("finite values"),
    )
}

/// Asserts `actual` is within 1e-12 of `expected` relative to `unit`.
fn assert_close(what: &str, actual: f64, expected: f64, unit: f64) {
    assert!(
        actual.is_finite() && (actual - expected).abs() <= 1e-12 * unit,
        "{what}: {actual:e} vs reference {expected:e}"
    );
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn two_opposite_values_have_their_magnitude_as_std() {
    for magnitude in [1e300, 1e-300, 1.5e-310, 5e-324, f64::MAX, 1.0] {
        let moments = Moments::from_values(&[-magnitude, magnitude]);
        let (mean, std) = mean_and_std(&moments);
        assert_eq!(mean, 0.0, "{magnitude:e}");
        assert_close(&format!("std of ±{magnitude:e}"), std, magnitude, magnitude);
        let merged = Moments::from_values(&[magnitude]).merge(Moments::from_values(&[-magnitude]));
        assert_eq!(mean_and_std(&merged), (mean, std), "{magnitude:e} merged");
    }
}

#[test]
fn two_values_near_the_top_of_the_range() {
    // {1e300, 3e300}: mean 2e300, std 1e300; their squares (1e600) are far beyond f64::MAX.
    let moments = Moments::from_values(&[1e300, 3e300]);
    let (mean, std) = mean_and_std(&moments);
    assert_close("mean", mean, 2e300, 2e300);
    assert_close("std", std, 1e300, 1e300);
    // Sums beyond f64::MAX fall back to the scaled sum.
    let near_max = [f64::MAX, f64::MAX * 0.5, f64::MAX, f64::MAX * 0.5];
    let (mean, std) = mean_and_std(&Moments::from_values(&near_max));
    assert_close("mean near MAX", mean, f64::MAX * 0.75, f64::MAX);
    assert_close("std near MAX", std, f64::MAX * 0.25, f64::MAX);
}

#[test]
fn inspect_stats_of_huge_and_tiny_f64_tensors_are_finite() {
    for magnitude in [1e300, 1e-300] {
        let values: Vec<f64> = (0..1000)
            .map(|i| magnitude * (f64::from(i % 17) - 8.0) / 8.0)
            .collect();
        let (mean, std) = scaled_reference(&values, exponent_of(magnitude));
        for chunk in [1, 3, 100, 1000] {
            let TensorStats::Summary(summary) =
                summarize_in_chunks(DType::F64, &f64_bytes(&values), chunk)
            else {
                panic!("F64 has statistics");
            };
            let got_mean = summary.mean.expect("finite values");
            let got_std = summary.std.expect("finite values");
            assert_close("inspect mean", got_mean, mean, magnitude);
            assert_close("inspect std", got_std, std, std);
            assert_eq!(
                (summary.min, summary.max),
                (Some(-magnitude), Some(magnitude))
            );
        }
    }
}

#[test]
fn dump_statistics_of_values_near_f64_max_keep_a_finite_mean() {
    let bits: Vec<u64> = [f64::MAX, f64::MAX, -f64::MAX * 0.5]
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let stats = statistics(&from_bits(DType::F64, &bits).view())
        .expect("numeric")
        .expect("not empty");
    assert_eq!((stats.min, stats.max), (-f64::MAX * 0.5, f64::MAX));
    assert_close("dump mean", stats.mean, f64::MAX * 0.5, f64::MAX);
}

/// Values `(offset + u) · magnitude` with `u` in [-1, 1], cut at random places.
fn chunked_case() -> impl Strategy<Value = (f64, Vec<f64>, Vec<usize>)> {
    let magnitude = prop::sample::select(vec![1e300, 1e307, 1e-300, 1e-310, 1.0]);
    let offset = prop_oneof![Just(0.0), -3.0f64..3.0];
    (
        magnitude,
        offset,
        prop::collection::vec(-1.0f64..1.0, 2..300),
    )
        .prop_flat_map(|(magnitude, offset, units)| {
            let length = units.len();
            let values: Vec<f64> = units.iter().map(|u| (offset + u) * magnitude).collect();
            (
                Just(magnitude),
                Just(values),
                prop::collection::vec(0..length, 0..12),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_matches_one_pass_and_the_scaled_reference(
        (magnitude, values, mut cuts) in chunked_case(),
        chunk_elements in 1usize..64,
    ) {
        let (mean, std) = scaled_reference(&values, exponent_of(magnitude));
        let largest = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));

        let one_pass = Moments::from_values(&values);
        let (one_mean, one_std) = mean_and_std(&one_pass);
        assert_close("one-pass mean", one_mean, mean, largest);
        assert_close("one-pass std", one_std, std, std);

        cuts.sort_unstable();
        cuts.dedup();
        let mut merged = Moments::EMPTY;
        let mut start = 0;
        for end in cuts.into_iter().chain([values.len()]) {
            merged = merged.merge(Moments::from_values(&values[start..end]));
            start = end;
        }
        prop_assert_eq!(merged.finite_count(), values.len() as u64);
        let (merged_mean, merged_std) = mean_and_std(&merged);
        assert_close("merged mean vs one pass", merged_mean, one_mean, largest);
        assert_close("merged std vs one pass", merged_std, one_std, std);

        // The parallel path over raw bytes, as `inspect --stats` runs it.
        let parallel = summarize_chunks(&f64_bytes(&values), chunk_elements * 8, |chunk, out| {
            out.extend(chunk.chunks_exact(8).map(|b| {
                f64::from_le_bytes(b.try_into().expect("eight bytes"))
            }));
        });
        let (parallel_mean, parallel_std) = mean_and_std(&parallel);
        assert_close("parallel mean vs one pass", parallel_mean, one_mean, largest);
        assert_close("parallel std vs one pass", parallel_std, one_std, std);
    }
}
