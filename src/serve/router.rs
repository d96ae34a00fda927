//! The routes of the server and the two checks every API request passes first.
//!
//! [`router`] receives the shared state and returns the axum router: the page and its assets
//! (no token needed: they are the same for everyone), and `/api/…` behind [`require_token`]
//! and the body limit. [`check_host`] runs before everything: a server bound to loopback answers
//! only requests whose `Host` is a loopback name, so a web page that rebinds its own domain to
//! 127.0.0.1 still cannot talk to it.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::HOST;
use axum::http::StatusCode;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::api::{files, plan, runs, tensors};
use super::assets;
use super::error::ApiError;
use super::token::{TOKEN_HEADER, TOKEN_QUERY};
use super::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/info", get(files::info))
        .route("/files", get(files::list))
        .route("/file", get(files::read).post(files::save))
        .route("/check", post(plan::check))
        .route("/fmt", post(plan::format))
        .route("/graph", post(plan::graph))
        .route("/inspect", get(tensors::inspect))
        .route("/tensor", get(tensors::tensor))
        .route("/run", post(runs::start))
        .route("/runs/{id}", get(runs::status))
        .route("/runs/{id}/events", get(runs::events))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::asset))
        .nest("/api", api)
        .layer(from_fn_with_state(state.clone(), check_host))
        .with_state(state)
}

/// Refuses an API request without the server's token (header, or `token=` in the query).
async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let from_header = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let from_query = request.uri().query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == TOKEN_QUERY).then(|| value.to_string())
        })
    });
    let given = from_header.or(from_query).unwrap_or_default();
    if state.token.matches(&given) {
        next.run(request).await
    } else {
        ApiError::missing_token().into_response()
    }
}

/// Refuses a request to a loopback-bound server whose `Host` is not a loopback name.
async fn check_host(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if !state.loopback_only {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if is_loopback_host(host) {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "bad-host",
            format!("this server answers only to loopback host names, not `{host}`"),
        )
        .into_response()
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_host_names() {
        for host in [
            "localhost",
            "localhost:8766",
            "127.0.0.1:1",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8766",
            "10.0.0.1:8766",
            "localhost.evil",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
