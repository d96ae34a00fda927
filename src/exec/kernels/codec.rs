//! Decoding little-endian element bytes into compute lanes and encoding lanes back, with the
//! conversion rules of `docs/numerics.md`.
//!
//! Every elementwise kernel and every cast goes through these two functions, so a dtype's rounding
//! and overflow behaviour is defined in exactly one place. [`decode`] is exact: it widens each
//! element to the lane type of its dtype's [`LaneKind`]. [`encode`] converts lanes to any numeric
//! dtype: floats round to nearest-even (a narrow float from `f64` goes through `f32`, as PyTorch's
//! `c10::Half(float)` does), floats become integers by truncation toward zero with saturation (NaN
//! → 0), integers wrap (two's complement), anything nonzero becomes `true`.

use half::f16;
use half::slice::HalfFloatSliceExt;
use num_traits::AsPrimitive;

use super::float8;
use crate::exec::error::KernelError;
use crate::tensor::DType;

/// The lane type a dtype decodes into, which is also the type its arithmetic is computed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LaneKind {
    /// F16, BF16, F8 and F32: computed in `f32` (PyTorch's `opmath` type for them).
    F32,
    F64,
    /// I8 … I64, sign-extended.
    Signed,
    /// U8 … U64 and BOOL (as 0 / 1), zero-extended.
    Unsigned,
}

impl LaneKind {
    /// The lane kind of a numeric dtype, or `None` for dtypes without numeric kernels (complex,
    /// the FNUZ and E8M0 float8 variants, the sub-byte formats).
    pub(crate) fn of(dtype: DType) -> Option<LaneKind> {
        match dtype {
            DType::F16 | DType::BF16 | DType::F32 | DType::F8_E4M3 | DType::F8_E5M2 => {
                Some(LaneKind::F32)
            }
            DType::F64 => Some(LaneKind::F64),
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Some(LaneKind::Signed),
            DType::BOOL | DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
                Some(LaneKind::Unsigned)
            }
            DType::C64
            | DType::F8_E4M3FNUZ
            | DType::F8_E5M2FNUZ
            | DType::F8_E8M0
            | DType::F6_E2M3
            | DType::F6_E3M2
            | DType::F4 => None,
        }
    }

    /// Like [`LaneKind::of`], with an error naming `op` for unsupported dtypes.
    pub(crate) fn require(op: &'static str, dtype: DType) -> Result<LaneKind, KernelError> {
        LaneKind::of(dtype).ok_or(KernelError::UnsupportedDType { op, dtype })
    }
}

/// A chunk of decoded elements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lanes {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Signed(Vec<i64>),
    Unsigned(Vec<u64>),
}

impl Default for Lanes {
    fn default() -> Lanes {
        Lanes::F32(Vec::new())
    }
}

/// Decodes `bytes` (whole elements of `dtype`, which must have a [`LaneKind`]) into `lanes`,
/// reusing its allocation when the kind matches.
pub(crate) fn decode(dtype: DType, bytes: &[u8], lanes: &mut Lanes) {
    match dtype {
        DType::F16 => decode_f16(bytes, lanes_f32(lanes)),
        DType::BF16 => fill(lanes_f32(lanes), bytes.chunks_exact(2), |b| {
            f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)
        }),
        DType::F32 => fill(lanes_f32(lanes), bytes.chunks_exact(4), |b| {
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }),
        DType::F8_E4M3 => fill(lanes_f32(lanes), bytes.chunks_exact(1), |b| {
            float8::e4m3fn_to_f32(b[0])
        }),
        DType::F8_E5M2 => fill(lanes_f32(lanes), bytes.chunks_exact(1), |b| {
            float8::e5m2_to_f32(b[0])
        }),
        DType::F64 => fill(lanes_f64(lanes), bytes.chunks_exact(8), |b| {
            f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
        }),
        DType::I8 => fill(lanes_signed(lanes), bytes.chunks_exact(1), |b| {
            b[0] as i8 as i64
        }),
        DType::I16 => fill(lanes_signed(lanes), bytes.chunks_exact(2), |b| {
            i16::from_le_bytes([b[0], b[1]]) as i64
        }),
        DType::I32 => fill(lanes_signed(lanes), bytes.chunks_exact(4), |b| {
            i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64
        }),
        DType::I64 => fill(lanes_signed(lanes), bytes.chunks_exact(8), |b| {
            i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
        }),
        DType::BOOL => fill(lanes_unsigned(lanes), bytes.chunks_exact(1), |b| {
            (b[0] != 0) as u64
        }),
        DType::U8 => fill(lanes_unsigned(lanes), bytes.chunks_exact(1), |b| {
            b[0] as u64
        }),
        DType::U16 => fill(lanes_unsigned(lanes), bytes.chunks_exact(2), |b| {
            u16::from_le_bytes([b[0], b[1]]) as u64
        }),
        DType::U32 => fill(lanes_unsigned(lanes), bytes.chunks_exact(4), |b| {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
        }),
        DType::U64 => fill(lanes_unsigned(lanes), bytes.chunks_exact(8), |b| {
            u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
        }),
        // Callers check `LaneKind::of` first; an unsupported dtype decodes to nothing.
        _ => lanes_f32(lanes).clear(),
    }
}

/// Encodes `lanes` as `dtype` (which must have a [`LaneKind`]) into `out`, which holds exactly
/// as many elements.
pub(crate) fn encode(lanes: &Lanes, dtype: DType, out: &mut [u8]) {
    match lanes {
        Lanes::F32(values) if dtype == DType::F16 => encode_f16(values, out),
        Lanes::F32(values) => encode_values(values, dtype, out),
        Lanes::F64(values) => encode_values(values, dtype, out),
        Lanes::Signed(values) => encode_values(values, dtype, out),
        Lanes::Unsigned(values) => encode_values(values, dtype, out),
    }
}

/// A lane value that can be converted to every numeric dtype with Rust's `as` semantics, which
/// are the documented cast rules: int→int wraps, float→int truncates and saturates (NaN → 0),
/// int→float and f64→f32 round to nearest-even.
pub(crate) trait LaneValue:
    Copy
    + AsPrimitive<f32>
    + AsPrimitive<f64>
    + AsPrimitive<i8>
    + AsPrimitive<i16>
    + AsPrimitive<i32>
    + AsPrimitive<i64>
    + AsPrimitive<u8>
    + AsPrimitive<u16>
    + AsPrimitive<u32>
    + AsPrimitive<u64>
{
    fn is_nonzero(self) -> bool;
}

impl LaneValue for f32 {
    fn is_nonzero(self) -> bool {
        // NaN is nonzero (it compares unequal to zero), as in PyTorch.
        self != 0.0
    }
}

impl LaneValue for f64 {
    fn is_nonzero(self) -> bool {
        self != 0.0
    }
}

impl LaneValue for i64 {
    fn is_nonzero(self) -> bool {
        self != 0
    }
}

impl LaneValue for u64 {
    fn is_nonzero(self) -> bool {
        self != 0
    }
}

pub(crate) fn encode_values<V: LaneValue>(values: &[V], dtype: DType, out: &mut [u8]) {
    match dtype {
        DType::F16 => store::<2, V>(values, out, |v| {
            f16::from_f32(v.as_()).to_bits().to_le_bytes()
        }),
        DType::BF16 => store::<2, V>(values, out, |v| f32_to_bf16_bits(v.as_()).to_le_bytes()),
        DType::F32 => store::<4, V>(values, out, |v| AsPrimitive::<f32>::as_(v).to_le_bytes()),
        DType::F64 => store::<8, V>(values, out, |v| AsPrimitive::<f64>::as_(v).to_le_bytes()),
        DType::F8_E4M3 => store::<1, V>(values, out, |v| [float8::f32_to_e4m3fn(v.as_())]),
        DType::F8_E5M2 => store::<1, V>(values, out, |v| [float8::f32_to_e5m2(v.as_())]),
        DType::BOOL => store::<1, V>(values, out, |v| [v.is_nonzero() as u8]),
        DType::U8 => store::<1, V>(values, out, |v| [AsPrimitive::<u8>::as_(v)]),
        DType::I8 => store::<1, V>(values, out, |v| AsPrimitive::<i8>::as_(v).to_le_bytes()),
        DType::U16 => store::<2, V>(values, out, |v| AsPrimitive::<u16>::as_(v).to_le_bytes()),
        DType::I16 => store::<2, V>(values, out, |v| AsPrimitive::<i16>::as_(v).to_le_bytes()),
        DType::U32 => store::<4, V>(values, out, |v| AsPrimitive::<u32>::as_(v).to_le_bytes()),
        DType::I32 => store::<4, V>(values, out, |v| AsPrimitive::<i32>::as_(v).to_le_bytes()),
        DType::U64 => store::<8, V>(values, out, |v| AsPrimitive::<u64>::as_(v).to_le_bytes()),
        DType::I64 => store::<8, V>(values, out, |v| AsPrimitive::<i64>::as_(v).to_le_bytes()),
        // Callers check `LaneKind::of` first; nothing is written for an unsupported dtype.
        _ => {}
    }
}

/// BF16 from `f32`, round to nearest-even; NaN keeps its sign and top payload bits and gets the
/// quiet bit (as `half::bf16::from_f32`, written branch-light so that the loop vectorizes).
fn f32_to_bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let quiet_nan = (bits >> 16) | 0x0040;
    // Adding just under half a unit, plus the kept lowest bit, carries exactly when RNE rounds up.
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16;
    let is_nan = bits & 0x7FFF_FFFF > 0x7F80_0000;
    (if is_nan { quiet_nan } else { rounded }) as u16
}

/// F16 from `f32` through `half`'s slice conversion, which uses the CPU's F16C instructions when
/// present (same results as the scalar path: both round to nearest-even).
fn encode_f16(values: &[f32], out: &mut [u8]) {
    let mut halves = vec![f16::ZERO; values.len()];
    halves.convert_from_f32_slice(values);
    for (slot, half) in out.chunks_exact_mut(2).zip(&halves) {
        slot.copy_from_slice(&half.to_bits().to_le_bytes());
    }
}

/// F16 to `f32` through `half`'s slice conversion (exact either way).
fn decode_f16(bytes: &[u8], lanes: &mut Vec<f32>) {
    let halves: Vec<f16> = bytes
        .chunks_exact(2)
        .map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])))
        .collect();
    lanes.clear();
    lanes.resize(halves.len(), 0.0);
    halves.convert_to_f32_slice(lanes);
}

fn store<const N: usize, V: Copy>(values: &[V], out: &mut [u8], convert: impl Fn(V) -> [u8; N]) {
    for (slot, &value) in out.chunks_exact_mut(N).zip(values) {
        slot.copy_from_slice(&convert(value));
    }
}

fn fill<'a, T>(
    lanes: &mut Vec<T>,
    elements: std::slice::ChunksExact<'a, u8>,
    convert: impl Fn(&'a [u8]) -> T,
) {
    lanes.clear();
    lanes.extend(elements.map(convert));
}

fn lanes_f32(lanes: &mut Lanes) -> &mut Vec<f32> {
    if !matches!(lanes, Lanes::F32(_)) {
        *lanes = Lanes::F32(Vec::new());
    }
    match lanes {
        Lanes::F32(values) => values,
        _ => unreachable!("set to F32 just above"),
    }
}

fn lanes_f64(lanes: &mut Lanes) -> &mut Vec<f64> {
    if !matches!(lanes, Lanes::F64(_)) {
        *lanes = Lanes::F64(Vec::new());
    }
    match lanes {
        Lanes::F64(values) => values,
        _ => unreachable!("set to F64 just above"),
    }
}

fn lanes_signed(lanes: &mut Lanes) -> &mut Vec<i64> {
    if !matches!(lanes, Lanes::Signed(_)) {
        *lanes = Lanes::Signed(Vec::new());
    }
    match lanes {
        Lanes::Signed(values) => values,
        _ => unreachable!("set to Signed just above"),
    }
}

fn lanes_unsigned(lanes: &mut Lanes) -> &mut Vec<u64> {
    if !matches!(lanes, Lanes::Unsigned(_)) {
        *lanes = Lanes::Unsigned(Vec::new());
    }
    match lanes {
        Lanes::Unsigned(values) => values,
        _ => unreachable!("set to Unsigned just above"),
    }
}
