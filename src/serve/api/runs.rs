//! Runs: `POST /api/run` (start one: [`crate::serve::run::start`]), `GET /api/runs/{id}` (the
//! latest status) and `GET /api/runs/{id}/events` (server-sent events: one `progress` event per
//! change of the run's status, the first one at once, the last one when the run has finished,
//! after which the stream ends).
//!
//! The page opens the event stream with `EventSource`, which cannot set headers, so these
//! endpoints take the token from the query string as well (see the router).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use serde_json::Value;

use super::{blocking, parse_json, PlanRequest};
use crate::serve::error::ApiError;
use crate::serve::run::{self, RunRequest};
use crate::serve::AppState;

pub async fn start(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: PlanRequest = parse_json(body, state.body_limit)?;
    let run_request = RunRequest {
        syntax: request.syntax()?,
        plan: request.plan,
        output: request.output,
        dry_run: request.dry_run,
    };
    blocking(move || run::start(&state, run_request).map(Json)).await
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let receiver = state
        .runs
        .subscribe(id)
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    let status = receiver.borrow().clone();
    Ok(Json(status.to_json(id)))
}

pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let receiver = state
        .runs
        .subscribe(id)
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    // State: the receiver, whether an event was sent already, whether the last one was final.
    let events = stream::unfold(
        (receiver, false, false),
        move |(mut receiver, sent, done)| async move {
            if done {
                return None;
            }
            // After the first event, wait for a change; a closed channel means the run's
            // thread is gone, and its last status is final.
            if sent && receiver.changed().await.is_err() {
                let status = receiver.borrow().clone();
                let event = progress_event(&status.to_json(id));
                return Some((Ok(event), (receiver, true, true)));
            }
            let status = receiver.borrow_and_update().clone();
            let event = progress_event(&status.to_json(id));
            Some((Ok(event), (receiver, true, status.finished())))
        },
    );
    Ok(Sse::new(events))
}

fn progress_event(status: &Value) -> Event {
    Event::default().event("progress").data(status.to_string())
}
