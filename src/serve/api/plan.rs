//! The plan endpoints: `POST /api/check`, `/api/fmt` and `/api/graph`.
//!
//! Each receives a [`PlanRequest`] (the editor's text and syntax) and answers `200` with JSON,
//! also when the plan has errors — those are diagnostics for the editor, in the same order and
//! with the same codes `brainsurgery check` prints. `check` adds `check`'s summary text (what the
//! run would read, write and hold); `fmt` returns the plan printed in the other syntax by the same
//! printers as `brainsurgery fmt`, keeping the text's comments; `graph` returns the compiled graph
//! drawn as SVG with a table of its nodes (raw, or after the optimizer when `optimized` is set).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{blocking, parse_json, PlanRequest};
use crate::cli::check::summary_report;
use crate::diagnostics::Severity;
use crate::optimize::{optimize, Options};
use crate::plan::terse::print_terse_with;
use crate::plan::yaml::print_yaml_with;
use crate::serve::document::{check_document, document_comments, parse_document, Checked, Syntax};
use crate::serve::error::ApiError;
use crate::serve::report::diagnostics_json;
use crate::serve::svg;
use crate::serve::AppState;

pub async fn check(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: PlanRequest = parse_json(body, state.body_limit)?;
    let syntax = request.syntax()?;
    blocking(move || {
        let checked = check_document(
            &request.plan,
            syntax,
            &state.root,
            request.output.as_deref(),
        );
        Ok(Json(check_json(&checked)))
    })
    .await
}

/// The check document: diagnostics, counts, the summary, the plan's inputs and outputs.
pub fn check_json(checked: &Checked) -> Value {
    let mut diagnostics = checked.diagnostics.clone();
    let summary = checked.compilation.as_ref().map(|compilation| {
        let (text, budget) = summary_report(&compilation.graph, None);
        diagnostics.extend(budget);
        text
    });
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let inputs: Vec<Value> = checked
        .plan
        .iter()
        .flat_map(|plan| &plan.inputs)
        .map(|input| json!({"alias": input.node.alias_or_default(), "path": input.node.path.node}))
        .collect();
    let outputs: Vec<Value> = checked
        .compilation
        .iter()
        .flat_map(|compilation| compilation.graph.outputs())
        .map(|output| json!({"alias": output.alias, "path": output.path}))
        .collect();
    json!({
        "ok": errors == 0,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
        "diagnostics": diagnostics_json(&diagnostics, &checked.sources),
        "summary": summary,
        "inputs": inputs,
        "outputs": outputs,
    })
}

pub async fn format(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: PlanRequest = parse_json(body, state.body_limit)?;
    let syntax = request.syntax()?;
    let to = match request.to.as_deref() {
        None => match syntax {
            Syntax::Yaml => Syntax::Terse,
            Syntax::Terse => Syntax::Yaml,
        },
        Some(name) => Syntax::parse(name)
            .ok_or_else(|| ApiError::bad_request(format!("unknown syntax `{name}`")))?,
    };
    blocking(move || {
        let (sources, parsed) = parse_document(&request.plan, syntax);
        Ok(Json(match parsed {
            Ok(plan) => {
                let comments = document_comments(&plan, &sources, syntax);
                json!({
                    "ok": true,
                    "syntax": if to == Syntax::Yaml { "yaml" } else { "terse" },
                    "text": match to {
                        Syntax::Yaml => print_yaml_with(&plan, &comments),
                        Syntax::Terse => print_terse_with(&plan, &comments),
                    },
                })
            }
            Err(diagnostics) => json!({
                "ok": false,
                "diagnostics": diagnostics_json(&diagnostics, &sources),
            }),
        }))
    })
    .await
}

pub async fn graph(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: PlanRequest = parse_json(body, state.body_limit)?;
    let syntax = request.syntax()?;
    blocking(move || {
        let checked = check_document(
            &request.plan,
            syntax,
            &state.root,
            request.output.as_deref(),
        );
        let Some(graph) = checked.valid_graph() else {
            return Ok(Json(json!({
                "ok": false,
                "diagnostics": diagnostics_json(&checked.diagnostics, &checked.sources),
            })));
        };
        let mut graph = graph.clone();
        // The same optimizer, with the same options, as `graph --optimized` and `run`.
        if request.optimized {
            optimize(&mut graph, &Options::default()).map_err(|error| {
                ApiError::internal(format!("the optimizer failed (please report): {error}"))
            })?;
        }
        let picture = svg::graph::draw(&graph, &checked.sources);
        Ok(Json(json!({
            "ok": true,
            "optimized": request.optimized,
            "svg": picture.svg,
            "nodes": picture.nodes,
            "omitted": picture.omitted,
        })))
    })
    .await
}
