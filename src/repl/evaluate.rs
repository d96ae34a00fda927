//! `:stats` of a tensor the plan computes: the part of the session's graph that computes it is
//! run, and the statistics are those `:stats` gives an input tensor.
//!
//! [`computed_values`] receives the session's graph, the tensor's node and the opened input
//! checkpoints; it copies the node's cone ([`PlanGraph::cone`]: the node and what it depends on,
//! nothing else, so no assertion, dump or output of the plan runs), adds one store of the node
//! into a scratch safetensors file, runs that graph with the executor `run` uses (its default
//! memory budget, one worker per core, the same kernels and numerics), and reads the value back
//! to summarize it. The scratch directory is removed afterwards, whatever happened. A problem
//! while computing is the executor's own diagnostic, at the step that failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::run::default_memory_budget;
use crate::diagnostics::Diagnostic;
use crate::exec::{execute, ExecOptions, OutputOptions};
use crate::graph::ops::{NodeKind, Store};
use crate::graph::{NodeId, OutputSpec, PlanGraph};
use crate::inspect::stats::{summarize, TensorStats};
use crate::io::Checkpoint;
use crate::tensor::TensorType;

/// The name of the one tensor in the scratch file.
const TENSOR: &str = "value";

/// Computes `node` of `graph` over `checkpoints` and summarizes its value; returns its type and
/// statistics. `Err` holds the executor's diagnostics, or a message when the scratch file cannot
/// be made or read.
pub fn computed_values(
    graph: &PlanGraph,
    node: NodeId,
    checkpoints: &BTreeMap<String, Checkpoint>,
) -> Result<(TensorType, TensorStats), Failure> {
    let (mut cone, target) = graph
        .cone(node)
        .ok_or_else(|| Failure::Message("the tensor's node is not in the graph".into()))?;
    let ty = cone
        .type_of(target)
        .cloned()
        .ok_or_else(|| Failure::Message("the tensor has no type".into()))?;
    let scratch = Scratch::create()?;
    let file = scratch.path.join("value.safetensors");
    let output = cone.add_output(OutputSpec {
        path: file.display().to_string(),
        alias: "stats".into(),
        format: None,
        shard: None,
        is_plan_output: true,
    });
    cone.add_node(
        NodeKind::Store(Store::new(output, TENSOR)),
        Some(ty.clone()),
        &[target],
        None,
    );
    let options = ExecOptions {
        memory_budget: default_memory_budget(),
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        progress: false,
        outputs: OutputOptions {
            default_shard_bytes: None,
            input_metadata: BTreeMap::new(),
            plan_hash: None,
            input_paths: checkpoints.keys().map(PathBuf::from).collect(),
            dry_run: false,
        },
    };
    execute(&cone, checkpoints, &options).map_err(|failure| Failure::Run(failure.diagnostics))?;
    let written = Checkpoint::open(&file).map_err(|error| Failure::Message(error.to_string()))?;
    let bytes = written
        .read(TENSOR)
        .map_err(|error| Failure::Message(error.to_string()))?;
    let stats = summarize(ty.dtype, &bytes);
    Ok((ty, stats))
}

/// Why a computed tensor has no statistics.
#[derive(Debug)]
pub enum Failure {
    /// The run stopped: its diagnostics point at the plan.
    Run(Vec<Diagnostic>),
    /// The scratch file could not be made or read.
    Message(String),
}

/// A private directory under the system's temporary directory, removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create() -> Result<Scratch, Failure> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos());
            let path = base.join(format!(
                "brainsurgery-stats-{}-{nanos:09}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Scratch { path }),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(scratch_failure(&path, &error)),
            }
        }
        Err(Failure::Message(format!(
            "no free scratch directory name in {}",
            base.display()
        )))
    }
}

fn scratch_failure(path: &Path, error: &std::io::Error) -> Failure {
    Failure::Message(format!("cannot create {}: {error}", path.display()))
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
