//! `brainsurgery repl [PLAN…] [key=value…] [--input alias::path…]` and `brainsurgery -i PLAN…`:
//! the interactive session of [`crate::repl`].
//!
//! Receives plan files (their inputs, steps and output are loaded first, as `check` loads them)
//! and extra inputs; opens every input for its header only (the same [`CheckpointHeaders`] that
//! `check` uses), compiles the plan's steps into the session, and then reads entries: from the
//! line editor when stdin is a terminal, else line by line from stdin without a prompt.
//! Returns the exit code: 0 at the end of input or `:quit`; 1 when a step of the plan files, or
//! (piped input) any entry, is rejected; 2 for a bad `--input`; 3 when a checkpoint cannot be
//! opened.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::time::Instant;

use clap::{Args, CommandFactory, Parser};

use super::check::{compile_loaded, split_items, CheckpointHeaders, PlanFiles};
use super::run::{run_compiled, RunArgs};
use super::{Cli, EXIT_IO, EXIT_OK, EXIT_PLAN, EXIT_USAGE};
use crate::compile::{read_inputs, CompileSession};
use crate::diagnostics::{render_all_plain, Diagnostic, SourceMap, Span};
use crate::plan::ast::{Input, Plan, Spanned};
use crate::plan::comments::{loaded_files, CommentSource, SourceRole};
use crate::repl::diagnostics::bad_input_argument;
use crate::repl::terminal::{history_path, Editor, Piped};
use crate::repl::{Driver, ReplSession};

#[derive(Debug, Args)]
pub struct ReplArgs {
    /// Plan files (`.yaml`, `.yml`, `.bs`) whose inputs, steps and output the session starts
    /// with, and `key=value` overrides.
    #[arg(value_name = "PLAN|KEY=VALUE")]
    pub items: Vec<String>,
    /// An input checkpoint, `alias::path` (a bare path when it is the only input: alias
    /// `model`); repeat for several.
    #[arg(long = "input", value_name = "ALIAS::PATH")]
    pub inputs: Vec<String>,
}

/// BrainSurgery starts its interactive mode with `-i`/`--interactive`, anywhere on the command
/// line: such a command line is read as `brainsurgery repl …` unless it names a subcommand.
pub fn interactive_form(arguments: Vec<OsString>) -> Vec<OsString> {
    let is_flag = |argument: &OsString| argument == "-i" || argument == "--interactive";
    if !arguments.iter().skip(1).any(is_flag) {
        return arguments;
    }
    let command = Cli::command();
    let names_subcommand = arguments
        .iter()
        .skip(1)
        .find(|a| !is_flag(a))
        .is_some_and(|a| {
            command
                .get_subcommands()
                .any(|subcommand| a == subcommand.get_name())
        });
    if names_subcommand {
        return arguments;
    }
    let mut rewritten: Vec<OsString> = arguments.iter().take(1).cloned().collect();
    rewritten.push("repl".into());
    rewritten.extend(arguments.into_iter().skip(1).filter(|a| !is_flag(a)));
    rewritten
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: &ReplArgs) -> i32 {
    let headers = CheckpointHeaders::new();
    let sources = RefCell::new(SourceMap::new());
    let render = |diagnostics: &[Diagnostic]| render_all_plain(diagnostics, &sources.borrow());
    let mut comment_files = Vec::new();
    let plan = if args.items.is_empty() {
        Plan::default()
    } else {
        let (paths, overrides) = split_items(&args.items);
        let loaded = crate::plan::yaml::load_plan(&paths, &overrides, &mut sources.borrow_mut());
        // Steps of the files that the session rejects are left out, so the session's steps are
        // not the files' by position: each file's comments go by their statements' spans only.
        comment_files = loaded_files(&sources.borrow(), 0, &paths)
            .into_iter()
            .map(|file| CommentSource {
                role: SourceRole::File,
                ..file
            })
            .collect();
        match loaded {
            Ok(plan) => plan,
            Err(diagnostics) => {
                eprint!("{}", render(&diagnostics));
                return EXIT_PLAN;
            }
        }
    };
    let mut inputs = plan.inputs.clone();
    let extra = parse_inputs(&args.inputs, &inputs, &mut sources.borrow_mut());
    match extra {
        Ok(extra) => inputs.extend(extra),
        Err(diagnostics) => {
            eprint!("{}", render(&diagnostics));
            return EXIT_USAGE;
        }
    }
    let declared = Plan {
        inputs: inputs.clone(),
        ..Plan::default()
    };
    let input_headers = match read_inputs(&declared, &headers) {
        Ok(input_headers) => input_headers,
        Err(diagnostics) => {
            eprint!("{}", render(&diagnostics));
            return EXIT_IO;
        }
    };
    let mut header_names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for input in &input_headers {
        let names = header_names.entry(input.alias.clone()).or_default();
        names.extend(input.tensors.iter().map(|(name, _)| name.clone()));
    }
    let plan_files = PlanFiles { sources: &sources };
    let compiler = CompileSession::new(input_headers, &headers).with_plan_source(&plan_files);
    let session = ReplSession::new(inputs, plan.output.clone(), compiler);
    let interactive = std::io::stdin().is_terminal();
    let mut driver = Driver::new(session, &headers, &sources);
    driver.runner = Some(&run_typed_plan);
    driver.header_names = header_names;
    driver.plan_files = comment_files;
    driver.stop_on_error = !interactive;
    driver.source_name = if interactive { "<repl>" } else { "<stdin>" }.to_string();
    let step_count = plan.steps.len();
    let rejected = driver.load_steps(plan.steps);
    if !rejected.is_empty() {
        eprint!("{}", driver.render(&rejected));
        if !interactive {
            return EXIT_PLAN;
        }
    }
    // BrainSurgery prompts only when the batch part did not exit.
    if driver.session.has_exited() {
        eprintln!("the plan exits before the prompt (an `exit` step); nothing to do");
        return if rejected.is_empty() {
            EXIT_OK
        } else {
            EXIT_PLAN
        };
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    if !interactive {
        let mut input = Piped::new(std::io::stdin().lock());
        return driver.run(&mut input, &mut stdout, &mut stderr);
    }
    let aliases = driver.session.compiler().aliases().join(", ");
    println!(
        "brainsurgery repl — inputs: {}; {} of {step_count} plan steps loaded. `:help` for help, `:quit` to leave.",
        if aliases.is_empty() { "none" } else { &aliases },
        driver.session.steps().len(),
    );
    match Editor::new(history_path()) {
        Ok(mut editor) => driver.run(&mut editor, &mut stdout, &mut stderr),
        Err(error) => {
            eprintln!("error: cannot start the line editor: {error}");
            EXIT_IO
        }
    }
}

/// `run`'s flags with their defaults, read by clap as `brainsurgery run` reads them.
#[derive(clap::Parser)]
struct RunFlags {
    #[command(flatten)]
    args: RunArgs,
}

/// `:run`: the plan typed so far, compiled afresh over freshly opened checkpoints and handed to
/// `brainsurgery run`'s own code ([`run_compiled`]), so that it writes what `run` writes for the
/// same plan saved to a file.
fn run_typed_plan(plan: &Plan, sources: &SourceMap, dry_run: bool) -> i32 {
    let mut arguments = vec!["run", "<the plan typed at the prompt>"];
    if dry_run {
        arguments.push("--dry-run");
    }
    let args = match RunFlags::try_parse_from(arguments) {
        Ok(flags) => flags.args,
        Err(error) => {
            eprint!("{error}");
            return EXIT_USAGE;
        }
    };
    let started = Instant::now();
    let headers = CheckpointHeaders::new();
    let compiled = compile_loaded(plan.clone(), sources.clone(), &headers);
    run_compiled(&args, headers, compiled, started)
}

/// `--input` values as plan inputs: `alias::path`, or a bare path when it is the only input.
fn parse_inputs(
    texts: &[String],
    declared: &[Spanned<Input>],
    sources: &mut SourceMap,
) -> Result<Vec<Spanned<Input>>, Vec<Diagnostic>> {
    let several = texts.len() + declared.len() > 1;
    let mut inputs: Vec<Spanned<Input>> = Vec::new();
    let mut errors = Vec::new();
    for text in texts {
        let id = sources.add("<command line>", format!("--input {text}"));
        let start = "--input ".len();
        let span = |from: usize, to: usize| Span::new(id, start + from, start + to);
        let whole = span(0, text.len());
        let (alias, path, path_start) = match text.split_once("::") {
            Some((alias, path)) => (alias, path, alias.len() + 2),
            None => ("", text.as_str(), 0),
        };
        if path.is_empty() {
            errors.push(bad_input_argument(text, "the path is empty", whole));
            continue;
        }
        if alias.is_empty() && several {
            errors.push(bad_input_argument(
                text,
                "an alias is required when there are several inputs",
                whole,
            ));
            continue;
        }
        let input = Input {
            alias: (!alias.is_empty())
                .then(|| Spanned::new(alias.to_string(), span(0, alias.len()))),
            path: Spanned::new(path.to_string(), span(path_start, text.len())),
        };
        let name = input.alias_or_default().to_string();
        let taken = declared
            .iter()
            .chain(&inputs)
            .any(|i| i.alias_or_default() == name);
        if taken {
            errors.push(bad_input_argument(
                text,
                &format!("the alias `{name}` is already an input"),
                whole,
            ));
            continue;
        }
        inputs.push(Spanned::new(input, whole));
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(arguments: &[&str]) -> Vec<OsString> {
        arguments.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_interactive_flag_becomes_the_repl_subcommand() {
        assert_eq!(
            interactive_form(os(&["bs", "-i", "plan.yaml"])),
            os(&["bs", "repl", "plan.yaml"])
        );
        assert_eq!(
            interactive_form(os(&["bs", "plan.yaml", "--interactive"])),
            os(&["bs", "repl", "plan.yaml"])
        );
        assert_eq!(
            interactive_form(os(&["bs", "check", "plan.yaml"])),
            os(&["bs", "check", "plan.yaml"])
        );
    }

    #[test]
    fn input_arguments_need_aliases_when_there_are_several() {
        let mut sources = SourceMap::new();
        let texts = vec!["a::x.safetensors".to_string(), "y.safetensors".to_string()];
        let errors = parse_inputs(&texts, &[], &mut sources).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "E0719");
        let texts = vec!["a::x".to_string(), "a::y".to_string()];
        assert!(parse_inputs(&texts, &[], &mut sources).is_err());
        let single = parse_inputs(&["m.safetensors".to_string()], &[], &mut sources).unwrap();
        assert_eq!(single[0].alias_or_default(), "model");
    }
}
