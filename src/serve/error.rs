//! Refusals and failures of the HTTP API, as JSON.
//!
//! Every handler returns `Result<_, ApiError>`; an [`ApiError`] becomes a response with its HTTP
//! status and the body `{"error": {"code": …, "message": …}}`, so the page (and the tests) can
//! tell a refusal of a path from a missing token or an oversized body by a stable code rather
//! than by wording. Problems *in a plan* are not API errors: they are diagnostics inside a
//! successful response, because the editor shows them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::root::PathError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable (`missing-token`, `path-refused`, `body-too-large`, …).
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn missing_token() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "missing-token",
            "this request needs the server's token (open the URL printed when the server started)",
        )
    }

    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// A path the root refuses is forbidden; a path that is simply missing is not found.
impl From<PathError> for ApiError {
    fn from(error: PathError) -> ApiError {
        if error.is_confinement() {
            ApiError::new(StatusCode::FORBIDDEN, "path-refused", error.to_string())
        } else {
            ApiError::not_found(error.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
