//! Running a compiled graph: the executor's entry point, used by `brainsurgery run` and by tests.
//!
//! [`execute`] receives a graph, the opened input checkpoints (keyed by the path the plan names
//! them with) and [`ExecOptions`]; it prepares the graph (every problem that would stop the run
//! part-way is reported before anything starts), lays out every output, schedules the nodes
//! within the memory budget, and — only when every node finished and every assertion held, and
//! not in a dry run — publishes every output atomically. It returns a [`RunReport`] (the sinks'
//! text in plan order, what was published, the bytes reserved at most) or a [`RunFailure`]
//! (diagnostics, the text of the sinks that ran before the failure, and the exit code: 1 for the
//! plan, 3 for storage). A failed run leaves every destination exactly as it was.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::budget::MemoryBudget;
use super::outputs::{OutputOptions, Outputs};
use super::prepare::prepare;
use super::progress::Progress;
use super::schedule::{self, Environment, Failure};
use crate::diagnostics::Diagnostic;
use crate::graph::{NodeKind, PlanGraph};
use crate::io::Checkpoint;
use crate::tensor::TensorType;

/// How a run executes.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Bytes of intermediate values (and whole-read mapped operands) held at once.
    pub memory_budget: u64,
    /// Worker threads.
    pub workers: usize,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    pub outputs: OutputOptions,
}

/// A successful run.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The text of every dump and diff, in plan order.
    pub sink_text: Vec<String>,
    /// The outputs published (none in a dry run).
    pub published: Vec<PathBuf>,
    pub bytes_written: u64,
    pub tensors_written: u64,
    /// The most bytes the budget had reserved at once.
    pub peak_reserved: u64,
    /// Reservations granted beyond the budget to keep the run going (see the scheduler).
    pub overdrafts: u64,
}

/// A run that stopped.
#[derive(Debug, Clone)]
pub struct RunFailure {
    pub diagnostics: Vec<Diagnostic>,
    /// The text of the dumps and diffs that come before the failure in plan order.
    pub sink_text: Vec<String>,
    pub exit_code: i32,
}

const EXIT_PLAN: i32 = 1;
const EXIT_IO: i32 = 3;

pub fn execute(
    graph: &PlanGraph,
    checkpoints: &BTreeMap<String, Checkpoint>,
    options: &ExecOptions,
) -> Result<RunReport, RunFailure> {
    let failure = |diagnostics: Vec<Diagnostic>, exit_code| RunFailure {
        diagnostics,
        sink_text: Vec::new(),
        exit_code,
    };
    let prepared = prepare(graph, checkpoints).map_err(|problems| failure(problems, EXIT_PLAN))?;
    let outputs = Outputs::create(graph, &options.outputs)
        .map_err(|error| failure(vec![error.to_diagnostic()], EXIT_IO))?;
    let stores: Vec<&TensorType> = prepared
        .live
        .iter()
        .filter_map(|&id| graph.node(id))
        .filter(|node| matches!(node.kind, NodeKind::Store(_)))
        .filter_map(|node| node.ty.as_ref())
        .collect();
    let total_bytes = stores.iter().filter_map(|ty| ty.byte_len()).sum();
    let progress = Progress::new(total_bytes, stores.len() as u64, options.progress);
    let budget = MemoryBudget::new(options.memory_budget);
    let environment = Environment {
        graph,
        prepared: &prepared,
        checkpoints,
        outputs: &outputs,
        progress: &progress,
        budget: &budget,
        workers: options.workers,
    };
    let finished = schedule::run(&environment);
    progress.finish();
    // Sinks print in plan order, up to the one that failed (if any).
    let failed_at = match &finished.failure {
        Some(_) => finished
            .sinks
            .iter()
            .find(|(_, outcome)| outcome.failure.is_some())
            .map(|(&id, _)| id),
        None => None,
    };
    let sink_text: Vec<String> = finished
        .sinks
        .iter()
        .filter(|(&id, _)| failed_at.is_none_or(|failed| id < failed))
        .filter_map(|(_, outcome)| outcome.text.clone())
        .collect();
    if let Some(stop) = finished.failure {
        let (diagnostic, exit_code) = match stop {
            Failure::Plan(diagnostic) => (diagnostic, EXIT_PLAN),
            Failure::Io(diagnostic) => (diagnostic, EXIT_IO),
        };
        // Dropping the outputs removes their temporaries: the destinations are untouched.
        drop(outputs);
        return Err(RunFailure {
            diagnostics: vec![diagnostic],
            sink_text,
            exit_code,
        });
    }
    let published = outputs.publish().map_err(|error| RunFailure {
        diagnostics: vec![error.to_diagnostic()],
        sink_text: sink_text.clone(),
        exit_code: EXIT_IO,
    })?;
    Ok(RunReport {
        sink_text,
        published,
        bytes_written: progress.bytes(),
        tensors_written: progress.tensors(),
        peak_reserved: budget.peak(),
        overdrafts: budget.overdrafts(),
    })
}
