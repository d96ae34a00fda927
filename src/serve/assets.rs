//! The page's files, embedded in the binary with `include_str!`, so the server needs nothing
//! at run time and the page loads nothing from the network (no CDN, no fonts, no build step).
//!
//! [`index`] serves the page; [`asset`] serves a named file of [`ASSETS`] with its content type,
//! or 404. Responses say `Cache-Control: no-store`, so a page never mixes assets of two versions.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Every embedded file: name, content type, content. The page's scripts are JavaScript modules
/// (`main.js` imports the panels), so the browser loads them without a bundler.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/api.js"),
    ),
    (
        "editor.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/editor.js"),
    ),
    (
        "tensors.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/tensors.js"),
    ),
    (
        "graph.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/graph.js"),
    ),
    (
        "run.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/run.js"),
    ),
    (
        "tabs.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/tabs.js"),
    ),
    (
        "main.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/main.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "example.yaml",
        "text/plain; charset=utf-8",
        include_str!("assets/example.yaml"),
    ),
];

const INDEX: &str = include_str!("assets/index.html");

pub async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX)
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, content)) => respond(content_type, content),
        None => ApiError::not_found(format!("no asset `{name}`")).into_response(),
    }
}

fn respond(content_type: &'static str, content: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-store")],
        content,
    )
        .into_response()
}
