//! The plan as a typed SSA dataflow graph: what the compiler produces and every later stage
//! (printers, optimizer passes, scheduler) consumes.
//!
//! A [`PlanGraph`] holds nodes ([`Node`]: an op kind from [`ops`] and the type of the value it
//! produces), operand edges (ordered by position), the plan span of the step that made each node
//! (a side table, so nodes stay small) and the outputs the `Store` nodes write to.
//! **Invariants**: ids are [`NodeId`] newtypes — petgraph's `StableDiGraph` is an implementation
//! detail that never appears in this API, and its stable indices let passes delete nodes without
//! invalidating the ids others hold; iteration is always in ascending id order, which is creation
//! order until a pass deletes nodes, so printers are deterministic. [`PlanGraph::validate`]
//! re-checks arity and types of every node through the ops' own rules.

mod dot;
mod json;
mod liveness;
pub mod ops;
mod text;
mod validate;

use std::collections::HashMap;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::diagnostics::Span;
use crate::plan::ast::ShardSize;
use crate::tensor::TensorType;

pub use dot::DotOptions;
pub use liveness::Liveness;
pub use ops::{NodeKind, TypeError};
pub use validate::ValidationError;

/// Identifies one node of a [`PlanGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    fn from_index(index: NodeIndex<u32>) -> NodeId {
        NodeId(index.index() as u32)
    }

    fn to_index(self) -> NodeIndex<u32> {
        NodeIndex::new(self.0 as usize)
    }

    /// The id `offset` places after this one (provisional ids of nodes about to be added).
    pub fn offset(self, offset: usize) -> NodeId {
        NodeId(self.0 + offset as u32)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// Identifies one output (the plan's `output`, or a `save` step) of a [`PlanGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputId(u32);

impl OutputId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(index: usize) -> OutputId {
        OutputId(index as u32)
    }
}

/// Where a group of `Store` nodes writes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    pub path: String,
    /// The alias whose tensors are written.
    pub alias: String,
    /// The format as the plan names it (`safetensors`, `torch`, `numpy`, `dcp`), if it names one.
    pub format: Option<String>,
    pub shard: Option<ShardSize>,
    /// `true` for the plan's `output`, `false` for a `save` step.
    pub is_plan_output: bool,
}

/// One operation and the type of the value it produces (`None` for sinks, which produce none).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub ty: Option<TensorType>,
}

/// The dataflow graph of a compiled plan.
#[derive(Debug, Clone, Default)]
pub struct PlanGraph {
    graph: StableDiGraph<Node, u32, u32>,
    spans: HashMap<NodeId, Span>,
    outputs: Vec<OutputSpec>,
    /// Whether a node was ever removed (after which the stable graph may reuse slots in an order
    /// that is not sequential).
    removed_any: bool,
}

impl PlanGraph {
    pub fn new() -> PlanGraph {
        PlanGraph::default()
    }

    /// Adds a node whose operands are `inputs` (in order). The caller has inferred `ty` with the
    /// kind's rule; [`PlanGraph::validate`] re-checks it.
    pub fn add_node(
        &mut self,
        kind: NodeKind,
        ty: Option<TensorType>,
        inputs: &[NodeId],
        span: Option<Span>,
    ) -> NodeId {
        let index = self.graph.add_node(Node { kind, ty });
        for (position, input) in inputs.iter().enumerate() {
            self.graph
                .add_edge(input.to_index(), index, position as u32);
        }
        let id = NodeId::from_index(index);
        // A stable graph may reuse a deleted node's slot, so the side table is always overwritten.
        match span {
            Some(span) => self.spans.insert(id, span),
            None => self.spans.remove(&id),
        };
        id
    }

    /// Removes a node and its edges (used by passes; consumers of the node lose an operand, which
    /// `validate` reports if they are kept).
    pub fn remove_node(&mut self, id: NodeId) -> Option<Node> {
        self.spans.remove(&id);
        self.removed_any = true;
        self.graph.remove_node(id.to_index())
    }

    /// Replaces a node's op, type and operands in place; its id, span and consumers stay. This is
    /// how a pass rewrites a node without rewiring the nodes that read it. Returns `false` (and
    /// changes nothing) for an unknown id.
    pub fn replace_node(
        &mut self,
        id: NodeId,
        kind: NodeKind,
        ty: Option<TensorType>,
        inputs: &[NodeId],
    ) -> bool {
        let index = id.to_index();
        let Some(node) = self.graph.node_weight_mut(index) else {
            return false;
        };
        *node = Node { kind, ty };
        let operand_edges: Vec<_> = self
            .graph
            .edges_directed(index, Direction::Incoming)
            .map(|edge| edge.id())
            .collect();
        for edge in operand_edges {
            self.graph.remove_edge(edge);
        }
        for (position, input) in inputs.iter().enumerate() {
            self.graph
                .add_edge(input.to_index(), index, position as u32);
        }
        true
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.graph.node_weight(id.to_index())
    }

    /// The type of the value a node produces (`None` for sinks and unknown ids).
    pub fn type_of(&self, id: NodeId) -> Option<&TensorType> {
        self.node(id).and_then(|node| node.ty.as_ref())
    }

    /// The span of the plan step that made the node, if it came from a plan.
    pub fn span(&self, id: NodeId) -> Option<Span> {
        self.spans.get(&id).copied()
    }

    /// The node's operands, in position order.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        let mut edges: Vec<(u32, NodeId)> = self
            .graph
            .edges_directed(id.to_index(), Direction::Incoming)
            .map(|edge| (*edge.weight(), NodeId::from_index(edge.source())))
            .collect();
        edges.sort();
        edges.into_iter().map(|(_, source)| source).collect()
    }

    /// The nodes using this one as an operand, ascending and without repeats.
    pub fn consumers(&self, id: NodeId) -> Vec<NodeId> {
        let mut consumers: Vec<NodeId> = self
            .graph
            .edges_directed(id.to_index(), Direction::Outgoing)
            .map(|edge| NodeId::from_index(edge.target()))
            .collect();
        consumers.sort();
        consumers.dedup();
        consumers
    }

    /// Every node id, ascending (creation order unless nodes were removed).
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.graph.node_indices().map(NodeId::from_index).collect();
        ids.sort();
        ids
    }

    /// The id the next [`PlanGraph::add_node`] will return, when it is predictable: a graph
    /// from which no node was removed hands out ids in sequence. The compiler relies on this to
    /// give the nodes of a step provisional ids before committing them.
    pub fn next_node_id(&self) -> Option<NodeId> {
        (!self.removed_any).then_some(NodeId(self.graph.node_count() as u32))
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The part of the graph that computes `target`: `target` and every node it depends on,
    /// copied (kinds, types, spans) into a new graph without outputs, operands before their
    /// consumers. Returns that graph and `target`'s id in it; `None` for an unknown node.
    pub fn cone(&self, target: NodeId) -> Option<(PlanGraph, NodeId)> {
        self.node(target)?;
        // Depth-first post-order: a node is copied once all its operands are.
        let mut order = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![(target, false)];
        while let Some((id, operands_done)) = stack.pop() {
            if operands_done {
                order.push(id);
            } else if seen.insert(id) {
                stack.push((id, true));
                let inputs = self.inputs(id);
                stack.extend(inputs.into_iter().rev().map(|input| (input, false)));
            }
        }
        let mut cone = PlanGraph::new();
        let mut copied = HashMap::new();
        for id in order {
            let node = self.node(id)?;
            let inputs: Option<Vec<NodeId>> = self
                .inputs(id)
                .iter()
                .map(|input| copied.get(input).copied())
                .collect();
            let new = cone.add_node(node.kind.clone(), node.ty.clone(), &inputs?, self.span(id));
            copied.insert(id, new);
        }
        Some((cone, copied[&target]))
    }

    pub fn add_output(&mut self, spec: OutputSpec) -> OutputId {
        self.outputs.push(spec);
        OutputId(self.outputs.len() as u32 - 1)
    }

    pub fn outputs(&self) -> &[OutputSpec] {
        &self.outputs
    }

    pub fn output(&self, id: OutputId) -> Option<&OutputSpec> {
        self.outputs.get(id.index())
    }

    /// Writes output `id` to `path` instead (the Web UI runs a plan with its outputs resolved
    /// inside its root); `false` when there is no such output.
    pub fn set_output_path(&mut self, id: OutputId, path: String) -> bool {
        match self.outputs.get_mut(id.index()) {
            Some(spec) => {
                spec.path = path;
                true
            }
            None => false,
        }
    }

    /// The `Store` nodes of one output, in id order.
    pub fn stores_of(&self, output: OutputId) -> Vec<NodeId> {
        self.node_ids()
            .into_iter()
            .filter(|&id| {
                matches!(self.node(id), Some(Node { kind: NodeKind::Store(store), .. }) if store.output == output)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ops::{Elementwise, Load, Store};
    use super::*;
    use crate::tensor::{DType, Shape};

    fn load(graph: &mut PlanGraph, name: &str, dims: &[u64]) -> NodeId {
        let ty = TensorType::new(DType::F32, Shape::new(dims.to_vec()));
        graph.add_node(
            NodeKind::Load(Load {
                alias: "model".into(),
                path: "m.safetensors".into(),
                tensor: name.into(),
                ty: ty.clone(),
            }),
            Some(ty),
            &[],
            None,
        )
    }

    #[test]
    fn operands_come_back_in_position_order() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, "a", &[2]);
        let b = load(&mut graph, "b", &[2]);
        let ty = graph.type_of(a).cloned();
        let sub = graph.add_node(
            NodeKind::Elementwise(Elementwise::Subtract),
            ty,
            &[b, a],
            None,
        );
        assert_eq!(graph.inputs(sub), vec![b, a]);
        assert_eq!(graph.consumers(a), vec![sub]);
        assert_eq!(graph.node_ids(), vec![a, b, sub]);
    }

    #[test]
    fn a_cone_holds_exactly_what_computes_its_target() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, "a", &[2]);
        let b = load(&mut graph, "b", &[2]);
        let unrelated = load(&mut graph, "c", &[2]);
        let ty = graph.type_of(a).cloned();
        let sub = graph.add_node(
            NodeKind::Elementwise(Elementwise::Subtract),
            ty.clone(),
            &[b, a],
            None,
        );
        let scale = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            ty.clone(),
            &[unrelated],
            None,
        );
        // `a` used twice: once directly, once through `sub`.
        let add = graph.add_node(NodeKind::Elementwise(Elementwise::Add), ty, &[sub, a], None);
        let (cone, target) = graph.cone(add).expect("a known node");
        assert_eq!(cone.node_count(), 4, "a, b, sub, add; not c nor its scale");
        assert!(cone.outputs().is_empty());
        assert_eq!(
            cone.node(target).map(|n| &n.kind),
            Some(&NodeKind::Elementwise(Elementwise::Add))
        );
        let [left, right] = cone.inputs(target)[..] else {
            panic!("two operands");
        };
        assert_eq!(
            cone.node(left).map(|n| &n.kind),
            Some(&NodeKind::Elementwise(Elementwise::Subtract))
        );
        let loaded = |id: NodeId| match cone.node(id).map(|n| &n.kind) {
            Some(NodeKind::Load(load)) => load.tensor.clone(),
            other => panic!("a load, not {other:?}"),
        };
        let sub_inputs: Vec<String> = cone.inputs(left).into_iter().map(loaded).collect();
        assert_eq!(sub_inputs, vec!["b", "a"], "operand order is kept");
        assert_eq!(loaded(right), "a");
        assert_eq!(
            cone.inputs(left)[1],
            right,
            "the shared operand is copied once"
        );
        assert!(cone.validate().is_empty());
        assert!(graph
            .cone(scale)
            .is_some_and(|(cone, _)| cone.node_count() == 2));
        graph.remove_node(scale);
        assert!(graph.cone(scale).is_none(), "an unknown node has no cone");
    }

    #[test]
    fn removed_nodes_leave_other_ids_valid() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, "a", &[2]);
        let b = load(&mut graph, "b", &[3]);
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "model".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        let ty = graph.type_of(b).cloned();
        let store = graph.add_node(NodeKind::Store(Store::new(output, "b")), ty, &[b], None);
        graph.remove_node(a);
        assert_eq!(graph.node_ids(), vec![b, store]);
        assert_eq!(graph.inputs(store), vec![b]);
        assert_eq!(graph.stores_of(output), vec![store]);
        assert!(graph.validate().is_empty());
    }

    #[test]
    fn a_replaced_node_keeps_its_id_and_consumers() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, "a", &[2]);
        let b = load(&mut graph, "b", &[2]);
        let ty = graph.type_of(a).cloned();
        let add = graph.add_node(
            NodeKind::Elementwise(Elementwise::Add),
            ty.clone(),
            &[a, b],
            None,
        );
        let scale = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            ty.clone(),
            &[add],
            None,
        );
        assert!(graph.replace_node(
            add,
            NodeKind::Elementwise(Elementwise::Subtract),
            ty,
            &[b, a]
        ));
        assert_eq!(graph.inputs(add), vec![b, a]);
        assert_eq!(graph.consumers(add), vec![scale]);
        assert_eq!(graph.consumers(a), vec![add]);
        assert!(graph.validate().is_empty());
        graph.remove_node(scale);
        assert!(!graph.replace_node(scale, NodeKind::Elementwise(Elementwise::Add), None, &[]));
    }
}
