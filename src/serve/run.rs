//! Runs started from the page, through `brainsurgery run`'s own code path.
//!
//! [`start`] receives the editor's document and the Run panel's choices (output path inside the
//! root, dry run). It checks the document exactly as the editor does ([`check_document`]), then
//! prepares the run with [`prepare_run`] (optimizer, memory budget) — any error stops it there
//! and comes back as diagnostics — resolves every output inside the root, and starts
//! [`execute_prepared`] on a run thread of [`Runs`](super::jobs::Runs) with a
//! [`ProgressObserver`] that feeds the run's status (and so the page's event stream). The result
//! document says what was published (paths relative to the root), with `run`'s closing summary,
//! or, when the run stopped, its diagnostics. **Guarantee**: nothing is executed that `check`
//! would refuse, and nothing is written outside the root.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::document::{check_document, path_refused, Checked, Syntax};
use super::error::ApiError;
use super::jobs::{RunOutcome, RunReporter};
use super::report::diagnostics_json;
use super::AppState;
use crate::cli::check::DEFAULT_SHARD_BYTES;
use crate::cli::run::{default_memory_budget, execute_prepared, prepare_run, RunSettings};
use crate::compile::diagnostics::format_bytes;
use crate::diagnostics::{Diagnostic, Severity, SourceMap};
use crate::exec::ProgressObserver;
use crate::graph::OutputId;

/// What the Run panel asks for.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub plan: String,
    pub syntax: Syntax,
    pub output: Option<String>,
    pub dry_run: bool,
}

/// The settings of a run from the page: `run`'s defaults (a quarter of memory as budget, one
/// worker per core, 5 GiB shards), never a terminal progress bar.
pub fn settings(dry_run: bool) -> RunSettings {
    RunSettings {
        memory_budget: default_memory_budget(),
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        default_shard_bytes: Some(DEFAULT_SHARD_BYTES),
        dry_run,
        fuse: true,
        progress_bar: false,
    }
}

/// Starts the run; `{"id"}` when it started, `{"id": null, "diagnostics"}` when the plan cannot
/// run.
pub fn start(state: &Arc<AppState>, request: RunRequest) -> Result<Value, ApiError> {
    let Checked {
        sources,
        plan,
        compilation,
        mut diagnostics,
        headers,
    } = check_document(
        &request.plan,
        request.syntax,
        &state.root,
        request.output.as_deref(),
    );
    let refused = |diagnostics: &[Diagnostic], sources: &SourceMap| json!({"id": null, "diagnostics": diagnostics_json(diagnostics, sources)});
    let (Some(plan), Some(compilation)) = (plan, compilation) else {
        return Ok(refused(&diagnostics, &sources));
    };
    if has_errors(&diagnostics) {
        return Ok(refused(&diagnostics, &sources));
    }
    let settings = settings(request.dry_run);
    let mut prepared = match prepare_run(&plan, compilation.graph, &settings) {
        Ok(prepared) => prepared,
        Err(problems) => {
            diagnostics.extend(problems);
            return Ok(refused(&diagnostics, &sources));
        }
    };
    // The executor writes where the graph says; point every output at its place in the root.
    for index in 0..prepared.graph.outputs().len() {
        let path = prepared.graph.outputs()[index].path.clone();
        match state.root.writable(&path) {
            Ok(resolved) => {
                let resolved = resolved.to_string_lossy().into_owned();
                prepared
                    .graph
                    .set_output_path(OutputId::from_index(index), resolved);
            }
            Err(error) => diagnostics.push(path_refused(&error)),
        }
    }
    if has_errors(&diagnostics) {
        return Ok(refused(&diagnostics, &sources));
    }
    let checkpoints = match headers.into_checkpoints() {
        Ok(checkpoints) => checkpoints,
        Err(problem) => return Ok(refused(&[problem], &sources)),
    };
    let warnings = diagnostics;
    let root = state.root.clone();
    let started = state.runs.start(move |reporter: RunReporter| {
        let clock = Instant::now();
        let observer = ProgressObserver::new(move |update| reporter.progress(update));
        match execute_prepared(&prepared, &checkpoints, &settings, Some(observer)) {
            Ok(report) => {
                let published: Vec<String> = report
                    .published
                    .iter()
                    .map(|path| root.relative(path).display().to_string())
                    .collect();
                let destination = match (settings.dry_run, published.as_slice()) {
                    (true, _) => "dry run: nothing written".to_string(),
                    (false, []) => "no output".to_string(),
                    (false, paths) => format!("wrote {}", paths.join(", ")),
                };
                let summary = format!(
                    "{destination}: {} tensors, {} in {:.1} s (peak reserved {})",
                    report.tensors_written,
                    format_bytes(report.bytes_written),
                    clock.elapsed().as_secs_f64(),
                    format_bytes(report.peak_reserved)
                );
                RunOutcome {
                    succeeded: true,
                    result: json!({
                        "summary": summary,
                        "published": published,
                        "dry_run": settings.dry_run,
                        "tensors_written": report.tensors_written,
                        "bytes_written": report.bytes_written,
                        "sink_text": report.sink_text,
                        "diagnostics": diagnostics_json(&warnings, &sources),
                    }),
                }
            }
            Err(failure) => {
                let errors = failure
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                let plural = if errors == 1 { "" } else { "s" };
                RunOutcome {
                    succeeded: false,
                    result: json!({
                        "message": format!("run stopped: {errors} error{plural}"),
                        "exit_code": failure.exit_code,
                        "sink_text": failure.sink_text,
                        "diagnostics": diagnostics_json(&failure.diagnostics, &sources),
                    }),
                }
            }
        }
    });
    match started {
        Ok(id) => Ok(json!({"id": id})),
        Err(running) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "run-in-progress",
            format!("run {running} is still going; wait for it to finish"),
        )),
    }
}

fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}
