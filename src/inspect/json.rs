//! The machine-readable inspect views (`--json`).
//!
//! [`tensors_document`] receives an [`Inventory`] and optionally one [`TensorStats`] per tensor and
//! returns
//! `{"tensors": [{"name", "dtype", "shape", "bytes", "shard", "stats"?}], "totals": {…}, "metadata": {…}}`;
//! [`tree_document`] returns the folded tree as `{"tree": [{"path", "dtype", "shape", "tensors"}], …}`
//! with the same totals and metadata. Keys keep the order written here, numbers are plain JSON
//! numbers (byte counts exact), and a statistic that does not exist is `null`; `"stats": null`
//! marks a dtype without statistics. The field list is in `docs/inspect.md`.

use serde_json::{json, Map, Value};

use super::fold::fold;
use super::inventory::{Inventory, Totals};
use super::stats::TensorStats;

/// The table as JSON; `stats` (in inventory order) adds a `"stats"` object to each tensor.
pub fn tensors_document(inventory: &Inventory, stats: Option<&[TensorStats]>) -> Value {
    let tensors: Vec<Value> = inventory
        .tensors
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let mut object = json!({
                "name": entry.name,
                "dtype": entry.ty.dtype.safetensors_name(),
                "shape": entry.ty.shape.dims(),
                "bytes": entry.bytes,
                "shard": entry.shard,
            });
            if let (Some(stats), Value::Object(fields)) = (stats, &mut object) {
                fields.insert("stats".to_string(), stats_value(stats.get(index)));
            }
            object
        })
        .collect();
    json!({
        "tensors": tensors,
        "totals": totals_value(&inventory.totals()),
        "metadata": inventory.metadata,
    })
}

/// The compact tree as JSON.
pub fn tree_document(inventory: &Inventory) -> Value {
    let lines: Vec<Value> = fold(inventory.tensors.iter().map(|e| (e.name.as_str(), &e.ty)))
        .into_iter()
        .map(|line| {
            json!({
                "path": line.path,
                "dtype": line.ty.dtype.safetensors_name(),
                "shape": line.ty.shape.dims(),
                "tensors": line.tensors,
            })
        })
        .collect();
    json!({
        "tree": lines,
        "totals": totals_value(&inventory.totals()),
        "metadata": inventory.metadata,
    })
}

/// The document as the command prints it: one top-level key per line and one array element
/// (one tensor, one tree line) per line, each written compactly, with a final newline. This stays
/// valid JSON while keeping golden files and `grep` output one tensor to a line.
pub fn to_text(document: &Value) -> String {
    let compact = |value: &Value| serde_json::to_string(value).unwrap_or_default();
    let Value::Object(fields) = document else {
        return compact(document) + "\n";
    };
    let mut out = String::from("{\n");
    for (index, (key, value)) in fields.iter().enumerate() {
        out.push_str("  ");
        out.push_str(&compact(&Value::String(key.clone())));
        out.push_str(": ");
        match value {
            Value::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (position, item) in items.iter().enumerate() {
                    out.push_str("    ");
                    out.push_str(&compact(item));
                    out.push_str(if position + 1 < items.len() {
                        ",\n"
                    } else {
                        "\n"
                    });
                }
                out.push_str("  ]");
            }
            other => out.push_str(&compact(other)),
        }
        out.push_str(if index + 1 < fields.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("}\n");
    out
}

fn totals_value(totals: &Totals) -> Value {
    let by_dtype: Map<String, Value> = totals
        .by_dtype
        .iter()
        .map(|(dtype, count)| {
            let value = json!({
                "tensors": count.tensors,
                "parameters": count.parameters,
                "bytes": count.bytes,
            });
            (dtype.safetensors_name().to_string(), value)
        })
        .collect();
    json!({
        "tensors": totals.overall.tensors,
        "parameters": totals.overall.parameters,
        "bytes": totals.overall.bytes,
        "by_dtype": by_dtype,
    })
}

fn stats_value(stats: Option<&TensorStats>) -> Value {
    match stats {
        Some(TensorStats::Summary(summary)) => json!({
            "elements": summary.elements,
            "min": summary.min,
            "max": summary.max,
            "mean": summary.mean,
            "std": summary.std,
            "nan": summary.nan,
            "inf": summary.infinite,
        }),
        Some(TensorStats::Unsupported) | None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::inspect::inventory::TensorEntry;
    use crate::inspect::stats::Summary;
    use crate::tensor::{DType, Shape, TensorType};

    fn inventory() -> Inventory {
        let ty = |dtype, dims: &[u64]| TensorType::new(dtype, Shape::new(dims.to_vec()));
        Inventory::new(
            vec![
                TensorEntry::new("h.0.w", ty(DType::BF16, &[2, 3]), "a.safetensors"),
                TensorEntry::new("h.1.w", ty(DType::BF16, &[2, 3]), "b.safetensors"),
                TensorEntry::new("packed", ty(DType::F4, &[2]), "b.safetensors"),
            ],
            BTreeMap::from([("format".to_string(), "pt".to_string())]),
        )
    }

    #[test]
    fn tensors_document_has_fields_totals_and_metadata() {
        let stats = [
            TensorStats::Summary(Summary {
                elements: 6,
                min: Some(-1.0),
                max: Some(2.0),
                mean: Some(0.5),
                std: Some(1.5),
                nan: 0,
                infinite: 0,
            }),
            TensorStats::Summary(Summary {
                elements: 6,
                min: None,
                max: None,
                mean: None,
                std: None,
                nan: 6,
                infinite: 0,
            }),
            TensorStats::Unsupported,
        ];
        let document = tensors_document(&inventory(), Some(&stats));
        let first = &document["tensors"][0];
        assert_eq!(first["name"], "h.0.w");
        assert_eq!(first["dtype"], "BF16");
        assert_eq!(first["shape"], json!([2, 3]));
        assert_eq!(first["bytes"], 12);
        assert_eq!(first["shard"], "a.safetensors");
        assert_eq!(first["stats"]["min"], -1.0);
        assert_eq!(first["stats"]["std"], 1.5);
        assert_eq!(document["tensors"][1]["stats"]["mean"], Value::Null);
        assert_eq!(document["tensors"][1]["stats"]["nan"], 6);
        assert_eq!(document["tensors"][2]["stats"], Value::Null);
        assert_eq!(document["totals"]["tensors"], 3);
        assert_eq!(document["totals"]["parameters"], 14);
        assert_eq!(document["totals"]["bytes"], 25);
        assert_eq!(document["totals"]["by_dtype"]["BF16"]["bytes"], 24);
        assert_eq!(document["metadata"]["format"], "pt");
    }

    #[test]
    fn without_stats_there_is_no_stats_field() {
        let document = tensors_document(&inventory(), None);
        assert!(document["tensors"][0].get("stats").is_none());
    }

    #[test]
    fn text_is_valid_json_with_one_tensor_per_line() {
        let document = tensors_document(&inventory(), None);
        let text = to_text(&document);
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, document);
        let tensor_lines = text.lines().filter(|l| l.contains("\"name\"")).count();
        assert_eq!(tensor_lines, 3);
        assert!(text.starts_with("{\n  \"tensors\": [\n    {\"name\":\"h.0.w\","));
        assert!(text.ends_with("\"metadata\": {\"format\":\"pt\"}\n}\n"));
    }

    #[test]
    fn tree_document_folds() {
        let document = tree_document(&inventory());
        assert_eq!(document["tree"][0]["path"], "h.[0-1].w");
        assert_eq!(document["tree"][0]["tensors"], 2);
        assert_eq!(document["tree"][1]["path"], "packed");
        assert_eq!(document["tree"].as_array().map(Vec::len), Some(2));
    }
}
