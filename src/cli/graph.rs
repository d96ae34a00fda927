//! `brainsurgery graph PLAN… [key=value…] [--optimized] [--format dot|json] [--all]`: prints the
//! plan's dataflow graph.
//!
//! Receives the same plan items as `check`, compiles them against the checkpoint headers (no
//! tensor bytes are read) and writes the graph to stdout: Graphviz DOT (loads, stores, creators
//! and sinks styled apart; untouched passthrough tensors folded into one summary node unless
//! `--all`) or JSON (every node). `--optimized` shows the graph after the optimizer's passes
//! (dead-tensor elimination, view folding, elementwise fusion, zero-copy passthrough), as `run`
//! would execute it. Exit code 0, or 1 with the diagnostics on stderr when the plan has errors or
//! the optimizer fails (3 when a checkpoint cannot be opened).

use clap::{Args, ValueEnum};

use super::check::{compile_files, CheckpointHeaders, CompiledFiles};
use super::{EXIT_IO, EXIT_OK, EXIT_PLAN};
use crate::diagnostics::{render_all_plain, render_for_stderr, Severity};
use crate::graph::DotOptions;
use crate::optimize::{optimize, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GraphFormat {
    #[default]
    Dot,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Plan files (`.yaml`, `.yml`, `.bs`), merged in order, and `key=value` overrides.
    #[arg(required = true, value_name = "PLAN|KEY=VALUE")]
    pub items: Vec<String>,
    /// Show the graph after optimization (dead tensors removed, views folded, elementwise ops
    /// fused, untouched tensors copied as bytes).
    #[arg(long)]
    pub optimized: bool,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Show every untouched tensor instead of one summary node (DOT).
    #[arg(long)]
    pub all: bool,
}

/// What `graph` prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphReport {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `graph` and returns its output; `plain` renders diagnostics deterministically.
pub fn graph(args: &GraphArgs, headers: &CheckpointHeaders, plain: bool) -> GraphReport {
    let CompiledFiles {
        sources,
        compilation,
        diagnostics,
        ..
    } = compile_files(&args.items, headers);
    let stderr = if plain {
        render_all_plain(&diagnostics, &sources)
    } else {
        render_for_stderr(&diagnostics, &sources)
    };
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let (Some(compilation), false) = (compilation, failed) else {
        let io = diagnostics.iter().any(|d| d.code.starts_with("E00"));
        return GraphReport {
            exit_code: if io { EXIT_IO } else { EXIT_PLAN },
            stdout: String::new(),
            stderr,
        };
    };
    let mut graph = compilation.graph;
    if args.optimized {
        if let Err(error) = optimize(&mut graph, &Options::default()) {
            return GraphReport {
                exit_code: EXIT_PLAN,
                stdout: String::new(),
                stderr: format!("{stderr}error: {error}\n"),
            };
        }
    }
    let stdout = match args.format {
        GraphFormat::Dot => graph.to_dot(&DotOptions {
            all: args.all,
            sources: Some(&sources),
        }),
        GraphFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&graph.to_json(Some(&sources))).unwrap_or_default();
            text.push('\n');
            text
        }
    };
    GraphReport {
        exit_code: EXIT_OK,
        stdout,
        stderr,
    }
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &GraphArgs) -> i32 {
    let headers = CheckpointHeaders::new();
    let report = graph(args, &headers, false);
    eprint!("{}", report.stderr);
    print!("{}", report.stdout);
    report.exit_code
}
