//! The two 8-bit float formats PyTorch calls `float8_e4m3fn` and `float8_e5m2`, converted to and
//! from `f32` with the rules of PyTorch's `c10::Float8_e4m3fn` / `c10::Float8_e5m2`.
//!
//! Both encode `s eeee mmm` / `s eeeee mm`. E5M2 is IEEE-like (bias 15, infinities, NaNs).
//! E4M3FN ("finite") has bias 7, no infinities, and only `s.1111.111` is NaN, so its largest value
//! is 448. From `f32`, both round to nearest, ties to even, subnormals included. What happens beyond
//! the largest finite value is where they differ, and we follow c10:
//! - E5M2: a value that rounds past 57344 becomes ±infinity; NaN becomes `s.11111.11`.
//! - E4M3FN: a value that rounds past 448 (so anything above 464, and ±infinity) becomes NaN with
//!   the input's sign, as does NaN. There is no saturation.
//!
//! Decoding is exact (every value of both formats is an `f32`); it goes through a 256-entry table
//! built at compile time.

/// One 8-bit float layout: exponent and mantissa widths, and what lies past the largest value.
#[derive(Debug, Clone, Copy)]
struct Format {
    exponent_bits: u32,
    mantissa_bits: u32,
    /// E5M2 has infinities; E4M3FN sends overflow to NaN.
    has_infinity: bool,
}

const E4M3FN: Format = Format {
    exponent_bits: 4,
    mantissa_bits: 3,
    has_infinity: false,
};

const E5M2: Format = Format {
    exponent_bits: 5,
    mantissa_bits: 2,
    has_infinity: true,
};

impl Format {
    const fn bias(self) -> i32 {
        (1 << (self.exponent_bits - 1)) - 1
    }

    /// The encoding (without sign) of NaN: all exponent and mantissa bits set.
    const fn nan(self) -> u8 {
        0x7F
    }

    /// The first encoding (without sign) that is not finite: infinity for E5M2, NaN for E4M3FN.
    const fn first_non_finite(self) -> u32 {
        if self.has_infinity {
            ((1 << self.exponent_bits) - 1) << self.mantissa_bits
        } else {
            0x7F
        }
    }

    /// The `f32` bits of an encoding.
    const fn decode_bits(self, byte: u8) -> u32 {
        let sign = ((byte as u32) & 0x80) << 24;
        let magnitude = (byte as u32) & 0x7F;
        let exponent_field = magnitude >> self.mantissa_bits;
        let mantissa = magnitude & ((1 << self.mantissa_bits) - 1);
        let exponent_all_ones = (1 << self.exponent_bits) - 1;
        if self.has_infinity && exponent_field == exponent_all_ones {
            // Infinity keeps a zero mantissa; NaN gets the f32 quiet bit and its payload.
            let payload = mantissa << (23 - self.mantissa_bits);
            let quiet = if mantissa == 0 { 0 } else { 0x0040_0000 };
            return sign | 0x7F80_0000 | quiet | payload;
        }
        if !self.has_infinity && magnitude == 0x7F {
            return sign | 0x7FC0_0000;
        }
        if exponent_field == 0 {
            if mantissa == 0 {
                return sign;
            }
            // A subnormal: normalize the mantissa so the f32 is a normal number.
            let leading = 31 - mantissa.leading_zeros();
            let shift = self.mantissa_bits - leading;
            let exponent = 1 - self.bias() - shift as i32;
            let fraction = (mantissa << shift) & ((1 << self.mantissa_bits) - 1);
            return sign
                | (((exponent + 127) as u32) << 23)
                | (fraction << (23 - self.mantissa_bits));
        }
        let exponent = exponent_field as i32 - self.bias();
        sign | (((exponent + 127) as u32) << 23) | (mantissa << (23 - self.mantissa_bits))
    }

    const fn table(self) -> [u32; 256] {
        let mut table = [0u32; 256];
        let mut index = 0;
        while index < 256 {
            table[index] = self.decode_bits(index as u8);
            index += 1;
        }
        table
    }

    /// Rounds an `f32` to this format, to nearest with ties to even.
    fn encode(self, value: f32) -> u8 {
        let bits = value.to_bits();
        let sign = ((bits >> 24) & 0x80) as u8;
        let magnitude = bits & 0x7FFF_FFFF;
        if magnitude > 0x7F80_0000 {
            return sign | self.nan();
        }
        if magnitude == 0x7F80_0000 {
            return sign | self.first_non_finite() as u8;
        }
        if magnitude == 0 {
            return sign;
        }
        // |value| = significand · 2^(exponent − 150), with the implicit bit made explicit.
        let exponent_field = (magnitude >> 23) as i32;
        let (significand, exponent) = if exponent_field == 0 {
            (magnitude, 1)
        } else {
            ((magnitude & 0x007F_FFFF) | 0x0080_0000, exponent_field)
        };
        let unbiased = exponent - 127;
        let minimum_exponent = 1 - self.bias();
        let kept_exponent = unbiased.max(minimum_exponent);
        // The weight of the result's last mantissa bit, and how many low bits of the f32
        // significand fall below it.
        let quantum = kept_exponent - self.mantissa_bits as i32;
        let dropped = quantum - (exponent - 150);
        if dropped >= 25 {
            // Below half of the smallest subnormal: rounds to a signed zero.
            return sign;
        }
        let dropped = dropped as u32;
        let mut units = significand >> dropped;
        let remainder = significand & ((1 << dropped) - 1);
        let half = 1 << (dropped - 1);
        if remainder > half || (remainder == half && units & 1 == 1) {
            units += 1;
        }
        // For normal results `units` includes the implicit bit, which lands on the exponent
        // field's lowest bit; a carry out of the mantissa moves to the next binade by itself.
        let encoding = (((kept_exponent - minimum_exponent) as u32) << self.mantissa_bits) + units;
        if encoding >= self.first_non_finite() {
            return sign | self.first_non_finite() as u8;
        }
        sign | encoding as u8
    }
}

static E4M3FN_TABLE: [u32; 256] = E4M3FN.table();
static E5M2_TABLE: [u32; 256] = E5M2.table();

/// The exact `f32` value of an E4M3FN byte.
pub fn e4m3fn_to_f32(byte: u8) -> f32 {
    f32::from_bits(E4M3FN_TABLE[byte as usize])
}

/// The exact `f32` value of an E5M2 byte.
pub fn e5m2_to_f32(byte: u8) -> f32 {
    f32::from_bits(E5M2_TABLE[byte as usize])
}

/// Rounds to E4M3FN as `c10::Float8_e4m3fn(float)` does: nearest-even, overflow and ±inf → NaN.
pub fn f32_to_e4m3fn(value: f32) -> u8 {
    E4M3FN.encode(value)
}

/// Rounds to E5M2 as `c10::Float8_e5m2(float)` does: nearest-even, overflow → ±inf.
pub fn f32_to_e5m2(value: f32) -> u8 {
    E5M2.encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_landmark_values() {
        assert_eq!(e4m3fn_to_f32(0x7E), 448.0);
        assert_eq!(e4m3fn_to_f32(0x01), 2f32.powi(-9));
        assert_eq!(e4m3fn_to_f32(0x08), 2f32.powi(-6));
        assert_eq!(e4m3fn_to_f32(0x38), 1.0);
        assert_eq!(e4m3fn_to_f32(0xB8), -1.0);
        assert!(e4m3fn_to_f32(0x7F).is_nan());
        assert!(e4m3fn_to_f32(0xFF).is_nan());
        assert_eq!(e5m2_to_f32(0x7B), 57344.0);
        assert_eq!(e5m2_to_f32(0x7C), f32::INFINITY);
        assert_eq!(e5m2_to_f32(0xFC), f32::NEG_INFINITY);
        assert!(e5m2_to_f32(0x7D).is_nan());
        assert_eq!(e5m2_to_f32(0x01), 2f32.powi(-16));
        assert_eq!(e5m2_to_f32(0x3C), 1.0);
    }

    #[test]
    fn overflow_follows_c10() {
        assert_eq!(f32_to_e4m3fn(448.0), 0x7E);
        assert_eq!(f32_to_e4m3fn(464.0), 0x7E, "a tie rounds to the even 448");
        assert_eq!(f32_to_e4m3fn(464.5), 0x7F, "past the tie: NaN");
        assert_eq!(f32_to_e4m3fn(-1e9), 0xFF);
        assert_eq!(f32_to_e4m3fn(f32::INFINITY), 0x7F);
        assert_eq!(
            f32_to_e5m2(61440.0),
            0x7C,
            "a tie rounds to the even infinity"
        );
        assert_eq!(f32_to_e5m2(61439.0), 0x7B);
        assert_eq!(f32_to_e5m2(f32::NEG_INFINITY), 0xFC);
        assert_eq!(f32_to_e5m2(f32::NAN), 0x7F);
    }

    #[test]
    fn subnormals_round_to_nearest_even() {
        let smallest = 2f32.powi(-9);
        assert_eq!(
            f32_to_e4m3fn(smallest * 0.5),
            0x00,
            "tie with zero goes to zero"
        );
        assert_eq!(f32_to_e4m3fn(smallest * 0.51), 0x01);
        assert_eq!(
            f32_to_e4m3fn(smallest * 1.5),
            0x02,
            "tie goes to the even 2"
        );
        assert_eq!(f32_to_e4m3fn(-smallest * 2.5), 0x82);
        assert_eq!(
            f32_to_e4m3fn(smallest * 7.5),
            0x08,
            "carry into the first normal"
        );
        assert_eq!(f32_to_e4m3fn(f32::from_bits(1)), 0x00);
    }

    #[test]
    fn every_byte_survives_a_round_trip() {
        for byte in 0..=255u8 {
            let e4m3 = e4m3fn_to_f32(byte);
            if !e4m3.is_nan() {
                assert_eq!(f32_to_e4m3fn(e4m3), byte);
            }
            let e5m2 = e5m2_to_f32(byte);
            if !e5m2.is_nan() {
                assert_eq!(f32_to_e5m2(e5m2), byte);
            }
        }
    }
}
