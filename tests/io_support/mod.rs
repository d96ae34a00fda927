//! Helpers shared by the `io_*` integration tests: deterministic tensor bytes, writing a checkpoint
//! in one call, raw safetensors files assembled by hand (for corruption tests), and snapshots of a
//! directory tree (for "the destination is unchanged" assertions).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use brainsurgery::io::{CheckpointWriter, IoError, OutputLayout, WriterOptions};
use brainsurgery::tensor::TensorType;

/// `len` pseudo-random bytes determined by `seed` (xorshift64*), so failures reproduce.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// One tensor to write: name, type and bytes.
pub type TensorSpec = (String, TensorType, Vec<u8>);

/// Writes `tensors` to `destination` in the given order with default options.
pub fn write_checkpoint(
    destination: &Path,
    tensors: &[TensorSpec],
    shard_budget: Option<u64>,
    metadata: BTreeMap<String, String>,
) -> Result<(), IoError> {
    let layout = OutputLayout::plan(
        tensors
            .iter()
            .map(|(name, ty, _)| (name.clone(), ty.clone()))
            .collect(),
        shard_budget,
    )?;
    let writer = CheckpointWriter::create(destination, layout, metadata, WriterOptions::default())?;
    for (name, _, bytes) in tensors {
        writer.write_tensor(name, bytes)?;
    }
    writer.finish()
}

/// A safetensors file made of a header text (unpadded) and the given data bytes.
pub fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A file's bytes, compared in full but shown as length and hash, so a failing comparison of two
/// snapshots prints something readable.
#[derive(PartialEq, Eq)]
pub struct Contents(pub Vec<u8>);

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // FNV-1a, enough to tell versions apart in a message.
        let hash = self.0.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        write!(f, "{} bytes, fnv {hash:016x}", self.0.len())
    }
}

/// Every file below `root` (relative path → contents), directories included as empty entries, so
/// two snapshots are equal exactly when the trees are, byte for byte.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Contents>> {
    let mut tree = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("readable directory") {
            let path = entry.expect("readable entry").path();
            let relative = path.strip_prefix(root).expect("below root").to_path_buf();
            if path.is_dir() {
                tree.insert(relative, None);
                pending.push(path);
            } else {
                tree.insert(
                    relative,
                    Some(Contents(std::fs::read(&path).expect("readable file"))),
                );
            }
        }
    }
    tree
}

/// Names in `directory` that look like our temporaries or moved-aside directories.
pub fn leftovers(directory: &Path) -> Vec<String> {
    std::fs::read_dir(directory)
        .expect("readable directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains(".tmp-bs-") || name.contains(".old-bs-"))
        .collect()
}
