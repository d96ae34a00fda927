//! Writing tensors into a zip archive: a PyTorch checkpoint or a NumPy `.npz`.
//!
//! [`ArchiveWriter::create`] receives the destination file, the [`ArchiveFormat`] and every
//! output tensor (name and type, in output order), and lays the archive out at once through
//! `zip_writer.rs`: for PyTorch, `archive/data.pkl` (the pickle of `pickle_writer.rs`),
//! `archive/byteorder` (`little`), one stored member `archive/data/<i>` per tensor and
//! `archive/version`; for NumPy, one `<name>.npy` member per tensor (its header, then the data).
//! Tensor bytes are then written in place, whole or in chunks, from any thread and in any order;
//! [`ArchiveWriter::finish`] refuses to publish until every byte is written, then checksums and
//! publishes atomically like every output (dropping the writer leaves the destination untouched).
//! `.format_version` and `.storage_alignment` are deliberately not written: with them, PyTorch
//! may compute storage offsets from its own layout instead of reading our headers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::pickle_writer;
use super::zip_writer::{MemberSpec, ZipWriter};
use crate::io::numpy::{self, MEMBER_SUFFIX};
use crate::io::{IoError, WriterOptions};
use crate::tensor::TensorType;

/// The directory PyTorch loaders find the records under (any single name works; this is what
/// `torch.save` uses for in-memory buffers).
const TORCH_PREFIX: &str = "archive";

/// Which kind of archive to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// A PyTorch checkpoint (`.pt`, `.pth`, `.bin`) of an `OrderedDict` of tensors.
    Torch,
    /// A NumPy `.npz` of arrays, stored uncompressed as `numpy.savez` writes them.
    Npz,
}

impl ArchiveFormat {
    fn label(self) -> &'static str {
        match self {
            ArchiveFormat::Torch => "PyTorch",
            ArchiveFormat::Npz => "NumPy (.npz)",
        }
    }
}

/// One output tensor's place in the archive.
#[derive(Debug)]
struct PlacedTensor {
    name: String,
    len: u64,
    /// Absolute file offset of the tensor's first byte.
    start: u64,
}

#[derive(Debug)]
pub struct ArchiveWriter {
    zip: ZipWriter,
    tensors: Vec<PlacedTensor>,
    by_name: HashMap<String, usize>,
    written: Vec<AtomicU64>,
    completed: AtomicU64,
    fail_after_tensors: Option<u64>,
}

impl ArchiveWriter {
    /// Lays the archive out in a fresh temporary beside `destination`.
    pub fn create(
        destination: impl AsRef<Path>,
        format: ArchiveFormat,
        tensors: Vec<(String, TensorType)>,
        options: WriterOptions,
    ) -> Result<ArchiveWriter, IoError> {
        let mut by_name = HashMap::with_capacity(tensors.len());
        let mut lengths = Vec::with_capacity(tensors.len());
        for (index, (name, ty)) in tensors.iter().enumerate() {
            if by_name.insert(name.clone(), index).is_some() {
                return Err(IoError::DuplicateOutputTensor {
                    tensor: name.clone(),
                });
            }
            let len = ty
                .byte_len()
                .ok_or_else(|| IoError::UnrepresentableOutputTensor {
                    tensor: name.clone(),
                    ty: ty.clone(),
                })?;
            lengths.push(len);
        }
        let (members, tensor_members) = match format {
            ArchiveFormat::Torch => torch_members(&tensors, &lengths)?,
            ArchiveFormat::Npz => npz_members(&tensors, &lengths)?,
        };
        let zip = ZipWriter::create(destination.as_ref(), members.clone(), &options.inputs)?;
        let placed = tensors
            .into_iter()
            .zip(lengths)
            .zip(tensor_members)
            .map(|(((name, _), len), member)| PlacedTensor {
                name,
                len,
                start: zip.content_start(member) + members[member].lead.len() as u64,
            })
            .collect::<Vec<_>>();
        let written = placed.iter().map(|_| AtomicU64::new(0)).collect();
        Ok(ArchiveWriter {
            zip,
            tensors: placed,
            by_name,
            written,
            completed: AtomicU64::new(0),
            fail_after_tensors: options.fail_after_tensors,
        })
    }

    /// Writes a whole tensor; `bytes` must be exactly its length.
    pub fn write_tensor(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        let position = self.position(name)?;
        let expected = self.tensors[position].len;
        if bytes.len() as u64 != expected {
            return Err(IoError::WrongTensorLength {
                tensor: name.to_string(),
                expected,
                actual: bytes.len() as u64,
            });
        }
        self.write_at_position(position, 0, bytes)
    }

    /// Writes `bytes` at byte `offset` within tensor `name` (each byte must be written once).
    pub fn write_at(&self, name: &str, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        let position = self.position(name)?;
        self.write_at_position(position, offset, bytes)
    }

    /// Checks that every tensor is complete, then finishes and publishes the archive.
    pub fn finish(self) -> Result<(), IoError> {
        let incomplete: Vec<usize> = (0..self.tensors.len())
            .filter(|&i| self.written[i].load(Ordering::Acquire) != self.tensors[i].len)
            .collect();
        if let Some(&first) = incomplete.first() {
            return Err(IoError::TensorsNotWritten {
                count: incomplete.len(),
                first: self.tensors[first].name.clone(),
            });
        }
        self.zip.finish()
    }

    fn position(&self, name: &str) -> Result<usize, IoError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| IoError::UnknownOutputTensor {
                tensor: name.to_string(),
            })
    }

    fn write_at_position(&self, position: usize, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        let tensor = &self.tensors[position];
        let len = bytes.len() as u64;
        if offset.checked_add(len).is_none_or(|end| end > tensor.len) {
            return Err(IoError::WriteOutOfRange {
                tensor: tensor.name.clone(),
                offset,
                len,
                tensor_len: tensor.len,
            });
        }
        if let Some(after) = self.fail_after_tensors {
            if self.completed.load(Ordering::Acquire) >= after {
                return Err(IoError::InjectedFailure { after });
            }
        }
        self.zip.write_at(tensor.start + offset, bytes)?;
        let total = self.written[position].fetch_add(len, Ordering::AcqRel) + len;
        if total > tensor.len {
            return Err(IoError::TensorOverwritten {
                tensor: tensor.name.clone(),
                written: total,
                tensor_len: tensor.len,
            });
        }
        if total == tensor.len {
            self.completed.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }
}

/// Members of a PyTorch checkpoint, and the member each tensor's bytes go to.
fn torch_members(
    tensors: &[(String, TensorType)],
    lengths: &[u64],
) -> Result<(Vec<MemberSpec>, Vec<usize>), IoError> {
    let pickle =
        pickle_writer::state_dict(tensors).map_err(|refused| IoError::UnsupportedOutputDtype {
            tensor: refused.tensor,
            dtype: refused.dtype,
            format: ArchiveFormat::Torch.label(),
        })?;
    let small = |name: &str, lead: &[u8]| MemberSpec {
        name: format!("{TORCH_PREFIX}/{name}"),
        lead: lead.to_vec(),
        body_len: 0,
    };
    let mut members = vec![small("data.pkl", &pickle), small("byteorder", b"little")];
    let first_storage = members.len();
    members.extend(lengths.iter().enumerate().map(|(key, &len)| MemberSpec {
        name: format!("{TORCH_PREFIX}/data/{key}"),
        lead: Vec::new(),
        body_len: len,
    }));
    // The record-format version torch.save writes today.
    members.push(small("version", b"3\n"));
    Ok((
        members,
        (first_storage..first_storage + lengths.len()).collect(),
    ))
}

/// Members of an `.npz`: one `.npy` per tensor.
fn npz_members(
    tensors: &[(String, TensorType)],
    lengths: &[u64],
) -> Result<(Vec<MemberSpec>, Vec<usize>), IoError> {
    let mut members = Vec::with_capacity(tensors.len());
    for ((name, ty), &len) in tensors.iter().zip(lengths) {
        let descr =
            numpy::header::descriptor(ty.dtype).ok_or_else(|| IoError::UnsupportedOutputDtype {
                tensor: name.clone(),
                dtype: ty.dtype,
                format: ArchiveFormat::Npz.label(),
            })?;
        members.push(MemberSpec {
            name: format!("{name}{MEMBER_SUFFIX}"),
            lead: numpy::header::render(&descr, ty.shape.dims()),
            body_len: len,
        });
    }
    Ok((members, (0..tensors.len()).collect()))
}

/// Writes `tensors` (name, type, bytes) to `destination` as one archive of `format`.
pub fn write_archive<B: AsRef<[u8]>>(
    destination: impl AsRef<Path>,
    format: ArchiveFormat,
    tensors: &[(String, TensorType, B)],
    options: WriterOptions,
) -> Result<(), IoError> {
    let layout = tensors
        .iter()
        .map(|(name, ty, _)| (name.clone(), ty.clone()))
        .collect();
    let writer = ArchiveWriter::create(destination, format, layout, options)?;
    for (name, _, bytes) in tensors {
        writer.write_tensor(name, bytes.as_ref())?;
    }
    writer.finish()
}

/// Writes `tensors` (name, type, bytes) to `destination` as a PyTorch checkpoint.
pub fn write_torch<B: AsRef<[u8]>>(
    destination: impl AsRef<Path>,
    tensors: &[(String, TensorType, B)],
    options: WriterOptions,
) -> Result<(), IoError> {
    write_archive(destination, ArchiveFormat::Torch, tensors, options)
}
