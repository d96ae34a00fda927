//! The figures `brainsurgery check` prints after the diagnostics: what a run of the plan would
//! read, write and hold in memory.
//!
//! It receives a compiled [`PlanGraph`] and returns a [`CheckSummary`]. Only live nodes count
//! (a tensor that is deleted or overwritten is never read). "Passed through untouched" counts
//! stores fed directly by a load: those bytes are copied from the input file without decoding.
//! Shard counts are not computed here: the CLI adds them with the storage layer's layout planner.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::diagnostics::format_bytes;
use super::memory::{self, MemoryEstimate};
use crate::graph::{Liveness, NodeKind, PlanGraph};
use crate::tensor::TensorType;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub tensors_read: usize,
    pub bytes_read: u64,
    pub tensors_written: usize,
    pub bytes_written: u64,
    pub passthrough_tensors: usize,
    pub passthrough_bytes: u64,
    /// Value checks left for run time (`equal`, `iszero`, dumps of values, diffs).
    pub runtime_checks: usize,
    pub memory: MemoryEstimate,
    pub outputs: Vec<OutputSummary>,
}

/// One output (the plan's, or a `save` step's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputSummary {
    pub path: String,
    pub alias: String,
    /// `(name, type)` in store order (name order).
    pub tensors: Vec<(String, TensorType)>,
}

impl OutputSummary {
    pub fn bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter_map(|(_, ty)| ty.byte_len())
            .sum()
    }
}

pub fn summarize(graph: &PlanGraph) -> CheckSummary {
    let liveness = Liveness::of(graph);
    let mut summary = CheckSummary {
        memory: memory::estimate(graph),
        outputs: graph
            .outputs()
            .iter()
            .map(|spec| OutputSummary {
                path: spec.path.clone(),
                alias: spec.alias.clone(),
                tensors: Vec::new(),
            })
            .collect(),
        ..CheckSummary::default()
    };
    let mut read = BTreeSet::new();
    for id in graph.node_ids() {
        let Some(node) = graph.node(id) else {
            continue;
        };
        let bytes = node.ty.as_ref().and_then(|ty| ty.byte_len()).unwrap_or(0);
        match &node.kind {
            // The same tensor loaded twice (two aliases of one file) is read once.
            NodeKind::Load(load)
                if liveness.is_live(id)
                    && read.insert((load.path.clone(), load.tensor.clone())) =>
            {
                summary.tensors_read += 1;
                summary.bytes_read += bytes;
            }
            NodeKind::Store(store) => {
                summary.tensors_written += 1;
                summary.bytes_written += bytes;
                let fed_by_load = graph
                    .inputs(id)
                    .first()
                    .and_then(|&input| graph.node(input))
                    .is_some_and(|input| matches!(input.kind, NodeKind::Load(_)));
                if fed_by_load {
                    summary.passthrough_tensors += 1;
                    summary.passthrough_bytes += bytes;
                }
                if let (Some(output), Some(ty)) =
                    (summary.outputs.get_mut(store.output.index()), &node.ty)
                {
                    output.tensors.push((store.name.clone(), ty.clone()));
                }
            }
            NodeKind::Sink(_) => summary.runtime_checks += 1,
            _ => {}
        }
    }
    summary
}

impl CheckSummary {
    /// The summary as `check` prints it; `shards` gives the shard count of each output when the
    /// caller planned them.
    pub fn render(&self, shards: &[Option<usize>]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "read:        {} tensor{}, {}",
            self.tensors_read,
            plural(self.tensors_read),
            format_bytes(self.bytes_read)
        );
        let _ = writeln!(
            out,
            "written:     {} tensor{}, {}",
            self.tensors_written,
            plural(self.tensors_written),
            format_bytes(self.bytes_written)
        );
        let _ = writeln!(
            out,
            "untouched:   {} tensor{} passed through, {}",
            self.passthrough_tensors,
            plural(self.passthrough_tensors),
            format_bytes(self.passthrough_bytes)
        );
        let _ = writeln!(out, "run checks:  {}", self.runtime_checks);
        let _ = writeln!(
            out,
            "memory:      peak {}, largest step {}",
            format_bytes(self.memory.peak),
            format_bytes(self.memory.largest_step)
        );
        if self.outputs.is_empty() {
            let _ = writeln!(out, "output:      none");
        }
        for (index, output) in self.outputs.iter().enumerate() {
            let bytes: u64 = output.bytes();
            let shard_text = match shards.get(index).copied().flatten() {
                Some(count) => format!(", {count} shard{}", plural(count)),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "output:      {} (alias `{}`): {} tensor{}, {}{shard_text}",
                output.path,
                output.alias,
                output.tensors.len(),
                plural(output.tensors.len()),
                format_bytes(bytes)
            );
        }
        out
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}
