//! Memory estimates for a compiled graph: what the largest single step needs, and the peak of a
//! whole run.
//!
//! It receives a [`PlanGraph`] and returns a [`MemoryEstimate`]; [`check_budget`] turns a budget
//! that cannot hold the largest step into a diagnostic with the figure it needs. The model is
//! simple and documented (`docs/check.md`), an upper bound for an unfused, sequential run:
//! - `Load`s cost nothing (the file is memory-mapped and streamed), nor do `Store`s (they write
//!   their operand), slices (views) and sinks' own outputs.
//! - Every other live node materializes its output; while it runs it also holds its materialized
//!   operands, plus a workspace for an SVD (`U`, `S`, `Vh` and a copy of the matrix, in f32 — f64
//!   for f64 tensors).
//! - The peak walks live nodes in id order (operands always come first), allocating each output
//!   when computed and freeing it after its last consumer ran.

use std::collections::HashMap;

use super::diagnostics;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Layout, Linalg, NodeKind};
use crate::graph::{Liveness, NodeId, PlanGraph};
use crate::tensor::DType;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Bytes the most demanding single node holds while it runs.
    pub largest_step: u64,
    /// That node.
    pub largest_step_node: Option<NodeId>,
    /// Bytes held at once at the worst moment of a sequential run.
    pub peak: u64,
}

/// Bytes of a node's own materialized output (0 for loads, stores, views and sinks).
fn output_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let Some(node) = graph.node(id) else {
        return 0;
    };
    let materializes = !matches!(
        node.kind,
        NodeKind::Load(_)
            | NodeKind::Store(_)
            | NodeKind::Sink(_)
            | NodeKind::Layout(Layout::Slice(_))
    );
    if !materializes {
        return 0;
    }
    node.ty.as_ref().and_then(|ty| ty.byte_len()).unwrap_or(0)
}

/// Scratch memory a node needs beyond its output and operands.
fn workspace_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let Some(node) = graph.node(id) else {
        return 0;
    };
    if !matches!(
        node.kind,
        NodeKind::Linalg(
            Linalg::PhloraA { .. } | Linalg::PhloraB { .. } | Linalg::PhloraReconstruct { .. }
        )
    ) {
        return 0;
    }
    let Some(source) = graph.inputs(id).first().and_then(|&w| graph.type_of(w)) else {
        return 0;
    };
    let [m, n] = *source.shape.dims() else {
        return 0;
    };
    let k = m.min(n);
    let element = if source.dtype == DType::F64 { 8 } else { 4 };
    // A copy of W, U (m×k), S (k) and Vh (k×n).
    (m * n + m * k + k + k * n).saturating_mul(element)
}

/// Bytes a node holds while it runs: its output, its materialized operands, its workspace.
fn step_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let mut operands = graph.inputs(id);
    operands.sort();
    operands.dedup();
    let held: u64 = operands.iter().map(|&o| materialized_bytes(graph, o)).sum();
    output_bytes(graph, id) + held + workspace_bytes(graph, id)
}

/// What an operand occupies: its own output, or for a view, the view's bytes (gathered).
fn materialized_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    match graph.node(id).map(|n| &n.kind) {
        Some(NodeKind::Layout(Layout::Slice(_))) => {
            graph.type_of(id).and_then(|ty| ty.byte_len()).unwrap_or(0)
        }
        _ => output_bytes(graph, id),
    }
}

pub fn estimate(graph: &PlanGraph) -> MemoryEstimate {
    let liveness = Liveness::of(graph);
    let live: Vec<NodeId> = graph
        .node_ids()
        .into_iter()
        .filter(|&id| liveness.is_live(id))
        .collect();
    let mut estimate = MemoryEstimate::default();
    for &id in &live {
        let bytes = step_bytes(graph, id);
        if bytes > estimate.largest_step {
            estimate.largest_step = bytes;
            estimate.largest_step_node = Some(id);
        }
    }
    // The last live consumer of each node decides when its buffer is freed.
    let mut last_use: HashMap<NodeId, NodeId> = HashMap::new();
    for &id in &live {
        for operand in graph.inputs(id) {
            last_use.insert(operand, id);
        }
    }
    let mut held = 0u64;
    let mut freed_after: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for (&operand, &consumer) in &last_use {
        freed_after.entry(consumer).or_default().push(operand);
    }
    for &id in &live {
        let output = output_bytes(graph, id);
        held += output;
        estimate.peak = estimate.peak.max(held + workspace_bytes(graph, id));
        for operand in freed_after.remove(&id).unwrap_or_default() {
            held = held.saturating_sub(output_bytes(graph, operand));
        }
        // A node nobody consumes (it feeds only itself into a sink or nothing) frees at once.
        if !last_use.contains_key(&id) {
            held = held.saturating_sub(output);
        }
    }
    estimate
}

/// An error when `budget` cannot hold the largest step.
pub fn check_budget(
    graph: &PlanGraph,
    estimate: &MemoryEstimate,
    budget: u64,
) -> Option<Diagnostic> {
    (estimate.largest_step > budget).then(|| {
        let span = estimate.largest_step_node.and_then(|id| graph.span(id));
        diagnostics::memory_budget_too_small(budget, estimate.largest_step, span)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{Elementwise, Load, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::{Shape, TensorType};

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    fn graph_with_chain() -> (PlanGraph, NodeId) {
        let mut graph = PlanGraph::new();
        let ty = f32(&[1024]);
        let load = graph.add_node(
            NodeKind::Load(Load {
                alias: "m".into(),
                path: "p".into(),
                tensor: "w".into(),
                ty: ty.clone(),
            }),
            Some(ty.clone()),
            &[],
            None,
        );
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            Some(ty.clone()),
            &[load],
            None,
        );
        let added = graph.add_node(
            NodeKind::Elementwise(Elementwise::Add),
            Some(ty.clone()),
            &[scaled, load],
            None,
        );
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "m".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        graph.add_node(
            NodeKind::Store(Store::new(output, "w")),
            Some(ty),
            &[added],
            None,
        );
        (graph, added)
    }

    #[test]
    fn loads_are_free_and_intermediates_are_held_until_consumed() {
        let (graph, added) = graph_with_chain();
        let estimate = estimate(&graph);
        // The add holds its own 4 KiB output and the scaled operand's 4 KiB.
        assert_eq!(estimate.largest_step, 8192);
        assert_eq!(estimate.largest_step_node, Some(added));
        assert_eq!(estimate.peak, 8192);
    }

    #[test]
    fn a_budget_below_the_largest_step_is_refused_with_the_figure() {
        let (graph, _) = graph_with_chain();
        let estimate = estimate(&graph);
        let diagnostic = check_budget(&graph, &estimate, 4096).unwrap();
        assert_eq!(diagnostic.code, "E0420");
        assert!(
            diagnostic.message.contains("8192"),
            "{}",
            diagnostic.message
        );
        assert!(check_budget(&graph, &estimate, 8192).is_none());
    }

    #[test]
    fn dead_nodes_cost_nothing() {
        let mut graph = PlanGraph::new();
        let ty = f32(&[1 << 20]);
        let load = graph.add_node(
            NodeKind::Load(Load {
                alias: "m".into(),
                path: "p".into(),
                tensor: "w".into(),
                ty: ty.clone(),
            }),
            Some(ty.clone()),
            &[],
            None,
        );
        graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            Some(ty),
            &[load],
            None,
        );
        assert_eq!(estimate(&graph), MemoryEstimate::default());
    }
}
