//! Helpers for the passes' unit tests: compile a terse plan over in-memory headers, and find
//! nodes in the result.
//!
//! Plans read one checkpoint at path `"m"` (alias `model`) whose header the test gives; compile
//! errors fail the test with the rendered diagnostics, so a test never optimizes a graph the
//! compiler refused.

use crate::compile::{compile_plan, MemoryHeaders};
use crate::diagnostics::{render_all_plain, SourceMap};
use crate::graph::ops::Store;
use crate::graph::{NodeId, NodeKind, PlanGraph};
use crate::plan::terse::parse_terse;
use crate::tensor::{DType, Shape, TensorType};

pub fn f32(dims: &[u64]) -> TensorType {
    TensorType::new(DType::F32, Shape::new(dims.to_vec()))
}

pub fn typed(dtype: DType, dims: &[u64]) -> TensorType {
    TensorType::new(dtype, Shape::new(dims.to_vec()))
}

/// The graph of a terse plan over a checkpoint `"m"` holding `tensors`.
pub fn compile(plan: &str, tensors: &[(&str, TensorType)]) -> PlanGraph {
    let mut sources = SourceMap::new();
    let id = sources.add("plan.bs", plan);
    let parsed = parse_terse(&mut sources, id).unwrap_or_else(|errors| {
        panic!(
            "plan did not parse:\n{}",
            render_all_plain(&errors, &sources)
        )
    });
    let headers = MemoryHeaders::new().with_file(
        "m",
        tensors
            .iter()
            .map(|(name, ty)| (name.to_string(), ty.clone()))
            .collect(),
    );
    let compilation = compile_plan(&parsed, &headers, None);
    assert!(
        !compilation.has_errors(),
        "plan did not compile:\n{}",
        render_all_plain(&compilation.diagnostics, &sources)
    );
    compilation.graph
}

/// The op names of every node, in id order.
pub fn op_names(graph: &PlanGraph) -> Vec<&'static str> {
    graph
        .node_ids()
        .into_iter()
        .filter_map(|id| graph.node(id).map(|node| node.kind.name()))
        .collect()
}

/// The store writing `name`.
pub fn store_named(graph: &PlanGraph, name: &str) -> NodeId {
    graph
        .node_ids()
        .into_iter()
        .find(|&id| matches!(graph.node(id).map(|n| &n.kind), Some(NodeKind::Store(s)) if s.name == name))
        .unwrap_or_else(|| panic!("no store of {name}"))
}

/// The store node's parameters.
pub fn store(graph: &PlanGraph, id: NodeId) -> &Store {
    match graph.node(id).map(|n| &n.kind) {
        Some(NodeKind::Store(store)) => store,
        other => panic!("{id} is not a store: {other:?}"),
    }
}

/// The node a store writes.
pub fn stored_value(graph: &PlanGraph, name: &str) -> NodeId {
    graph.inputs(store_named(graph, name))[0]
}

/// The kind of a node that must exist.
pub fn kind(graph: &PlanGraph, id: NodeId) -> &NodeKind {
    &graph.node(id).unwrap_or_else(|| panic!("{id} exists")).kind
}
