//! The Hugging Face shard index, `model.safetensors.index.json`.
//!
//! Reading receives the index path and returns its `weight_map` (tensor name → shard file) after
//! checking that every file is a plain relative path inside the directory (no `..`, no root, no
//! drive) that exists. Writing renders `{"metadata": {"total_size": N}, "weight_map": {…}}` with the
//! tensors in the order given. Whether the shards really hold what the index claims is checked by
//! the caller once the shards are open.

use std::path::{Component, Path};

use serde_json::{Map, Value};

use super::IoError;

/// The file name Hugging Face loaders look for.
pub const INDEX_FILE_NAME: &str = "model.safetensors.index.json";

/// The index's tensor → file map, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightMap {
    pub entries: Vec<(String, String)>,
}

impl WeightMap {
    /// The distinct shard files, sorted (the order in which a checkpoint lists its shards).
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.entries.iter().map(|(_, f)| f.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        files
    }
}

/// Reads and checks the index at `index_path` (inside `directory`).
pub fn read(directory: &Path, index_path: &Path) -> Result<WeightMap, IoError> {
    let text = std::fs::read_to_string(index_path)
        .map_err(|source| IoError::os("read", index_path, source))?;
    let invalid = |problem: String| IoError::InvalidIndex {
        path: index_path.into(),
        problem,
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|error| invalid(format!("not valid JSON: {error}")))?;
    let Some(weight_map) = value.get("weight_map") else {
        return Err(invalid("it has no `weight_map` object".to_string()));
    };
    let Value::Object(weight_map) = weight_map else {
        return Err(invalid("`weight_map` must be an object".to_string()));
    };
    let mut entries = Vec::with_capacity(weight_map.len());
    for (tensor, file) in weight_map {
        let Value::String(file) = file else {
            return Err(invalid(format!(
                "`weight_map` entry `{tensor}` must be a file name string"
            )));
        };
        if !is_plain_relative(file) {
            return Err(IoError::IndexPathOutside {
                index: index_path.into(),
                tensor: tensor.clone(),
                file: file.clone(),
            });
        }
        if !directory.join(file).is_file() {
            return Err(IoError::MissingShard {
                index: index_path.into(),
                tensor: tensor.clone(),
                file: file.clone(),
            });
        }
        entries.push((tensor.clone(), file.clone()));
    }
    Ok(WeightMap { entries })
}

/// True when `file` names something below the directory: relative, and made of normal components
/// only, so neither `..` nor a root nor a Windows prefix can lead outside it.
fn is_plain_relative(file: &str) -> bool {
    let path = Path::new(file);
    !file.is_empty()
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
}

/// Renders an index for shards holding `total_size` data bytes; `weight_map` keeps the given order.
pub fn render<'a>(
    total_size: u64,
    weight_map: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut map = Map::new();
    for (tensor, file) in weight_map {
        map.insert(tensor.to_string(), Value::String(file.to_string()));
    }
    let mut metadata = Map::new();
    metadata.insert("total_size".to_string(), Value::from(total_size));
    let mut root = Map::new();
    root.insert("metadata".to_string(), Value::Object(metadata));
    root.insert("weight_map".to_string(), Value::Object(map));
    // Pretty-printed as Hugging Face writes it, so users can read and diff it.
    format!("{:#}\n", Value::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_stay_inside() {
        assert!(is_plain_relative("model-00001-of-00002.safetensors"));
        assert!(is_plain_relative("sub/model.safetensors"));
        assert!(!is_plain_relative("../model.safetensors"));
        assert!(!is_plain_relative("sub/../../x.safetensors"));
        assert!(!is_plain_relative("/etc/passwd"));
        assert!(!is_plain_relative("./x.safetensors"));
        assert!(!is_plain_relative(""));
    }

    #[test]
    fn render_keeps_order_and_total() {
        let text = render(12, [("b", "s1"), ("a", "s2")]);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["metadata"]["total_size"], 12);
        let keys: Vec<&String> = value["weight_map"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a"]);
    }
}
