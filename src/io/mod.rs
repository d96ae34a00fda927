//! Checkpoint storage: reading (memory-mapped, headers first) and writing (laid out up front,
//! published atomically).
//!
//! Reading: [`Checkpoint::open`] recognises safetensors, PyTorch zip checkpoints (`torch/`),
//! NumPy `.npy`/`.npz` (`numpy/`) and directories of shards (`format.rs`), validates every header
//! before trusting any offset and touches no tensor byte; [`Checkpoint::read`] hands out a
//! tensor's bytes (mapped, or gathered/inflated per its [`DataLayout`]) and counts them. Writing:
//! [`OutputLayout::plan`] decides shards and offsets, [`CheckpointWriter`] fills safetensors
//! shards in place from any thread, [`ArchiveWriter`] does the same for a PyTorch checkpoint or
//! an `.npz`, and [`write_npy`] writes one array; all publish atomically. Every failure is an
//! [`IoError`] variant with a stable diagnostic code (`docs/errors.md`, "Storage").

mod checkpoint;
mod error;
mod format;
pub mod header;
pub mod index;
mod layout;
pub mod numpy;
mod publish;
mod size;
pub mod torch;
mod view;
mod writer;

pub use checkpoint::{opened_as, Checkpoint, ReadStats, TensorInfo};
pub use error::IoError;
pub use format::{CheckpointFormat, TORCH_INDEX_FILE_NAME, TORCH_SUFFIXES};
pub use layout::{shard_file_name, OutputLayout, PlannedShard, PlannedTensor, SINGLE_FILE_NAME};
pub use numpy::write_npy;
pub use publish::{check_not_input, write_file_atomically, write_file_atomically_inside};
pub(crate) use publish::{DestinationKind, Staging};
pub use size::parse_size;
pub use torch::{write_archive, write_torch, ArchiveFormat, ArchiveWriter};
pub use view::{DataLayout, TensorBytes};
pub use writer::{
    output_metadata, CheckpointWriter, TensorSink, WriterOptions, PLAN_HASH_KEY, VERSION_KEY,
};
