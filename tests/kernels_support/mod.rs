//! Shared helpers of the kernel tests: an independent, naive reference for the float formats
//! (decoding by formula, rounding by search over the format's values) and tensor builders.
//!
//! Nothing here calls the crate's codec, so the tests compare two independent implementations.
#![allow(dead_code)]

use brainsurgery::exec::{TensorData, TensorView};
use brainsurgery::tensor::{DType, Shape, TensorType};

/// A binary float format described by its field widths, as the reference sees it.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub exponent_bits: u32,
    pub mantissa_bits: u32,
    /// The largest finite encoding (without sign).
    pub max_finite: u32,
    /// IEEE-like formats overflow to infinity; E4M3FN overflows to NaN.
    pub overflow_to_nan: bool,
}

pub const F16: Format = Format {
    exponent_bits: 5,
    mantissa_bits: 10,
    max_finite: 0x7BFF,
    overflow_to_nan: false,
};
pub const BF16: Format = Format {
    exponent_bits: 8,
    mantissa_bits: 7,
    max_finite: 0x7F7F,
    overflow_to_nan: false,
};
pub const E4M3FN: Format = Format {
    exponent_bits: 4,
    mantissa_bits: 3,
    max_finite: 0x7E,
    overflow_to_nan: true,
};
pub const E5M2: Format = Format {
    exponent_bits: 5,
    mantissa_bits: 2,
    max_finite: 0x7B,
    overflow_to_nan: false,
};

impl Format {
    pub fn of(dtype: DType) -> Option<Format> {
        match dtype {
            DType::F16 => Some(F16),
            DType::BF16 => Some(BF16),
            DType::F8_E4M3 => Some(E4M3FN),
            DType::F8_E5M2 => Some(E5M2),
            _ => None,
        }
    }

    fn total_bits(self) -> u32 {
        1 + self.exponent_bits + self.mantissa_bits
    }

    fn sign_bit(self) -> u32 {
        1 << (self.total_bits() - 1)
    }

    fn bias(self) -> i32 {
        (1 << (self.exponent_bits - 1)) - 1
    }

    /// The value of a magnitude encoding read as a finite number (also past `max_finite`).
    fn finite_value(self, magnitude: u32) -> f64 {
        let exponent = (magnitude >> self.mantissa_bits) as i32;
        let mantissa = (magnitude & ((1 << self.mantissa_bits) - 1)) as f64;
        let scale = 2f64.powi(self.mantissa_bits as i32);
        if exponent == 0 {
            mantissa / scale * 2f64.powi(1 - self.bias())
        } else {
            (1.0 + mantissa / scale) * 2f64.powi(exponent - self.bias())
        }
    }

    /// The value of an encoding, by formula.
    pub fn decode(self, bits: u32) -> f64 {
        let negative = bits & self.sign_bit() != 0;
        let magnitude = bits & (self.sign_bit() - 1);
        let value = if magnitude <= self.max_finite {
            self.finite_value(magnitude)
        } else if self.overflow_to_nan {
            f64::NAN
        } else if magnitude == self.max_finite + 1 {
            f64::INFINITY
        } else {
            f64::NAN
        };
        if negative {
            -value
        } else {
            value
        }
    }

    /// Rounds `x` to the format, to nearest with ties to the even encoding, by searching the
    /// format's values. Overflow gives infinity, or NaN (`s` + all ones) for E4M3FN. NaN input
    /// gives `None` (its encoding is a policy the caller checks separately).
    pub fn round(self, x: f64) -> Option<u32> {
        if x.is_nan() {
            return None;
        }
        let sign = if x.is_sign_negative() {
            self.sign_bit()
        } else {
            0
        };
        let magnitude = x.abs();
        let overflow = if self.overflow_to_nan {
            self.sign_bit() - 1
        } else {
            self.max_finite + 1
        };
        if magnitude.is_infinite() {
            return Some(sign | overflow);
        }
        // The largest encoding whose value is ≤ |x| (encodings are ordered like their values).
        let (mut low, mut high) = (0u32, self.max_finite + 1);
        while low < high {
            let middle = (low + high).div_ceil(2);
            if self.finite_value(middle) <= magnitude {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let below = low;
        let chosen = if self.finite_value(below) == magnitude {
            below
        } else {
            let above = below + 1;
            // The midpoint of two neighbours has one more bit than the format: exact in f64.
            let middle = (self.finite_value(below) + self.finite_value(above)) / 2.0;
            if magnitude < middle || (magnitude == middle && below % 2 == 0) {
                below
            } else {
                above
            }
        };
        Some(
            sign | if chosen > self.max_finite {
                overflow
            } else {
                chosen
            },
        )
    }
}

/// Rounds an integer to `precision` significant bits, to nearest with ties to even (what
/// converting it to a float of that precision does, ignoring the exponent range).
pub fn round_integer(value: i128, precision: u32) -> i128 {
    let magnitude = value.unsigned_abs();
    let bits = 128 - magnitude.leading_zeros();
    if bits <= precision {
        return value;
    }
    let dropped = bits - precision;
    let mut kept = magnitude >> dropped;
    let remainder = magnitude & ((1u128 << dropped) - 1);
    let half = 1u128 << (dropped - 1);
    if remainder > half || (remainder == half && kept % 2 == 1) {
        kept += 1;
    }
    let rounded = (kept << dropped) as i128;
    if value < 0 {
        -rounded
    } else {
        rounded
    }
}

/// Bytes of one element.
pub fn size(dtype: DType) -> usize {
    dtype.bit_size() / 8
}

/// A 1-D tensor of `dtype` from raw element bit patterns (low bytes taken, little-endian).
pub fn from_bits(dtype: DType, bits: &[u64]) -> TensorData {
    let width = size(dtype);
    let bytes = bits
        .iter()
        .flat_map(|b| b.to_le_bytes()[..width].to_vec())
        .collect();
    tensor(dtype, vec![bits.len() as u64], bytes)
}

/// The element bit patterns of a tensor.
pub fn to_bits(data: &TensorData) -> Vec<u64> {
    let width = size(data.dtype());
    data.bytes()
        .chunks_exact(width)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..width].copy_from_slice(chunk);
            u64::from_le_bytes(word)
        })
        .collect()
}

pub fn tensor(dtype: DType, dims: Vec<u64>, bytes: Vec<u8>) -> TensorData {
    TensorData::new(TensorType::new(dtype, Shape::new(dims)), bytes)
        .expect("test bytes match the type")
}

/// The value of one element's bits, by the reference decoders (integers exactly as i128).
pub fn reference_value(dtype: DType, bits: u64) -> f64 {
    match dtype {
        DType::F32 => f32::from_bits(bits as u32) as f64,
        DType::F64 => f64::from_bits(bits),
        _ => match Format::of(dtype) {
            Some(format) => format.decode(bits as u32),
            None => reference_integer(dtype, bits) as f64,
        },
    }
}

/// The integer value of one element's bits (BOOL: nonzero is 1).
pub fn reference_integer(dtype: DType, bits: u64) -> i128 {
    let width = dtype.bit_size();
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let unsigned = bits & mask;
    match dtype {
        DType::BOOL => (unsigned != 0) as i128,
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => {
            let shift = 64 - width;
            (((unsigned << shift) as i64) >> shift) as i128
        }
        _ => unsigned as i128,
    }
}

/// Encodes an integer into `dtype` by reduction modulo 2^width (two's complement wrap).
pub fn wrap_integer(value: i128, dtype: DType) -> u64 {
    let width = dtype.bit_size();
    let modulus = 1i128 << width;
    value.rem_euclid(modulus) as u64
}

/// The float dtypes with elementwise kernels.
pub const FLOAT_DTYPES: [DType; 6] = [
    DType::F16,
    DType::BF16,
    DType::F32,
    DType::F64,
    DType::F8_E4M3,
    DType::F8_E5M2,
];

pub const INTEGER_DTYPES: [DType; 8] = [
    DType::U8,
    DType::I8,
    DType::U16,
    DType::I16,
    DType::U32,
    DType::I32,
    DType::U64,
    DType::I64,
];

/// Every dtype that casts.
pub fn castable_dtypes() -> Vec<DType> {
    let mut all = vec![DType::BOOL];
    all.extend(INTEGER_DTYPES);
    all.extend(FLOAT_DTYPES);
    all
}

/// Rounds an f64 (already the exact or correctly rounded result) to a float dtype by the
/// reference; returns the bits, or `None` for NaN.
pub fn reference_round(dtype: DType, x: f64) -> Option<u64> {
    if x.is_nan() {
        return None;
    }
    match dtype {
        DType::F32 => Some((x as f32).to_bits() as u64),
        DType::F64 => Some(x.to_bits()),
        _ => Format::of(dtype).and_then(|format| format.round(x).map(u64::from)),
    }
}

/// Whether an element's bits are a NaN of a float dtype.
pub fn is_nan_bits(dtype: DType, bits: u64) -> bool {
    reference_value(dtype, bits).is_nan() && dtype.is_float()
}

pub fn views(data: &[TensorData]) -> Vec<TensorView<'_>> {
    data.iter().map(TensorData::view).collect()
}
