//! Checkpoint storage: reading (memory-mapped, headers first) and writing (laid out up front,
//! published atomically).
//!
//! Reading: [`Checkpoint::open`] validates every header before trusting any offset and touches no
//! tensor byte; [`Checkpoint::read`] hands out mapped bytes and counts them. Every failure is an
//! [`IoError`] variant with a stable diagnostic code (`docs/errors.md`, "Storage").

mod checkpoint;
mod error;
pub mod header;
pub mod index;

pub use checkpoint::{Checkpoint, ReadStats, TensorInfo};
pub use error::IoError;
