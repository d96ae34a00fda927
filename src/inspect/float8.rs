//! Exact decoders for the 8-bit float formats of safetensors, widened to f64.
//!
//! Each function receives one stored byte and returns the value it encodes; every finite value of
//! these formats is exactly representable in f64, so nothing is rounded. The formats differ only
//! in exponent width, bias and which codes are special:
//!
//! | format        | exponent, mantissa | bias | special codes                                   |
//! |---------------|--------------------|------|-------------------------------------------------|
//! | `F8_E4M3`     | 4, 3               | 7    | `S.1111.111` is NaN; no infinities (OCP "FN")   |
//! | `F8_E5M2`     | 5, 2               | 15   | IEEE-style: exponent 31 is ±inf (mantissa 0) or NaN |
//! | `F8_E4M3FNUZ` | 4, 3               | 8    | only `0x80` is NaN; no infinities, no −0        |
//! | `F8_E5M2FNUZ` | 5, 2               | 16   | only `0x80` is NaN; no infinities, no −0        |
//! | `F8_E8M0`     | 8, 0 (unsigned)    | 127  | `0xFF` is NaN; the value is 2^(byte − 127)      |
//!
//! Exponent 0 encodes subnormals (`0.m × 2^(1 − bias)`) in the four signed formats.

/// Assembles `(-1)^sign × mantissa × 2^exponent`; exact for the small integers used here.
fn compose(negative: bool, mantissa: u32, exponent: i32) -> f64 {
    let magnitude = f64::from(mantissa) * 2f64.powi(exponent);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Shared decoding of a signed format with `mantissa_bits` fraction bits and the given bias,
/// leaving the special codes to the caller.
fn decode_signed(byte: u8, mantissa_bits: u32, bias: i32) -> f64 {
    let negative = byte & 0x80 != 0;
    let exponent_mask = (0x7F_u8 >> mantissa_bits) as u32;
    let exponent = (u32::from(byte) >> mantissa_bits) & exponent_mask;
    let mantissa = u32::from(byte) & ((1 << mantissa_bits) - 1);
    let fraction_scale = mantissa_bits as i32;
    if exponent == 0 {
        // Subnormal: 0.m × 2^(1 − bias).
        compose(negative, mantissa, 1 - bias - fraction_scale)
    } else {
        // Normal: 1.m × 2^(e − bias), written as an integer significand.
        let significand = (1 << mantissa_bits) | mantissa;
        compose(
            negative,
            significand,
            exponent as i32 - bias - fraction_scale,
        )
    }
}

/// `F8_E4M3` (OCP E4M3FN): largest finite value 448. Decoded by the kernels' table (one decoder
/// for the formats PyTorch computes in); widening f32 to f64 is exact.
pub fn e4m3(byte: u8) -> f64 {
    f64::from(crate::exec::kernels::float8::e4m3fn_to_f32(byte))
}

/// `F8_E5M2`: the upper byte of an IEEE binary16, largest finite value 57344. Decoded by the
/// kernels' table, as `e4m3`.
pub fn e5m2(byte: u8) -> f64 {
    f64::from(crate::exec::kernels::float8::e5m2_to_f32(byte))
}

/// `F8_E4M3FNUZ`: largest finite value 240.
pub fn e4m3_fnuz(byte: u8) -> f64 {
    if byte == 0x80 {
        return f64::NAN;
    }
    decode_signed(byte, 3, 8)
}

/// `F8_E5M2FNUZ`: largest finite value 57344.
pub fn e5m2_fnuz(byte: u8) -> f64 {
    if byte == 0x80 {
        return f64::NAN;
    }
    decode_signed(byte, 2, 16)
}

/// `F8_E8M0`: a bare power of two, used as a block scale by the microscaling formats.
pub fn e8m0(byte: u8) -> f64 {
    if byte == 0xFF {
        return f64::NAN;
    }
    2f64.powi(i32::from(byte) - 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compares bit patterns so that −0 differs from +0, with every NaN treated as equal.
    fn same(actual: f64, expected: f64) -> bool {
        (actual.is_nan() && expected.is_nan()) || actual.to_bits() == expected.to_bits()
    }

    fn check(decoder: fn(u8) -> f64, cases: &[(u8, f64)]) {
        for &(byte, expected) in cases {
            let actual = decoder(byte);
            assert!(
                same(actual, expected),
                "byte {byte:#04x}: got {actual:e}, expected {expected:e}"
            );
        }
    }

    #[test]
    fn e4m3_hand_computed_values() {
        check(
            e4m3,
            &[
                (0x00, 0.0),
                (0x80, -0.0),
                (0x01, 0.001953125), // 1/8 × 2^-6, the smallest subnormal
                (0x07, 0.013671875), // 7/8 × 2^-6, the largest subnormal
                (0x08, 0.015625),    // 2^-6, the smallest normal
                (0x38, 1.0),         // exponent 7 = bias
                (0x39, 1.125),       // 1 + 1/8
                (0x40, 2.0),
                (0xC4, -3.0),  // −1.5 × 2
                (0x7E, 448.0), // 1.75 × 2^8, the largest finite value
                (0xFE, -448.0),
                (0x78, 256.0), // exponent 15 is a normal exponent in FN
                (0x7F, f64::NAN),
                (0xFF, f64::NAN),
            ],
        );
    }

    #[test]
    fn e5m2_hand_computed_values() {
        check(
            e5m2,
            &[
                (0x00, 0.0),
                (0x80, -0.0),
                (0x01, 0.0000152587890625), // 1/4 × 2^-14 = 2^-16
                (0x04, 0.00006103515625),   // 2^-14
                (0x3C, 1.0),
                (0x3D, 1.25),
                (0xC0, -2.0),
                (0x7B, 57344.0), // 1.75 × 2^15
                (0x7C, f64::INFINITY),
                (0xFC, f64::NEG_INFINITY),
                (0x7D, f64::NAN),
                (0xFF, f64::NAN),
            ],
        );
    }

    #[test]
    fn e5m2_is_the_upper_byte_of_binary16() {
        // An independent reference: E5M2 shares binary16's exponent, so `half` decodes it too.
        for byte in 0..=u8::MAX {
            let reference = f64::from(half::f16::from_bits(u16::from(byte) << 8));
            assert!(same(e5m2(byte), reference), "byte {byte:#04x}");
        }
    }

    #[test]
    fn e4m3_fnuz_hand_computed_values() {
        check(
            e4m3_fnuz,
            &[
                (0x00, 0.0),
                (0x80, f64::NAN),     // the only NaN, and there is no −0
                (0x01, 0.0009765625), // 1/8 × 2^-7 = 2^-10
                (0x08, 0.0078125),    // 2^-7
                (0x40, 1.0),          // exponent 8 = bias
                (0x7F, 240.0),        // 1.875 × 2^7
                (0xFF, -240.0),
                (0x81, -0.0009765625),
            ],
        );
    }

    #[test]
    fn e5m2_fnuz_hand_computed_values() {
        check(
            e5m2_fnuz,
            &[
                (0x00, 0.0),
                (0x80, f64::NAN),
                (0x01, 0.00000762939453125), // 1/4 × 2^-15 = 2^-17
                (0x40, 1.0),                 // exponent 16 = bias
                (0x7C, 32768.0),             // exponent 31 is finite here
                (0x7F, 57344.0),             // 1.75 × 2^15
                (0xFF, -57344.0),
            ],
        );
    }

    #[test]
    fn e8m0_hand_computed_values() {
        check(
            e8m0,
            &[
                (0x7F, 1.0),
                (0x80, 2.0),
                (0x7E, 0.5),
                (0x00, 5.877471754111438e-39), // 2^-127
                (0xFE, 1.7014118346046923e38), // 2^127
                (0xFF, f64::NAN),
            ],
        );
    }

    #[test]
    fn positive_codes_increase_strictly() {
        // Within each format the non-NaN positive codes are ordered like their values; a wrong
        // bias or mantissa width breaks this at the subnormal/normal boundary.
        for decoder in [e4m3, e5m2, e4m3_fnuz, e5m2_fnuz, e8m0] {
            let values: Vec<f64> = (0..=0x7F_u8).map(decoder).filter(|v| !v.is_nan()).collect();
            assert!(values.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }

    #[test]
    fn signed_formats_are_symmetric() {
        for decoder in [e4m3, e5m2, e4m3_fnuz, e5m2_fnuz] {
            for byte in 1..=0x7F_u8 {
                let positive = decoder(byte);
                let negative = decoder(byte | 0x80);
                assert!(
                    same(negative, -positive) || positive.is_nan(),
                    "byte {byte:#04x}"
                );
            }
        }
    }
}
