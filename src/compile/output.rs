//! The end of a compilation: which alias the plan's output writes, and its `Store` nodes.
//!
//! It receives the final graph and environment and returns the graph with one `Store` per tensor
//! of the output alias (in name order) and the output's id. The alias is `output.alias` when the
//! plan names one; else the only input's alias; else the only alias that steps wrote into (and
//! that still holds tensors); else an error naming the candidates. This replaces BrainSurgery's
//! inference (see `docs/differences.md`), which fails even for single-input plans that only
//! assert. When dry-run mode is still on at the end, nothing is written, as in BrainSurgery.

use super::diagnostics;
use super::draft::Flags;
use super::environment::Environment;
use crate::diagnostics::{Diagnostic, Span};
use crate::graph::ops::{NodeKind, Store};
use crate::graph::{OutputId, OutputSpec, PlanGraph};
use crate::plan::ast::{Output, Spanned};

/// A finished compilation.
#[derive(Debug, Clone)]
pub struct CompiledPlan {
    pub graph: PlanGraph,
    pub output: Option<OutputId>,
    pub warnings: Vec<Diagnostic>,
}

/// A compilation whose output could not be resolved: the graph so far and why.
#[derive(Debug, Clone)]
pub struct FinishFailure {
    pub graph: PlanGraph,
    pub diagnostics: Vec<Diagnostic>,
}

pub(super) fn finish(
    mut graph: PlanGraph,
    env: &Environment,
    flags: &Flags,
    input_aliases: &[String],
    output: Option<&Spanned<Output>>,
) -> Result<CompiledPlan, Box<FinishFailure>> {
    let Some(output) = output else {
        return Ok(CompiledPlan {
            graph,
            output: None,
            warnings: Vec::new(),
        });
    };
    if flags.dry_run() {
        let warning = Diagnostic::warning(
            "W0429",
            "dry-run mode is still on at the end of the plan: the output is not written",
        )
        .with_label(output.span, "skipped");
        return Ok(CompiledPlan {
            graph,
            output: None,
            warnings: vec![warning],
        });
    }
    let alias = match output_alias(env, flags, input_aliases, output) {
        Ok(alias) => alias,
        Err(diagnostic) => {
            return Err(Box::new(FinishFailure {
                graph,
                diagnostics: vec![diagnostic],
            }))
        }
    };
    let id = graph.add_output(OutputSpec {
        path: output.path.node.clone(),
        alias: alias.clone(),
        format: output.format.as_ref().map(|f| f.node.name().to_string()),
        shard: output.shard.as_ref().map(|s| s.node.clone()),
        is_plan_output: true,
    });
    let span: Option<Span> = Some(output.span);
    if let Some(table) = env.alias(&alias) {
        for (name, &node) in table {
            let ty = graph.type_of(node).cloned();
            graph.add_node(
                NodeKind::Store(Store::new(id, name.clone())),
                ty,
                &[node],
                span,
            );
        }
    }
    Ok(CompiledPlan {
        graph,
        output: Some(id),
        warnings: Vec::new(),
    })
}

fn output_alias(
    env: &Environment,
    flags: &Flags,
    input_aliases: &[String],
    output: &Spanned<Output>,
) -> Result<String, Diagnostic> {
    if let Some(alias) = &output.alias {
        if !env.has_alias(&alias.node) {
            return Err(diagnostics::unknown_alias(
                &alias.node,
                alias.span,
                &env.alias_names(),
            ));
        }
        return Ok(alias.node.clone());
    }
    if let [only] = input_aliases {
        if env.has_alias(only) {
            return Ok(only.clone());
        }
    }
    let holds_tensors = |alias: &&str| env.alias(alias).is_some_and(|t| !t.is_empty());
    let written: Vec<&str> = flags
        .written
        .iter()
        .map(String::as_str)
        .filter(holds_tensors)
        .collect();
    if let [only] = written.as_slice() {
        return Ok(only.to_string());
    }
    let candidates: Vec<&str> = if written.is_empty() {
        env.alias_names()
            .into_iter()
            .filter(holds_tensors)
            .collect()
    } else {
        written
    };
    Err(diagnostics::output_alias_ambiguous(
        &candidates,
        Some(output.span),
    ))
}
