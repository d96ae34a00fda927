//! How each node of a graph executes and what memory it needs: the one memory model that both
//! `check` (the estimate and the `--memory-budget` refusal) and the scheduler (its reservations)
//! use, so the figure a plan is refused with is the figure a run would reserve.
//!
//! [`Execution::of`] receives a graph, its liveness and a node, and says how the node runs:
//! - **view** — a `Load` (the mapped file bytes), a `reshape` (the same bytes, another type), a
//!   byte-range view or a slice that is one contiguous byte run: no work, no memory of its own;
//! - **streamed** — an elementwise or fused node whose every live consumer is a `Store`: it is computed
//!   chunk by chunk straight into the output files, and those stores are **absorbed** into it;
//! - **copy** — a `Store` of a value that already exists: an input's bytes go file to file inside
//!   the kernel (one bounded copy buffer is reserved for file systems that cannot do that),
//!   computed bytes are written from their buffer;
//! - **materialized** — everything else that makes a tensor: a buffer held until its last consumer;
//! - **sink** — assertions, dumps and diffs: they read their operands and keep nothing.
//!
//! [`footprint`] gives a node's bytes: `held` (its own buffer, until its last consumer) and
//! `transient` (while it runs: mapped operands it reads whole — their pages count in the resident
//! set — one chunk's buffers of streaming work, and an SVD workspace). Chunked work spreads over
//! the worker threads, each holding at most one chunk at a time: that per-thread slack (a few MiB)
//! belongs to the fixed baseline of a run, not to any node, so the figures here do not depend on
//! the machine's thread count.
//! [`step_bytes`] adds the buffers of the node's operands, which must be alive while it runs: no
//! schedule can run the node in less, which is what `check` compares with the budget.

use std::ops::Range;

use super::kernels::lowrank::SvdMethod;
use crate::graph::ops::{Layout, Linalg, NodeKind, SliceDim, SliceSpec};
use crate::graph::{Liveness, NodeId, PlanGraph};
use crate::plan::ast::{Slice, SliceComponent};
use crate::tensor::{DType, TensorType};

/// Elements per chunk of streamed elementwise work: 256 Ki (1 MiB of f32), large enough that
/// per-chunk system calls (one positioned write, one page release) cost nothing measurable.
pub const STREAM_CHUNK_ELEMENTS: usize = 256 * 1024;

/// Bytes per chunk when a store copies an existing value into its file.
pub const COPY_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// How a node runs (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    View,
    Streamed,
    Absorbed,
    Copy,
    Materialized,
    Sink,
}

impl Execution {
    pub fn of(graph: &PlanGraph, liveness: &Liveness, id: NodeId) -> Execution {
        let Some(node) = graph.node(id) else {
            return Execution::View;
        };
        match &node.kind {
            NodeKind::Load(_) | NodeKind::Layout(Layout::Reshape { .. } | Layout::ByteView(_)) => {
                Execution::View
            }
            NodeKind::Layout(Layout::Slice(spec)) => {
                let contiguous = operand_type(graph, id, 0)
                    .is_some_and(|base| contiguous_slice(spec, base).is_some());
                if contiguous {
                    Execution::View
                } else {
                    Execution::Materialized
                }
            }
            NodeKind::Elementwise(_) | NodeKind::Fused(_) if streams(graph, liveness, id) => {
                Execution::Streamed
            }
            NodeKind::Store(_) => {
                let producer = graph.inputs(id).first().copied();
                match producer {
                    Some(producer)
                        if Execution::of(graph, liveness, producer) == Execution::Streamed =>
                    {
                        Execution::Absorbed
                    }
                    _ => Execution::Copy,
                }
            }
            NodeKind::Sink(_) => Execution::Sink,
            _ => Execution::Materialized,
        }
    }
}

/// Whether an elementwise node's every live consumer is a store (so it can be streamed).
fn streams(graph: &PlanGraph, liveness: &Liveness, id: NodeId) -> bool {
    let consumers: Vec<NodeId> = graph
        .consumers(id)
        .into_iter()
        .filter(|&c| liveness.is_live(c))
        .collect();
    !consumers.is_empty()
        && consumers.iter().all(|&c| {
            graph
                .node(c)
                .is_some_and(|n| matches!(n.kind, NodeKind::Store(_)))
        })
}

/// A node's memory: its own buffer, and what it needs only while it runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub held: u64,
    pub transient: u64,
}

/// The footprint of node `id`.
pub fn footprint(graph: &PlanGraph, liveness: &Liveness, id: NodeId) -> Footprint {
    let Some(node) = graph.node(id) else {
        return Footprint::default();
    };
    let output = node.ty.as_ref().and_then(TensorType::byte_len).unwrap_or(0);
    match Execution::of(graph, liveness, id) {
        Execution::View | Execution::Absorbed => Footprint::default(),
        Execution::Streamed => Footprint {
            held: 0,
            transient: chunk_bytes(graph, id),
        },
        Execution::Copy => {
            let operand_bytes = operand_type(graph, id, 0)
                .and_then(TensorType::byte_len)
                .unwrap_or(0);
            let mapped = graph
                .inputs(id)
                .first()
                .is_some_and(|&o| is_mapped(graph, o));
            Footprint {
                held: 0,
                transient: if mapped {
                    operand_bytes.min(COPY_CHUNK_BYTES as u64)
                } else {
                    0
                },
            }
        }
        Execution::Sink => Footprint {
            held: 0,
            transient: mapped_operand_bytes(graph, id),
        },
        Execution::Materialized => {
            let transient = if matches!(node.kind, NodeKind::Elementwise(_) | NodeKind::Fused(_)) {
                // Elementwise operands are read chunk by chunk and their pages released.
                chunk_bytes(graph, id)
            } else {
                mapped_operand_bytes(graph, id) + workspace_bytes(graph, id)
            };
            Footprint {
                held: output,
                transient,
            }
        }
    }
}

/// Everything node `id` needs while it runs: its footprint plus its operands' buffers.
pub fn step_bytes(graph: &PlanGraph, liveness: &Liveness, id: NodeId) -> u64 {
    let own = footprint(graph, liveness, id);
    let mut bases: Vec<NodeId> = graph
        .inputs(id)
        .into_iter()
        .filter_map(|operand| buffer_owner(graph, operand))
        .collect();
    bases.sort();
    bases.dedup();
    let operands: u64 = bases
        .iter()
        .map(|&base| footprint(graph, liveness, base).held)
        .sum();
    own.held + own.transient + operands
}

/// The node whose buffer holds `id`'s bytes: `id` itself, or for a view the node it views
/// (`None` when the bytes are a file's mapped pages).
pub fn buffer_owner(graph: &PlanGraph, id: NodeId) -> Option<NodeId> {
    let mut current = id;
    loop {
        let node = graph.node(current)?;
        match &node.kind {
            NodeKind::Load(_) => return None,
            NodeKind::Layout(Layout::Reshape { .. } | Layout::ByteView(_)) => {
                current = *graph.inputs(current).first()?
            }
            NodeKind::Layout(Layout::Slice(spec)) => {
                let contiguous = operand_type(graph, current, 0)
                    .is_some_and(|base| contiguous_slice(spec, base).is_some());
                if !contiguous {
                    return Some(current);
                }
                current = *graph.inputs(current).first()?;
            }
            _ => return Some(current),
        }
    }
}

/// Whether `id`'s bytes are a file's mapped pages (a load, or a view of one).
pub fn is_mapped(graph: &PlanGraph, id: NodeId) -> bool {
    graph.node(id).is_some() && buffer_owner(graph, id).is_none()
}

/// Bytes of the distinct mapped operands a node reads whole.
fn mapped_operand_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let mut operands = graph.inputs(id);
    operands.sort();
    operands.dedup();
    operands
        .into_iter()
        .filter(|&o| is_mapped(graph, o))
        .filter_map(|o| graph.type_of(o).and_then(TensorType::byte_len))
        .sum()
}

/// One chunk's buffers for an elementwise or fused node: the mapped input chunks, the output
/// chunk, two decode lanes of up to 8 bytes per element, and for a fused program one buffer per
/// intermediate step (counted at 8 bytes per element, the widest dtype it can hold).
fn chunk_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let Some(node) = graph.node(id) else {
        return 0;
    };
    let Some(ty) = node.ty.as_ref() else {
        return 0;
    };
    let intermediates = match &node.kind {
        NodeKind::Fused(fused) => 8 * fused.steps.len().saturating_sub(1) as u64,
        _ => 0,
    };
    let elements = ty
        .shape
        .element_count()
        .unwrap_or(0)
        .min(STREAM_CHUNK_ELEMENTS as u64);
    let inputs: u64 = graph
        .inputs(id)
        .iter()
        .filter_map(|&o| graph.type_of(o))
        .map(|t| element_bytes(t.dtype))
        .sum();
    elements * (inputs + element_bytes(ty.dtype) + 16 + intermediates)
}

fn element_bytes(dtype: DType) -> u64 {
    dtype.bit_size().div_ceil(8) as u64
}

/// Scratch memory of a low-rank node, in f32 (f64 for f64 tensors): for an exact SVD about five
/// copies of the matrix (its decoded copy, the bidiagonalization and faer's SVD workspace, see
/// `docs/lowrank.md`) plus `U`, `S` and `Vh`; for a randomized SVD of sketch width `l` the decoded
/// matrix, the test matrix, the sketches and their bases (about four `(m + n)·l` panels) and the
/// small `l × l` SVD; for a merge the decoded operands. Counting it lets independent
/// factorizations run in parallel only as far as the budget holds all of their workspaces at
/// once.
fn workspace_bytes(graph: &PlanGraph, id: NodeId) -> u64 {
    let Some(node) = graph.node(id) else {
        return 0;
    };
    let Some(source) = operand_type(graph, id, 0) else {
        return 0;
    };
    let [m, n] = *source.shape.dims() else {
        return 0;
    };
    let element = if source.dtype == DType::F64 { 8 } else { 4 };
    let elements = match &node.kind {
        NodeKind::Linalg(
            Linalg::PhloraFactors { rank, method } | Linalg::PhloraReconstruct { rank, method },
        ) => svd_elements(m, n, *rank, method),
        // Both operands are decoded before their difference is factorized.
        NodeKind::Linalg(Linalg::LoraExtractFactors { rank, method, .. }) => {
            svd_elements(m, n, *rank, method).saturating_add(m.saturating_mul(n))
        }
        // W, A and B decoded, and B·A accumulated.
        NodeKind::Linalg(Linalg::LoraMerge { .. }) => {
            let rank = operand_type(graph, id, 1)
                .and_then(|a| a.shape.dims().first().copied())
                .unwrap_or(0);
            2 * m * n + rank * (m + n)
        }
        _ => 0,
    };
    elements.saturating_mul(element)
}

/// Compute-type elements an SVD of an `m × n` matrix keeps `rank` components of needs (see
/// [`workspace_bytes`]); the randomized method falls back to the exact one when its sketch would
/// be as wide as the matrix, as the kernel does.
fn svd_elements(m: u64, n: u64, rank: u64, method: &SvdMethod) -> u64 {
    let k = m.min(n);
    let exact = 5 * m * n + m * k + k + k * n;
    match method {
        SvdMethod::Randomized(settings) => {
            let width = rank.min(k).saturating_add(settings.oversampling as u64);
            if width >= k {
                exact
            } else {
                m * n + 4 * (m + n) * width + 2 * width * width
            }
        }
        SvdMethod::Exact => exact,
    }
}

fn operand_type(graph: &PlanGraph, id: NodeId, position: usize) -> Option<&TensorType> {
    graph
        .inputs(id)
        .get(position)
        .and_then(|&o| graph.type_of(o))
}

/// A resolved graph slice written as the plan's Python-style slice, which the slicing kernels
/// take (an index stays an index; a range gets explicit bounds, so no clamping applies again).
pub fn plan_slice(spec: &SliceSpec) -> Slice {
    Slice(
        spec.0
            .iter()
            .map(|component| match *component {
                SliceDim::Index(index) => SliceComponent::Index(index as i64),
                SliceDim::Range {
                    start,
                    step,
                    length,
                } => {
                    let stop = if length == 0 {
                        start
                    } else {
                        start + (length - 1) * step + 1
                    };
                    SliceComponent::Range {
                        start: Some(start as i64),
                        stop: Some(stop as i64),
                        step: Some(step as i64),
                    }
                }
            })
            .collect(),
    )
}

/// The byte range of `base`'s data that a slice selects, when it is one contiguous run.
pub fn contiguous_slice(spec: &SliceSpec, base: &TensorType) -> Option<Range<u64>> {
    let bits = base.dtype.bit_size();
    if !bits.is_multiple_of(8) {
        return None;
    }
    let geometry =
        crate::exec::kernels::slicing::SliceGeometry::new(&base.shape, &plan_slice(spec)).ok()?;
    geometry.contiguous_byte_range((bits / 8) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{Elementwise, Load, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::Shape;

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    fn load(graph: &mut PlanGraph, ty: &TensorType) -> NodeId {
        graph.add_node(
            NodeKind::Load(Load {
                alias: "m".into(),
                path: "p".into(),
                tensor: "w".into(),
                ty: ty.clone(),
            }),
            Some(ty.clone()),
            &[],
            None,
        )
    }

    fn store(graph: &mut PlanGraph, value: NodeId, name: &str) -> NodeId {
        let output = match graph.outputs().len() {
            0 => graph.add_output(OutputSpec {
                path: "out".into(),
                alias: "m".into(),
                format: None,
                shard: None,
                is_plan_output: true,
            }),
            _ => crate::graph::OutputId::from_index(0),
        };
        let ty = graph.type_of(value).cloned();
        graph.add_node(
            NodeKind::Store(Store::new(output, name)),
            ty,
            &[value],
            None,
        )
    }

    #[test]
    fn an_elementwise_node_read_only_by_stores_streams_and_absorbs_them() {
        let mut graph = PlanGraph::new();
        let ty = f32(&[1 << 24]);
        let w = load(&mut graph, &ty);
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            Some(ty.clone()),
            &[w],
            None,
        );
        let written = store(&mut graph, scaled, "w");
        let liveness = Liveness::of(&graph);
        assert_eq!(Execution::of(&graph, &liveness, w), Execution::View);
        assert_eq!(
            Execution::of(&graph, &liveness, scaled),
            Execution::Streamed
        );
        assert_eq!(
            Execution::of(&graph, &liveness, written),
            Execution::Absorbed
        );
        // A 64 MiB tensor streams through one chunk's buffers, never all of it.
        let step = step_bytes(&graph, &liveness, scaled);
        assert_eq!(step, STREAM_CHUNK_ELEMENTS as u64 * (4 + 4 + 16));
        assert!(step < ty.byte_len().unwrap());
    }

    #[test]
    fn a_value_read_by_another_node_is_held_and_counted_in_its_consumers_step() {
        let mut graph = PlanGraph::new();
        let ty = f32(&[1024]);
        let w = load(&mut graph, &ty);
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            Some(ty.clone()),
            &[w],
            None,
        );
        let summed = graph.add_node(
            NodeKind::Elementwise(Elementwise::Add),
            Some(ty.clone()),
            &[scaled, w],
            None,
        );
        store(&mut graph, summed, "w");
        let liveness = Liveness::of(&graph);
        assert_eq!(
            Execution::of(&graph, &liveness, scaled),
            Execution::Materialized
        );
        assert_eq!(footprint(&graph, &liveness, scaled).held, 4096);
        // The add streams, but needs the scaled buffer alive while it runs.
        let chunk = 1024 * (4 + 4 + 4 + 16);
        assert_eq!(step_bytes(&graph, &liveness, summed), 4096 + chunk);
    }

    #[test]
    fn contiguous_slices_are_views_and_strided_ones_are_copies() {
        let base = f32(&[4, 6]);
        let rows = SliceSpec(vec![SliceDim::Range {
            start: 1,
            step: 1,
            length: 2,
        }]);
        assert_eq!(contiguous_slice(&rows, &base), Some(24..72));
        let columns = SliceSpec(vec![
            SliceDim::Range {
                start: 0,
                step: 1,
                length: 4,
            },
            SliceDim::Range {
                start: 0,
                step: 1,
                length: 3,
            },
        ]);
        assert_eq!(contiguous_slice(&columns, &base), None);
        let row = SliceSpec(vec![SliceDim::Index(3)]);
        assert_eq!(contiguous_slice(&row, &base), Some(72..96));
    }
}
