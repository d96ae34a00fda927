//! The values a run passes between nodes: a tensor type and bytes that are either a file's
//! mapped pages or a buffer the run computed.
//!
//! A [`Value`] is cheap to clone: mapped bytes are a borrowed slice of a [`Checkpoint`]'s map, and
//! computed bytes are an [`Arc`] of a [`Buffer`] that owns the [`Reservation`] taken for it, so the
//! bytes go back to the memory budget exactly when the last value (or view) using the buffer is
//! dropped. Views (`reshape`, contiguous slices) share their operand's bytes under another type.
//! [`Value::release`] drops the pages of a mapped sub-slice once a reader is done with it; for a
//! computed buffer it does nothing (the buffer is freed as a whole).

use std::ops::Range;
use std::sync::Arc;

use super::budget::Reservation;
use super::error::KernelError;
use super::tensor_data::TensorView;
use crate::io::Checkpoint;
use crate::tensor::TensorType;

/// Bytes a run computed, with the budget they were reserved from.
#[derive(Debug)]
pub struct Buffer {
    bytes: Vec<u8>,
    _reservation: Option<Reservation>,
}

impl Buffer {
    pub fn new(bytes: Vec<u8>, reservation: Option<Reservation>) -> Buffer {
        Buffer {
            bytes,
            _reservation: reservation,
        }
    }
}

#[derive(Debug, Clone)]
enum Bytes<'a> {
    Mapped {
        bytes: &'a [u8],
        checkpoint: &'a Checkpoint,
    },
    Computed {
        buffer: Arc<Buffer>,
        range: Range<usize>,
    },
}

/// A tensor value: its type and its bytes (exactly `ty.byte_len()` of them).
#[derive(Debug, Clone)]
pub struct Value<'a> {
    ty: TensorType,
    bytes: Bytes<'a>,
}

impl<'a> Value<'a> {
    /// A tensor's bytes in a checkpoint's map.
    pub fn mapped(
        ty: TensorType,
        bytes: &'a [u8],
        checkpoint: &'a Checkpoint,
    ) -> Result<Value<'a>, KernelError> {
        TensorView::new(ty.clone(), bytes)?;
        Ok(Value {
            ty,
            bytes: Bytes::Mapped { bytes, checkpoint },
        })
    }

    /// A computed tensor.
    pub fn computed(ty: TensorType, buffer: Buffer) -> Result<Value<'a>, KernelError> {
        TensorView::new(ty.clone(), &buffer.bytes)?;
        let range = 0..buffer.bytes.len();
        Ok(Value {
            ty,
            bytes: Bytes::Computed {
                buffer: Arc::new(buffer),
                range,
            },
        })
    }

    pub fn ty(&self) -> &TensorType {
        &self.ty
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { bytes, .. } => bytes,
            Bytes::Computed { buffer, range } => &buffer.bytes[range.clone()],
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped { .. })
    }

    /// The value as a kernel input (the constructors checked the length, so this succeeds).
    pub fn view(&self) -> Result<TensorView<'_>, KernelError> {
        TensorView::new(self.ty.clone(), self.bytes())
    }

    /// The same bytes under another type of the same byte length (a reshape).
    pub fn with_type(&self, ty: TensorType) -> Result<Value<'a>, KernelError> {
        TensorView::new(ty.clone(), self.bytes())?;
        Ok(Value {
            ty,
            bytes: self.bytes.clone(),
        })
    }

    /// A contiguous byte range of this value as a value of type `ty` (a contiguous slice).
    pub fn sub_range(&self, range: Range<usize>, ty: TensorType) -> Result<Value<'a>, KernelError> {
        let whole = self.bytes().len();
        if range.start > range.end || range.end > whole {
            return Err(KernelError::InvalidArgument {
                op: "slice",
                reason: format!("byte range {range:?} is outside the {whole} bytes of its base"),
            });
        }
        let bytes = match &self.bytes {
            Bytes::Mapped { bytes, checkpoint } => Bytes::Mapped {
                bytes: &bytes[range],
                checkpoint,
            },
            Bytes::Computed {
                buffer,
                range: outer,
            } => Bytes::Computed {
                buffer: Arc::clone(buffer),
                range: outer.start + range.start..outer.start + range.end,
            },
        };
        let value = Value { ty, bytes };
        TensorView::new(value.ty.clone(), value.bytes())?;
        Ok(value)
    }

    /// For file pages: the checkpoint they belong to and the bytes (so a copy can go file to file).
    pub fn file_bytes(&self) -> Option<(&'a Checkpoint, &'a [u8])> {
        match &self.bytes {
            Bytes::Mapped { bytes, checkpoint } => Some((checkpoint, bytes)),
            Bytes::Computed { .. } => None,
        }
    }

    /// Drops the resident pages of `part`, a sub-slice of [`Value::bytes`], when they are mapped
    /// file pages; they are read again from the file if needed.
    pub fn release(&self, part: &[u8]) {
        if let Bytes::Mapped { checkpoint, .. } = &self.bytes {
            checkpoint.release_bytes(part);
        }
    }

    /// Drops all of this value's resident mapped pages.
    pub fn release_all(&self) {
        self.release(self.bytes());
    }
}
