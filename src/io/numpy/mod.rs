//! NumPy arrays: one `.npy` file, or an `.npz` archive of them, read lazily and written.
//!
//! [`open_npy`] receives a mapped `.npy` file and returns its one tensor, named after the file's
//! stem (`wte.weight.npy` holds `wte.weight`). [`open_npz`] receives a parsed zip archive and
//! returns one tensor per `<name>.npy` member. Only headers are read at open: a stored member's
//! array is a range of the mapped file (zero-copy when C-ordered, gathered when Fortran-ordered),
//! a deflated one (`numpy.savez_compressed`) is inflated only when the tensor is read, and for it
//! opening inflates just enough of the stream to see the header. The data must be exactly as
//! long as the header says. Writing: [`write_npy`] writes one array file; `.npz` archives are
//! written by the shared archive writer (`ArchiveFormat::Npz`), as stored members.

pub mod header;
mod literal;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;

pub use header::MAGIC;
pub use writer::write_npy;

use super::format::{CheckpointFormat, FileContents};
use super::torch::zip::{Compression, ZipArchive, ZipEntry};
use super::view::is_row_major;
use super::{DataLayout, IoError, TensorInfo};
use crate::tensor::{Shape, TensorType};

/// The suffix of every array member of an `.npz` archive.
pub const MEMBER_SUFFIX: &str = ".npy";

fn invalid(path: &Path, array: &str, problem: impl Into<String>) -> IoError {
    IoError::InvalidNpy {
        path: path.into(),
        array: array.to_string(),
        problem: problem.into(),
    }
}

/// The type and storage order of an array, from its header.
fn array_type(
    path: &Path,
    array: &str,
    parsed: &header::NpyHeader,
) -> Result<(TensorType, u64), IoError> {
    let ty = TensorType::new(parsed.dtype, Shape::new(parsed.shape.clone()));
    let len = ty.byte_len().ok_or_else(|| {
        invalid(
            path,
            array,
            format!("{ty} has more bytes than can be counted"),
        )
    })?;
    Ok((ty, len))
}

/// Element strides of a Fortran-ordered array of `shape`, or `None` when that order is the same
/// as C order (one axis longer than 1 at most).
fn fortran_strides(shape: &[u64]) -> Option<Vec<u64>> {
    let mut strides = Vec::with_capacity(shape.len());
    let mut step = 1u64;
    for &length in shape {
        strides.push(step);
        step = step.saturating_mul(length);
    }
    (!is_row_major(shape, &strides)).then_some(strides)
}

/// One `.npy` file.
pub(crate) fn open_npy(path: &Path, bytes: &[u8]) -> Result<FileContents, IoError> {
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = header::required_len(bytes)
        .and_then(|len| header::parse(&bytes[..len.min(bytes.len())]))
        .map_err(|problem| invalid(path, &name, problem))?;
    let (ty, len) = array_type(path, &name, &parsed)?;
    let start = parsed.data_offset as u64;
    let available = bytes.len() as u64 - start.min(bytes.len() as u64);
    if available != len {
        return Err(invalid(
            path,
            &name,
            format!("{ty} takes {len} bytes, but {available} follow the header"),
        ));
    }
    let layout = match parsed
        .fortran_order
        .then(|| fortran_strides(&parsed.shape))
        .flatten()
    {
        Some(strides) => DataLayout::Strided { strides },
        None => DataLayout::Contiguous,
    };
    Ok(FileContents {
        format: CheckpointFormat::Npy,
        tensors: vec![TensorInfo {
            name,
            ty,
            shard: 0,
            data: start..start + len,
            layout,
        }],
        metadata: BTreeMap::new(),
        examined: start,
    })
}

/// Every array of an `.npz` archive.
pub(crate) fn open_npz(path: &Path, archive: ZipArchive<'_>) -> Result<FileContents, IoError> {
    let mut tensors = Vec::with_capacity(archive.entries().len());
    for entry in archive.entries() {
        let Some(name) = entry.name.strip_suffix(MEMBER_SUFFIX) else {
            return Err(invalid(
                path,
                &entry.name,
                "the archive holds a member that is not an `.npy` array (nor a PyTorch data.pkl)",
            ));
        };
        tensors.push(open_member(path, &archive, entry, name)?);
    }
    Ok(FileContents {
        format: CheckpointFormat::Npz,
        tensors,
        metadata: BTreeMap::new(),
        examined: archive.examined(),
    })
}

fn open_member(
    path: &Path,
    archive: &ZipArchive<'_>,
    entry: &ZipEntry,
    name: &str,
) -> Result<TensorInfo, IoError> {
    // The longest preamble is twelve bytes; it tells how long the header is.
    let start = archive.prefix(entry, 12)?;
    let header_len =
        header::required_len(&start).map_err(|problem| invalid(path, name, problem))?;
    let header_bytes = archive.prefix(entry, header_len)?;
    let parsed = header::parse(&header_bytes).map_err(|problem| invalid(path, name, problem))?;
    let (ty, len) = array_type(path, name, &parsed)?;
    let skip = parsed.data_offset as u64;
    if entry.inflated_len.checked_sub(skip) != Some(len) {
        return Err(invalid(
            path,
            name,
            format!(
                "{ty} takes {len} bytes, but the member holds {} after its {skip}-byte header",
                entry.inflated_len.saturating_sub(skip)
            ),
        ));
    }
    let strides = parsed
        .fortran_order
        .then(|| fortran_strides(&parsed.shape))
        .flatten();
    let range = archive.data_range(entry)?;
    let (data, layout) = match entry.compression {
        Compression::Stored => {
            let data = range.start + skip..range.start + skip + len;
            let layout = match strides {
                Some(strides) => DataLayout::Strided { strides },
                None => DataLayout::Contiguous,
            };
            (data, layout)
        }
        Compression::Deflated => (
            range,
            DataLayout::Deflated {
                inflated_len: entry.inflated_len,
                crc32: entry.crc32,
                skip,
                strides,
            },
        ),
        Compression::Other(method) => {
            return Err(IoError::UnsupportedArchiveEntry {
                path: path.into(),
                entry: entry.name.clone(),
                problem: format!("compression method {method} is not supported"),
            })
        }
    };
    Ok(TensorInfo {
        name: name.to_string(),
        ty,
        shard: 0,
        data,
        layout,
    })
}
