//! Checkpoint storage: reading (memory-mapped, headers first) and writing (laid out up front,
//! published atomically).
//!
//! Reading: [`Checkpoint::open`] validates every header before trusting any offset and touches no
//! tensor byte; [`Checkpoint::read`] hands out mapped bytes and counts them. Writing:
//! [`OutputLayout::plan`] decides shards and offsets, [`CheckpointWriter`] fills them in place from
//! any thread and publishes the result atomically. Every failure is an [`IoError`] variant with a
//! stable diagnostic code (`docs/errors.md`, "Storage").

mod checkpoint;
mod error;
pub mod header;
pub mod index;
mod layout;
mod publish;
mod size;
mod writer;

pub use checkpoint::{Checkpoint, ReadStats, TensorInfo};
pub use error::IoError;
pub use layout::{shard_file_name, OutputLayout, PlannedShard, PlannedTensor, SINGLE_FILE_NAME};
pub use publish::check_not_input;
pub use size::parse_size;
pub use writer::{
    output_metadata, CheckpointWriter, TensorSink, WriterOptions, PLAN_HASH_KEY, VERSION_KEY,
};
