//! The header-level view of a checkpoint that every inspect format renders.
//!
//! An [`Inventory`] lists each tensor's name, type, byte size and shard file name, sorted by name,
//! plus the checkpoint's `__metadata__`; [`Inventory::totals`] sums tensors, parameters and bytes
//! overall and per dtype. Building one from a [`Checkpoint`] reads headers only, never tensor bytes.
//! Renderers take an inventory rather than a checkpoint so they can be tested on hand-made data.

use std::collections::BTreeMap;

use crate::io::Checkpoint;
use crate::tensor::{DType, TensorType};

/// One tensor as the inspect views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub ty: TensorType,
    pub bytes: u64,
    /// The file name (not the path) of the shard holding the tensor.
    pub shard: String,
}

impl TensorEntry {
    /// An entry whose byte size is computed from its type (0 if the type has no whole-byte size).
    pub fn new(name: impl Into<String>, ty: TensorType, shard: impl Into<String>) -> TensorEntry {
        TensorEntry {
            name: name.into(),
            bytes: ty.byte_len().unwrap_or(0),
            ty,
            shard: shard.into(),
        }
    }

    /// Number of elements; saturates on the (header-validated, so impossible) overflow.
    pub fn parameters(&self) -> u64 {
        self.ty.shape.element_count().unwrap_or(u64::MAX)
    }
}

/// All tensors of a checkpoint, sorted by name, and its metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub tensors: Vec<TensorEntry>,
    pub metadata: BTreeMap<String, String>,
}

/// Counts for a group of tensors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub tensors: u64,
    pub parameters: u64,
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, entry: &TensorEntry) {
        self.tensors += 1;
        self.parameters = self.parameters.saturating_add(entry.parameters());
        self.bytes = self.bytes.saturating_add(entry.bytes);
    }
}

/// Totals overall and per dtype (in the order of [`DType::ALL`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub overall: Count,
    pub by_dtype: BTreeMap<DType, Count>,
}

impl Inventory {
    /// Reads the headers of an opened checkpoint.
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Inventory {
        let shard_names: Vec<String> = checkpoint
            .shards()
            .iter()
            .map(|path| {
                path.file_name()
                    .unwrap_or(path.as_os_str())
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let tensors = checkpoint
            .tensors()
            .iter()
            .map(|info| TensorEntry {
                name: info.name.clone(),
                ty: info.ty.clone(),
                bytes: info.byte_len(),
                shard: shard_names.get(info.shard).cloned().unwrap_or_default(),
            })
            .collect();
        Inventory::new(tensors, checkpoint.metadata().clone())
    }

    /// Builds an inventory, sorting the tensors by name.
    pub fn new(mut tensors: Vec<TensorEntry>, metadata: BTreeMap<String, String>) -> Inventory {
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Inventory { tensors, metadata }
    }

    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for entry in &self.tensors {
            totals.overall.add(entry);
            totals
                .by_dtype
                .entry(entry.ty.dtype)
                .or_default()
                .add(entry);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Shape;

    fn entry(name: &str, dtype: DType, dims: &[u64]) -> TensorEntry {
        let ty = TensorType::new(dtype, Shape::new(dims.to_vec()));
        TensorEntry::new(name, ty, "model.safetensors")
    }

    #[test]
    fn totals_count_per_dtype_and_overall() {
        let inventory = Inventory::new(
            vec![
                entry("b", DType::F16, &[2, 3]),
                entry("a", DType::F32, &[4]),
                entry("c", DType::F32, &[]),
                entry("d", DType::F32, &[0, 5]),
            ],
            BTreeMap::new(),
        );
        assert_eq!(inventory.tensors[0].name, "a");
        let totals = inventory.totals();
        let count = |tensors, parameters, bytes| Count {
            tensors,
            parameters,
            bytes,
        };
        assert_eq!(totals.overall, count(4, 11, 32));
        assert_eq!(totals.by_dtype[&DType::F16], count(1, 6, 12));
        assert_eq!(totals.by_dtype[&DType::F32], count(3, 5, 20));
        assert_eq!(totals.by_dtype.len(), 2);
    }
}
