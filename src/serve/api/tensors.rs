//! The tensor browser: `GET /api/inspect?path=` and `GET /api/tensor?path=&name=`.
//!
//! `inspect` opens a checkpoint inside the root (headers only) and returns `inspect --tree
//! --json`'s document — the compact tree with numbered layers folded into ranges, the totals and
//! the metadata — with each line's byte count added, for the page's collapsible tree. `tensor`
//! reads one tensor and returns its statistics (the same summary as `inspect --stats`) and a
//! histogram of its finite values drawn as SVG; its pages are released afterwards, so browsing a
//! large checkpoint does not grow the server's memory.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::blocking;
use crate::inspect::stats::{summarize, TensorStats};
use crate::inspect::{json as inspect_json, Inventory};
use crate::io::Checkpoint;
use crate::serve::error::ApiError;
use crate::serve::histogram::histogram;
use crate::serve::svg;
use crate::serve::AppState;
use crate::tensor::{DType, Shape, TensorType};

/// Bins of a tensor's histogram.
pub const HISTOGRAM_BINS: usize = 40;

#[derive(Debug, Deserialize)]
pub struct InspectQuery {
    pub path: String,
}

#[derive(Debug, Deserialize)]
pub struct TensorQuery {
    pub path: String,
    pub name: String,
}

fn open(state: &AppState, path: &str) -> Result<Checkpoint, ApiError> {
    let resolved = state.root.existing(path)?;
    let checkpoint = Checkpoint::open(&resolved).map_err(|error| {
        let diagnostic = error.to_diagnostic();
        ApiError::bad_request(format!("[{}] {}", diagnostic.code, diagnostic.message))
    })?;
    // Checked again on the files actually opened, in case a link changed in between.
    state.root.confine_opened(&checkpoint, path)?;
    Ok(checkpoint)
}

pub async fn inspect(
    State(state): State<Arc<AppState>>,
    Query(query): Query<InspectQuery>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let checkpoint = open(&state, &query.path)?;
        let mut document = inspect_json::tree_document(&Inventory::from_checkpoint(&checkpoint));
        if let Some(lines) = document["tree"].as_array_mut() {
            for line in lines {
                line["bytes"] = json!(line_bytes(line));
            }
        }
        document["path"] = json!(query.path);
        Ok(Json(document))
    })
    .await
}

/// The bytes of all tensors a tree line stands for, from its dtype, shape and count.
fn line_bytes(line: &Value) -> Option<u64> {
    let dtype = DType::from_safetensors_name(line["dtype"].as_str()?)?;
    let dims: Vec<u64> = line["shape"]
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<_>>()?;
    let each = TensorType::new(dtype, Shape::new(dims)).byte_len()?;
    each.checked_mul(line["tensors"].as_u64()?)
}

pub async fn tensor(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TensorQuery>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let checkpoint = open(&state, &query.path)?;
        let info = checkpoint
            .tensor(&query.name)
            .ok_or_else(|| ApiError::not_found(format!("no tensor `{}`", query.name)))?
            .clone();
        let bytes = checkpoint.read(&info.name).map_err(|error| {
            ApiError::bad_request(format!(
                "cannot read `{}`: {}",
                info.name,
                error.to_diagnostic().message
            ))
        })?;
        let stats = summarize(info.ty.dtype, &bytes);
        let (stats_value, picture) = match &stats {
            TensorStats::Summary(summary) => {
                let picture = match (summary.min, summary.max) {
                    (Some(min), Some(max)) => {
                        histogram(info.ty.dtype, &bytes, HISTOGRAM_BINS, min, max)
                            .map(|h| svg::histogram::draw(&h))
                    }
                    _ => None,
                };
                let value = json!({
                    "elements": summary.elements,
                    "min": summary.min,
                    "max": summary.max,
                    "mean": summary.mean,
                    "std": summary.std,
                    "nan": summary.nan,
                    "inf": summary.infinite,
                });
                (value, picture)
            }
            TensorStats::Unsupported => (Value::Null, None),
        };
        drop(bytes);
        checkpoint.release(&info.name);
        Ok(Json(json!({
            "path": query.path,
            "name": info.name,
            "dtype": info.ty.dtype.safetensors_name(),
            "shape": info.ty.shape.dims(),
            "bytes": info.byte_len(),
            "stats": stats_value,
            "histogram": picture,
        })))
    })
    .await
}
