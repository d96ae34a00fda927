//! `brainsurgery run PLAN… [key=value…]` (also `brainsurgery PLAN.yaml …`): checks, optimizes and
//! executes a plan, then publishes its outputs atomically.
//!
//! Receives the plan items of `check` and the run flags; compiles the plan against the inputs'
//! headers (the same loading as `check`: every diagnostic is reported, and any error stops the
//! run with exit code 1 before a byte is read), refuses a plan whose largest step does not fit
//! `--memory-budget` (the figure is the executor's own reservation), optimizes the graph
//! (`--no-fuse` keeps elementwise ops apart, for comparing fused and unfused bytes), executes it
//! over the checkpoints already opened for their headers, prints the dumps' and diffs' text to
//! stdout in plan order, and publishes every output only when everything succeeded (never in a
//! `--dry-run`, where value assertions still run). Outputs record `brainsurgery.version` and
//! `brainsurgery.plan_hash` (SHA-256 of the resolved plan as canonical YAML). Exit codes: 0 ok,
//! 1 plan, validation or assertion error, 2 usage, 3 I/O.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use sha2::{Digest, Sha256};

use super::check::{compile_files, CheckpointHeaders, CompiledFiles};
use super::{EXIT_IO, EXIT_OK, EXIT_PLAN, EXIT_USAGE};
use crate::compile::diagnostics::format_bytes;
use crate::compile::memory;
use crate::diagnostics::{render_for_stderr, Diagnostic, Severity, SourceMap};
use crate::exec::{execute, ExecOptions, OutputOptions};
use crate::optimize::{optimize, Options};
use crate::plan::ast::{Op, Plan};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan files (`.yaml`, `.yml`, `.bs`), merged in order, and `key=value` overrides such as
    /// `output.path=out/x`.
    #[arg(required = true, value_name = "PLAN|KEY=VALUE")]
    pub items: Vec<String>,
    /// Do everything but write: values are computed and assertions checked, nothing is published.
    #[arg(long)]
    pub dry_run: bool,
    /// Bytes of intermediate values held at once (`512MB`, `2GB`; binary units). Default: a
    /// quarter of the machine's memory.
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<String>,
    /// Worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub num_workers: Option<usize>,
    /// Shard size of directory outputs without a `shard` of their own (`none`: one file).
    #[arg(long, value_name = "SIZE", default_value = "5GB")]
    pub shard_size: String,
    /// No progress bar and no closing summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write a YAML summary of the steps that ran (the resolved plan) to this file.
    #[arg(long, value_name = "FILE")]
    pub summarize_path: Option<PathBuf>,
    /// Do not fuse elementwise ops (results are identical; this exists to prove it).
    #[arg(long)]
    pub no_fuse: bool,
}

/// The default budget: a quarter of `MemTotal` in /proc/meminfo (4 GiB when unreadable).
pub fn default_memory_budget() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map(|kib| kib * 1024);
    total.map_or(4 << 30, |bytes| bytes / 4)
}

/// The SHA-256 of the resolved plan's canonical YAML, in lowercase hex.
pub fn plan_hash(plan: &Plan) -> String {
    let digest = Sha256::digest(crate::plan::yaml::print_yaml(plan).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The plan as far as it runs: every step up to and including a top-level `exit`.
pub fn executed_plan(plan: &Plan) -> Plan {
    let mut executed = plan.clone();
    if let Some(exit) = executed
        .steps
        .iter()
        .position(|step| matches!(step.node.op, Op::Exit))
    {
        executed.steps.truncate(exit + 1);
    }
    executed
}

fn size_flag(flag: &str, text: &str) -> Result<Option<u64>, String> {
    crate::io::parse_size(text).map_err(|error| format!("error: --{flag}: {error}\n"))
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &RunArgs) -> i32 {
    let started = Instant::now();
    let headers = CheckpointHeaders::new();
    let compiled = compile_files(&args.items, &headers);
    run_compiled(args, headers, compiled, started)
}

/// Runs a plan already compiled against `headers` (the plan files of `run`, or the plan typed at
/// the REPL's prompt, whose `:run` comes here): optimizes, executes, publishes; returns the exit
/// code. `args.items` is not read.
pub fn run_compiled(
    args: &RunArgs,
    headers: CheckpointHeaders,
    compiled: CompiledFiles,
    started: Instant,
) -> i32 {
    let budget = match args
        .memory_budget
        .as_deref()
        .map(|t| size_flag("memory-budget", t))
    {
        None => default_memory_budget(),
        Some(Ok(budget)) => budget.unwrap_or(u64::MAX),
        Some(Err(message)) => return usage(&message),
    };
    let default_shard_bytes = match size_flag("shard-size", &args.shard_size) {
        Ok(size) => size,
        Err(message) => return usage(&message),
    };
    let workers = match args.num_workers {
        Some(0) => return usage("error: --num-workers must be at least 1\n"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };

    let CompiledFiles {
        sources,
        plan,
        compilation,
        mut diagnostics,
    } = compiled;
    let (Some(plan), Some(compilation)) = (plan, compilation) else {
        return report(&diagnostics, &sources);
    };
    if has_errors(&diagnostics) {
        return report(&diagnostics, &sources);
    }
    let mut graph = compilation.graph;
    let options = Options {
        fuse: !args.no_fuse,
        ..Options::default()
    };
    if let Err(error) = optimize(&mut graph, &options) {
        diagnostics.push(Diagnostic::error(
            "E0499",
            format!("internal error while optimizing: {error}"),
        ));
        return report(&diagnostics, &sources);
    }
    let estimate = memory::estimate(&graph);
    diagnostics.extend(memory::check_budget(&graph, &estimate, budget));
    if has_errors(&diagnostics) {
        return report(&diagnostics, &sources);
    }
    eprint!("{}", render_for_stderr(&diagnostics, &sources));

    let checkpoints = headers.into_checkpoints();
    let mut input_metadata = BTreeMap::new();
    for input in &plan.inputs {
        if let Some(checkpoint) = checkpoints.get(&input.path.node) {
            for (key, value) in checkpoint.metadata() {
                input_metadata
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
        }
    }
    let executed = executed_plan(&plan);
    let exec_options = ExecOptions {
        memory_budget: budget,
        workers,
        progress: !args.quiet,
        outputs: OutputOptions {
            default_shard_bytes,
            input_metadata,
            plan_hash: Some(plan_hash(&executed)),
            input_paths: checkpoints
                .values()
                .map(|c| c.path().to_path_buf())
                .collect(),
            dry_run: args.dry_run,
        },
    };
    let outcome = execute(&graph, &checkpoints, &exec_options);
    let (sink_text, result) = match outcome {
        Ok(report) => (report.sink_text.clone(), Ok(report)),
        Err(failure) => (failure.sink_text.clone(), Err(failure)),
    };
    for text in &sink_text {
        print!("{text}");
    }
    let report = match result {
        Ok(report) => report,
        Err(failure) => {
            eprint!("{}", render_for_stderr(&failure.diagnostics, &sources));
            return failure.exit_code;
        }
    };
    if let (Some(path), false) = (&args.summarize_path, args.dry_run) {
        let text = crate::plan::yaml::print_yaml(&executed);
        if let Err(error) = std::fs::write(path, text) {
            eprintln!(
                "error: cannot write the summary to {}: {error}",
                path.display()
            );
            return EXIT_IO;
        }
    }
    if !args.quiet {
        let destination = match (args.dry_run, report.published.as_slice()) {
            (true, _) => "dry run: nothing written".to_string(),
            (false, []) => "no output".to_string(),
            (false, paths) => format!(
                "wrote {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        eprintln!(
            "{destination}: {} tensors, {} in {:.1} s (peak reserved {})",
            report.tensors_written,
            format_bytes(report.bytes_written),
            started.elapsed().as_secs_f64(),
            format_bytes(report.peak_reserved)
        );
    }
    report_peak_memory();
    EXIT_OK
}

fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// Prints the diagnostics and returns the exit code they call for (3 for storage errors).
fn report(diagnostics: &[Diagnostic], sources: &SourceMap) -> i32 {
    eprint!("{}", render_for_stderr(diagnostics, sources));
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    eprintln!(
        "run stopped: {errors} error{}",
        if errors == 1 { "" } else { "s" }
    );
    if diagnostics.iter().any(|d| d.code.starts_with("E00")) {
        EXIT_IO
    } else {
        EXIT_PLAN
    }
}

fn usage(message: &str) -> i32 {
    eprint!("{message}");
    EXIT_USAGE
}

/// With `BRAINSURGERY_REPORT_PEAK_RSS` set, prints this process's peak resident set (`VmHWM`) to
/// stderr as `peak_rss_bytes=N`, so tests and benchmarks can read it after the process is gone.
pub fn report_peak_memory() {
    if std::env::var_os("BRAINSURGERY_REPORT_PEAK_RSS").is_none() {
        return;
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        });
    if let Some(kib) = peak {
        eprintln!("peak_rss_bytes={}", kib * 1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_a_quarter_of_memory() {
        let budget = default_memory_budget();
        assert!(budget >= 64 << 20, "{budget}");
    }

    #[test]
    fn steps_after_exit_are_not_part_of_the_executed_plan() {
        let mut sources = SourceMap::new();
        let id = sources.add(
            "plan.yaml",
            "inputs: [m.safetensors]\ntransforms:\n  - delete: {target: a}\n  - exit\n  - delete: {target: b}\n",
        );
        let plan = crate::plan::yaml::parse_yaml(&mut sources, id).expect("parses");
        let executed = executed_plan(&plan);
        assert_eq!(executed.steps.len(), 2);
        assert_ne!(plan_hash(&plan), plan_hash(&executed));
        assert_eq!(plan_hash(&executed).len(), 64);
    }
}
