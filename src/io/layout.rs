//! The output layout: which shard each tensor goes to and at which offset, decided before any byte
//! is written.
//!
//! [`OutputLayout::plan`] receives the output tensors in their final order and an optional shard
//! byte budget, and returns the shards with per-tensor data offsets. Packing is greedy in the given
//! order, as BrainSurgery and Hugging Face do it: a shard takes tensors while its data stays within
//! the budget; a tensor larger than the budget gets a shard of its own. Only tensor data counts
//! towards the budget (not headers). Without a budget there is one shard, `model.safetensors`; with
//! one, shards are named `model-00001-of-0000N.safetensors` and an index is written, even when
//! everything fits in one shard, so a given budget always gives the same kind of output.
//! [`OutputLayout::shard_header`] renders a shard's header: the 8-byte length, then JSON with the
//! tensors in the given order, padded with spaces to a multiple of 8 bytes so data starts aligned.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde_json::{Map, Value};

use super::header::METADATA_KEY;
use super::IoError;
use crate::tensor::TensorType;

/// The unsharded output's file name inside a directory destination.
pub const SINGLE_FILE_NAME: &str = "model.safetensors";

/// One output tensor's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTensor {
    pub name: String,
    pub ty: TensorType,
    /// Index into [`OutputLayout::shards`].
    pub shard: usize,
    /// Byte range within the shard's data section (after its header).
    pub data: Range<u64>,
}

impl PlannedTensor {
    pub fn byte_len(&self) -> u64 {
        self.data.end - self.data.start
    }
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedShard {
    pub file_name: String,
    /// Indices into [`OutputLayout::tensors`], in data order.
    pub tensors: Vec<usize>,
    /// Bytes of the data section.
    pub data_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLayout {
    tensors: Vec<PlannedTensor>,
    shards: Vec<PlannedShard>,
    by_name: HashMap<String, usize>,
    sharded: bool,
}

impl OutputLayout {
    /// Plans the output; fails on a duplicate name or a type whose byte size is not whole.
    pub fn plan(
        tensors: Vec<(String, TensorType)>,
        shard_budget: Option<u64>,
    ) -> Result<OutputLayout, IoError> {
        let mut sizes = Vec::with_capacity(tensors.len());
        let mut by_name = HashMap::with_capacity(tensors.len());
        for (index, (name, ty)) in tensors.iter().enumerate() {
            if by_name.insert(name.clone(), index).is_some() {
                return Err(IoError::DuplicateOutputTensor {
                    tensor: name.clone(),
                });
            }
            let size = ty
                .byte_len()
                .ok_or_else(|| IoError::UnrepresentableOutputTensor {
                    tensor: name.clone(),
                    ty: ty.clone(),
                })?;
            sizes.push(size);
        }
        let groups = match shard_budget {
            None => vec![(0..tensors.len()).collect()],
            Some(budget) => pack_greedily(&sizes, budget),
        };
        let shard_count = groups.len();
        let mut placement = vec![(0usize, 0u64..0u64); tensors.len()];
        let mut shards = Vec::with_capacity(shard_count);
        for (shard, members) in groups.into_iter().enumerate() {
            let mut offset = 0u64;
            for &index in &members {
                let end = offset.checked_add(sizes[index]).ok_or_else(|| {
                    IoError::UnrepresentableOutputTensor {
                        tensor: tensors[index].0.clone(),
                        ty: tensors[index].1.clone(),
                    }
                })?;
                placement[index] = (shard, offset..end);
                offset = end;
            }
            let file_name = match shard_budget {
                None => SINGLE_FILE_NAME.to_string(),
                Some(_) => shard_file_name(shard + 1, shard_count),
            };
            shards.push(PlannedShard {
                file_name,
                tensors: members,
                data_len: offset,
            });
        }
        let tensors = tensors
            .into_iter()
            .zip(placement)
            .map(|((name, ty), (shard, data))| PlannedTensor {
                name,
                ty,
                shard,
                data,
            })
            .collect();
        Ok(OutputLayout {
            tensors,
            shards,
            by_name,
            sharded: shard_budget.is_some(),
        })
    }

    /// Every output tensor, in the given order.
    pub fn tensors(&self) -> &[PlannedTensor] {
        &self.tensors
    }

    pub fn shards(&self) -> &[PlannedShard] {
        &self.shards
    }

    /// The position of tensor `name` in [`OutputLayout::tensors`].
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// True when a shard budget was given: the output is shards plus an index.
    pub fn is_sharded(&self) -> bool {
        self.sharded
    }

    /// Bytes of tensor data over all shards (the index's `total_size`).
    pub fn total_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.data_len).sum()
    }

    /// The header of shard `shard`: length prefix plus space-padded JSON. The data section starts
    /// right after it.
    pub(crate) fn shard_header(
        &self,
        shard: usize,
        metadata: &BTreeMap<String, String>,
    ) -> Vec<u8> {
        let mut root = Map::new();
        if !metadata.is_empty() {
            let entries = metadata
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect();
            root.insert(METADATA_KEY.to_string(), Value::Object(entries));
        }
        for &index in &self.shards[shard].tensors {
            let tensor = &self.tensors[index];
            let mut entry = Map::new();
            entry.insert(
                "dtype".into(),
                Value::from(tensor.ty.dtype.safetensors_name()),
            );
            entry.insert("shape".into(), Value::from(tensor.ty.shape.dims().to_vec()));
            entry.insert(
                "data_offsets".into(),
                Value::from(vec![tensor.data.start, tensor.data.end]),
            );
            root.insert(tensor.name.clone(), Value::Object(entry));
        }
        let mut json = Value::Object(root).to_string().into_bytes();
        json.resize(json.len().next_multiple_of(8), b' ');
        let mut header = (json.len() as u64).to_le_bytes().to_vec();
        header.extend_from_slice(&json);
        header
    }
}

/// Hugging Face's shard file name: 1-based, five digits.
pub fn shard_file_name(number: usize, count: usize) -> String {
    format!("model-{number:05}-of-{count:05}.safetensors")
}

/// Groups tensor indices into shards: accumulate while the shard stays within `budget`; a tensor
/// above the budget closes the current shard and gets its own. Always at least one (maybe empty)
/// shard, so an empty checkpoint is still a loadable file.
fn pack_greedily(sizes: &[u64], budget: u64) -> Vec<Vec<usize>> {
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut current_size = 0u64;
    for (index, &size) in sizes.iter().enumerate() {
        let fits = current_size
            .checked_add(size)
            .is_some_and(|total| total <= budget);
        if !fits && !current.is_empty() {
            groups.push(std::mem::take(&mut current));
            current_size = 0;
        }
        current.push(index);
        current_size = current_size.saturating_add(size);
        if size > budget {
            groups.push(std::mem::take(&mut current));
            current_size = 0;
        }
    }
    if !current.is_empty() || groups.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, Shape};

    fn bytes(name: &str, len: u64) -> (String, TensorType) {
        (
            name.to_string(),
            TensorType::new(DType::U8, Shape::new(vec![len])),
        )
    }

    #[test]
    fn greedy_packing_follows_the_reference() {
        assert_eq!(pack_greedily(&[4, 4, 4], 8), vec![vec![0, 1], vec![2]]);
        // A tensor above the budget flushes the current shard and stands alone.
        assert_eq!(
            pack_greedily(&[3, 20, 3, 3, 3], 8),
            vec![vec![0], vec![1], vec![2, 3], vec![4]]
        );
        assert_eq!(pack_greedily(&[0, 8, 0], 8), vec![vec![0, 1, 2]]);
        assert_eq!(pack_greedily(&[], 8), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn plan_assigns_offsets_and_names() {
        let layout =
            OutputLayout::plan(vec![bytes("a", 5), bytes("b", 5), bytes("c", 2)], Some(8)).unwrap();
        let names: Vec<&str> = layout
            .shards()
            .iter()
            .map(|s| s.file_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        let c = &layout.tensors()[layout.position("c").unwrap()];
        assert_eq!((c.shard, c.data.clone()), (1, 5..7));
        assert_eq!(layout.total_bytes(), 12);

        let single = OutputLayout::plan(vec![bytes("a", 5)], None).unwrap();
        assert_eq!(single.shards()[0].file_name, SINGLE_FILE_NAME);
        assert!(!single.is_sharded());
    }

    #[test]
    fn plan_refuses_duplicates_and_partial_bytes() {
        let duplicate = OutputLayout::plan(vec![bytes("a", 1), bytes("a", 2)], None);
        assert!(matches!(
            duplicate,
            Err(IoError::DuplicateOutputTensor { .. })
        ));
        let partial = OutputLayout::plan(
            vec![("f".into(), TensorType::new(DType::F4, Shape::new(vec![3])))],
            None,
        );
        assert!(matches!(
            partial,
            Err(IoError::UnrepresentableOutputTensor { .. })
        ));
    }

    #[test]
    fn header_is_padded_to_eight_bytes_and_keeps_order() {
        let layout = OutputLayout::plan(vec![bytes("zz", 3), bytes("a", 1)], None).unwrap();
        let metadata = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        let header = layout.shard_header(0, &metadata);
        assert_eq!(header.len() % 8, 0);
        let json_len = u64::from_le_bytes(header[..8].try_into().unwrap()) as usize;
        assert_eq!(json_len + 8, header.len());
        let text = std::str::from_utf8(&header[8..]).unwrap();
        assert!(
            text.starts_with(r#"{"__metadata__":{"format":"pt"},"zz":"#),
            "{text}"
        );
        assert!(text.find("\"zz\"") < text.find("\"a\""));
    }
}
