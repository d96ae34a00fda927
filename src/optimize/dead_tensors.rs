//! `dead_tensors`: removes every node that no `Store` or sink depends on.
//!
//! It receives a graph and deletes the nodes [`Liveness`] finds dead — tensors that were deleted,
//! overwritten or never written out, and nodes other passes left without consumers (a fused
//! chain's absorbed ops, a slice replaced by a byte view). A dead `Load` is never read. Nodes are
//! removed consumers first (descending ids: operands are always created before their consumers),
//! so the graph stays valid after every single removal, which is what lets a rewrite budget stop
//! the pass anywhere. One removed node is one rewrite.

use super::{Pass, RewriteBudget};
use crate::graph::{Liveness, NodeId, PlanGraph};

pub struct DeadTensors;

impl Pass for DeadTensors {
    fn name(&self) -> &'static str {
        "dead_tensors"
    }

    fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool {
        let liveness = Liveness::of(graph);
        let mut dead: Vec<NodeId> = graph
            .node_ids()
            .into_iter()
            .filter(|&id| !liveness.is_live(id))
            .collect();
        dead.reverse();
        let mut changed = false;
        // Every consumer of a dead node is dead too and, created later, normally removed before
        // it in one sweep; a node whose consumer is still there waits for the next sweep.
        while !dead.is_empty() {
            let mut waiting = Vec::new();
            let mut removed = false;
            for id in std::mem::take(&mut dead) {
                if !graph.consumers(id).is_empty() {
                    waiting.push(id);
                    continue;
                }
                if !budget.take() {
                    return changed;
                }
                graph.remove_node(id);
                changed = true;
                removed = true;
            }
            if !removed {
                break;
            }
            dead = waiting;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compile, f32, op_names};
    use super::*;

    #[test]
    fn deleted_and_overwritten_tensors_disappear() {
        let mut graph = compile(
            r#"
input "m"
output "out"
x = b * 0.5
x2 = x * 2
del x2
a <- b + c
"#,
            &[("a", f32(&[2])), ("b", f32(&[2])), ("c", f32(&[2]))],
        );
        let before = graph.node_count();
        assert!(DeadTensors.run(&mut graph));
        assert!(graph.validate().is_empty());
        // `x2` was deleted and the original `a` was overwritten; `x` is still written out.
        assert_eq!(graph.node_count(), before - 2);
        assert_eq!(
            op_names(&graph),
            ["load", "load", "scale", "add", "store", "store", "store", "store"]
        );
    }

    #[test]
    fn does_not_fire_when_everything_is_written() {
        let mut graph = compile(
            "input \"m\"\noutput \"out\"\nx = a * 0.5\n",
            &[("a", f32(&[2]))],
        );
        assert!(!DeadTensors.run(&mut graph));
        assert_eq!(op_names(&graph), ["load", "scale", "store", "store"]);
    }

    #[test]
    fn a_budget_stops_it_with_a_valid_graph() {
        let mut graph = compile(
            "input \"m\"\noutput \"out\"\nx = a * 0.5\ny = x * 2\ndel a\ndel x\ndel y\n",
            &[("a", f32(&[2])), ("b", f32(&[2]))],
        );
        let mut budget = RewriteBudget::limited(1);
        assert!(DeadTensors.run_within(&mut graph, &mut budget));
        assert!(budget.refused());
        assert_eq!(op_names(&graph), ["load", "load", "scale", "store"]);
        assert!(graph.validate().is_empty());
    }
}
