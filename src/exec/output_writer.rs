//! One output being filled, whatever its format: the writer behind each output of a run.
//!
//! [`OutputWriter::create`] receives the destination, the output's [`OutputKind`], its tensors
//! (name and type, in output order), its shard budget and metadata, and lays the file out before
//! the first node runs: safetensors through [`CheckpointWriter`], PyTorch and `.npz` through
//! [`ArchiveWriter`], and one `.npy` array through [`NpyWriter`]. Every writer takes bytes at any
//! offset of any tensor from any thread, refuses to publish until every byte arrived, and
//! publishes atomically (dropping it leaves the destination as it was). PyTorch and NumPy files
//! have no place for metadata, so the inputs' `__metadata__` and the provenance entries are
//! written to safetensors outputs only.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::output_kind::OutputKind;
use crate::io::numpy::header;
use crate::io::{
    check_not_input, ArchiveFormat, ArchiveWriter, CheckpointWriter, DestinationKind, IoError,
    OutputLayout, Staging, WriterOptions,
};
use crate::tensor::TensorType;

/// Bytes read at once when an input's bytes are copied into an archive or `.npy` output (those
/// writers take bytes from memory, so the copy goes through a buffer of this size).
const COPY_BUFFER_BYTES: usize = 4 << 20;

/// The writer of one output.
#[derive(Debug)]
pub enum OutputWriter {
    Safetensors(CheckpointWriter),
    Archive(ArchiveWriter),
    Npy(NpyWriter),
}

impl OutputWriter {
    pub fn create(
        destination: &str,
        kind: OutputKind,
        tensors: Vec<(String, TensorType)>,
        shard_bytes: Option<u64>,
        metadata: BTreeMap<String, String>,
        options: WriterOptions,
    ) -> Result<OutputWriter, IoError> {
        Ok(match kind {
            OutputKind::Torch => OutputWriter::Archive(ArchiveWriter::create(
                destination,
                ArchiveFormat::Torch,
                tensors,
                options,
            )?),
            OutputKind::Npz => OutputWriter::Archive(ArchiveWriter::create(
                destination,
                ArchiveFormat::Npz,
                tensors,
                options,
            )?),
            OutputKind::Npy => {
                OutputWriter::Npy(NpyWriter::create(destination, tensors, &options)?)
            }
            // DCP outputs are refused before a run starts; writing safetensors is the fallback
            // only so that this match needs no error of its own.
            OutputKind::Safetensors | OutputKind::Dcp => {
                let layout = OutputLayout::plan(tensors, shard_bytes)?;
                OutputWriter::Safetensors(CheckpointWriter::create(
                    destination,
                    layout,
                    metadata,
                    options,
                )?)
            }
        })
    }

    /// Writes `bytes` at `offset` within tensor `name`.
    pub fn write_at(&self, name: &str, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        match self {
            OutputWriter::Safetensors(writer) => writer.write_at(name, offset, bytes),
            OutputWriter::Archive(writer) => writer.write_at(name, offset, bytes),
            OutputWriter::Npy(writer) => writer.write_at(name, offset, bytes),
        }
    }

    /// Copies `len` bytes of `source` from `source_offset` to `offset` within tensor `name`.
    pub fn copy_from_file(
        &self,
        name: &str,
        offset: u64,
        source: &File,
        source_offset: u64,
        len: u64,
    ) -> Result<(), IoError> {
        if let OutputWriter::Safetensors(writer) = self {
            return writer.copy_from_file(name, offset, source, source_offset, len);
        }
        let mut buffer = vec![0u8; (len as usize).min(COPY_BUFFER_BYTES)];
        let mut done = 0u64;
        while done < len {
            let step = ((len - done) as usize).min(buffer.len());
            let chunk = &mut buffer[..step];
            source
                .read_exact_at(chunk, source_offset + done)
                .map_err(|error| IoError::os("read", Path::new("(input)"), error))?;
            self.write_at(name, offset + done, chunk)?;
            done += step as u64;
        }
        Ok(())
    }

    /// Checks that every byte was written and publishes the output.
    pub fn finish(self) -> Result<(), IoError> {
        match self {
            OutputWriter::Safetensors(writer) => writer.finish(),
            OutputWriter::Archive(writer) => writer.finish(),
            OutputWriter::Npy(writer) => writer.finish(),
        }
    }
}

/// One `.npy` array laid out in a temporary (NumPy's header, then the data at its final offset),
/// so its bytes can arrive in any order, as with the other writers.
#[derive(Debug)]
pub struct NpyWriter {
    name: String,
    len: u64,
    data_start: u64,
    written: AtomicU64,
    file: File,
    path: PathBuf,
    /// Declared last so the temporary is removed after the file is closed.
    staging: Staging,
}

impl NpyWriter {
    fn create(
        destination: &str,
        tensors: Vec<(String, TensorType)>,
        options: &WriterOptions,
    ) -> Result<NpyWriter, IoError> {
        let count = tensors.len();
        let Ok([(name, ty)]) = <[_; 1]>::try_from(tensors) else {
            return Err(IoError::UnknownOutputTensor {
                tensor: format!("(a .npy file holds one tensor, not {count})"),
            });
        };
        let descriptor =
            header::descriptor(ty.dtype).ok_or_else(|| IoError::UnsupportedOutputDtype {
                tensor: name.clone(),
                dtype: ty.dtype,
                format: "NumPy (.npy)",
            })?;
        let len = ty
            .byte_len()
            .ok_or_else(|| IoError::UnrepresentableOutputTensor {
                tensor: name.clone(),
                ty: ty.clone(),
            })?;
        let destination = Path::new(destination);
        check_not_input(destination, &options.inputs)?;
        let staging = Staging::create(destination, DestinationKind::File)?;
        let path = staging.path().to_path_buf();
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| IoError::os("create", &path, source))?;
        let lead = header::render(&descriptor, ty.shape.dims());
        let data_start = lead.len() as u64;
        file.write_all_at(&lead, 0)
            .and_then(|()| file.set_len(data_start + len))
            .map_err(|source| IoError::os("write", &path, source))?;
        Ok(NpyWriter {
            name,
            len,
            data_start,
            written: AtomicU64::new(0),
            file,
            path,
            staging,
        })
    }

    fn write_at(&self, name: &str, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        if name != self.name {
            return Err(IoError::UnknownOutputTensor {
                tensor: name.to_string(),
            });
        }
        let len = bytes.len() as u64;
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(IoError::WriteOutOfRange {
                tensor: name.to_string(),
                offset,
                len,
                tensor_len: self.len,
            });
        }
        self.file
            .write_all_at(bytes, self.data_start + offset)
            .map_err(|source| IoError::os("write", &self.path, source))?;
        let total = self.written.fetch_add(len, Ordering::AcqRel) + len;
        if total > self.len {
            return Err(IoError::TensorOverwritten {
                tensor: name.to_string(),
                written: total,
                tensor_len: self.len,
            });
        }
        Ok(())
    }

    fn finish(self) -> Result<(), IoError> {
        if self.written.load(Ordering::Acquire) != self.len {
            return Err(IoError::TensorsNotWritten {
                count: 1,
                first: self.name.clone(),
            });
        }
        self.file
            .sync_all()
            .map_err(|source| IoError::os("fsync", &self.path, source))?;
        let NpyWriter { file, staging, .. } = self;
        drop(file);
        staging.publish()
    }
}
