//! `brainsurgery inspect`: what a checkpoint holds, as a table, a folded tree, statistics or JSON.
//!
//! The module receives an opened [`Checkpoint`](crate::io::Checkpoint) and returns text; it never
//! writes. Headers give the [`Inventory`] (names, types, sizes, shards), from which the table
//! ([`render::table`]), the compact tree ([`fold`], [`render::tree`]) and the JSON documents
//! ([`json`]) are built without touching tensor bytes. Only statistics ([`checkpoint_stats`]) read
//! data: each tensor's mapped bytes are decoded ([`decode`], [`float8`]) and summarized in parallel
//! chunks ([`stats`], with the kernels' [`moments`](crate::exec::kernels::moments)), and the
//! tensor's pages are released as soon as it is done, so memory stays near one tensor per worker
//! however large the checkpoint.

pub mod decode;
pub mod float8;
pub mod fold;
pub mod inventory;
pub mod json;
pub mod render;
pub mod stats;
pub mod text;

use rayon::prelude::*;

use crate::io::{Checkpoint, IoError};

pub use fold::{fold, FoldedLine};
pub use inventory::{Count, Inventory, TensorEntry, Totals};
pub use stats::{Summary, TensorStats};

/// Statistics of every tensor of `checkpoint`, in the order of [`Checkpoint::tensors`] (by name).
/// Tensors are summarized in parallel, each itself in parallel chunks, and released after use.
pub fn checkpoint_stats(checkpoint: &Checkpoint) -> Result<Vec<TensorStats>, IoError> {
    checkpoint
        .tensors()
        .par_iter()
        .map(|info| {
            let bytes = checkpoint.read(&info.name)?;
            let result = stats::summarize(info.ty.dtype, &bytes);
            checkpoint.release(&info.name);
            Ok(result)
        })
        .collect()
}
