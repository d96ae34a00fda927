//! Which nodes matter: those a `Store` or a sink depends on.
//!
//! It receives a [`PlanGraph`] and returns the set of live nodes — every `Store` and sink, and
//! everything they transitively read. A dead node (a tensor that was deleted, overwritten or never
//! written out) is never computed and, for a `Load`, never read; the `check` summary counts reads
//! from live loads only. The optimizer's `dead_tensors` pass deletes the rest.

use std::collections::HashSet;

use super::{NodeId, NodeKind, PlanGraph};

/// The live nodes of a graph, computed once.
#[derive(Debug, Clone, Default)]
pub struct Liveness {
    live: HashSet<NodeId>,
}

impl Liveness {
    pub fn of(graph: &PlanGraph) -> Liveness {
        let mut live = HashSet::new();
        let mut stack: Vec<NodeId> = graph
            .node_ids()
            .into_iter()
            .filter(|&id| {
                graph
                    .node(id)
                    .is_some_and(|node| matches!(node.kind, NodeKind::Store(_) | NodeKind::Sink(_)))
            })
            .collect();
        while let Some(id) = stack.pop() {
            if live.insert(id) {
                stack.extend(graph.inputs(id));
            }
        }
        Liveness { live }
    }

    pub fn is_live(&self, id: NodeId) -> bool {
        self.live.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{Elementwise, Load, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::{DType, Shape, TensorType};

    #[test]
    fn only_what_a_store_reads_survives() {
        let mut graph = PlanGraph::new();
        let ty = TensorType::new(DType::F32, Shape::new(vec![2]));
        let load = |graph: &mut PlanGraph, name: &str| {
            graph.add_node(
                NodeKind::Load(Load {
                    alias: "m".into(),
                    path: "p".into(),
                    tensor: name.into(),
                    ty: ty.clone(),
                }),
                Some(ty.clone()),
                &[],
                None,
            )
        };
        let kept = load(&mut graph, "kept");
        let deleted = load(&mut graph, "deleted");
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            graph.type_of(deleted).cloned(),
            &[deleted],
            None,
        );
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "m".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        let store = graph.add_node(
            NodeKind::Store(Store::new(output, "kept")),
            graph.type_of(kept).cloned(),
            &[kept],
            None,
        );
        let liveness = Liveness::of(&graph);
        assert!(liveness.is_live(kept) && liveness.is_live(store));
        assert!(!liveness.is_live(deleted) && !liveness.is_live(scaled));
        assert_eq!(liveness.len(), 2);
    }
}
