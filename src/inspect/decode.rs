//! Widening of stored tensor bytes to f64, for statistics.
//!
//! [`decode_into`] receives a dtype and a slice of little-endian element bytes (whole elements, as
//! safetensors stores them) and appends one f64 per element. Floats widen exactly (f16/bf16 through
//! `half`, the 8-bit formats through [`super::float8`]); integers become their numeric value (64-bit
//! integers beyond 2^53 round to the nearest f64); BOOL becomes 0 or 1. The packed sub-byte formats
//! (F4, F6_*) and C64 have no single real value per stored element here, so they are
//! [`unsupported`](decodable) rather than guessed.

use crate::tensor::DType;

use super::float8;

/// Whether [`decode_into`] understands `dtype`.
pub fn decodable(dtype: DType) -> bool {
    !matches!(
        dtype,
        DType::F4 | DType::F6_E2M3 | DType::F6_E3M2 | DType::C64
    )
}

/// Appends the elements of `bytes` to `values`, widened to f64. Bytes after the last whole element
/// are ignored; an undecodable dtype appends nothing (check [`decodable`] first).
pub fn decode_into(dtype: DType, bytes: &[u8], values: &mut Vec<f64>) {
    match dtype {
        DType::BOOL => values.extend(bytes.iter().map(|&b| f64::from(u8::from(b != 0)))),
        DType::U8 => values.extend(bytes.iter().map(|&b| f64::from(b))),
        DType::I8 => values.extend(bytes.iter().map(|&b| f64::from(b as i8))),
        DType::I16 => widen(bytes, values, |b: [u8; 2]| f64::from(i16::from_le_bytes(b))),
        DType::U16 => widen(bytes, values, |b: [u8; 2]| f64::from(u16::from_le_bytes(b))),
        DType::I32 => widen(bytes, values, |b: [u8; 4]| f64::from(i32::from_le_bytes(b))),
        DType::U32 => widen(bytes, values, |b: [u8; 4]| f64::from(u32::from_le_bytes(b))),
        DType::I64 => widen(bytes, values, |b: [u8; 8]| i64::from_le_bytes(b) as f64),
        DType::U64 => widen(bytes, values, |b: [u8; 8]| u64::from_le_bytes(b) as f64),
        DType::F16 => widen(bytes, values, |b: [u8; 2]| {
            f64::from(half::f16::from_le_bytes(b))
        }),
        DType::BF16 => widen(bytes, values, |b: [u8; 2]| {
            f64::from(half::bf16::from_le_bytes(b))
        }),
        DType::F32 => widen(bytes, values, |b: [u8; 4]| f64::from(f32::from_le_bytes(b))),
        DType::F64 => widen(bytes, values, f64::from_le_bytes),
        DType::F8_E4M3 => values.extend(bytes.iter().map(|&b| float8::e4m3(b))),
        DType::F8_E5M2 => values.extend(bytes.iter().map(|&b| float8::e5m2(b))),
        DType::F8_E4M3FNUZ => values.extend(bytes.iter().map(|&b| float8::e4m3_fnuz(b))),
        DType::F8_E5M2FNUZ => values.extend(bytes.iter().map(|&b| float8::e5m2_fnuz(b))),
        DType::F8_E8M0 => values.extend(bytes.iter().map(|&b| float8::e8m0(b))),
        DType::F4 | DType::F6_E2M3 | DType::F6_E3M2 | DType::C64 => {}
    }
}

/// Decodes fixed-width little-endian elements; `N` is the element size in bytes.
fn widen<const N: usize>(bytes: &[u8], values: &mut Vec<f64>, convert: impl Fn([u8; N]) -> f64) {
    values.extend(bytes.chunks_exact(N).map(|chunk| {
        let mut element = [0u8; N];
        element.copy_from_slice(chunk);
        convert(element)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(dtype: DType, bytes: &[u8]) -> Vec<f64> {
        let mut values = Vec::new();
        decode_into(dtype, bytes, &mut values);
        values
    }

    #[test]
    fn integers_and_bools_become_their_numbers() {
        assert_eq!(decode(DType::BOOL, &[0, 1, 7]), vec![0.0, 1.0, 1.0]);
        assert_eq!(decode(DType::U8, &[0, 255]), vec![0.0, 255.0]);
        assert_eq!(decode(DType::I8, &[0x80, 0x7F]), vec![-128.0, 127.0]);
        assert_eq!(decode(DType::I16, &(-300i16).to_le_bytes()), vec![-300.0]);
        assert_eq!(decode(DType::U16, &[0xFF, 0xFF]), vec![65535.0]);
        assert_eq!(
            decode(DType::I32, &i32::MIN.to_le_bytes()),
            vec![-2147483648.0]
        );
        assert_eq!(
            decode(DType::U32, &u32::MAX.to_le_bytes()),
            vec![4294967295.0]
        );
        assert_eq!(decode(DType::I64, &(-5i64).to_le_bytes()), vec![-5.0]);
        assert_eq!(
            decode(DType::U64, &(1u64 << 60).to_le_bytes()),
            vec![2f64.powi(60)]
        );
    }

    #[test]
    fn floats_widen_exactly() {
        let mut bytes = Vec::new();
        bytes.extend(half::f16::from_f32(-1.5).to_le_bytes());
        bytes.extend(half::f16::from_f32(65504.0).to_le_bytes());
        assert_eq!(decode(DType::F16, &bytes), vec![-1.5, 65504.0]);
        assert_eq!(
            decode(DType::BF16, &half::bf16::from_f32(3.0).to_le_bytes()),
            vec![3.0]
        );
        assert_eq!(
            decode(DType::F32, &0.1f32.to_le_bytes()),
            vec![f64::from(0.1f32)]
        );
        assert_eq!(decode(DType::F64, &0.1f64.to_le_bytes()), vec![0.1]);
        assert_eq!(decode(DType::F8_E4M3, &[0x38, 0x7E]), vec![1.0, 448.0]);
        assert_eq!(decode(DType::F8_E8M0, &[0x80]), vec![2.0]);
    }

    #[test]
    fn partial_trailing_elements_are_ignored() {
        assert_eq!(decode(DType::F32, &[0, 0, 128, 63, 1, 2]), vec![1.0]);
    }

    #[test]
    fn packed_and_complex_formats_are_not_decoded() {
        for dtype in [DType::F4, DType::F6_E2M3, DType::F6_E3M2, DType::C64] {
            assert!(!decodable(dtype));
            assert!(decode(dtype, &[1, 2, 3, 4, 5, 6, 7, 8]).is_empty());
        }
        let decodable_count = DType::ALL.iter().filter(|d| decodable(**d)).count();
        assert_eq!(decodable_count, DType::ALL.len() - 4);
    }
}
