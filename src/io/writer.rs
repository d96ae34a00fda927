//! The streaming checkpoint writer.
//!
//! [`CheckpointWriter::create`] receives the destination, the complete [`OutputLayout`] and the
//! metadata. It writes every shard's header at once and sizes each file to its final length, so
//! tensors can then be filled in place with positioned writes, from any thread, in any order, whole
//! ([`CheckpointWriter::write_tensor`]) or in chunks ([`CheckpointWriter::write_at`],
//! [`TensorSink`]); no shard is ever held in memory. [`CheckpointWriter::finish`] checks that every
//! byte of every tensor was written, fsyncs, writes the index of a sharded output and publishes
//! atomically (see `publish.rs`); dropping the writer instead leaves the destination untouched.
//!
//! The destination is one file when its path ends in `.safetensors` (a sharded layout is then
//! refused), and a directory otherwise: `model.safetensors` unsharded, or shards plus
//! `model.safetensors.index.json`.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::index::{self, INDEX_FILE_NAME};
use super::layout::OutputLayout;
use super::publish::{check_not_input, DestinationKind, Staging};
use super::IoError;

/// Metadata key holding the version of brainsurgery that wrote the file.
pub const VERSION_KEY: &str = "brainsurgery.version";
/// Metadata key holding the hash of the resolved plan that produced the file.
pub const PLAN_HASH_KEY: &str = "brainsurgery.plan_hash";

/// The output metadata: the input's `__metadata__` carried over (Hugging Face loaders need its
/// `format: pt`), plus our provenance entries, which replace any the input carried.
pub fn output_metadata(
    input: &BTreeMap<String, String>,
    plan_hash: Option<&str>,
) -> BTreeMap<String, String> {
    let mut metadata = input.clone();
    metadata.insert(
        VERSION_KEY.to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    match plan_hash {
        Some(hash) => metadata.insert(PLAN_HASH_KEY.to_string(), hash.to_string()),
        None => metadata.remove(PLAN_HASH_KEY),
    };
    metadata
}

/// How to write, beyond what to write.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Paths being read by this run; a destination that is, contains or lies inside one of them is
    /// refused.
    pub inputs: Vec<PathBuf>,
    /// Test hook: once this many tensors are complete, every further write fails with
    /// [`IoError::InjectedFailure`], as a disk error would.
    pub fail_after_tensors: Option<u64>,
}

/// One output file being filled.
#[derive(Debug)]
struct ShardFile {
    file: File,
    path: PathBuf,
    /// Absolute offset of the data section (the header's length).
    data_start: u64,
}

#[derive(Debug)]
pub struct CheckpointWriter {
    layout: OutputLayout,
    metadata: BTreeMap<String, String>,
    /// One open file per shard, in layout order.
    files: Vec<ShardFile>,
    /// Bytes received so far per tensor, in layout order.
    written: Vec<AtomicU64>,
    completed: AtomicU64,
    fail_after_tensors: Option<u64>,
    /// Declared last so the temporary is removed after the files are closed.
    staging: Staging,
}

impl CheckpointWriter {
    /// Lays out every shard on disk (headers written, files sized) in a fresh temporary.
    pub fn create(
        destination: impl AsRef<Path>,
        layout: OutputLayout,
        metadata: BTreeMap<String, String>,
        options: WriterOptions,
    ) -> Result<CheckpointWriter, IoError> {
        let destination = destination.as_ref();
        let kind = if destination
            .extension()
            .is_some_and(|extension| extension == "safetensors")
        {
            DestinationKind::File
        } else {
            DestinationKind::Directory
        };
        if kind == DestinationKind::File && layout.is_sharded() {
            return Err(IoError::ShardedFileDestination {
                path: destination.to_path_buf(),
            });
        }
        check_not_input(destination, &options.inputs)?;
        let staging = Staging::create(destination, kind)?;

        let mut files = Vec::with_capacity(layout.shards().len());
        for (shard_index, shard) in layout.shards().iter().enumerate() {
            let path = match kind {
                DestinationKind::File => staging.path().to_path_buf(),
                DestinationKind::Directory => staging.path().join(&shard.file_name),
            };
            let header = layout.shard_header(shard_index, &metadata);
            let file = File::options()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|source| IoError::os("create", &path, source))?;
            file.write_all_at(&header, 0)
                .map_err(|source| IoError::os("write", &path, source))?;
            let data_start = header.len() as u64;
            // Sizing the file now lets tensors land at their final offsets in any order; the
            // file stays sparse until they do.
            file.set_len(data_start + shard.data_len)
                .map_err(|source| IoError::os("resize", &path, source))?;
            files.push(ShardFile {
                file,
                path,
                data_start,
            });
        }
        let written = layout.tensors().iter().map(|_| AtomicU64::new(0)).collect();
        Ok(CheckpointWriter {
            layout,
            metadata,
            files,
            written,
            completed: AtomicU64::new(0),
            fail_after_tensors: options.fail_after_tensors,
            staging,
        })
    }

    pub fn layout(&self) -> &OutputLayout {
        &self.layout
    }

    /// The metadata every shard's header carries.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Writes a whole tensor; `bytes` must be exactly its length.
    pub fn write_tensor(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        let position = self.position(name)?;
        let tensor_len = self.layout.tensors()[position].byte_len();
        if bytes.len() as u64 != tensor_len {
            return Err(IoError::WrongTensorLength {
                tensor: name.to_string(),
                expected: tensor_len,
                actual: bytes.len() as u64,
            });
        }
        self.write_at_position(position, 0, bytes)
    }

    /// Writes `bytes` at byte `offset` within tensor `name` (chunks may come in any order and from
    /// any thread, but each byte must be written once).
    pub fn write_at(&self, name: &str, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        let position = self.position(name)?;
        self.write_at_position(position, offset, bytes)
    }

    /// Copies `len` bytes of file `source` from byte `source_offset` to byte `offset` of tensor
    /// `name`, inside the kernel (`copy_file_range`, as `cp` does: no user-space buffer, no page
    /// of either file mapped into this process), falling back to positioned reads and writes
    /// where the file systems cannot do that. Bytes count as written exactly as with
    /// [`CheckpointWriter::write_at`].
    pub fn copy_from_file(
        &self,
        name: &str,
        offset: u64,
        source: &File,
        source_offset: u64,
        len: u64,
    ) -> Result<(), IoError> {
        let position = self.position(name)?;
        self.check_write(position, offset, len)?;
        let tensor = &self.layout.tensors()[position];
        let shard = &self.files[tensor.shard];
        copy_file_bytes(
            source,
            source_offset,
            &shard.file,
            shard.data_start + tensor.data.start + offset,
            len,
        )
        .map_err(|error| IoError::os("copy", &shard.path, error))?;
        self.record_written(position, len)
    }

    /// A sequential writer for one tensor, for producers that stream it in chunks.
    pub fn tensor_sink(&self, name: &str) -> Result<TensorSink<'_>, IoError> {
        let position = self.position(name)?;
        Ok(TensorSink {
            writer: self,
            position,
            offset: 0,
        })
    }

    /// Checks that every tensor is complete, makes the files durable and publishes them.
    pub fn finish(self) -> Result<(), IoError> {
        let incomplete: Vec<usize> = (0..self.written.len())
            .filter(|&i| {
                self.written[i].load(Ordering::Acquire) != self.layout.tensors()[i].byte_len()
            })
            .collect();
        if let Some(&first) = incomplete.first() {
            return Err(IoError::TensorsNotWritten {
                count: incomplete.len(),
                first: self.layout.tensors()[first].name.clone(),
            });
        }
        // Shards are flushed concurrently so the device sees all their writes at once, as it
        // would after a global `sync`, rather than one file's at a time.
        self.files.par_iter().try_for_each(|shard| {
            shard
                .file
                .sync_all()
                .map_err(|source| IoError::os("fsync", &shard.path, source))
        })?;
        if self.layout.is_sharded() {
            self.write_index()?;
        }
        let CheckpointWriter { files, staging, .. } = self;
        drop(files);
        staging.publish()
    }

    fn write_index(&self) -> Result<(), IoError> {
        let shards = self.layout.shards();
        let text = index::render(
            self.layout.total_bytes(),
            self.layout
                .tensors()
                .iter()
                .map(|t| (t.name.as_str(), shards[t.shard].file_name.as_str())),
        );
        let path = self.staging.path().join(INDEX_FILE_NAME);
        let file = File::create(&path).map_err(|source| IoError::os("create", &path, source))?;
        file.write_all_at(text.as_bytes(), 0)
            .and_then(|()| file.sync_all())
            .map_err(|source| IoError::os("write", &path, source))
    }

    fn position(&self, name: &str) -> Result<usize, IoError> {
        self.layout
            .position(name)
            .ok_or_else(|| IoError::UnknownOutputTensor {
                tensor: name.to_string(),
            })
    }

    fn write_at_position(&self, position: usize, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        let len = bytes.len() as u64;
        self.check_write(position, offset, len)?;
        let tensor = &self.layout.tensors()[position];
        let shard = &self.files[tensor.shard];
        shard
            .file
            .write_all_at(bytes, shard.data_start + tensor.data.start + offset)
            .map_err(|source| IoError::os("write", &shard.path, source))?;
        self.record_written(position, len)
    }

    /// Refuses a write outside the tensor, or any write once the test hook's limit is reached.
    fn check_write(&self, position: usize, offset: u64, len: u64) -> Result<(), IoError> {
        let tensor = &self.layout.tensors()[position];
        let tensor_len = tensor.byte_len();
        if offset.checked_add(len).is_none_or(|end| end > tensor_len) {
            return Err(IoError::WriteOutOfRange {
                tensor: tensor.name.clone(),
                offset,
                len,
                tensor_len,
            });
        }
        if let Some(after) = self.fail_after_tensors {
            if self.completed.load(Ordering::Acquire) >= after {
                return Err(IoError::InjectedFailure { after });
            }
        }
        Ok(())
    }

    /// Counts `len` more bytes of tensor `position` as written.
    fn record_written(&self, position: usize, len: u64) -> Result<(), IoError> {
        let tensor = &self.layout.tensors()[position];
        let tensor_len = tensor.byte_len();
        let total = self.written[position].fetch_add(len, Ordering::AcqRel) + len;
        if total > tensor_len {
            return Err(IoError::TensorOverwritten {
                tensor: tensor.name.clone(),
                written: total,
                tensor_len,
            });
        }
        if total == tensor_len {
            self.completed.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }
}

/// Copies `len` bytes between two files at the given offsets: `copy_file_range` while the kernel
/// accepts it, then (different file systems, old kernels) positioned reads and writes through a
/// bounded buffer.
fn copy_file_bytes(
    source: &File,
    mut source_offset: u64,
    target: &File,
    mut target_offset: u64,
    mut len: u64,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    while len > 0 {
        let mut from = source_offset as libc::off64_t;
        let mut to = target_offset as libc::off64_t;
        let step = len.min(1 << 30) as usize;
        // SAFETY: both descriptors are open files owned by the callers for the whole call, and
        // the offset pointers are valid locals the kernel updates.
        let copied = unsafe {
            libc::copy_file_range(
                source.as_raw_fd(),
                &mut from,
                target.as_raw_fd(),
                &mut to,
                step,
                0,
            )
        };
        if copied > 0 {
            source_offset += copied as u64;
            target_offset += copied as u64;
            len -= copied as u64;
            continue;
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) if copied < 0 => continue,
            Some(libc::EXDEV | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) if copied < 0 => {
                return copy_through_buffer(source, source_offset, target, target_offset, len)
            }
            _ if copied == 0 => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the source file ended before the copy did",
                ))
            }
            _ => return Err(error),
        }
    }
    Ok(())
}

fn copy_through_buffer(
    source: &File,
    mut source_offset: u64,
    target: &File,
    mut target_offset: u64,
    mut len: u64,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; len.min(8 << 20) as usize];
    while len > 0 {
        let step = len.min(buffer.len() as u64) as usize;
        source.read_exact_at(&mut buffer[..step], source_offset)?;
        target.write_all_at(&buffer[..step], target_offset)?;
        source_offset += step as u64;
        target_offset += step as u64;
        len -= step as u64;
    }
    Ok(())
}

/// Appends to one output tensor, chunk after chunk.
#[derive(Debug)]
pub struct TensorSink<'writer> {
    writer: &'writer CheckpointWriter,
    position: usize,
    offset: u64,
}

impl TensorSink<'_> {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), IoError> {
        self.writer
            .write_at_position(self.position, self.offset, bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written through this sink so far.
    pub fn written(&self) -> u64 {
        self.offset
    }
}
