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
//! is created and writes are only counted. [`unsupported_output`] names outputs this version
//! cannot write (torch, numpy and DCP formats), so a run refuses them before it starts.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::diagnostics;
use super::progress::Progress;
use crate::diagnostics::Diagnostic;
use crate::graph::{NodeId, NodeKind, OutputId, OutputSpec, PlanGraph};
use crate::io::{output_metadata, CheckpointWriter, IoError, OutputLayout, WriterOptions};
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

/// A diagnostic when this version cannot write `spec` (only safetensors is written so far).
pub fn unsupported_output(
    spec: &OutputSpec,
    graph: &PlanGraph,
    id: OutputId,
) -> Option<Diagnostic> {
    let torch_path = [".pt", ".pth", ".bin"]
        .iter()
        .any(|s| spec.path.ends_with(s));
    let numpy_path = [".npy", ".npz"].iter().any(|s| spec.path.ends_with(s));
    let what = match spec.format.as_deref() {
        Some("safetensors") | None if !torch_path && !numpy_path => return None,
        Some("torch") | None if torch_path => "writing PyTorch files",
        Some("numpy") | None if numpy_path => "writing NumPy files",
        Some("dcp") => "writing distributed (DCP) checkpoints",
        _ => "writing this output format",
    };
    let span = graph.stores_of(id).first().and_then(|&s| graph.span(s));
    Some(diagnostics::not_supported(
        &format!("{what} (`{}`)", spec.path),
        "write safetensors instead: a path ending in `.safetensors`, or a directory",
        span,
    ))
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
    writers: Vec<Option<CheckpointWriter>>,
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
            let layout =
                OutputLayout::plan(tensors, shard_budget(spec, options.default_shard_bytes))?;
            paths.push(PathBuf::from(&spec.path));
            writers.push(if options.dry_run {
                None
            } else {
                Some(CheckpointWriter::create(
                    &spec.path,
                    layout,
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
