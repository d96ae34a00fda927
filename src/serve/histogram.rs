//! A tensor's value histogram, for the tensor browser.
//!
//! [`histogram`] receives a dtype, a tensor's stored bytes, the number of bins and the finite
//! range `[min, max]` (from the tensor's statistics) and returns the count of finite values in
//! each of `bins` equal-width bins; the last bin includes `max`, and NaN and infinities are left
//! out (the statistics count them). Bytes are decoded chunk by chunk with the inspect decoder, so
//! memory stays at one chunk of f64 whatever the tensor's size. A dtype the decoder does not
//! understand, or an empty range of values, gives `None`.

use crate::inspect::decode::{decodable, decode_into};
use crate::inspect::stats::CHUNK_ELEMENTS;
use crate::tensor::DType;

#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub counts: Vec<u64>,
}

pub fn histogram(dtype: DType, bytes: &[u8], bins: usize, min: f64, max: f64) -> Option<Histogram> {
    let element_bytes = dtype.bit_size() / 8;
    if !decodable(dtype) || element_bytes == 0 || bins == 0 || !min.is_finite() || !max.is_finite()
    {
        return None;
    }
    let mut counts = vec![0u64; bins];
    let width = (max - min) / bins as f64;
    let mut values = Vec::with_capacity(CHUNK_ELEMENTS);
    for chunk in bytes.chunks(CHUNK_ELEMENTS * element_bytes) {
        values.clear();
        decode_into(dtype, chunk, &mut values);
        for &value in values.iter().filter(|value| value.is_finite()) {
            // A constant tensor (zero width) puts every value in the first bin.
            let bin = if width > 0.0 {
                (((value - min) / width) as usize).min(bins - 1)
            } else {
                0
            };
            counts[bin] += 1;
        }
    }
    Some(Histogram { min, max, counts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    }

    #[test]
    fn values_fall_in_equal_width_bins_with_max_in_the_last() {
        let bytes = f32_bytes(&[0.0, 0.1, 0.5, 0.9, 1.0, f32::NAN, f32::INFINITY]);
        let result = histogram(DType::F32, &bytes, 2, 0.0, 1.0).expect("decodable");
        assert_eq!(result.counts, vec![2, 3]);
    }

    #[test]
    fn constant_tensors_and_undecodable_dtypes() {
        let bytes = f32_bytes(&[3.0, 3.0]);
        let result = histogram(DType::F32, &bytes, 4, 3.0, 3.0).expect("decodable");
        assert_eq!(result.counts, vec![2, 0, 0, 0]);
        assert_eq!(histogram(DType::F4, &[0u8; 4], 4, 0.0, 1.0), None);
    }
}
