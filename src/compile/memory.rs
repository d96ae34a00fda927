//! Memory estimates for a compiled graph: what the largest single step needs, and the peak of a
//! whole run.
//!
//! It receives a [`PlanGraph`] and returns a [`MemoryEstimate`]; [`check_budget`] turns a budget
//! that cannot hold the largest step into a diagnostic with the figure it needs. The per-node
//! figures come from the executor's own memory model, [`crate::exec::footprint`], so the step a
//! plan is refused for is exactly what a run would reserve (`docs/check.md`, `docs/run.md`):
//! - loads, reshapes and contiguous slices are views (mapped file pages or another node's buffer)
//!   and cost nothing, nor do stores of a streamed value;
//! - an elementwise node whose consumers are all stores streams into the output files and needs
//!   one chunk's buffers; a store copying an existing value needs one copy chunk of mapped pages;
//! - every other node materializes its output; while it runs it also needs its operands' buffers,
//!   the whole of any mapped operand it reads at once, and an SVD workspace for PHLoRA;
//! - the peak walks live nodes in id order (operands always come first), allocating each buffer
//!   when computed and freeing it after the last consumer of it (or of a view of it) ran.

use std::collections::HashMap;

use super::diagnostics;
use crate::diagnostics::Diagnostic;
use crate::exec::footprint::{buffer_owner, footprint, step_bytes};
use crate::graph::{Liveness, NodeId, PlanGraph};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Bytes the most demanding single node holds while it runs.
    pub largest_step: u64,
    /// That node.
    pub largest_step_node: Option<NodeId>,
    /// Bytes held at once at the worst moment of a sequential run.
    pub peak: u64,
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
        let bytes = step_bytes(graph, &liveness, id);
        if bytes > estimate.largest_step {
            estimate.largest_step = bytes;
            estimate.largest_step_node = Some(id);
        }
    }
    // The last live consumer of each buffer (read directly or through a view) decides when it is
    // freed.
    let mut last_use: HashMap<NodeId, NodeId> = HashMap::new();
    for &id in &live {
        for operand in graph.inputs(id) {
            if let Some(owner) = buffer_owner(graph, operand) {
                last_use.insert(owner, id);
            }
        }
    }
    let mut freed_after: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for (&owner, &consumer) in &last_use {
        freed_after.entry(consumer).or_default().push(owner);
    }
    let mut held = 0u64;
    for &id in &live {
        let own = footprint(graph, &liveness, id);
        held += own.held;
        estimate.peak = estimate.peak.max(held + own.transient);
        for owner in freed_after.remove(&id).unwrap_or_default() {
            held = held.saturating_sub(footprint(graph, &liveness, owner).held);
        }
        // A buffer nobody reads is freed at once.
        if !last_use.contains_key(&id) {
            held = held.saturating_sub(own.held);
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
    use crate::graph::ops::{Elementwise, Load, NodeKind, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::{DType, Shape, TensorType};

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
        // The add streams into the output through one chunk (three f32 chunks and two 8-byte
        // decode lanes per element) while the scaled operand's 4 KiB buffer is alive.
        assert_eq!(estimate.largest_step, 4096 + 1024 * (4 + 4 + 4 + 16));
        assert_eq!(estimate.largest_step_node, Some(added));
        assert_eq!(estimate.peak, estimate.largest_step);
    }

    #[test]
    fn a_budget_below_the_largest_step_is_refused_with_the_figure() {
        let (graph, _) = graph_with_chain();
        let estimate = estimate(&graph);
        let diagnostic = check_budget(&graph, &estimate, 4096).unwrap();
        assert_eq!(diagnostic.code, "E0420");
        assert!(
            diagnostic.message.contains("32768"),
            "{}",
            diagnostic.message
        );
        assert!(check_budget(&graph, &estimate, 32768).is_none());
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
