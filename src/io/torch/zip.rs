//! A zip reader over a memory-mapped file: the central directory, and members viewed in place.
//!
//! [`ZipArchive::parse`] receives the whole file as bytes (a map, of which only the end records
//! and the central directory are touched) and returns the member list; ZIP64 archives (every
//! PyTorch checkpoint carries the ZIP64 end records, and members above 4 GiB need them) are read
//! too. [`ZipArchive::data_range`] reads one member's local header to find where its bytes start,
//! so a stored member is used without copying; [`ZipArchive::contents`] returns a whole member,
//! inflating a deflated one (checked against its size and CRC-32). Every offset and length is
//! checked against the file before use, and every byte these functions look at is counted
//! ([`ZipArchive::examined`]) so tests can prove that opening reads only the archive's structure.
//! Multi-disk and encrypted archives are refused.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::inflate::{inflate_member, inflate_prefix};
use crate::io::IoError;

const END_SIGNATURE: u32 = 0x0605_4b50;
const END_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_END_LEN: usize = 56;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
pub(crate) const LOCAL_LEN: usize = 30;
/// The extra-field id of ZIP64 sizes and offsets.
pub(crate) const ZIP64_EXTRA_ID: u16 = 0x0001;
/// The largest comment an end record can announce, which bounds the backward search for it.
const MAX_COMMENT: usize = u16::MAX as usize;
/// DEFLATE cannot expand data more than about 1032 times (a 258-byte match per ~2 bits); a
/// member claiming more is corrupt, and refusing it keeps a forged size from making a read
/// allocate without bound.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// How a member's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Stored,
    Deflated,
    /// Any other method number; refused when the member is used.
    Other(u16),
}

/// One member as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub compression: Compression,
    pub compressed_len: u64,
    pub inflated_len: u64,
    pub crc32: u32,
    encrypted: bool,
    local_header: u64,
}

#[derive(Debug)]
pub struct ZipArchive<'a> {
    path: PathBuf,
    bytes: &'a [u8],
    entries: Vec<ZipEntry>,
    by_name: HashMap<String, usize>,
    /// Where the central directory starts: member data must end before it.
    directory_start: u64,
    examined: Cell<u64>,
}

/// Reads little-endian integers at fixed offsets of a slice whose length the caller checked.
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Where the central directory is and how many members it lists.
struct Directory {
    start: u64,
    len: u64,
    count: u64,
}

impl<'a> ZipArchive<'a> {
    /// Parses the end records and the central directory; member data is not touched.
    pub fn parse(path: &Path, bytes: &'a [u8]) -> Result<ZipArchive<'a>, IoError> {
        let mut archive = ZipArchive {
            path: path.to_path_buf(),
            bytes,
            entries: Vec::new(),
            by_name: HashMap::new(),
            directory_start: 0,
            examined: Cell::new(0),
        };
        let end = archive.find_end()?;
        let directory = archive.directory(end)?;
        archive.directory_start = directory.start;
        archive.read_directory(&directory)?;
        Ok(archive)
    }

    /// Every member, in directory order.
    pub fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    pub fn find(&self, name: &str) -> Option<&ZipEntry> {
        self.by_name.get(name).map(|&index| &self.entries[index])
    }

    /// Bytes of the file looked at so far (end records, directory, local headers, contents).
    pub fn examined(&self) -> u64 {
        self.examined.get()
    }

    fn invalid(&self, problem: impl Into<String>) -> IoError {
        IoError::InvalidArchive {
            path: self.path.clone(),
            problem: problem.into(),
        }
    }

    fn unsupported(&self, entry: &ZipEntry, problem: impl Into<String>) -> IoError {
        IoError::UnsupportedArchiveEntry {
            path: self.path.clone(),
            entry: entry.name.clone(),
            problem: problem.into(),
        }
    }

    /// The bytes `start..start + len`, counted, or `None` when they are not all in the file.
    fn slice(&self, start: u64, len: u64) -> Option<&'a [u8]> {
        let end = start.checked_add(len)?;
        let range = usize::try_from(start).ok()?..usize::try_from(end).ok()?;
        let bytes = self.bytes.get(range)?;
        self.examined.set(self.examined.get() + len);
        Some(bytes)
    }

    /// The offset of the end-of-central-directory record, searched backwards over the comment.
    fn find_end(&self) -> Result<usize, IoError> {
        let truncated = || {
            self.invalid(
                "it has no end-of-central-directory record (the file is probably truncated)",
            )
        };
        let Some(last) = self.bytes.len().checked_sub(END_LEN) else {
            return Err(truncated());
        };
        let first = last.saturating_sub(MAX_COMMENT);
        for at in (first..=last).rev() {
            if u32_at(self.bytes, at) == END_SIGNATURE {
                let comment = u16_at(self.bytes, at + 20) as usize;
                if at + END_LEN + comment <= self.bytes.len() {
                    self.examined
                        .set(self.examined.get() + (self.bytes.len() - at) as u64);
                    return Ok(at);
                }
            }
        }
        self.examined
            .set(self.examined.get() + (self.bytes.len() - first) as u64);
        Err(truncated())
    }

    /// The directory's place, from the ZIP64 end record when a locator precedes the end record.
    fn directory(&self, end: usize) -> Result<Directory, IoError> {
        let record = &self.bytes[end..end + END_LEN];
        if u16_at(record, 4) != 0 || u16_at(record, 6) != 0 {
            return Err(self.invalid("multi-disk archives are not supported"));
        }
        let mut directory = Directory {
            count: u64::from(u16_at(record, 10)),
            len: u64::from(u32_at(record, 12)),
            start: u64::from(u32_at(record, 16)),
        };
        let mut directory_limit = end as u64;
        let locator = end
            .checked_sub(ZIP64_LOCATOR_LEN)
            .and_then(|at| self.slice(at as u64, ZIP64_LOCATOR_LEN as u64))
            .filter(|locator| u32_at(locator, 0) == ZIP64_LOCATOR_SIGNATURE);
        if let Some(locator) = locator {
            let record_start = u64_at(locator, 8);
            let zip64 = self
                .slice(record_start, ZIP64_END_LEN as u64)
                .filter(|record| u32_at(record, 0) == ZIP64_END_SIGNATURE)
                .ok_or_else(|| self.invalid("the ZIP64 end record is missing or out of range"))?;
            if u32_at(zip64, 16) != 0 || u32_at(zip64, 20) != 0 {
                return Err(self.invalid("multi-disk archives are not supported"));
            }
            directory = Directory {
                count: u64_at(zip64, 32),
                len: u64_at(zip64, 40),
                start: u64_at(zip64, 48),
            };
            directory_limit = record_start;
        }
        let fits = directory
            .start
            .checked_add(directory.len)
            .is_some_and(|directory_end| directory_end <= directory_limit);
        if !fits {
            return Err(self.invalid(format!(
                "the central directory ({} bytes at offset {}) lies outside the file",
                directory.len, directory.start
            )));
        }
        // Each record takes at least CENTRAL_LEN bytes, which bounds the count before allocating.
        if directory.count > directory.len / CENTRAL_LEN as u64 {
            return Err(self.invalid(format!(
                "the directory claims {} members in {} bytes",
                directory.count, directory.len
            )));
        }
        Ok(directory)
    }

    fn read_directory(&mut self, directory: &Directory) -> Result<(), IoError> {
        let table = self
            .slice(directory.start, directory.len)
            .ok_or_else(|| self.invalid("the central directory lies outside the file"))?;
        let mut at = 0usize;
        for index in 0..directory.count {
            let record = table
                .get(at..at + CENTRAL_LEN)
                .filter(|record| u32_at(record, 0) == CENTRAL_SIGNATURE)
                .ok_or_else(|| {
                    self.invalid(format!(
                        "directory record {index} is truncated or malformed"
                    ))
                })?;
            let name_len = u16_at(record, 28) as usize;
            let extra_len = u16_at(record, 30) as usize;
            let comment_len = u16_at(record, 32) as usize;
            let variable = at + CENTRAL_LEN;
            let name = table.get(variable..variable + name_len);
            let extra = table.get(variable + name_len..variable + name_len + extra_len);
            let (Some(name), Some(extra)) = (name, extra) else {
                return Err(self.invalid(format!("directory record {index} is truncated")));
            };
            let entry = self.entry(record, name, extra)?;
            if self
                .by_name
                .insert(entry.name.clone(), self.entries.len())
                .is_some()
            {
                return Err(self.invalid(format!("member `{}` appears twice", entry.name)));
            }
            self.entries.push(entry);
            at = variable + name_len + extra_len + comment_len;
        }
        Ok(())
    }

    /// One directory record; sizes and offset come from the ZIP64 extra field where the record
    /// holds the 0xFFFFFFFF placeholder.
    fn entry(&self, record: &[u8], name: &[u8], extra: &[u8]) -> Result<ZipEntry, IoError> {
        let name = String::from_utf8_lossy(name).into_owned();
        let mut inflated_len = u64::from(u32_at(record, 24));
        let mut compressed_len = u64::from(u32_at(record, 20));
        let mut local_header = u64::from(u32_at(record, 42));
        let placeholders = [
            inflated_len == u64::from(u32::MAX),
            compressed_len == u64::from(u32::MAX),
            local_header == u64::from(u32::MAX),
        ];
        if placeholders.contains(&true) {
            let values = zip64_field(extra).ok_or_else(|| {
                self.invalid(format!("member `{name}` lacks its ZIP64 size field"))
            })?;
            let mut values = values.chunks_exact(8).map(|word| u64_at(word, 0));
            for (needed, field) in placeholders.into_iter().zip([
                &mut inflated_len,
                &mut compressed_len,
                &mut local_header,
            ]) {
                if needed {
                    *field = values.next().ok_or_else(|| {
                        self.invalid(format!("member `{name}` has a short ZIP64 size field"))
                    })?;
                }
            }
        }
        let compression = match u16_at(record, 10) {
            0 => Compression::Stored,
            8 => Compression::Deflated,
            other => Compression::Other(other),
        };
        let limit = compressed_len
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(1024);
        if compression == Compression::Deflated && inflated_len > limit {
            return Err(self.invalid(format!(
                "member `{name}` claims {inflated_len} bytes from {compressed_len} compressed ones, more than DEFLATE can produce"
            )));
        }
        Ok(ZipEntry {
            name,
            compression,
            compressed_len,
            inflated_len,
            crc32: u32_at(record, 16),
            encrypted: u16_at(record, 8) & 1 == 1,
            local_header,
        })
    }

    /// The file range of a member's (possibly compressed) bytes, found through its local header.
    pub fn data_range(&self, entry: &ZipEntry) -> Result<Range<u64>, IoError> {
        if entry.encrypted {
            return Err(self.unsupported(entry, "it is encrypted"));
        }
        let header = self
            .slice(entry.local_header, LOCAL_LEN as u64)
            .filter(|header| u32_at(header, 0) == LOCAL_SIGNATURE)
            .ok_or_else(|| {
                self.invalid(format!(
                    "member `{}` has no local header at offset {}",
                    entry.name, entry.local_header
                ))
            })?;
        let variable = u64::from(u16_at(header, 26)) + u64::from(u16_at(header, 28));
        let start = entry.local_header + LOCAL_LEN as u64 + variable;
        let end = start
            .checked_add(entry.compressed_len)
            .filter(|&end| end <= self.directory_start)
            .ok_or_else(|| {
                self.invalid(format!(
                    "member `{}` ({} bytes from offset {start}) runs past the end of the data",
                    entry.name, entry.compressed_len
                ))
            })?;
        Ok(start..end)
    }

    /// A whole member: borrowed when stored, inflated (and checked) when deflated. Its bytes are
    /// counted as examined.
    pub fn contents(&self, entry: &ZipEntry) -> Result<Cow<'a, [u8]>, IoError> {
        let range = self.data_range(entry)?;
        let bytes = self
            .slice(range.start, range.end - range.start)
            .ok_or_else(|| self.invalid(format!("member `{}` is out of range", entry.name)))?;
        match entry.compression {
            Compression::Stored if entry.inflated_len == entry.compressed_len => {
                Ok(Cow::Borrowed(bytes))
            }
            Compression::Stored => Err(self.invalid(format!(
                "stored member `{}` has different compressed and inflated sizes",
                entry.name
            ))),
            Compression::Deflated => inflate_member(&self.path, entry, bytes).map(Cow::Owned),
            Compression::Other(method) => Err(self.unsupported(
                entry,
                format!("compression method {method} is not supported"),
            )),
        }
    }

    /// The first `want` inflated bytes of a member (fewer if it is shorter), reading only as much
    /// of the compressed stream as they need. Stored members are returned as they are.
    pub fn prefix(&self, entry: &ZipEntry, want: usize) -> Result<Cow<'a, [u8]>, IoError> {
        let range = self.data_range(entry)?;
        let available = self
            .bytes
            .get(range.start as usize..range.end as usize)
            .ok_or_else(|| self.invalid(format!("member `{}` is out of range", entry.name)))?;
        match entry.compression {
            Compression::Stored => {
                let taken = &available[..want.min(available.len())];
                self.examined.set(self.examined.get() + taken.len() as u64);
                Ok(Cow::Borrowed(taken))
            }
            Compression::Deflated => {
                let (prefix, consumed) = inflate_prefix(available, want).map_err(|problem| {
                    IoError::CorruptArchiveMember {
                        path: self.path.clone(),
                        entry: entry.name.clone(),
                        problem,
                    }
                })?;
                self.examined.set(self.examined.get() + consumed as u64);
                Ok(Cow::Owned(prefix))
            }
            Compression::Other(method) => Err(self.unsupported(
                entry,
                format!("compression method {method} is not supported"),
            )),
        }
    }
}

/// The values of the ZIP64 extra field, if the extra block has one.
pub(crate) fn zip64_field(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = u16_at(extra, 2) as usize;
        let value = extra.get(4..4 + len)?;
        if id == ZIP64_EXTRA_ID {
            return Some(value);
        }
        extra = &extra[4 + len..];
    }
    None
}
