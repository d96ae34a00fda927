//! Preparing a graph for a run, before any byte is read or written: every problem that would
//! stop the run part-way is found here and reported at once.
//!
//! [`prepare`] receives the graph, its liveness and the opened input checkpoints (by the path
//! the plan names them with) and returns a [`Prepared`] run — the elementwise program of every
//! live elementwise node, each node's [`Execution`] and [`Footprint`] — or the diagnostics of
//! what cannot run: a load whose checkpoint or tensor is not open, an elementwise op the kernels
//! refuse for its dtypes (e.g. arithmetic on booleans), and outputs in a format this version does not write.

use std::collections::{BTreeMap, HashMap};

use super::compute::single_op_program;
use super::diagnostics;
use super::footprint::{footprint, Execution, Footprint};
use super::kernels::program::ElementwiseProgram;
use super::outputs::unsupported_output;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::NodeKind;
use crate::graph::{Liveness, NodeId, OutputId, PlanGraph};
use crate::io::{Checkpoint, IoError};

/// A graph ready to run.
#[derive(Debug)]
pub struct Prepared {
    pub liveness: Liveness,
    /// Live nodes in id order.
    pub live: Vec<NodeId>,
    pub execution: HashMap<NodeId, Execution>,
    pub footprint: HashMap<NodeId, Footprint>,
    pub programs: HashMap<NodeId, ElementwiseProgram>,
}

pub fn prepare(
    graph: &PlanGraph,
    checkpoints: &BTreeMap<String, Checkpoint>,
) -> Result<Prepared, Vec<Diagnostic>> {
    let liveness = Liveness::of(graph);
    let live: Vec<NodeId> = graph
        .node_ids()
        .into_iter()
        .filter(|&id| liveness.is_live(id))
        .collect();
    let mut problems = Vec::new();
    let mut programs = HashMap::new();
    let mut execution = HashMap::new();
    let mut footprints = HashMap::new();
    for &id in &live {
        let Some(node) = graph.node(id) else {
            continue;
        };
        let span = graph.span(id);
        match &node.kind {
            NodeKind::Load(load) => match checkpoints.get(&load.path) {
                Some(checkpoint) if checkpoint.tensor(&load.tensor).is_some() => {}
                Some(checkpoint) => problems.push(
                    IoError::UnknownTensor {
                        checkpoint: checkpoint.path().to_path_buf(),
                        tensor: load.tensor.clone(),
                        nearest: Vec::new(),
                    }
                    .to_diagnostic(),
                ),
                None => problems.push(diagnostics::step_failed(
                    "load",
                    &format!("the checkpoint `{}` was not opened", load.path),
                    span,
                )),
            },
            NodeKind::Elementwise(op) => {
                let operands: Vec<_> = graph
                    .inputs(id)
                    .iter()
                    .filter_map(|&o| graph.type_of(o).cloned())
                    .collect();
                match single_op_program(op, &operands) {
                    Ok(program) => {
                        programs.insert(id, program);
                    }
                    Err(error) => problems.push(diagnostics::step_failed(
                        op.name(),
                        &error.to_string(),
                        span,
                    )),
                }
            }
            NodeKind::Fused(fused) => {
                let dtypes: Vec<_> = graph
                    .inputs(id)
                    .iter()
                    .filter_map(|&o| graph.type_of(o).map(|ty| ty.dtype))
                    .collect();
                match fused.to_program(&dtypes) {
                    Ok(program) => {
                        programs.insert(id, program);
                    }
                    Err(error) => {
                        problems.push(diagnostics::step_failed("fused", &error.to_string(), span))
                    }
                }
            }
            _ => {}
        }
        execution.insert(id, Execution::of(graph, &liveness, id));
        footprints.insert(id, footprint(graph, &liveness, id));
    }
    for (index, spec) in graph.outputs().iter().enumerate() {
        if let Some(problem) = unsupported_output(spec, graph, OutputId::from_index(index)) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(Prepared {
            liveness,
            live,
            execution,
            footprint: footprints,
            programs,
        })
    } else {
        Err(problems)
    }
}
