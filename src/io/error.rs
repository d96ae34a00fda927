//! Every way the storage layer can fail, as one enum with one variant per kind of failure.
//!
//! Each variant carries the path it concerns and the numbers that explain it, so its `Display`
//! text stands alone in a log. [`IoError::to_diagnostic`] turns any of them into a
//! [`Diagnostic`] with a stable code `E00xx`; the codes are listed in `docs/errors.md` under
//! "Storage (E00xx)" and must never be renumbered.

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;
use crate::tensor::TensorType;

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused an operation (open, map, read, write, fsync, rename, …).
    #[error("cannot {action} `{}`: {source}", path.display())]
    Os {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` does not exist", path.display())]
    NotFound { path: PathBuf },

    #[error("`{}` is truncated: it has {len} bytes, fewer than the 8-byte header length", path.display())]
    Truncated { path: PathBuf, len: u64 },

    #[error(
        "`{}`: the header length is {header_len} bytes but only {available} bytes follow it",
        path.display()
    )]
    HeaderBeyondFile {
        path: PathBuf,
        header_len: u64,
        available: u64,
    },

    #[error(
        "`{}`: the header length is {header_len} bytes, above the {limit}-byte limit",
        path.display()
    )]
    HeaderTooLarge {
        path: PathBuf,
        header_len: u64,
        limit: u64,
    },

    #[error("`{}`: the header is not valid UTF-8 (bad byte at header offset {offset})", path.display())]
    HeaderNotUtf8 { path: PathBuf, offset: usize },

    #[error("`{}`: the header is not a valid JSON object: {message}", path.display())]
    InvalidJson { path: PathBuf, message: String },

    #[error("`{}`: the header lists `{tensor}` twice", path.display())]
    DuplicateHeaderEntry { path: PathBuf, tensor: String },

    #[error("`{}`: tensor `{tensor}`: {problem}", path.display())]
    InvalidTensorEntry {
        path: PathBuf,
        tensor: String,
        problem: String,
    },

    #[error("`{}`: tensor `{tensor}` has unknown dtype `{dtype}`", path.display())]
    UnknownDtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },

    #[error("`{}`: `__metadata__` {problem}", path.display())]
    InvalidMetadata { path: PathBuf, problem: String },

    #[error(
        "`{}`: tensor `{tensor}` has data_offsets [{begin}, {end}], which end before they begin",
        path.display()
    )]
    ReversedOffsets {
        path: PathBuf,
        tensor: String,
        begin: u64,
        end: u64,
    },

    #[error(
        "`{}`: tensor `{tensor}` ends at data offset {end}, past the {data_len}-byte data section",
        path.display()
    )]
    OffsetsOutOfRange {
        path: PathBuf,
        tensor: String,
        end: u64,
        data_len: u64,
    },

    #[error(
        "`{}`: tensors `{first}` [{}, {}] and `{second}` [{}, {}] overlap",
        path.display(), first_range.start, first_range.end, second_range.start, second_range.end
    )]
    OverlappingTensors {
        path: PathBuf,
        first: String,
        first_range: std::ops::Range<u64>,
        second: String,
        second_range: std::ops::Range<u64>,
    },

    #[error(
        "`{}`: data bytes [{}, {}) belong to no tensor (the format requires the data section to be fully covered)",
        path.display(), gap.start, gap.end
    )]
    UncoveredData {
        path: PathBuf,
        gap: std::ops::Range<u64>,
    },

    #[error(
        "`{}`: tensor `{tensor}` is {ty}, which takes {expected} bytes, but its data_offsets span {actual}",
        path.display()
    )]
    ByteLengthMismatch {
        path: PathBuf,
        tensor: String,
        ty: TensorType,
        expected: u64,
        actual: u64,
    },

    #[error(
        "`{}`: tensor `{tensor}` is {ty}, whose size is not a whole number of bytes (or overflows)",
        path.display()
    )]
    UnrepresentableSize {
        path: PathBuf,
        tensor: String,
        ty: TensorType,
    },

    #[error(
        "`{}` holds no checkpoint file (`*.safetensors`, `*.bin`, `*.pt`, `*.pth`) and no index",
        path.display()
    )]
    EmptyDirectory { path: PathBuf },

    #[error("`{}`: {problem}", path.display())]
    InvalidIndex { path: PathBuf, problem: String },

    #[error(
        "`{}`: tensor `{tensor}` is mapped to `{file}`, which is not a relative path inside the directory",
        index.display()
    )]
    IndexPathOutside {
        index: PathBuf,
        tensor: String,
        file: String,
    },

    #[error("`{}`: tensor `{tensor}` is mapped to `{file}`, which does not exist", index.display())]
    MissingShard {
        index: PathBuf,
        tensor: String,
        file: String,
    },

    #[error(
        "`{}`: tensor `{tensor}` is mapped to `{}`, which does not contain it",
        index.display(), shard.display()
    )]
    IndexTensorMissing {
        index: PathBuf,
        tensor: String,
        shard: PathBuf,
    },

    #[error(
        "`{}` contains tensor `{tensor}`, which `{}` does not list",
        shard.display(), index.display()
    )]
    TensorNotInIndex {
        index: PathBuf,
        tensor: String,
        shard: PathBuf,
    },

    #[error(
        "tensor `{tensor}` is in two shards: `{}` and `{}`",
        first.display(), second.display()
    )]
    DuplicateTensor {
        tensor: String,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("`{}` has no tensor `{tensor}`", checkpoint.display())]
    UnknownTensor {
        checkpoint: PathBuf,
        tensor: String,
        nearest: Vec<String>,
    },

    #[error("invalid size `{text}`: {problem}")]
    InvalidSize { text: String, problem: String },

    #[error("the output lists tensor `{tensor}` twice")]
    DuplicateOutputTensor { tensor: String },

    #[error("output tensor `{tensor}` is {ty}, whose size is not a whole number of bytes (or overflows)")]
    UnrepresentableOutputTensor { tensor: String, ty: TensorType },

    #[error(
        "`{}` names a single file, but the output is sharded; shards need a directory destination",
        path.display()
    )]
    ShardedFileDestination { path: PathBuf },

    #[error(
        "refusing to write `{}`: it is, contains or lies inside the input `{}`",
        destination.display(), input.display()
    )]
    DestinationIsInput {
        destination: PathBuf,
        input: PathBuf,
    },

    #[error("refusing to replace `{}`: {problem}", destination.display())]
    DestinationConflict {
        destination: PathBuf,
        problem: String,
    },

    #[error("the output has no tensor `{tensor}`")]
    UnknownOutputTensor { tensor: String },

    #[error("output tensor `{tensor}` is {expected} bytes, but {actual} bytes were given for it")]
    WrongTensorLength {
        tensor: String,
        expected: u64,
        actual: u64,
    },

    #[error(
        "output tensor `{tensor}` is {tensor_len} bytes; a write of {len} bytes at offset {offset} does not fit"
    )]
    WriteOutOfRange {
        tensor: String,
        offset: u64,
        len: u64,
        tensor_len: u64,
    },

    #[error("output tensor `{tensor}` received {written} bytes, more than its {tensor_len}")]
    TensorOverwritten {
        tensor: String,
        written: u64,
        tensor_len: u64,
    },

    #[error(
        "{count} output tensor(s) were not completely written, first `{first}`; nothing was published"
    )]
    TensorsNotWritten { count: usize, first: String },

    #[error("injected failure after {after} tensor(s) (a test hook)")]
    InjectedFailure { after: u64 },

    #[error("`{}` is not a checkpoint brainsurgery can read: {problem}", path.display())]
    UnrecognizedFile { path: PathBuf, problem: String },

    #[error("`{}` is in the legacy (pre-1.6) PyTorch format, which is not read", path.display())]
    LegacyTorchFormat { path: PathBuf },

    #[error("`{}` is not a valid zip archive: {problem}", path.display())]
    InvalidArchive { path: PathBuf, problem: String },

    #[error("`{}`: archive member `{entry}` cannot be used: {problem}", path.display())]
    UnsupportedArchiveEntry {
        path: PathBuf,
        entry: String,
        problem: String,
    },

    #[error("`{}`: the pickle is invalid at byte {offset}: {problem}", path.display())]
    InvalidPickle {
        path: PathBuf,
        offset: usize,
        problem: String,
    },

    #[error(
        "`{}`: the pickle names `{global}` at byte {offset}, which is not allowed",
        path.display()
    )]
    DisallowedGlobal {
        path: PathBuf,
        offset: usize,
        global: String,
    },

    #[error("`{}` uses `{name}`, a PyTorch type brainsurgery does not support", path.display())]
    UnsupportedTorchType { path: PathBuf, name: String },

    #[error("`{}` does not hold a plain tensor state_dict: {problem}", path.display())]
    NotAStateDict { path: PathBuf, problem: String },

    #[error(
        "`{}`: tensor `{tensor}` uses storage `{storage}`, which the archive does not contain",
        path.display()
    )]
    MissingStorage {
        path: PathBuf,
        tensor: String,
        storage: String,
    },

    #[error(
        "`{}`: tensor `{tensor}` needs {needed} bytes of storage `{storage}`, which has only {available}",
        path.display()
    )]
    StorageTooShort {
        path: PathBuf,
        tensor: String,
        storage: String,
        needed: u64,
        available: u64,
    },

    #[error("`{}`: tensor `{tensor}`: {problem}", path.display())]
    InvalidTorchTensor {
        path: PathBuf,
        tensor: String,
        problem: String,
    },

    #[error("`{}`: array `{array}`: {problem}", path.display())]
    InvalidNpy {
        path: PathBuf,
        array: String,
        problem: String,
    },

    #[error(
        "`{}` holds both safetensors and PyTorch files (`{safetensors}`, `{torch}`); refusing an ambiguous load",
        path.display()
    )]
    AmbiguousDirectory {
        path: PathBuf,
        safetensors: String,
        torch: String,
    },

    #[error("`{}`: archive member `{entry}` is corrupt: {problem}", path.display())]
    CorruptArchiveMember {
        path: PathBuf,
        entry: String,
        problem: String,
    },

    #[error("tensor `{tensor}` needs a buffer of {bytes} bytes, which cannot be allocated")]
    OutOfMemory { tensor: String, bytes: u64 },

    #[error("output tensor `{tensor}` is {dtype}, which {format} cannot store")]
    UnsupportedOutputDtype {
        tensor: String,
        dtype: crate::tensor::DType,
        format: &'static str,
    },
}

impl IoError {
    /// Wraps an operating-system error with what we were doing and to which path.
    pub(crate) fn os(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> IoError {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound && action == "open" {
            return IoError::NotFound { path };
        }
        IoError::Os {
            action,
            path,
            source,
        }
    }

    /// The stable code of this kind of failure (documented in `docs/errors.md`).
    pub fn code(&self) -> &'static str {
        match self {
            IoError::Os { .. } => "E0001",
            IoError::NotFound { .. } => "E0002",
            IoError::Truncated { .. } => "E0003",
            IoError::HeaderBeyondFile { .. } => "E0004",
            IoError::HeaderTooLarge { .. } => "E0005",
            IoError::HeaderNotUtf8 { .. } => "E0006",
            IoError::InvalidJson { .. } => "E0007",
            IoError::DuplicateHeaderEntry { .. } => "E0008",
            IoError::InvalidTensorEntry { .. } => "E0009",
            IoError::UnknownDtype { .. } => "E0010",
            IoError::InvalidMetadata { .. } => "E0011",
            IoError::ReversedOffsets { .. } => "E0012",
            IoError::OffsetsOutOfRange { .. } => "E0013",
            IoError::OverlappingTensors { .. } => "E0014",
            IoError::UncoveredData { .. } => "E0015",
            IoError::ByteLengthMismatch { .. } => "E0016",
            IoError::UnrepresentableSize { .. } => "E0017",
            IoError::EmptyDirectory { .. } => "E0018",
            IoError::InvalidIndex { .. } => "E0019",
            IoError::IndexPathOutside { .. } => "E0020",
            IoError::MissingShard { .. } => "E0021",
            IoError::IndexTensorMissing { .. } => "E0022",
            IoError::TensorNotInIndex { .. } => "E0023",
            IoError::DuplicateTensor { .. } => "E0024",
            IoError::UnknownTensor { .. } => "E0025",
            IoError::InvalidSize { .. } => "E0026",
            IoError::DuplicateOutputTensor { .. } => "E0027",
            IoError::UnrepresentableOutputTensor { .. } => "E0028",
            IoError::ShardedFileDestination { .. } => "E0029",
            IoError::DestinationIsInput { .. } => "E0030",
            IoError::DestinationConflict { .. } => "E0031",
            IoError::UnknownOutputTensor { .. } => "E0032",
            IoError::WrongTensorLength { .. } => "E0033",
            IoError::WriteOutOfRange { .. } => "E0034",
            IoError::TensorOverwritten { .. } => "E0035",
            IoError::TensorsNotWritten { .. } => "E0036",
            IoError::InjectedFailure { .. } => "E0037",
            IoError::UnrecognizedFile { .. } => "E0038",
            IoError::LegacyTorchFormat { .. } => "E0039",
            IoError::InvalidArchive { .. } => "E0040",
            IoError::UnsupportedArchiveEntry { .. } => "E0041",
            IoError::InvalidPickle { .. } => "E0042",
            IoError::DisallowedGlobal { .. } => "E0043",
            IoError::UnsupportedTorchType { .. } => "E0044",
            IoError::NotAStateDict { .. } => "E0045",
            IoError::MissingStorage { .. } => "E0046",
            IoError::StorageTooShort { .. } => "E0047",
            IoError::InvalidTorchTensor { .. } => "E0048",
            IoError::InvalidNpy { .. } => "E0049",
            IoError::AmbiguousDirectory { .. } => "E0050",
            IoError::CorruptArchiveMember { .. } => "E0051",
            IoError::UnsupportedOutputDtype { .. } => "E0052",
            IoError::OutOfMemory { .. } => "E0053",
        }
    }

    /// A help line for the failures where we can say what to do about them.
    fn help(&self) -> Option<String> {
        let help = match self {
            IoError::Truncated { .. } | IoError::HeaderBeyondFile { .. } => {
                "the file was probably cut short by an interrupted download or copy".to_string()
            }
            IoError::UnknownDtype { .. } => format!(
                "known dtypes: {}",
                crate::tensor::DType::ALL
                    .iter()
                    .map(|d| d.safetensors_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            IoError::EmptyDirectory { .. } => {
                "point at a checkpoint file (`.safetensors`, `.bin`, `.pt`, `.pth`, `.npy`, `.npz`) or a directory holding the checkpoint's shards"
                    .to_string()
            }
            IoError::UnknownTensor { nearest, .. } if !nearest.is_empty() => {
                let names: Vec<String> = nearest.iter().map(|n| format!("`{n}`")).collect();
                format!("did you mean {}?", names.join(" or "))
            }
            IoError::InvalidSize { .. } => {
                "write an integer and a unit (B, KB, MB, GB, TB; 1KB = 1024B), or `none`".to_string()
            }
            IoError::ShardedFileDestination { .. } => {
                "drop the `.safetensors` suffix to write a directory of shards, or set the shard size to `none`"
                    .to_string()
            }
            IoError::DestinationIsInput { .. } => {
                "write to a new path; the input is memory-mapped while the output is written".to_string()
            }
            IoError::LegacyTorchFormat { path } => format!(
                "re-save it with torch 1.6 or newer: `torch.save(torch.load(\"{0}\"), \"{0}\")`",
                path.display()
            ),
            IoError::InvalidArchive { .. } => {
                "the file was probably cut short by an interrupted download or copy".to_string()
            }
            IoError::DisallowedGlobal { .. } => {
                "loading never runs code from a checkpoint: only tensors, their storages, dtypes and \
                 `collections.OrderedDict` may appear; extract the state_dict with torch and save it alone"
                    .to_string()
            }
            IoError::NotAStateDict { .. } => {
                "brainsurgery reads a mapping of names to tensors, or `{\"state_dict\": {...}}`"
                    .to_string()
            }
            IoError::AmbiguousDirectory { .. } => {
                "move one kind of file elsewhere, or point at a single file".to_string()
            }
            IoError::UnsupportedOutputDtype { format, .. } if format.contains("NumPy") => {
                "NumPy has no bfloat16 or float8 types; cast the tensor (bfloat16 to float32 is exact) or write safetensors or torch".to_string()
            }
            _ => return None,
        };
        Some(help)
    }

    /// The failure as a diagnostic: its stable code, its message and, where useful, a help line.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let diagnostic = Diagnostic::error(self.code(), self.to_string());
        match self.help() {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let samples = [
            IoError::NotFound { path: "a".into() },
            IoError::Truncated {
                path: "a".into(),
                len: 3,
            },
            IoError::EmptyDirectory { path: "d".into() },
            IoError::InvalidSize {
                text: "5XB".into(),
                problem: "unknown unit".into(),
            },
        ];
        let codes: std::collections::BTreeSet<_> = samples.iter().map(IoError::code).collect();
        assert_eq!(codes.len(), samples.len());
    }

    #[test]
    fn diagnostic_carries_code_message_and_help() {
        let error = IoError::UnknownTensor {
            checkpoint: "model.safetensors".into(),
            tensor: "wte.weigth".into(),
            nearest: vec!["wte.weight".into()],
        };
        let diagnostic = error.to_diagnostic();
        assert_eq!(diagnostic.code, "E0025");
        assert_eq!(
            diagnostic.message,
            "`model.safetensors` has no tensor `wte.weigth`"
        );
        assert_eq!(
            diagnostic.help.as_deref(),
            Some("did you mean `wte.weight`?")
        );
    }
}
