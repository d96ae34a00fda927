//! The HTTP API the page calls; one submodule per area: [`plan`] (check, fmt, graph), [`files`]
//! (what the root holds), [`tensors`] (the tensor browser), [`runs`] (runs and their progress).
//!
//! Handlers receive JSON bodies or query strings and return JSON; the work itself (parsing,
//! compiling, opening checkpoints, decoding tensors) is synchronous library code, so it runs on
//! tokio's blocking threads through [`blocking`], which keeps the server's event loop free: the
//! page stays responsive while a run or a large statistics request is going on.

pub mod files;
pub mod plan;
pub mod runs;
pub mod tensors;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::document::Syntax;
use super::error::ApiError;

/// The body of the plan endpoints: the editor's text and what to do with it.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanRequest {
    pub plan: String,
    /// `yaml` or `terse`.
    #[serde(default = "default_syntax")]
    pub syntax: String,
    /// An output path replacing the plan's (Run panel).
    #[serde(default)]
    pub output: Option<String>,
    /// Graph: draw the optimized graph.
    #[serde(default)]
    pub optimized: bool,
    /// Fmt: the syntax to convert to.
    #[serde(default)]
    pub to: Option<String>,
    /// Run: execute without publishing.
    #[serde(default)]
    pub dry_run: bool,
}

fn default_syntax() -> String {
    "yaml".to_string()
}

impl PlanRequest {
    pub fn syntax(&self) -> Result<Syntax, ApiError> {
        Syntax::parse(&self.syntax).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown syntax `{}` (expected `yaml` or `terse`)",
                self.syntax
            ))
        })
    }
}

/// Reads a JSON body, turning the body limit's refusal into a `body-too-large` error.
pub fn parse_json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::body_too_large(limit)
        } else {
            ApiError::bad_request(rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::bad_request(format!("invalid request body: {error}")))
}

/// Runs synchronous work on a blocking thread.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        ApiError::internal("the request's work stopped unexpectedly (please report)")
    })?
}
