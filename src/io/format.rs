//! Which checkpoint format a path holds, and the parsing of one file into its tensors.
//!
//! [`parse_file`] receives a mapped file and returns its tensors ([`TensorInfo`] with their file
//! ranges and [`DataLayout`](super::DataLayout)s), metadata and format, touching only the bytes
//! that describe the layout. The format is recognised by content, not by name: a zip archive
//! holding `*/data.pkl` is a PyTorch checkpoint, one holding `*.npy` members an `.npz`, a file
//! starting with the NumPy magic an `.npy`, the pickled magic number of `torch.save`'s pre-1.6
//! format is refused with advice, and anything else is parsed as safetensors (whose header
//! validation explains what is wrong) unless its suffix promised another format.
//! [`select_directory`] applies BrainSurgery's rules to a directory: safetensors and PyTorch files
//! together are ambiguous; an index names the shards; otherwise every safetensors file, else
//! every PyTorch file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::header;
use super::index::INDEX_FILE_NAME;
use super::{numpy, torch, DataLayout, IoError, TensorInfo};

/// The index Hugging Face writes beside sharded PyTorch checkpoints.
pub const TORCH_INDEX_FILE_NAME: &str = "pytorch_model.bin.index.json";

/// File suffixes of PyTorch checkpoints.
pub const TORCH_SUFFIXES: [&str; 3] = ["bin", "pt", "pth"];

/// The format of an opened checkpoint's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    Safetensors,
    /// PyTorch's zip format (`torch.save` since 1.6).
    Torch,
    /// A NumPy `.npz` archive of arrays.
    Npz,
    /// One NumPy `.npy` array.
    Npy,
}

/// What one file holds.
#[derive(Debug)]
pub(crate) struct FileContents {
    pub format: CheckpointFormat,
    /// With `shard` 0; the caller numbers shards.
    pub tensors: Vec<TensorInfo>,
    pub metadata: BTreeMap<String, String>,
    /// Bytes of the file that parsing looked at.
    pub examined: u64,
}

/// `torch.save`'s pre-1.6 format starts with this pickled magic number (protocol 2, LONG1).
const LEGACY_TORCH_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";
const EMPTY_ZIP_MAGIC: [u8; 4] = *b"PK\x05\x06";
/// Bytes looked at to recognise a format.
const SNIFF_LEN: usize = 16;

/// Parses one mapped file, whatever its format.
pub(crate) fn parse_file(path: &Path, bytes: &[u8]) -> Result<FileContents, IoError> {
    let start = &bytes[..bytes.len().min(SNIFF_LEN)];
    let suffix = suffix(path);
    let mut contents = if start.starts_with(&ZIP_MAGIC) || start.starts_with(&EMPTY_ZIP_MAGIC) {
        parse_zip(path, bytes)?
    } else if start.starts_with(&numpy::MAGIC) {
        numpy::open_npy(path, bytes)?
    } else if start.starts_with(&LEGACY_TORCH_MAGIC) || is_tar(bytes) {
        return Err(IoError::LegacyTorchFormat { path: path.into() });
    } else if suffix.as_deref().is_some_and(is_torch_suffix) {
        return Err(IoError::UnrecognizedFile {
            path: path.into(),
            problem: "a PyTorch file must be a zip archive (`torch.save` since 1.6)".into(),
        });
    } else if matches!(suffix.as_deref(), Some("npy" | "npz")) {
        return Err(IoError::UnrecognizedFile {
            path: path.into(),
            problem: "it does not start with the NumPy magic or the zip signature".into(),
        });
    } else {
        parse_safetensors(path, bytes)?
    };
    contents.examined += start.len() as u64;
    Ok(contents)
}

fn parse_safetensors(path: &Path, bytes: &[u8]) -> Result<FileContents, IoError> {
    let header = header::parse(path, bytes)?;
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&bytes[..8]);
    let examined = header::LENGTH_PREFIX + u64::from_le_bytes(prefix);
    Ok(FileContents {
        format: CheckpointFormat::Safetensors,
        tensors: header
            .tensors
            .into_iter()
            .map(|tensor| TensorInfo {
                name: tensor.name,
                ty: tensor.ty,
                shard: 0,
                data: tensor.data,
                layout: DataLayout::Contiguous,
            })
            .collect(),
        metadata: header.metadata,
        examined,
    })
}

/// A zip archive is a PyTorch checkpoint when it holds a pickle, an `.npz` otherwise.
fn parse_zip(path: &Path, bytes: &[u8]) -> Result<FileContents, IoError> {
    let archive = torch::zip::ZipArchive::parse(path, bytes)?;
    if archive
        .entries()
        .iter()
        .any(|entry| entry.name == "data.pkl" || entry.name.ends_with("/data.pkl"))
    {
        torch::open(path, archive)
    } else {
        numpy::open_npz(path, archive)
    }
}

/// Very old PyTorch files (before 0.4) are tar archives; `ustar` sits at byte 257.
fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar".as_slice())
}

fn suffix(path: &Path) -> Option<String> {
    path.extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
}

fn is_torch_suffix(suffix: &str) -> bool {
    TORCH_SUFFIXES.contains(&suffix)
}

/// How a directory's shards are found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DirectoryPlan {
    /// The shards are the files an index names.
    Indexed(PathBuf),
    /// These files, in name order.
    Files(Vec<PathBuf>),
}

/// Applies the reference's rules to the files of `root` (not its sub-directories; hidden files
/// skipped).
pub(crate) fn select_directory(root: &Path) -> Result<DirectoryPlan, IoError> {
    let entries = std::fs::read_dir(root).map_err(|source| IoError::os("list", root, source))?;
    let mut safetensors = Vec::new();
    let mut torch = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| IoError::os("list", root, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        match suffix(&path).as_deref() {
            Some("safetensors") => safetensors.push(path),
            Some(other) if is_torch_suffix(other) => torch.push(path),
            _ => {}
        }
    }
    safetensors.sort();
    torch.sort();
    if let (Some(first_safetensors), Some(first_torch)) = (safetensors.first(), torch.first()) {
        return Err(IoError::AmbiguousDirectory {
            path: root.to_path_buf(),
            safetensors: file_name(first_safetensors),
            torch: file_name(first_torch),
        });
    }
    let safetensors_index = root.join(INDEX_FILE_NAME);
    let torch_index = root.join(TORCH_INDEX_FILE_NAME);
    if safetensors_index.exists() {
        Ok(DirectoryPlan::Indexed(safetensors_index))
    } else if !safetensors.is_empty() {
        Ok(DirectoryPlan::Files(safetensors))
    } else if torch_index.exists() {
        Ok(DirectoryPlan::Indexed(torch_index))
    } else if !torch.is_empty() {
        Ok(DirectoryPlan::Files(torch))
    } else {
        Err(IoError::EmptyDirectory {
            path: root.to_path_buf(),
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_follow_the_reference_rules() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        assert!(matches!(
            select_directory(root),
            Err(IoError::EmptyDirectory { .. })
        ));
        std::fs::write(root.join("b.bin"), b"").unwrap();
        std::fs::write(root.join("a.pt"), b"").unwrap();
        std::fs::write(root.join(".hidden.safetensors"), b"").unwrap();
        assert_eq!(
            select_directory(root).unwrap(),
            DirectoryPlan::Files(vec![root.join("a.pt"), root.join("b.bin")])
        );
        std::fs::write(root.join(TORCH_INDEX_FILE_NAME), b"{}").unwrap();
        assert_eq!(
            select_directory(root).unwrap(),
            DirectoryPlan::Indexed(root.join(TORCH_INDEX_FILE_NAME))
        );
        std::fs::write(root.join("model.safetensors"), b"").unwrap();
        let error = select_directory(root).unwrap_err();
        assert!(matches!(
            error,
            IoError::AmbiguousDirectory { ref safetensors, ref torch, .. }
                if safetensors == "model.safetensors" && torch == "a.pt"
        ));
    }

    #[test]
    fn a_safetensors_index_wins_over_loose_shards() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        std::fs::write(root.join("loose.safetensors"), b"").unwrap();
        std::fs::write(root.join(INDEX_FILE_NAME), b"{}").unwrap();
        assert_eq!(
            select_directory(root).unwrap(),
            DirectoryPlan::Indexed(root.join(INDEX_FILE_NAME))
        );
    }

    #[test]
    fn legacy_and_foreign_files_are_recognised() {
        let path = Path::new("model.pt");
        let mut legacy = LEGACY_TORCH_MAGIC.to_vec();
        legacy.extend([0u8; 16]);
        assert!(matches!(
            parse_file(path, &legacy),
            Err(IoError::LegacyTorchFormat { .. })
        ));
        assert!(matches!(
            parse_file(path, b"not a checkpoint at all"),
            Err(IoError::UnrecognizedFile { .. })
        ));
        // Without a PyTorch suffix the same bytes are read as safetensors, as before.
        assert!(matches!(
            parse_file(Path::new("model"), b"not a checkpoint at all"),
            Err(IoError::HeaderTooLarge { .. } | IoError::HeaderBeyondFile { .. })
        ));
    }
}
