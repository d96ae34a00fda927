//! A zip writer for archives whose member sizes are known up front: stored members, data
//! 64-byte aligned, filled in place, published atomically.
//!
//! [`ZipWriter::create`] receives the destination and every member (a name, leading bytes known
//! now such as a pickle or an `.npy` header, and the length of a body filled later). It writes
//! each local header and leading bytes at its final offset and sizes the file, so bodies can be
//! written with positioned writes from any thread in any order ([`ZipWriter::write_at`]).
//! [`ZipWriter::finish`] computes each member's CRC-32 from what was written (reading it back,
//! members in parallel), patches the local headers, writes the central directory and end records
//! (ZIP64 records when an offset, size or count needs them), fsyncs and renames the file into
//! place through `publish.rs`. Member data starts at a multiple of 64 bytes, padded with an extra
//! field as PyTorch pads its own archives, so mapped tensors are aligned for any element type.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::zip::{LOCAL_LEN, ZIP64_EXTRA_ID};
use crate::io::publish::{check_not_input, DestinationKind, Staging};
use crate::io::IoError;

/// Member data alignment (PyTorch's default storage alignment).
pub const ALIGNMENT: u64 = 64;
/// The extra-field id PyTorch pads with ("FB").
const PADDING_ID: u16 = 0x4246;
/// Bit 11: names are UTF-8.
const UTF8_FLAG: u16 = 0x0800;
/// 1980-01-01, the earliest DOS date, for reproducible archives.
const DOS_DATE: u16 = (1 << 5) | 1;
const PLACEHOLDER_32: u64 = u32::MAX as u64;

/// One member to write.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    pub name: String,
    /// Bytes at the start of the member, written at once.
    pub lead: Vec<u8>,
    /// Bytes after `lead`, written later through [`ZipWriter::write_at`].
    pub body_len: u64,
}

#[derive(Debug)]
struct PlacedMember {
    name: String,
    local_header: u64,
    /// Absolute offset of the member's first byte.
    content_start: u64,
    len: u64,
}

#[derive(Debug)]
pub struct ZipWriter {
    file: File,
    path: PathBuf,
    members: Vec<PlacedMember>,
    directory_start: u64,
    /// Declared last so the temporary is removed after the file is closed.
    staging: Staging,
}

fn needs_zip64(value: u64) -> bool {
    value >= PLACEHOLDER_32
}

fn clamp_32(value: u64) -> u32 {
    value.min(PLACEHOLDER_32) as u32
}

/// A local header with its name and extra fields, padded so that the member's data (which
/// follows) starts at a multiple of [`ALIGNMENT`].
fn local_header(name: &str, offset: u64, len: u64) -> Vec<u8> {
    let zip64 = needs_zip64(len);
    let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 100);
    header.extend(0x0403_4b50u32.to_le_bytes());
    header.extend((if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
    header.extend(UTF8_FLAG.to_le_bytes());
    header.extend(0u16.to_le_bytes()); // stored
    header.extend(0u16.to_le_bytes()); // time
    header.extend(DOS_DATE.to_le_bytes());
    header.extend(0u32.to_le_bytes()); // CRC-32, patched by finish
    header.extend(clamp_32(len).to_le_bytes());
    header.extend(clamp_32(len).to_le_bytes());
    header.extend((name.len() as u16).to_le_bytes());
    let extra_len_at = header.len();
    header.extend(0u16.to_le_bytes());
    header.extend(name.as_bytes());
    let extra_start = header.len();
    if zip64 {
        header.extend(ZIP64_EXTRA_ID.to_le_bytes());
        header.extend(16u16.to_le_bytes());
        header.extend(len.to_le_bytes());
        header.extend(len.to_le_bytes());
    }
    let unpadded = offset + header.len() as u64 + 4;
    let padding = (ALIGNMENT - unpadded % ALIGNMENT) % ALIGNMENT;
    header.extend(PADDING_ID.to_le_bytes());
    header.extend((padding as u16).to_le_bytes());
    header.extend(std::iter::repeat_n(b'Z', padding as usize));
    let extra_len = (header.len() - extra_start) as u16;
    header[extra_len_at..extra_len_at + 2].copy_from_slice(&extra_len.to_le_bytes());
    header
}

impl ZipWriter {
    /// Lays out every member in a fresh temporary beside `destination` (a file path).
    pub fn create(
        destination: &Path,
        members: Vec<MemberSpec>,
        inputs: &[PathBuf],
    ) -> Result<ZipWriter, IoError> {
        check_not_input(destination, inputs)?;
        let staging = Staging::create(destination, DestinationKind::File)?;
        let path = staging.path().to_path_buf();
        let file = File::options()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| IoError::os("create", &path, source))?;
        let mut offset = 0u64;
        let mut placed = Vec::with_capacity(members.len());
        for member in members {
            let len = member.lead.len() as u64 + member.body_len;
            let mut header = local_header(&member.name, offset, len);
            let content_start = offset + header.len() as u64;
            header.extend_from_slice(&member.lead);
            file.write_all_at(&header, offset)
                .map_err(|source| IoError::os("write", &path, source))?;
            placed.push(PlacedMember {
                name: member.name,
                local_header: offset,
                content_start,
                len,
            });
            offset = content_start + len;
        }
        // Sizing the file now lets bodies land at their offsets in any order.
        file.set_len(offset)
            .map_err(|source| IoError::os("resize", &path, source))?;
        Ok(ZipWriter {
            file,
            path,
            members: placed,
            directory_start: offset,
            staging,
        })
    }

    /// The absolute offset of member `index`'s first byte (its lead, then its body).
    pub fn content_start(&self, index: usize) -> u64 {
        self.members[index].content_start
    }

    /// Writes `bytes` at absolute file offset `offset`; the caller keeps writes inside bodies.
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), IoError> {
        self.file
            .write_all_at(bytes, offset)
            .map_err(|source| IoError::os("write", &self.path, source))
    }

    /// Checksums, patches headers, writes the directory, fsyncs and publishes.
    pub fn finish(self) -> Result<(), IoError> {
        let checksums = self
            .members
            .par_iter()
            .map(|member| self.checksum(member))
            .collect::<Result<Vec<u32>, IoError>>()?;
        let mut directory = Vec::new();
        for (member, &crc32) in self.members.iter().zip(&checksums) {
            self.write_at(member.local_header + 14, &crc32.to_le_bytes())?;
            directory.extend(central_record(member, crc32));
        }
        let directory_len = directory.len() as u64;
        directory.extend(end_records(
            self.members.len() as u64,
            self.directory_start,
            directory_len,
        ));
        self.write_at(self.directory_start, &directory)?;
        self.file
            .sync_all()
            .map_err(|source| IoError::os("fsync", &self.path, source))?;
        let ZipWriter { file, staging, .. } = self;
        drop(file);
        staging.publish()
    }

    /// The CRC-32 of a member as written, read back in chunks.
    fn checksum(&self, member: &PlacedMember) -> Result<u32, IoError> {
        const CHUNK: u64 = 1 << 20;
        let mut hasher = crc32fast::Hasher::new();
        let mut buffer = vec![0u8; CHUNK.min(member.len) as usize];
        let mut done = 0u64;
        while done < member.len {
            let take = CHUNK.min(member.len - done) as usize;
            self.file
                .read_exact_at(&mut buffer[..take], member.content_start + done)
                .map_err(|source| IoError::os("read back", &self.path, source))?;
            hasher.update(&buffer[..take]);
            done += take as u64;
        }
        Ok(hasher.finalize())
    }
}

/// A central-directory record, with a ZIP64 field for whatever does not fit 32 bits.
fn central_record(member: &PlacedMember, crc32: u32) -> Vec<u8> {
    let mut zip64 = Vec::new();
    if needs_zip64(member.len) {
        zip64.extend(member.len.to_le_bytes());
        zip64.extend(member.len.to_le_bytes());
    }
    if needs_zip64(member.local_header) {
        zip64.extend(member.local_header.to_le_bytes());
    }
    let version: u16 = if zip64.is_empty() { 20 } else { 45 };
    let mut record = Vec::with_capacity(46 + member.name.len() + 4 + zip64.len());
    record.extend(0x0201_4b50u32.to_le_bytes());
    // Made by Unix (3), so the permissions below are read by unzip.
    record.extend((version | (3 << 8)).to_le_bytes());
    record.extend(version.to_le_bytes());
    record.extend(UTF8_FLAG.to_le_bytes());
    record.extend(0u16.to_le_bytes()); // stored
    record.extend(0u16.to_le_bytes()); // time
    record.extend(DOS_DATE.to_le_bytes());
    record.extend(crc32.to_le_bytes());
    record.extend(clamp_32(member.len).to_le_bytes());
    record.extend(clamp_32(member.len).to_le_bytes());
    record.extend((member.name.len() as u16).to_le_bytes());
    let extra_len = if zip64.is_empty() { 0 } else { 4 + zip64.len() };
    record.extend((extra_len as u16).to_le_bytes());
    record.extend(0u16.to_le_bytes()); // comment
    record.extend(0u16.to_le_bytes()); // disk
    record.extend(0u16.to_le_bytes()); // internal attributes
    record.extend((0o100644u32 << 16).to_le_bytes()); // a regular file, rw-r--r--
    record.extend(clamp_32(member.local_header).to_le_bytes());
    record.extend(member.name.as_bytes());
    if !zip64.is_empty() {
        record.extend(ZIP64_EXTRA_ID.to_le_bytes());
        record.extend((zip64.len() as u16).to_le_bytes());
        record.extend(zip64);
    }
    record
}

/// The end-of-directory record, preceded by the ZIP64 end record and locator when needed.
fn end_records(count: u64, directory_start: u64, directory_len: u64) -> Vec<u8> {
    let mut records = Vec::new();
    let zip64 =
        count >= u64::from(u16::MAX) || needs_zip64(directory_start) || needs_zip64(directory_len);
    if zip64 {
        let record_start = directory_start + directory_len;
        records.extend(0x0606_4b50u32.to_le_bytes());
        records.extend(44u64.to_le_bytes()); // the record's size after this field
        records.extend((45u16 | (3 << 8)).to_le_bytes());
        records.extend(45u16.to_le_bytes());
        records.extend(0u32.to_le_bytes());
        records.extend(0u32.to_le_bytes());
        records.extend(count.to_le_bytes());
        records.extend(count.to_le_bytes());
        records.extend(directory_len.to_le_bytes());
        records.extend(directory_start.to_le_bytes());
        records.extend(0x0706_4b50u32.to_le_bytes());
        records.extend(0u32.to_le_bytes());
        records.extend(record_start.to_le_bytes());
        records.extend(1u32.to_le_bytes());
    }
    let short_count = count.min(u64::from(u16::MAX)) as u16;
    records.extend(0x0605_4b50u32.to_le_bytes());
    records.extend(0u16.to_le_bytes());
    records.extend(0u16.to_le_bytes());
    records.extend(short_count.to_le_bytes());
    records.extend(short_count.to_le_bytes());
    records.extend(clamp_32(directory_len).to_le_bytes());
    records.extend(clamp_32(directory_start).to_le_bytes());
    records.extend(0u16.to_le_bytes()); // comment
    records
}

#[cfg(test)]
mod tests {
    use super::super::zip::{Compression, ZipArchive};
    use super::*;

    #[test]
    fn written_archives_read_back_aligned_and_checksummed() {
        let directory = tempfile::tempdir().unwrap();
        let destination = directory.path().join("a.zip");
        let members = vec![
            MemberSpec {
                name: "archive/data.pkl".into(),
                lead: b"pickle".to_vec(),
                body_len: 0,
            },
            MemberSpec {
                name: "archive/data/0".into(),
                lead: Vec::new(),
                body_len: 5,
            },
        ];
        let writer = ZipWriter::create(&destination, members, &[]).unwrap();
        writer.write_at(writer.content_start(1), b"hello").unwrap();
        writer.finish().unwrap();

        let bytes = std::fs::read(&destination).unwrap();
        let archive = ZipArchive::parse(&destination, &bytes).unwrap();
        let entry = archive.find("archive/data/0").unwrap();
        assert_eq!(entry.compression, Compression::Stored);
        assert_eq!(entry.crc32, crc32fast::hash(b"hello"));
        let range = archive.data_range(entry).unwrap();
        assert_eq!(range.start % ALIGNMENT, 0);
        assert_eq!(&bytes[range.start as usize..range.end as usize], b"hello");
        let pickle = archive.find("archive/data.pkl").unwrap();
        assert_eq!(&*archive.contents(pickle).unwrap(), b"pickle");
        // The local header carries the patched checksum too.
        let local = &bytes[..30];
        assert_eq!(
            u32::from_le_bytes(local[14..18].try_into().unwrap()),
            crc32fast::hash(b"pickle")
        );
    }

    #[test]
    fn large_sizes_and_offsets_use_zip64_fields() {
        let header = local_header("big", 0, 5 << 30);
        assert_eq!(
            u32::from_le_bytes(header[18..22].try_into().unwrap()),
            u32::MAX
        );
        assert_eq!((header.len() as u64) % ALIGNMENT, 0);
        let member = PlacedMember {
            name: "big".into(),
            local_header: 6 << 30,
            content_start: (6 << 30) + 64,
            len: 5 << 30,
        };
        let record = central_record(&member, 7);
        let extra = super::super::zip::zip64_field(&record[46 + 3..]).unwrap();
        let values: Vec<u64> = extra
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(values, [5 << 30, 5 << 30, 6 << 30]);
        let end = end_records(70_000, 12 << 30, 100);
        assert_eq!(
            u32::from_le_bytes(end[..4].try_into().unwrap()),
            0x0606_4b50
        );
    }
}
