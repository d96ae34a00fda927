//! Writing one array as an `.npy` file.
//!
//! [`write_npy`] receives the destination, the tensor's name (for error messages), type and
//! bytes, and writes NumPy's own header (version 1.0, data 64-byte aligned) followed by the data,
//! published atomically like every output. Dtypes NumPy lacks (bfloat16, the float8 and sub-byte
//! formats) are refused rather than silently converted.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::header;
use crate::io::publish::{check_not_input, DestinationKind, Staging};
use crate::io::{IoError, WriterOptions};
use crate::tensor::TensorType;

/// Writes `bytes`, a tensor of type `ty`, as the `.npy` file `destination`.
pub fn write_npy(
    destination: impl AsRef<Path>,
    name: &str,
    ty: &TensorType,
    bytes: &[u8],
    options: &WriterOptions,
) -> Result<(), IoError> {
    let destination = destination.as_ref();
    let descr = header::descriptor(ty.dtype).ok_or_else(|| IoError::UnsupportedOutputDtype {
        tensor: name.to_string(),
        dtype: ty.dtype,
        format: "NumPy (.npy)",
    })?;
    let expected = ty
        .byte_len()
        .ok_or_else(|| IoError::UnrepresentableOutputTensor {
            tensor: name.to_string(),
            ty: ty.clone(),
        })?;
    if bytes.len() as u64 != expected {
        return Err(IoError::WrongTensorLength {
            tensor: name.to_string(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    check_not_input(destination, &options.inputs)?;
    let staging = Staging::create(destination, DestinationKind::File)?;
    let path = staging.path().to_path_buf();
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| IoError::os("create", &path, source))?;
    file.write_all(&header::render(&descr, ty.shape.dims()))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|source| IoError::os("write", &path, source))?;
    drop(file);
    staging.publish()
}
