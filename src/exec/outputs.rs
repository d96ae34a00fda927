//! The outputs of a run: one [`CheckpointWriter`] per output of the graph (the plan's `output`
//! and each `save` step), laid out before the first node runs.
//!
//! [`Outputs::create`] receives the graph and [`OutputOptions`] and returns the writers, each with
//! its complete layout (the output's `Store` nodes in id order, which is name order per output),
//! its shard budget (the output's `shard`, else none for a single-file path and the run's default
//! for a directory, as BrainSurgery shards directory outputs by default) and its metadata (the
//! inputs' `__metadata__`, `format: pt` when they have no format, and the provenance entries).
//! Stores then write through [`Outputs::write_at`] from any thread; [`Outputs::publish`]
//! publishes every output atomically, only after the whole run succeeded. In a dry run no writer
//! is created and writes are only counted. Each output is written in the format its path and
//! `format` name (`output_kind.rs`): safetensors, one PyTorch file, one `.npy` array or an
//! `.npz`, through the writers of `output_writer.rs`; [`unsupported_output`] names outputs that
//! cannot be written (a `shard` on a PyTorch file, a bf16 tensor for NumPy, DCP), so a run
//! refuses them before it starts.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::output_kind::{output_problem, OutputKind};
use super::output_writer::OutputWriter;
use super::progress::Progress;
use crate::diagnostics::Diagnostic;
use crate::graph::{NodeId, NodeKind, OutputId, OutputSpec, PlanGraph};
use crate::io::{output_metadata, IoError, OutputLayout, WriterOptions};
use crate::plan::ast::ShardSize;

/// Path suffixes that name one file rather than a directory.
const FILE_SUFFIXES: [&str; 6] = [".safetensors", ".pt", ".pth", ".bin", ".npy", ".npz"];

/// The shard budget of an output: its own `shard`, else none for a single-file path and
/// `default` for a directory.
pub fn shard_budget(spec: &OutputSpec, default: Option<u64>) -> Option<u64> {
    match &spec.shard {
        Some(ShardSize::Bytes { bytes, .. }) => Some(*bytes),
        Some(ShardSize::None) => None,
        None if FILE_SUFFIXES.iter().any(|s| spec.path.ends_with(s)) => None,
        None => default,
    }
}

/// A diagnostic when `spec` cannot be written: its path, `format`, `shard`, tensor count or a
/// dtype do not fit its file format, or the format is one this version does not write (DCP).
pub fn unsupported_output(
    spec: &OutputSpec,
    graph: &PlanGraph,
    id: OutputId,
) -> Option<Diagnostic> {
    output_problem(spec, graph, id)
}

/// How outputs are written.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// The shard budget of directory outputs without a `shard` of their own.
    pub default_shard_bytes: Option<u64>,
    /// The inputs' `__metadata__`, carried into every output.
    pub input_metadata: BTreeMap<String, String>,
    /// The resolved plan's hash, recorded as provenance.
    pub plan_hash: Option<String>,
    /// The input paths, which no output may overwrite.
    pub input_paths: Vec<PathBuf>,
    /// Compute everything but create no file.
    pub dry_run: bool,
}

/// Where one store writes.
#[derive(Debug, Clone)]
struct Target {
    output: usize,
    name: String,
}

/// Every output of a run, laid out and ready to be filled.
#[derive(Debug)]
pub struct Outputs {
    writers: Vec<Option<OutputWriter>>,
    paths: Vec<PathBuf>,
    targets: HashMap<NodeId, Target>,
}

impl Outputs {
    pub fn create(graph: &PlanGraph, options: &OutputOptions) -> Result<Outputs, IoError> {
        let mut metadata = output_metadata(&options.input_metadata, options.plan_hash.as_deref());
        metadata
            .entry("format".to_string())
            .or_insert_with(|| "pt".to_string());
        let mut writers = Vec::with_capacity(graph.outputs().len());
        let mut paths = Vec::with_capacity(graph.outputs().len());
        let mut targets = HashMap::new();
        for (index, spec) in graph.outputs().iter().enumerate() {
            let id = OutputId::from_index(index);
            let mut tensors = Vec::new();
            for store in graph.stores_of(id) {
                let Some(node) = graph.node(store) else {
                    continue;
                };
                if let (NodeKind::Store(write), Some(ty)) = (&node.kind, &node.ty) {
                    tensors.push((write.name.clone(), ty.clone()));
                    targets.insert(
                        store,
                        Target {
                            output: index,
                            name: write.name.clone(),
                        },
                    );
                }
            }
            // `prepare` refuses an output whose kind does not resolve before outputs are created.
            let kind = OutputKind::resolve(spec).unwrap_or(OutputKind::Safetensors);
            let shard_bytes = shard_budget(spec, options.default_shard_bytes);
            paths.push(PathBuf::from(&spec.path));
            writers.push(if options.dry_run {
                // The layout is still planned, so a dry run refuses what a real run would.
                OutputLayout::plan(tensors, shard_bytes)?;
                None
            } else {
                Some(OutputWriter::create(
                    &spec.path,
                    kind,
                    tensors,
                    shard_bytes,
                    metadata.clone(),
                    WriterOptions {
                        inputs: options.input_paths.clone(),
                        fail_after_tensors: None,
                    },
                )?)
            });
        }
        Ok(Outputs {
            writers,
            paths,
            targets,
        })
    }

    /// Writes `bytes` at `offset` of the tensor that store node `store` writes.
    pub fn write_at(
        &self,
        store: NodeId,
        offset: u64,
        bytes: &[u8],
        progress: &Progress,
    ) -> Result<(), IoError> {
        let target = self
            .targets
            .get(&store)
            .ok_or_else(|| IoError::UnknownOutputTensor {
                tensor: format!("(store {store})"),
            })?;
        if let Some(writer) = &self.writers[target.output] {
            writer.write_at(&target.name, offset, bytes)?;
        }
        progress.add_bytes(bytes.len() as u64);
        Ok(())
    }

    /// Copies `len` bytes of `source` from `source_offset` to `offset` of store `store`'s tensor,
    /// file to file inside the kernel.
    pub fn copy_from_file(
        &self,
        store: NodeId,
        offset: u64,
        source: &std::fs::File,
        source_offset: u64,
        len: u64,
        progress: &Progress,
    ) -> Result<(), IoError> {
        let target = self
            .targets
            .get(&store)
            .ok_or_else(|| IoError::UnknownOutputTensor {
                tensor: format!("(store {store})"),
            })?;
        if let Some(writer) = &self.writers[target.output] {
            writer.copy_from_file(&target.name, offset, source, source_offset, len)?;
        }
        progress.add_bytes(len);
        Ok(())
    }

    /// Publishes every output; returns the published paths (none in a dry run).
    pub fn publish(self) -> Result<Vec<PathBuf>, IoError> {
        let mut published = Vec::new();
        for (writer, path) in self.writers.into_iter().zip(self.paths) {
            if let Some(writer) = writer {
                writer.finish()?;
                published.push(path);
            }
        }
        Ok(published)
    }
}
