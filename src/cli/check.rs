//! `brainsurgery check PLAN… [key=value…] [--memory-budget SIZE]`: checks a plan against the
//! checkpoint headers and says what a run would do, without reading a tensor byte.
//!
//! Receives plan files (`.yaml`, `.yml`, `.bs`, merged in order) and overrides; opens each input
//! checkpoint for its header only ([`CheckpointHeaders`], which also serves `load` steps and keeps
//! the storage layer's read counters so tests can prove nothing was read); compiles; prints every
//! diagnostic to stderr and then a summary to stdout (tensors read, written and passed through,
//! bytes, output shards from the storage layer's layout planner, peak memory). Exit code 0 when the
//! plan is valid, 1 when it has errors, 3 when a checkpoint cannot be opened, 2 on bad usage.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_IO, EXIT_OK, EXIT_PLAN, EXIT_USAGE};
use crate::compile::{compile_plan, memory, summary, Compilation, HeaderSource, PlanSource};
use crate::diagnostics::{render_all_plain, render_for_stderr, Diagnostic, Severity, SourceMap};
use crate::exec::outputs::{shard_budget, unsupported_output};
use crate::graph::PlanGraph;
use crate::io::{Checkpoint, CheckpointFormat, IoError, OutputLayout, ReadStats};
use crate::optimize::{optimize, Options};
use crate::plan::ast::Plan;
use crate::tensor::TensorType;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Plan files (`.yaml`, `.yml`, `.bs`), merged in order, and `key=value` overrides such as
    /// `transforms[0].copy.to=x`.
    #[arg(required = true, value_name = "PLAN|KEY=VALUE")]
    pub items: Vec<String>,
    /// Refuse the plan if its largest single step needs more memory than this (`512MB`, `2GB`;
    /// binary units).
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<String>,
}

/// The default shard budget of a directory output (BrainSurgery's `--shard-size` default, 5 GiB).
pub const DEFAULT_SHARD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A [`HeaderSource`] over real checkpoints: each path is opened once (headers only) and kept, so
/// the read counters of every checkpoint the compiler saw can be inspected afterwards.
#[derive(Debug, Default)]
pub struct CheckpointHeaders {
    opened: RefCell<BTreeMap<String, Checkpoint>>,
}

impl CheckpointHeaders {
    pub fn new() -> CheckpointHeaders {
        CheckpointHeaders::default()
    }

    /// Tensors and bytes read from all opened checkpoints so far.
    pub fn read_stats(&self) -> ReadStats {
        let opened = self.opened.borrow();
        opened
            .values()
            .fold(ReadStats::default(), |total, checkpoint| {
                let stats = checkpoint.read_stats();
                ReadStats {
                    tensors: total.tensors + stats.tensors,
                    bytes: total.bytes + stats.bytes,
                }
            })
    }

    /// How many checkpoints were opened.
    pub fn opened(&self) -> usize {
        self.opened.borrow().len()
    }

    /// Runs `use_checkpoint` on the checkpoint at `path`, opening it (header only) the first
    /// time, so that reads through it (the REPL's `:stats`) show in [`Self::read_stats`].
    pub fn with_checkpoint<R>(
        &self,
        path: &str,
        use_checkpoint: impl FnOnce(&Checkpoint) -> R,
    ) -> Result<R, IoError> {
        let mut opened = self.opened.borrow_mut();
        if !opened.contains_key(path) {
            let checkpoint = Checkpoint::open(path)?;
            opened.insert(path.to_string(), checkpoint);
        }
        Ok(use_checkpoint(&opened[path]))
    }

    /// Runs `use_opened` over the checkpoints opened so far, by the path the plan names them with.
    pub fn with_opened<R>(&self, use_opened: impl FnOnce(&BTreeMap<String, Checkpoint>) -> R) -> R {
        use_opened(&self.opened.borrow())
    }

    /// The opened checkpoints, by the path the plan names them with (a run executes over the
    /// very maps whose headers were checked).
    pub fn into_checkpoints(self) -> BTreeMap<String, Checkpoint> {
        self.opened.into_inner()
    }
}

impl HeaderSource for CheckpointHeaders {
    fn headers(&self, path: &str) -> Result<Vec<(String, TensorType)>, Diagnostic> {
        self.with_checkpoint(path, |checkpoint| {
            checkpoint
                .tensors()
                .iter()
                .map(|tensor| (tensor.name.clone(), tensor.ty.clone()))
                .collect()
        })
        .map_err(|error| error.to_diagnostic())
    }

    fn format(&self, path: &str) -> Option<CheckpointFormat> {
        self.opened.borrow().get(path).map(Checkpoint::format)
    }
}

/// Nested plans of `execute: {path: …}`, parsed into the run's source map.
pub struct PlanFiles<'a> {
    pub sources: &'a RefCell<SourceMap>,
}

impl PlanSource for PlanFiles<'_> {
    fn load_plan(&self, path: &str) -> Result<Plan, Vec<Diagnostic>> {
        crate::plan::yaml::load_plan(&[path], &[], &mut self.sources.borrow_mut())
    }
}

/// Plan files and overrides, told apart as BrainSurgery does: an item ending in `.yaml`, `.yml`
/// or `.bs`, or without `=`, is a file; anything else is an override.
pub fn split_items(items: &[String]) -> (Vec<PathBuf>, Vec<String>) {
    let mut paths = Vec::new();
    let mut overrides = Vec::new();
    for item in items {
        let is_file =
            [".yaml", ".yml", ".bs"].iter().any(|s| item.ends_with(s)) || !item.contains('=');
        if is_file {
            paths.push(PathBuf::from(item));
        } else {
            overrides.push(item.clone());
        }
    }
    (paths, overrides)
}

/// A compiled plan with the texts its diagnostics point into.
pub struct CompiledFiles {
    pub sources: SourceMap,
    /// The plan, when its files parsed.
    pub plan: Option<Plan>,
    /// `None` when the plan files themselves had errors.
    pub compilation: Option<Compilation>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads the plan files and compiles them against `headers`.
pub fn compile_files(items: &[String], headers: &CheckpointHeaders) -> CompiledFiles {
    let (paths, overrides) = split_items(items);
    let mut sources = SourceMap::new();
    let plan = match crate::plan::yaml::load_plan(&paths, &overrides, &mut sources) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            return CompiledFiles {
                sources,
                plan: None,
                compilation: None,
                diagnostics,
            }
        }
    };
    compile_loaded(plan, sources, headers)
}

/// Compiles a plan whose texts are already in `sources` (loaded from files, or typed at the
/// REPL) against `headers`; nested plan files are read into the same source map.
pub fn compile_loaded(
    plan: Plan,
    sources: SourceMap,
    headers: &CheckpointHeaders,
) -> CompiledFiles {
    let shared = RefCell::new(sources);
    let compilation = {
        let plans = PlanFiles { sources: &shared };
        compile_plan(&plan, headers, Some(&plans))
    };
    CompiledFiles {
        sources: shared.into_inner(),
        plan: Some(plan),
        diagnostics: compilation.diagnostics.clone(),
        compilation: Some(compilation),
    }
}

/// What `check` prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// How diagnostics are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Deterministic text (golden tests, pipes).
    Plain,
    /// Fancy when stderr is a terminal.
    ForStderr,
}

/// Runs `check` and returns its output instead of printing it.
pub fn check(args: &CheckArgs, headers: &CheckpointHeaders, rendering: Rendering) -> CheckReport {
    let budget = match args.memory_budget.as_deref().map(crate::io::parse_size) {
        None => None,
        Some(Ok(budget)) => budget,
        Some(Err(error)) => {
            return CheckReport {
                exit_code: EXIT_USAGE,
                stdout: String::new(),
                stderr: render(&[error.to_diagnostic()], &SourceMap::new(), rendering),
            }
        }
    };
    let CompiledFiles {
        sources,
        compilation,
        mut diagnostics,
        ..
    } = compile_files(&args.items, headers);
    let mut stdout = String::new();
    if let Some(compilation) = &compilation {
        let (text, budget_diagnostics) = summary_report(&compilation.graph, budget);
        diagnostics.extend(budget_diagnostics);
        stdout = text;
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let exit_code = exit_code(&diagnostics);
    let mut stderr = render(&diagnostics, &sources, rendering);
    if errors > 0 {
        if !stderr.is_empty() {
            stderr.push('\n');
        }
        stderr.push_str(&format!(
            "check failed: {errors} error{}\n",
            if errors == 1 { "" } else { "s" }
        ));
    }
    CheckReport {
        exit_code,
        stdout,
        stderr,
    }
}

/// The summary `check` prints for a compiled graph (what a run reads, writes and holds), and the
/// diagnostics found with it: the memory budget's, when one is given, and what `run` would refuse
/// about an output. The Web UI shows the same text and diagnostics.
pub fn summary_report(graph: &PlanGraph, budget: Option<u64>) -> (String, Vec<Diagnostic>) {
    // Memory is estimated for the graph a run executes: the optimized one.
    let mut optimized = graph.clone();
    let estimate = match optimize(&mut optimized, &Options::default()) {
        Ok(_) => memory::estimate(&optimized),
        Err(_) => memory::estimate(graph),
    };
    let mut diagnostics: Vec<Diagnostic> = budget
        .and_then(|budget| memory::check_budget(graph, &estimate, budget))
        .into_iter()
        .collect();
    // What `run` would refuse about an output (a `shard` on a torch file, bf16 for NumPy) is
    // known from the headers, so `check` reports it too.
    diagnostics.extend(
        graph
            .outputs()
            .iter()
            .enumerate()
            .filter_map(|(index, spec)| {
                unsupported_output(spec, graph, crate::graph::OutputId::from_index(index))
            }),
    );
    let mut summary = summary::summarize(graph);
    summary.memory = estimate;
    let shards = shard_counts(graph, &summary);
    (summary.render(&shards), diagnostics)
}

/// The exit code diagnostics call for: 3 when a checkpoint could not be read (storage codes),
/// 1 for any other error, 0 when there are only warnings.
pub fn exit_code(diagnostics: &[Diagnostic]) -> i32 {
    if diagnostics.iter().any(|d| d.code.starts_with("E00")) {
        EXIT_IO
    } else if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        EXIT_PLAN
    } else {
        EXIT_OK
    }
}

fn render(diagnostics: &[Diagnostic], sources: &SourceMap, rendering: Rendering) -> String {
    match rendering {
        Rendering::Plain => render_all_plain(diagnostics, sources),
        Rendering::ForStderr => render_for_stderr(diagnostics, sources),
    }
}

/// The number of shard files of each output, from the storage layer's planner: the output's
/// `shard` size when given (`none`: one file), else one file for a `.safetensors`/torch path and
/// the 5 GiB default for a directory, as BrainSurgery shards directory outputs by default.
fn shard_counts(graph: &PlanGraph, summary: &summary::CheckSummary) -> Vec<Option<usize>> {
    graph
        .outputs()
        .iter()
        .zip(&summary.outputs)
        .map(|(spec, output)| {
            let budget = shard_budget(spec, Some(DEFAULT_SHARD_BYTES));
            OutputLayout::plan(output.tensors.clone(), budget)
                .ok()
                .map(|layout| layout.shards().len())
        })
        .collect()
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &CheckArgs) -> i32 {
    let headers = CheckpointHeaders::new();
    let report = check(args, &headers, Rendering::ForStderr);
    eprint!("{}", report.stderr);
    print!("{}", report.stdout);
    report.exit_code
}
