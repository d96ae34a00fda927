//! Element types and shapes: the vocabulary every stage shares.
//!
//! `DType` is the flat list of the safetensors format's dtypes (the names are the format's own,
//! `F32`, `BF16`, `F8_E4M3`, …). `Shape` is a newtype over the dimension list and `TensorType`
//! pairs the two. Nothing here touches tensor bytes.

use std::fmt;

/// One element type of the safetensors format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(non_camel_case_types)]
pub enum DType {
    BOOL,
    U8,
    I8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F16,
    BF16,
    F32,
    F64,
    C64,
    F8_E4M3,
    F8_E5M2,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    F8_E8M0,
    F6_E2M3,
    F6_E3M2,
    F4,
}

impl DType {
    /// Every dtype, in the order above (used by property tests and by `--help` texts).
    pub const ALL: [DType; 22] = [
        DType::BOOL,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::F8_E4M3,
        DType::F8_E5M2,
        DType::F8_E4M3FNUZ,
        DType::F8_E5M2FNUZ,
        DType::F8_E8M0,
        DType::F6_E2M3,
        DType::F6_E3M2,
        DType::F4,
    ];

    /// The name the safetensors header uses for this dtype.
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DType::BOOL => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::I16 => "I16",
            DType::U16 => "U16",
            DType::I32 => "I32",
            DType::U32 => "U32",
            DType::I64 => "I64",
            DType::U64 => "U64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::C64 => "C64",
            DType::F8_E4M3 => "F8_E4M3",
            DType::F8_E5M2 => "F8_E5M2",
            DType::F8_E4M3FNUZ => "F8_E4M3FNUZ",
            DType::F8_E5M2FNUZ => "F8_E5M2FNUZ",
            DType::F8_E8M0 => "F8_E8M0",
            DType::F6_E2M3 => "F6_E2M3",
            DType::F6_E3M2 => "F6_E3M2",
            DType::F4 => "F4",
        }
    }

    /// Parses a safetensors header dtype name (exact, upper case, as the format writes it).
    pub fn from_safetensors_name(name: &str) -> Option<DType> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| d.safetensors_name() == name)
    }

    /// Parses a dtype name as BrainSurgery plans spell it (case-insensitive): `float16`/`half`/`fp16`,
    /// `bfloat16`/`bf16`, `float32`/`float`/`fp32`, `float64`/`double`/`fp64`, `uint8`, `int8`,
    /// `int16`/`short`, `int32`/`int`, `int64`/`long`, `bool`. We also accept the safetensors names
    /// (`F32`, `F8_E4M3`, …) and `uint16`/`uint32`/`uint64`, which the reference lacks.
    pub fn from_plan_name(name: &str) -> Option<DType> {
        let lower = name.to_ascii_lowercase();
        let dtype = match lower.as_str() {
            "float16" | "half" | "fp16" => DType::F16,
            "bfloat16" | "bf16" => DType::BF16,
            "float32" | "float" | "fp32" => DType::F32,
            "float64" | "double" | "fp64" => DType::F64,
            "uint8" => DType::U8,
            "int8" => DType::I8,
            "int16" | "short" => DType::I16,
            "uint16" => DType::U16,
            "int32" | "int" => DType::I32,
            "uint32" => DType::U32,
            "int64" | "long" => DType::I64,
            "uint64" => DType::U64,
            "bool" => DType::BOOL,
            "float8_e4m3fn" => DType::F8_E4M3,
            "float8_e5m2" => DType::F8_E5M2,
            _ => return DType::from_safetensors_name(&name.to_ascii_uppercase()),
        };
        Some(dtype)
    }

    /// The canonical plan spelling (what `fmt` prints): PyTorch's long names where they exist.
    pub fn plan_name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::I64 => "int64",
            DType::U64 => "uint64",
            DType::BOOL => "bool",
            DType::F8_E4M3 => "float8_e4m3fn",
            DType::F8_E5M2 => "float8_e5m2",
            other => other.safetensors_name(),
        }
    }

    /// Size of one element in bits (4 and 6 for the sub-byte microscaling formats).
    pub fn bit_size(self) -> usize {
        match self {
            DType::F4 => 4,
            DType::F6_E2M3 | DType::F6_E3M2 => 6,
            DType::BOOL
            | DType::U8
            | DType::I8
            | DType::F8_E4M3
            | DType::F8_E5M2
            | DType::F8_E4M3FNUZ
            | DType::F8_E5M2FNUZ
            | DType::F8_E8M0 => 8,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 16,
            DType::I32 | DType::U32 | DType::F32 => 32,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 64,
        }
    }

    /// Bytes taken by `elements` elements, or `None` when a sub-byte dtype's element count does not
    /// fill whole bytes (the format requires whole bytes) or the count overflows.
    pub fn byte_len(self, elements: u64) -> Option<u64> {
        let bits = elements.checked_mul(self.bit_size() as u64)?;
        (bits % 8 == 0).then_some(bits / 8)
    }

    pub fn is_float(self) -> bool {
        matches!(
            self,
            DType::F16
                | DType::BF16
                | DType::F32
                | DType::F64
                | DType::F8_E4M3
                | DType::F8_E5M2
                | DType::F8_E4M3FNUZ
                | DType::F8_E5M2FNUZ
                | DType::F8_E8M0
                | DType::F6_E2M3
                | DType::F6_E3M2
                | DType::F4
        )
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DType::U8
                | DType::I8
                | DType::I16
                | DType::U16
                | DType::I32
                | DType::U32
                | DType::I64
                | DType::U64
        )
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.safetensors_name())
    }
}

/// The dimensions of a tensor; an empty list is a 0-dim (scalar) tensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Vec<u64>);

impl Shape {
    pub fn new(dims: impl Into<Vec<u64>>) -> Shape {
        Shape(dims.into())
    }

    pub fn dims(&self) -> &[u64] {
        &self.0
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements, or `None` on overflow.
    pub fn element_count(&self) -> Option<u64> {
        self.0.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// What the compiler knows of a tensor before reading it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Shape,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Shape) -> TensorType {
        TensorType { dtype, shape }
    }

    /// Bytes of the tensor's data, or `None` on overflow or a sub-byte dtype that does not fill
    /// whole bytes.
    pub fn byte_len(&self) -> Option<u64> {
        self.dtype.byte_len(self.shape.element_count()?)
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.dtype, self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_names_round_trip() {
        for dtype in DType::ALL {
            assert_eq!(
                DType::from_safetensors_name(dtype.safetensors_name()),
                Some(dtype)
            );
        }
        assert_eq!(DType::from_safetensors_name("f32"), None);
    }

    #[test]
    fn plan_names_follow_the_reference_aliases() {
        assert_eq!(DType::from_plan_name("Half"), Some(DType::F16));
        assert_eq!(DType::from_plan_name("bf16"), Some(DType::BF16));
        assert_eq!(DType::from_plan_name("FLOAT"), Some(DType::F32));
        assert_eq!(DType::from_plan_name("double"), Some(DType::F64));
        assert_eq!(DType::from_plan_name("long"), Some(DType::I64));
        assert_eq!(DType::from_plan_name("F8_E4M3"), Some(DType::F8_E4M3));
        assert_eq!(DType::from_plan_name("float128"), None);
        for dtype in DType::ALL {
            assert_eq!(DType::from_plan_name(dtype.plan_name()), Some(dtype));
        }
    }

    #[test]
    fn byte_lengths_respect_sub_byte_dtypes() {
        assert_eq!(DType::F4.byte_len(3), None);
        assert_eq!(DType::F4.byte_len(4), Some(2));
        assert_eq!(DType::F6_E2M3.byte_len(4), Some(3));
        assert_eq!(DType::BF16.byte_len(5), Some(10));
        assert_eq!(DType::F64.byte_len(u64::MAX), None);
        let t = TensorType::new(DType::F32, Shape::new(vec![]));
        assert_eq!(t.byte_len(), Some(4));
    }
}
