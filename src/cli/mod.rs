//! The command line: one module per subcommand, dispatched from [`main`].
//!
//! Exit codes (DESIGN.md): 0 success, 1 plan or validation error, 2 usage error, 3 I/O error.

use clap::{Parser, Subcommand};

pub mod check;
pub mod diff;
pub mod fmt;
pub mod graph;
pub mod inspect;
pub mod repl;
pub mod run;

pub const EXIT_OK: i32 = 0;
pub const EXIT_PLAN: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_IO: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "brainsurgery",
    version,
    about = "Reproducible, validated tensor surgery on neural-network checkpoints"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a plan against the checkpoint headers (no tensor is read) and say what a run would do.
    Check(check::CheckArgs),
    /// Print a plan in the other syntax (YAML <-> terse).
    Fmt(fmt::FmtArgs),
    /// Show the tensors of a checkpoint: a table, a folded tree, statistics or JSON.
    Inspect(inspect::InspectArgs),
    /// Print a plan's dataflow graph (DOT or JSON).
    Graph(graph::GraphArgs),
    /// Check, optimize and execute a plan, then publish its outputs atomically.
    Run(run::RunArgs),
    /// Compare two checkpoints: names on one side only, type differences, value differences.
    Diff(diff::DiffArgs),
    /// Type steps at a prompt, each checked against the tensors that exist at that point
    /// (also `brainsurgery -i PLAN…`).
    Repl(repl::ReplArgs),
}

/// The arguments with `run` inserted when no subcommand is named but a plan file is, so that
/// `brainsurgery plan.yaml key=value` runs the plan as BrainSurgery is invoked.
pub fn with_implicit_run(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let command = Cli::command();
    let names_subcommand = args.get(1).and_then(|a| a.to_str()).is_some_and(|first| {
        first == "help" || command.get_subcommands().any(|sub| sub.get_name() == first)
    });
    let names_plan = args.iter().skip(1).any(|arg| {
        arg.to_str()
            .is_some_and(|a| [".yaml", ".yml", ".bs"].iter().any(|s| a.ends_with(s)))
    });
    if !names_subcommand && names_plan {
        args.insert(1.min(args.len()), "run".into());
    }
    args
}

/// Parses the process arguments and runs the subcommand; returns the exit code.
pub fn main() -> i32 {
    let arguments = repl::interactive_form(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(with_implicit_run(arguments)) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(args),
        Command::Graph(args) => graph::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Repl(args) => repl::run(&args),
    }
}
