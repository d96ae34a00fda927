//! `view_folding`: rewrites contiguous slices, split pieces and reshapes of an input tensor into
//! byte-range views of it, which the executor reads in place without gathering a copy.
//!
//! It receives a graph and replaces, in place, each `slice`, `split` piece, `reshape` or byte view
//! whose operand is a `Load` (or a byte view of one) and whose elements form **one contiguous run**
//! of that operand with a [`ByteView`] of the `Load`: a slice is contiguous when every dimension
//! after some dimension `k` is taken whole, dimension `k` is a step-1 range (or one element) and
//! every dimension before `k` selects exactly one index; a reshape of a row-major tensor always is.
//! Views of views fold into one view of the load, with their offsets added. The node keeps its id,
//! type and consumers, so the values everyone reads are unchanged; a view whose offset falls inside
//! a byte (4- and 6-bit dtypes) is left alone. One folded node is one rewrite.

use super::{Pass, RewriteBudget};
use crate::graph::ops::{ByteView, Layout, SliceDim, SliceSpec};
use crate::graph::{NodeId, NodeKind, PlanGraph};

pub struct ViewFolding;

impl Pass for ViewFolding {
    fn name(&self) -> &'static str {
        "view_folding"
    }

    fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool {
        let mut changed = false;
        // Ascending ids visit a view before any view of it, so chains fold in one sweep.
        for id in graph.node_ids() {
            let Some((load, view)) = folded(graph, id) else {
                continue;
            };
            if !budget.take() {
                break;
            }
            let ty = graph.type_of(id).cloned();
            graph.replace_node(id, NodeKind::Layout(Layout::ByteView(view)), ty, &[load]);
            changed = true;
        }
        changed
    }
}

/// Which elements of one dimension a view takes: `count` of them from `start`, `step` apart.
#[derive(Debug, Clone, Copy)]
struct Selection {
    start: u64,
    count: u64,
    step: u64,
}

/// The `Load` a node can read as a byte view, and that view; `None` when it cannot (or already
/// does).
fn folded(graph: &PlanGraph, id: NodeId) -> Option<(NodeId, ByteView)> {
    let NodeKind::Layout(layout) = &graph.node(id)?.kind else {
        return None;
    };
    let operand = *graph.inputs(id).first()?;
    let (load, base_offset) = match &graph.node(operand)?.kind {
        NodeKind::Load(_) => (operand, 0),
        NodeKind::Layout(Layout::ByteView(view)) => {
            let load = *graph.inputs(operand).first()?;
            matches!(graph.node(load)?.kind, NodeKind::Load(_))
                .then_some((load, view.byte_offset))?
        }
        _ => return None,
    };
    let operand_type = graph.type_of(operand)?;
    let dims = operand_type.shape.dims();
    let offset = match layout {
        // A byte view of a load is already folded; one of another view adds the offsets.
        Layout::ByteView(_) if load == operand => return None,
        Layout::ByteView(view) => view.byte_offset,
        Layout::Reshape { .. } => 0,
        Layout::Slice(spec) => byte_offset(&slice_selections(spec, dims), dims, operand_type)?,
        Layout::SplitPiece { dim, start, length } => {
            let mut selections = whole(dims);
            *selections.get_mut(*dim)? = Selection {
                start: *start,
                count: *length,
                step: 1,
            };
            byte_offset(&selections, dims, operand_type)?
        }
        _ => return None,
    };
    let view = ByteView {
        byte_offset: base_offset.checked_add(offset)?,
        shape: graph.type_of(id)?.shape.clone(),
    };
    Some((load, view))
}

fn whole(dims: &[u64]) -> Vec<Selection> {
    dims.iter()
        .map(|&size| Selection {
            start: 0,
            count: size,
            step: 1,
        })
        .collect()
}

fn slice_selections(spec: &SliceSpec, dims: &[u64]) -> Vec<Selection> {
    let mut selections = whole(dims);
    for (selection, component) in selections.iter_mut().zip(&spec.0) {
        *selection = match *component {
            SliceDim::Index(index) => Selection {
                start: index,
                count: 1,
                step: 1,
            },
            SliceDim::Range {
                start,
                step,
                length,
            } => Selection {
                start,
                count: length,
                step,
            },
        };
    }
    selections
}

/// The byte offset of the selected elements in a row-major tensor, when they are one contiguous
/// run starting on a byte boundary.
fn byte_offset(
    selections: &[Selection],
    dims: &[u64],
    ty: &crate::tensor::TensorType,
) -> Option<u64> {
    if selections.iter().any(|selection| selection.count == 0) {
        return Some(0);
    }
    let is_whole =
        |(selection, &size): (&Selection, &u64)| selection.start == 0 && selection.count == size;
    let partial = selections
        .iter()
        .zip(dims)
        .rposition(|pair| !is_whole(pair));
    if let Some(k) = partial {
        let run = selections[k];
        if run.count > 1 && run.step != 1 {
            return None;
        }
        if selections[..k].iter().any(|selection| selection.count != 1) {
            return None;
        }
    }
    let mut stride = 1u64;
    let mut elements = 0u64;
    for (selection, &size) in selections.iter().zip(dims).rev() {
        elements = elements.checked_add(selection.start.checked_mul(stride)?)?;
        stride = stride.checked_mul(size)?;
    }
    ty.dtype.byte_len(elements)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compile, f32, kind, stored_value, typed};
    use super::*;
    use crate::tensor::DType;

    /// The byte view a stored tensor was folded into, with the load it reads.
    fn view_of(graph: &PlanGraph, name: &str) -> (ByteView, NodeKind) {
        let value = stored_value(graph, name);
        match kind(graph, value) {
            NodeKind::Layout(Layout::ByteView(view)) => {
                let load = kind(graph, graph.inputs(value)[0]).clone();
                (view.clone(), load)
            }
            other => panic!("{name} is not a byte view: {other:?}"),
        }
    }

    fn fold(plan_lines: &str, tensors: &[(&str, crate::tensor::TensorType)]) -> PlanGraph {
        let plan = format!("input \"m\"\noutput \"out\"\n{plan_lines}");
        let mut graph = compile(&plan, tensors);
        ViewFolding.run(&mut graph);
        assert!(graph.validate().is_empty(), "{:?}", graph.validate());
        graph
    }

    #[test]
    fn leading_rows_become_a_byte_range() {
        let graph = fold(
            "rows = a::[1:3]\nrow = a::[2]\ncell = a::[3, 1:2]\n",
            &[("a", f32(&[4, 2]))],
        );
        for (name, offset, dims) in [
            ("rows", 8, vec![2, 2]),
            ("row", 16, vec![2]),
            ("cell", 28, vec![1]),
        ] {
            let (view, load) = view_of(&graph, name);
            assert_eq!(view.byte_offset, offset, "{name}");
            assert_eq!(view.shape.dims(), dims.as_slice(), "{name}");
            assert!(matches!(load, NodeKind::Load(_)));
        }
    }

    #[test]
    fn reshapes_split_pieces_and_views_of_views_fold() {
        let graph = fold(
            "flat = reshape(a, [8])\ntop, bottom = split(a, [1, 3], dim=0)\nmiddle = bottom::[1]\n",
            &[("a", f32(&[4, 2]))],
        );
        let (flat, _) = view_of(&graph, "flat");
        assert_eq!((flat.byte_offset, flat.shape.dims()), (0, &[8][..]));
        let (bottom, _) = view_of(&graph, "bottom");
        assert_eq!((bottom.byte_offset, bottom.shape.dims()), (8, &[3, 2][..]));
        // Row 1 of `bottom` is row 2 of `a`.
        let (middle, load) = view_of(&graph, "middle");
        assert_eq!((middle.byte_offset, middle.shape.dims()), (16, &[2][..]));
        assert!(matches!(load, NodeKind::Load(_)));
    }

    #[test]
    fn does_not_fire_on_strided_or_computed_data() {
        let graph = fold(
            "columns = a::[:, 0:1]\nevery_other = a::[0:4:2]\nleft, right = split(a, [1, 1], dim=1)\nscaled = b * 2\nscaled_rows = scaled::[0:1]\n",
            &[("a", f32(&[4, 2])), ("b", f32(&[4, 2]))],
        );
        for name in ["columns", "every_other", "left", "right", "scaled_rows"] {
            let value = stored_value(&graph, name);
            assert!(
                !matches!(kind(&graph, value), NodeKind::Layout(Layout::ByteView(_))),
                "{name} must not fold"
            );
        }
        let mut again = graph.clone();
        assert!(!ViewFolding.run(&mut again));
    }

    #[test]
    fn a_view_starting_inside_a_byte_is_left_alone() {
        let graph = fold(
            "odd = a::[1:3]\neven = a::[2:4]\n",
            &[("a", typed(DType::F4, &[4]))],
        );
        let odd = stored_value(&graph, "odd");
        assert!(matches!(
            kind(&graph, odd),
            NodeKind::Layout(Layout::Slice(_))
        ));
        let (even, _) = view_of(&graph, "even");
        assert_eq!(even.byte_offset, 1);
    }
}
