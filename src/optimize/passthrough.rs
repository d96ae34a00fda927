//! `passthrough` (zero-copy): marks every `Store` whose value is an input tensor's bytes to copy
//! those bytes from the input map instead of decoding and re-encoding them.
//!
//! It receives a graph and switches `Store`s of mode [`StoreMode::Value`] whose operand is a `Load`
//! (a tensor kept untouched, renamed or copied) or a byte view of one (a folded contiguous slice or
//! reshape) to [`StoreMode::CopyBytes`]. The value is the same by definition — the store's type is
//! its operand's, and a load's or view's value *is* those bytes — so only how the executor
//! produces it changes. One switched store is one rewrite.

use super::{Pass, RewriteBudget};
use crate::graph::ops::{Store, StoreMode};
use crate::graph::{NodeKind, PlanGraph};

pub struct ZeroCopyPassthrough;

impl Pass for ZeroCopyPassthrough {
    fn name(&self) -> &'static str {
        "passthrough"
    }

    fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool {
        let mut changed = false;
        for id in graph.node_ids() {
            let Some(node) = graph.node(id) else {
                continue;
            };
            let NodeKind::Store(store) = &node.kind else {
                continue;
            };
            let inputs = graph.inputs(id);
            let copies_input = store.mode == StoreMode::Value
                && inputs
                    .first()
                    .is_some_and(|&operand| graph.is_input_bytes(operand));
            if !copies_input {
                continue;
            }
            if !budget.take() {
                break;
            }
            let store = Store {
                mode: StoreMode::CopyBytes,
                ..store.clone()
            };
            let ty = node.ty.clone();
            graph.replace_node(id, NodeKind::Store(store), ty, &inputs);
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compile, f32, store, store_named};
    use super::super::ViewFolding;
    use super::*;

    #[test]
    fn untouched_renamed_and_copied_tensors_copy_bytes() {
        let mut graph = compile(
            "input \"m\"\noutput \"out\"\nmove a -> renamed\ncopied = b\n",
            &[("a", f32(&[2, 3])), ("b", f32(&[4]))],
        );
        assert!(ZeroCopyPassthrough.run(&mut graph));
        assert!(graph.validate().is_empty());
        for name in ["renamed", "b", "copied"] {
            assert_eq!(
                store(&graph, store_named(&graph, name)).mode,
                StoreMode::CopyBytes,
                "{name}"
            );
        }
        // A second run finds every store already switched.
        assert!(!ZeroCopyPassthrough.run(&mut graph));
    }

    #[test]
    fn a_folded_slice_is_copied_as_its_byte_range() {
        let mut graph = compile(
            "input \"m\"\noutput \"out\"\nrows = a::[1:3]\n",
            &[("a", f32(&[4, 2]))],
        );
        // Before folding, the slice is not input bytes (only the untouched `a` is switched);
        // after folding, it is.
        assert!(ZeroCopyPassthrough.run(&mut graph));
        assert_eq!(
            store(&graph, store_named(&graph, "rows")).mode,
            StoreMode::Value
        );
        assert!(ViewFolding.run(&mut graph));
        assert!(ZeroCopyPassthrough.run(&mut graph));
        assert!(graph.validate().is_empty());
        assert_eq!(
            store(&graph, store_named(&graph, "rows")).mode,
            StoreMode::CopyBytes
        );
    }

    #[test]
    fn does_not_fire_on_computed_values() {
        let mut graph = compile(
            "input \"m\"\noutput \"out\"\nscaled = a * 2\ndel a\nhalf = b as float16\ndel b\n",
            &[("a", f32(&[2])), ("b", f32(&[2]))],
        );
        assert!(!ZeroCopyPassthrough.run(&mut graph));
        for name in ["scaled", "half"] {
            assert_eq!(
                store(&graph, store_named(&graph, name)).mode,
                StoreMode::Value
            );
        }
    }
}
