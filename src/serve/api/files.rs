//! What the served root holds: `GET /api/info`, `GET /api/files`, `GET /api/file?path=`, and
//! `POST /api/file` to save the editor's plan.
//!
//! `info` names the root and the version. `files` walks the root (at most [`DEPTH`] levels and
//! [`ENTRY_LIMIT`] entries, skipping hidden directories, `target` and symbolic links, so a
//! listing never leaves the root nor takes long) and returns plan files (`.yaml`, `.yml`, `.bs`)
//! and checkpoints (files of the formats `inspect` reads, and directories holding safetensors
//! shards), as paths relative to the root. `file` returns a plan file's text and syntax; the path
//! goes through the root's confinement first. `save` writes a plan file: only a plan suffix that
//! matches the text's syntax (`.bs` for terse, `.yaml`/`.yml` for YAML), only inside the root
//! (missing directories are created), and atomically — the file is the complete new text or as it
//! was. The text is saved as typed, errors and all: saving work in progress is the point.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use super::{blocking, parse_json};
use crate::io::write_file_atomically_inside;
use crate::serve::document::Syntax;
use crate::serve::error::ApiError;
use crate::serve::AppState;

/// How deep the listing looks below the root.
pub const DEPTH: usize = 4;
/// The most entries one listing visits.
pub const ENTRY_LIMIT: usize = 2000;
/// The largest plan file `file` returns.
const PLAN_LIMIT: u64 = 1024 * 1024;

const PLAN_SUFFIXES: &[&str] = &[".yaml", ".yml", ".bs"];
const CHECKPOINT_SUFFIXES: &[&str] = &[".safetensors", ".bin", ".pt", ".pth", ".npy", ".npz"];

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    pub path: String,
}

pub async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "root": state.root.path().display().to_string(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let mut listing = Listing::default();
        listing.walk(state.root.path(), state.root.path(), 0);
        Ok(Json(json!({
            "plans": listing.plans,
            "checkpoints": listing.checkpoints,
            "truncated": listing.visited >= ENTRY_LIMIT,
        })))
    })
    .await
}

pub async fn read(
    State(state): State<Arc<AppState>>,
    Query(query): Query<PathQuery>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let mut file = state.root.open_file(&query.path)?;
        let syntax = if query.path.ends_with(".bs") {
            "terse"
        } else if PLAN_SUFFIXES.iter().any(|s| query.path.ends_with(s)) {
            "yaml"
        } else {
            return Err(ApiError::bad_request(
                "only plan files (.yaml, .yml, .bs) can be opened",
            ));
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size > PLAN_LIMIT {
            return Err(ApiError::bad_request("the plan file is larger than 1 MiB"));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)
            .map_err(|error| ApiError::bad_request(format!("cannot read the file: {error}")))?;
        Ok(Json(
            json!({"path": query.path, "syntax": syntax, "text": text}),
        ))
    })
    .await
}

/// The body of `POST /api/file`.
#[derive(Debug, Deserialize)]
pub struct SaveRequest {
    pub path: String,
    pub text: String,
    /// `yaml` or `terse`: the syntax of `text`, which the path's suffix must match.
    pub syntax: String,
}

pub async fn save(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: SaveRequest = parse_json(body, state.body_limit)?;
    let syntax = Syntax::parse(&request.syntax).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown syntax `{}` (expected `yaml` or `terse`)",
            request.syntax
        ))
    })?;
    let suffix_fits = match syntax {
        Syntax::Terse => request.path.ends_with(".bs"),
        Syntax::Yaml => [".yaml", ".yml"].iter().any(|s| request.path.ends_with(s)),
    };
    if !suffix_fits {
        return Err(ApiError::bad_request(match syntax {
            Syntax::Terse => "a terse plan is saved as a `.bs` file",
            Syntax::Yaml => "a YAML plan is saved as a `.yaml` or `.yml` file",
        }));
    }
    blocking(move || {
        let path = state.root.writable(&request.path)?;
        let root = Some(state.root.path());
        write_file_atomically_inside(&path, request.text.as_bytes(), root).map_err(|error| {
            ApiError::bad_request(format!("cannot save `{}`: {error}", request.path))
        })?;
        Ok(Json(json!({
            "path": request.path,
            "syntax": request.syntax,
            "bytes": request.text.len(),
        })))
    })
    .await
}

#[derive(Debug, Default)]
struct Listing {
    plans: Vec<String>,
    checkpoints: Vec<String>,
    visited: usize,
}

impl Listing {
    fn walk(&mut self, root: &Path, directory: &Path, depth: usize) {
        let Ok(entries) = std::fs::read_dir(directory) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|entry| entry.file_name());
        let mut holds_shards = false;
        for entry in entries {
            if self.visited >= ENTRY_LIMIT {
                return;
            }
            self.visited += 1;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            if kind.is_dir() {
                if depth + 1 < DEPTH && !name.starts_with('.') && name != "target" {
                    self.walk(root, &path, depth + 1);
                }
            } else if kind.is_file() {
                if PLAN_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                    self.plans.push(relative);
                } else if CHECKPOINT_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                    holds_shards |= name.ends_with(".safetensors");
                    self.checkpoints.push(relative);
                }
            }
        }
        // A directory of safetensors shards is itself a checkpoint (as `inspect DIR` reads it).
        if holds_shards && directory != root {
            let relative = directory.strip_prefix(root).unwrap_or(directory);
            self.checkpoints.push(relative.display().to_string());
        }
    }
}
