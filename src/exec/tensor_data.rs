//! Plain tensor data as kernels take and return it: a [`TensorType`] and little-endian bytes.
//!
//! [`TensorView`] borrows its bytes (typically straight from a memory-mapped safetensors file),
//! [`TensorData`] owns them. Both are built only through constructors that check the byte length
//! against the type, so every kernel may rely on `bytes.len() == ty.byte_len()` and on the length
//! fitting in `usize`. Bytes are in the safetensors layout (row-major, little-endian); kernels
//! decode them with `from_le_bytes`, so no alignment is ever assumed.

use super::error::KernelError;
use crate::tensor::{DType, Shape, TensorType};

/// A borrowed tensor: its type and exactly `ty.byte_len()` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView<'a> {
    ty: TensorType,
    bytes: &'a [u8],
}

impl<'a> TensorView<'a> {
    /// Checks that `bytes` has the length `ty` requires.
    pub fn new(ty: TensorType, bytes: &'a [u8]) -> Result<TensorView<'a>, KernelError> {
        let expected = byte_len(&ty)?;
        if bytes.len() != expected {
            return Err(KernelError::ByteLength {
                ty,
                expected: expected as u64,
                actual: bytes.len(),
            });
        }
        Ok(TensorView { ty, bytes })
    }

    pub fn ty(&self) -> &TensorType {
        &self.ty
    }

    pub fn dtype(&self) -> DType {
        self.ty.dtype
    }

    pub fn shape(&self) -> &Shape {
        &self.ty.shape
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of elements (fits in `usize`, as the bytes are in memory).
    pub fn element_count(&self) -> usize {
        element_count_unchecked(&self.ty)
    }

    /// The same bytes under another type of equal byte length (a zero-copy reshape).
    pub fn with_type(&self, ty: TensorType) -> Result<TensorView<'a>, KernelError> {
        TensorView::new(ty, self.bytes)
    }

    /// An owned copy.
    pub fn to_data(&self) -> TensorData {
        TensorData {
            ty: self.ty.clone(),
            bytes: self.bytes.to_vec(),
        }
    }
}

/// An owned tensor: its type and exactly `ty.byte_len()` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    ty: TensorType,
    bytes: Vec<u8>,
}

impl TensorData {
    /// Checks that `bytes` has the length `ty` requires.
    pub fn new(ty: TensorType, bytes: Vec<u8>) -> Result<TensorData, KernelError> {
        let expected = byte_len(&ty)?;
        if bytes.len() != expected {
            return Err(KernelError::ByteLength {
                ty,
                expected: expected as u64,
                actual: bytes.len(),
            });
        }
        Ok(TensorData { ty, bytes })
    }

    /// A tensor of `ty` whose bytes are all zero (the value zero in every numeric dtype).
    pub fn zeroed(ty: TensorType) -> Result<TensorData, KernelError> {
        let length = byte_len(&ty)?;
        Ok(TensorData {
            ty,
            bytes: vec![0; length],
        })
    }

    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            ty: self.ty.clone(),
            bytes: &self.bytes,
        }
    }

    pub fn ty(&self) -> &TensorType {
        &self.ty
    }

    pub fn dtype(&self) -> DType {
        self.ty.dtype
    }

    pub fn shape(&self) -> &Shape {
        &self.ty.shape
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable bytes; the length cannot change, so the invariant holds.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn into_parts(self) -> (TensorType, Vec<u8>) {
        (self.ty, self.bytes)
    }

    /// The same bytes under another type of equal byte length (a zero-copy reshape).
    pub fn with_type(self, ty: TensorType) -> Result<TensorData, KernelError> {
        TensorData::new(ty, self.bytes)
    }

    pub fn element_count(&self) -> usize {
        element_count_unchecked(&self.ty)
    }
}

/// Byte length of `ty` as a `usize`, or an error when it overflows or is not whole bytes.
pub(crate) fn byte_len(ty: &TensorType) -> Result<usize, KernelError> {
    ty.byte_len()
        .and_then(|length| usize::try_from(length).ok())
        .ok_or_else(|| KernelError::TooLarge { ty: ty.clone() })
}

/// Element count of a type already known to fit in memory (a view or data of it exists).
fn element_count_unchecked(ty: &TensorType) -> usize {
    ty.shape.element_count().unwrap_or(0) as usize
}

/// The number of bytes of one element, or an error for the sub-byte dtypes (F4, F6), which
/// byte-level kernels cannot address element by element.
pub(crate) fn element_size(op: &'static str, dtype: DType) -> Result<usize, KernelError> {
    let bits = dtype.bit_size();
    if !bits.is_multiple_of(8) {
        return Err(KernelError::UnsupportedDType { op, dtype });
    }
    Ok(bits / 8)
}
