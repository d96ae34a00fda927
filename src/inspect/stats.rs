//! Per-tensor statistics over stored bytes, computed in parallel chunks.
//!
//! [`summarize`] receives a dtype and a tensor's raw little-endian bytes (a slice of the memory map)
//! and returns its [`TensorStats`]: element count, min, max, mean, population std of the finite
//! values, and NaN and infinity counts, all in f64. The bytes are cut into fixed chunks that rayon
//! decodes and summarizes in parallel; the partial [`Moments`] are merged in chunk order, so the
//! result is the same on every run and thread count, and equal to a single-pass reference up to
//! rounding whatever the chunk size. Only one chunk's decoded values per worker exist at a time.
//! Dtypes without a real value per element (F4, F6_*, C64) give [`TensorStats::Unsupported`].

use super::decode::{decodable, decode_into};
pub use crate::exec::kernels::moments::CHUNK_ELEMENTS;
use crate::exec::kernels::moments::{summarize_chunks, Moments, NonFinite};
use crate::tensor::DType;

/// The statistics of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorStats {
    Summary(Summary),
    /// The dtype has no decoding to real numbers here (shown as "n/a").
    Unsupported,
}

/// Statistics of a decodable tensor; the optional fields are `None` when it has no finite values.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub elements: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub nan: u64,
    pub infinite: u64,
}

impl Summary {
    fn from_moments(moments: Moments) -> Summary {
        // Non-finite values are counted apart, so they stay out of min, max, mean and std.
        let statistics = moments.statistics(NonFinite::Exclude);
        Summary {
            elements: moments.element_count(),
            min: statistics.map(|s| s.min),
            max: statistics.map(|s| s.max),
            mean: statistics.map(|s| s.mean),
            std: moments.std(NonFinite::Exclude),
            nan: moments.nan_count(),
            infinite: moments.infinite_count(),
        }
    }
}

/// Statistics of one tensor's bytes with the default chunk size.
pub fn summarize(dtype: DType, bytes: &[u8]) -> TensorStats {
    summarize_in_chunks(dtype, bytes, CHUNK_ELEMENTS)
}

/// Statistics with an explicit chunk size (in elements; 0 is treated as 1), for tests that show the
/// result does not depend on it.
pub fn summarize_in_chunks(dtype: DType, bytes: &[u8], chunk_elements: usize) -> TensorStats {
    if !decodable(dtype) {
        return TensorStats::Unsupported;
    }
    // Every decodable dtype is a whole number of bytes wide.
    let element_bytes = dtype.bit_size() / 8;
    let chunk_bytes = chunk_elements.max(1).saturating_mul(element_bytes);
    let moments = summarize_chunks(bytes, chunk_bytes, |chunk, values| {
        decode_into(dtype, chunk, values);
    });
    TensorStats::Summary(Summary::from_moments(moments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stats: TensorStats) -> Summary {
        match stats {
            TensorStats::Summary(summary) => summary,
            TensorStats::Unsupported => panic!("expected a summary"),
        }
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A deterministic spread of values, including repeated ones and both signs.
    fn sample(count: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((i as u64 * 2654435761) % 10007) as f32 / 997.0 - 5.0)
            .collect()
    }

    /// Naive f64 two-pass reference over the whole tensor at once.
    fn reference(values: &[f32]) -> (f64, f64, f64, f64) {
        let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        let count = wide.len() as f64;
        let mean = wide.iter().sum::<f64>() / count;
        let variance = wide.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
        let min = wide.iter().copied().fold(f64::INFINITY, f64::min);
        let max = wide.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max, mean, variance.sqrt())
    }

    #[test]
    fn matches_the_naive_reference_for_every_chunk_size() {
        let values = sample(5000);
        let (min, max, mean, std) = reference(&values);
        let bytes = f32_bytes(&values);
        for chunk in [0, 1, 7, 256, 4999, 5000, 1 << 20] {
            let result = summary(summarize_in_chunks(DType::F32, &bytes, chunk));
            assert_eq!(result.elements, 5000);
            assert_eq!((result.min, result.max), (Some(min), Some(max)));
            let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() <= 1e-12);
            assert!(close(result.mean, mean), "chunk {chunk}: {:?}", result.mean);
            assert!(close(result.std, std), "chunk {chunk}: {:?}", result.std);
        }
    }

    #[test]
    fn repeated_runs_give_identical_bits() {
        let bytes = f32_bytes(&sample(300_000));
        let first = summarize(DType::F32, &bytes);
        assert_eq!(first, summarize(DType::F32, &bytes));
    }

    #[test]
    fn nan_and_infinities_are_counted_separately() {
        let values = [1.0, f32::NAN, 2.0, f32::INFINITY, f32::NEG_INFINITY, 3.0];
        let result = summary(summarize_in_chunks(DType::F32, &f32_bytes(&values), 2));
        assert_eq!((result.elements, result.nan, result.infinite), (6, 1, 2));
        assert_eq!(
            (result.min, result.max, result.mean),
            (Some(1.0), Some(3.0), Some(2.0))
        );
    }

    #[test]
    fn empty_and_all_nan_tensors_have_no_values() {
        let empty = summary(summarize(DType::BF16, &[]));
        assert_eq!(empty.elements, 0);
        assert_eq!((empty.min, empty.std), (None, None));
        let nans = summary(summarize(DType::F8_E4M3FNUZ, &[0x80, 0x80]));
        assert_eq!((nans.elements, nans.nan, nans.mean), (2, 2, None));
    }

    #[test]
    fn narrow_dtypes_are_widened_before_summing() {
        // f16 ones summed in f16 would stop growing at 2048; in f64 the mean stays exactly 1.
        let ones: Vec<u8> = (0..5000)
            .flat_map(|_| half::f16::ONE.to_le_bytes())
            .collect();
        let result = summary(summarize_in_chunks(DType::F16, &ones, 4096));
        assert_eq!((result.mean, result.std), (Some(1.0), Some(0.0)));
        let fp8 = summary(summarize(DType::F8_E5M2, &[0x3C, 0x40, 0x7C]));
        assert_eq!((fp8.min, fp8.max, fp8.infinite), (Some(1.0), Some(2.0), 1));
        let ints: Vec<u8> = [(-4i16).to_le_bytes(), 6i16.to_le_bytes()].concat();
        let ints = summary(summarize(DType::I16, &ints));
        assert_eq!((ints.min, ints.max), (Some(-4.0), Some(6.0)));
        assert_eq!((ints.mean, ints.std), (Some(1.0), Some(5.0)));
        let flags = summary(summarize(DType::BOOL, &[1, 0, 1, 1]));
        assert_eq!(flags.mean, Some(0.75));
    }

    #[test]
    fn packed_formats_are_unsupported() {
        assert_eq!(summarize(DType::F4, &[0x12]), TensorStats::Unsupported);
        assert_eq!(summarize(DType::C64, &[0; 8]), TensorStats::Unsupported);
    }
}
