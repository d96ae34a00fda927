//! `brainsurgery fmt PLAN… [key=value…] [--to terse|yaml]`: prints a plan in the other syntax.
//!
//! Receives plan files (YAML files are merged in order and take `key=value` overrides; a terse
//! `.bs` file stands alone) and the syntax to print; loads them through
//! [`crate::plan::yaml::load_plan`], collects the comments of every plan file
//! ([`crate::plan::comments`]), and writes the plan to stdout with
//! [`crate::plan::terse::print_terse_with`] or [`crate::plan::yaml::print_yaml_with`]. Without
//! `--to` the output is the other syntax of the input. Diagnostics go to stderr, with exit code 1.
//!
//! **Guarantee**: the printed plan parses back to the same AST (both printers promise it), so
//! `fmt --to terse` then `fmt --to yaml` ends with the plan it started from. Comments are carried
//! over: each stays with the statement it precedes or trails, the header stays at the top and the
//! footer at the end (a comment inside a multi-line YAML transform, or on the `}` line of a block,
//! moves before its statement), and a statement set apart by blank lines keeps one before it.
//! Comments inside a `plan-yaml` string belong to that string and are not carried over.

use crate::diagnostics::{render_for_stderr, Diagnostic, SourceMap};
use crate::plan::comments::{collect, loaded_files};
use crate::plan::terse::print_terse_with;
use crate::plan::yaml::{load_plan, print_yaml_with};
use std::io::Write as _;

/// The plan syntaxes `fmt` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Syntax {
    /// The terse syntax of `.bs` files.
    Terse,
    /// BrainSurgery-compatible YAML.
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Plan files (`.yaml`, `.yml`, or one `.bs`) and `key=value` overrides for YAML plans.
    #[arg(required = true, value_name = "PLAN|KEY=VALUE")]
    pub items: Vec<String>,
    /// The syntax to print [default: the other syntax of the input].
    #[arg(long, value_enum)]
    pub to: Option<Syntax>,
}

/// Whether a command-line item names a plan file (rather than an override).
fn is_plan_path(item: &str) -> bool {
    [".yaml", ".yml", ".bs"]
        .iter()
        .any(|extension| item.ends_with(extension))
}

/// Loads the plan of `items` and prints it, with the comments of its files, in `to` (or the
/// other syntax of the input).
pub fn format(
    items: &[String],
    to: Option<Syntax>,
    sources: &mut SourceMap,
) -> Result<String, Vec<Diagnostic>> {
    let (paths, overrides): (Vec<&String>, Vec<&String>) =
        items.iter().partition(|item| is_plan_path(item));
    let overrides: Vec<String> = overrides.into_iter().cloned().collect();
    let first = sources.len();
    let plan = load_plan(&paths, &overrides, sources)?;
    let comments = collect(&plan, sources, &loaded_files(sources, first, &paths));
    let input_is_terse = paths.iter().any(|path| path.ends_with(".bs"));
    let to = to.unwrap_or(if input_is_terse {
        Syntax::Yaml
    } else {
        Syntax::Terse
    });
    Ok(match to {
        Syntax::Terse => print_terse_with(&plan, &comments),
        Syntax::Yaml => print_yaml_with(&plan, &comments),
    })
}

/// Runs the subcommand; returns the exit code.
pub fn run(args: FmtArgs) -> i32 {
    let mut sources = SourceMap::new();
    match format(&args.items, args.to, &mut sources) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(text.as_bytes()).is_err() {
                return super::EXIT_IO;
            }
            super::EXIT_OK
        }
        Err(diagnostics) => {
            eprint!("{}", render_for_stderr(&diagnostics, &sources));
            super::EXIT_PLAN
        }
    }
}
