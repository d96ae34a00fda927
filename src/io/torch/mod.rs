//! PyTorch checkpoints (`torch.save`'s zip format), read without Python and written for
//! `torch.load(..., weights_only=True)`.
//!
//! Reading ([`open`]) receives a parsed zip archive: `<dir>/data.pkl` is run through the
//! allowlisting interpreter (`pickle.rs`; nothing from the file is ever executed), the state dict
//! is taken from its result (`state_dict.rs`), and each tensor is located in its storage member
//! `<dir>/data/<key>`. Members are stored uncompressed, so a tensor is a byte range of the mapped
//! file: a contiguous one is handed out without copying, a non-contiguous view (or one of several
//! views sharing a storage) is gathered when read. Every offset, size and stride is checked
//! against the storage here, before any tensor byte is trusted. Writing (`writer.rs`) produces
//! the same layout: a minimal pickle and 64-byte aligned stored members, published atomically.
//! The zip reader and writer (`zip.rs`, `zip_writer.rs`) serve `.npz` archives too.

mod calls;
mod globals;
mod inflate;
mod pickle;
mod pickle_writer;
mod state_dict;
mod value;
mod writer;
pub(crate) use inflate::inflate_exact;
pub(crate) mod zip;
pub(crate) mod zip_writer;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

pub use pickle::MAX_DEPTH;
pub use writer::{write_archive, write_torch, ArchiveFormat, ArchiveWriter};

use self::pickle::Problem;
use self::value::TensorRecord;
use self::zip::{Compression, ZipArchive, ZipEntry};
use super::format::{CheckpointFormat, FileContents};
use super::view::{is_row_major, strided_span};
use super::{DataLayout, IoError, TensorInfo};
use crate::tensor::{Shape, TensorType};

/// Reads the tensors of a PyTorch zip checkpoint whose archive has been parsed.
pub(crate) fn open(path: &Path, archive: ZipArchive<'_>) -> Result<FileContents, IoError> {
    let prefix = archive_prefix(path, &archive)?;
    check_byte_order(path, &archive, &prefix)?;
    check_version(path, &archive, &prefix)?;
    let pickle_entry = archive
        .find(&format!("{prefix}data.pkl"))
        .ok_or_else(|| invalid_archive(path, "it has no data.pkl"))?;
    let pickle = archive.contents(pickle_entry)?;
    let value = pickle::run(&pickle).map_err(|error| match error.problem {
        Problem::Malformed(problem) => IoError::InvalidPickle {
            path: path.into(),
            offset: error.offset,
            problem,
        },
        Problem::Disallowed(global) => IoError::DisallowedGlobal {
            path: path.into(),
            offset: error.offset,
            global,
        },
        Problem::Unsupported(name) => IoError::UnsupportedTorchType {
            path: path.into(),
            name,
        },
    })?;
    // A bare tensor is named after the file, as a `.npy` array is.
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let records = state_dict::tensors(&value, &stem).map_err(|problem| IoError::NotAStateDict {
        path: path.into(),
        problem,
    })?;
    let mut storages = StorageLocator {
        path,
        archive: &archive,
        prefix: &prefix,
        found: HashMap::new(),
    };
    let mut tensors = Vec::with_capacity(records.len());
    for (name, record) in records {
        let storage = storages.locate(&name, &record.storage.key)?;
        tensors.push(locate_tensor(path, name, &record, storage)?);
    }
    Ok(FileContents {
        format: CheckpointFormat::Torch,
        tensors,
        metadata: BTreeMap::new(),
        examined: archive.examined(),
    })
}

fn invalid_archive(path: &Path, problem: &str) -> IoError {
    IoError::InvalidArchive {
        path: path.into(),
        problem: problem.to_string(),
    }
}

/// The directory holding `data.pkl` (with its trailing `/`). `torch.save` names it after the
/// file's stem, so any one top-level directory is accepted; a bare `data.pkl` is too.
fn archive_prefix(path: &Path, archive: &ZipArchive<'_>) -> Result<String, IoError> {
    let mut prefixes = archive.entries().iter().filter_map(|entry| {
        let prefix = entry.name.strip_suffix("data.pkl")?;
        (prefix.is_empty() || (prefix.ends_with('/') && prefix.matches('/').count() == 1))
            .then(|| prefix.to_string())
    });
    let prefix = prefixes
        .next()
        .ok_or_else(|| invalid_archive(path, "it has no data.pkl"))?;
    if prefixes.next().is_some() {
        return Err(invalid_archive(
            path,
            "it holds several data.pkl pickles; a checkpoint has one",
        ));
    }
    Ok(prefix)
}

/// Refuses big-endian checkpoints (a missing `byteorder` member means little-endian, as torch
/// assumes for files from before the member existed).
fn check_byte_order(path: &Path, archive: &ZipArchive<'_>, prefix: &str) -> Result<(), IoError> {
    let Some(entry) = archive.find(&format!("{prefix}byteorder")) else {
        return Ok(());
    };
    let order = archive.contents(entry)?;
    match &*order {
        b"little" => Ok(()),
        b"big" => Err(IoError::UnsupportedArchiveEntry {
            path: path.into(),
            entry: entry.name.clone(),
            problem: "the checkpoint is big-endian; re-save it on a little-endian machine".into(),
        }),
        _ => Err(invalid_archive(
            path,
            "its byteorder member is neither `little` nor `big`",
        )),
    }
}

/// The `version` member, when present, must be a record-format number.
fn check_version(path: &Path, archive: &ZipArchive<'_>, prefix: &str) -> Result<(), IoError> {
    let Some(entry) = archive.find(&format!("{prefix}version")) else {
        return Ok(());
    };
    let text = archive.contents(entry)?;
    let valid = std::str::from_utf8(&text)
        .ok()
        .is_some_and(|text| text.trim().parse::<u32>().is_ok());
    if valid {
        Ok(())
    } else {
        Err(invalid_archive(path, "its version member is not a number"))
    }
}

/// Storage members found so far: file range and length.
struct StorageLocator<'a, 'b> {
    path: &'a Path,
    archive: &'a ZipArchive<'b>,
    prefix: &'a str,
    found: HashMap<String, (String, Range<u64>)>,
}

/// A storage's member name and file range.
struct StorageBytes<'a> {
    member: &'a str,
    range: Range<u64>,
}

impl StorageLocator<'_, '_> {
    fn locate(&mut self, tensor: &str, key: &str) -> Result<StorageBytes<'_>, IoError> {
        if !self.found.contains_key(key) {
            let member = format!("{}data/{key}", self.prefix);
            let entry: &ZipEntry =
                self.archive
                    .find(&member)
                    .ok_or_else(|| IoError::MissingStorage {
                        path: self.path.into(),
                        tensor: tensor.to_string(),
                        storage: member.clone(),
                    })?;
            if entry.compression != Compression::Stored {
                return Err(IoError::UnsupportedArchiveEntry {
                    path: self.path.into(),
                    entry: member,
                    problem:
                        "tensor storages must be stored uncompressed, as torch.save writes them"
                            .into(),
                });
            }
            let range = self.archive.data_range(entry)?;
            self.found.insert(key.to_string(), (member, range));
        }
        let (member, range) = &self.found[key];
        Ok(StorageBytes {
            member,
            range: range.clone(),
        })
    }
}

/// Checks a tensor's view against its storage and returns where its bytes are.
fn locate_tensor(
    path: &Path,
    name: String,
    record: &TensorRecord,
    storage: StorageBytes<'_>,
) -> Result<TensorInfo, IoError> {
    let invalid = |problem: String| IoError::InvalidTorchTensor {
        path: path.into(),
        tensor: name.clone(),
        problem,
    };
    let element_size = (record.dtype.bit_size() / 8) as u64;
    let ty = TensorType::new(record.dtype, Shape::new(record.shape.clone()));
    if ty.byte_len().is_none() {
        return Err(invalid(format!("{ty} has more bytes than can be counted")));
    }
    let available = storage.range.end - storage.range.start;
    let declared = match record.storage.dtype {
        Some(_) => record.storage.numel.checked_mul(element_size),
        None => Some(record.storage.numel),
    }
    .ok_or_else(|| invalid("its storage size overflows".into()))?;
    let too_short = |needed: u64, available: u64| IoError::StorageTooShort {
        path: path.into(),
        tensor: name.clone(),
        storage: storage.member.to_string(),
        needed,
        available,
    };
    if declared > available {
        return Err(too_short(declared, available));
    }
    let span = strided_span(&record.shape, &record.strides, element_size)
        .ok_or_else(|| invalid("its strides reach beyond any storage".into()))?;
    let start = record
        .offset
        .checked_mul(element_size)
        .ok_or_else(|| invalid("its storage offset overflows".into()))?;
    let end = start
        .checked_add(span)
        .ok_or_else(|| invalid("its storage offset overflows".into()))?;
    // An empty tensor reads nothing, wherever its offset points.
    if span > 0 && end > declared {
        return Err(too_short(end, declared));
    }
    let start = if span == 0 { 0 } else { start };
    let data = storage.range.start + start..storage.range.start + start + span;
    let layout = if is_row_major(&record.shape, &record.strides) {
        DataLayout::Contiguous
    } else {
        DataLayout::Strided {
            strides: record.strides.clone(),
        }
    };
    Ok(TensorInfo {
        name,
        ty,
        shard: 0,
        data,
        layout,
    })
}
