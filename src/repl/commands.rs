//! The REPL's `:` commands: parsing a command line and carrying it out.
//!
//! Receives the source holding a command line, the session and the checkpoints it was opened
//! on; returns the text to print (and whether to quit), or diagnostics pointing into the line.
//! Commands never change the plan except `:undo`; `:stats` is the only one that reads tensor
//! bytes, and it reads exactly one tensor.

use std::cell::RefCell;
use std::path::Path;

use crate::cli::check::CheckpointHeaders;
use crate::cli::fmt::Syntax;
use crate::diagnostics::{nearest, Diagnostic, SourceId, SourceMap, Span};
use crate::graph::ops::NodeKind;
use crate::graph::DotOptions;
use crate::inspect::stats::{summarize, TensorStats};
use crate::inspect::text::general;
use crate::io::write_file_atomically;
use crate::plan::ast::Plan;
use crate::plan::comments::{collect, CommentSource, CommentSyntax, PlanComments, SourceRole};
use crate::plan::terse::{print_terse, print_terse_with};
use crate::plan::yaml::print_yaml_with;

use super::diagnostics;
use super::entry::{syntax_of, EntrySyntax};
use super::evaluate;
use super::help;
use super::report;
use super::session::{ReplSession, Undone};

/// One word of a command line, with its span.
#[derive(Debug, Clone)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

/// A command line split into its name and arguments.
#[derive(Debug, Clone)]
pub struct CommandLine {
    pub name: Word,
    pub arguments: Vec<Word>,
}

/// Splits `:name arg…` (held by `source` from byte `start`) into words; a word may be quoted with
/// `"` to hold spaces.
pub fn split_command(text: &str, source: SourceId, start: usize) -> CommandLine {
    let mut words = Vec::new();
    let mut position = 0;
    let bytes = text.as_bytes();
    while position < text.len() {
        if bytes[position].is_ascii_whitespace() {
            position += 1;
            continue;
        }
        let word_start = position;
        let word = if bytes[position] == b'"' {
            let end = text[position + 1..]
                .find('"')
                .map_or(text.len(), |i| position + 1 + i);
            position = (end + 1).min(text.len());
            text[word_start + 1..end].to_string()
        } else {
            let end = text[position..]
                .find(|c: char| c.is_ascii_whitespace())
                .map_or(text.len(), |i| position + i);
            position = end;
            text[word_start..end].to_string()
        };
        words.push(Word {
            text: word,
            span: Span::new(source, start + word_start, start + position),
        });
    }
    let mut words = words.into_iter();
    let name = words.next().map_or(
        Word {
            text: String::new(),
            span: Span::new(source, start, start),
        },
        |word| Word {
            text: word.text.trim_start_matches(':').to_string(),
            span: word.span,
        },
    );
    CommandLine {
        name,
        arguments: words.collect(),
    }
}

/// What a command asks of the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Text for stdout.
    pub text: String,
    pub quit: bool,
}

impl Reply {
    fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            quit: false,
        }
    }
}

/// How `:run` runs the plan typed so far: given the plan, the texts its spans point into and
/// whether to dry-run, it runs the plan (printing as `brainsurgery run` prints) and returns the
/// exit code. The CLI passes `run`'s own code path; without one, `:run` is refused.
pub type Runner<'r> = &'r dyn Fn(&crate::plan::ast::Plan, &SourceMap, bool) -> i32;

/// What commands work on.
pub struct CommandContext<'s, 'a> {
    pub session: &'s mut ReplSession<'a>,
    pub headers: &'s CheckpointHeaders,
    pub sources: &'s RefCell<SourceMap>,
    pub runner: Option<Runner<'s>>,
    /// The plan files the session started from (their comments are kept by `:plan` and `:save`).
    pub plan_files: &'s [CommentSource],
}

/// Carries out one command line.
pub fn execute(
    line: &CommandLine,
    context: &mut CommandContext<'_, '_>,
) -> Result<Reply, Vec<Diagnostic>> {
    let name = line.name.text.as_str();
    let arguments = line.arguments.as_slice();
    let usage = |usage: &str| vec![diagnostics::command_usage(name, usage, line.name.span)];
    match (name, arguments) {
        ("quit" | "q" | "exit", []) => Ok(Reply {
            text: String::new(),
            quit: true,
        }),
        ("help" | "h", []) => Ok(Reply::text(help::general())),
        ("help" | "h", [topic]) => help_topic(topic),
        ("help" | "h", [assert, topic]) if assert.text == "assert" => help_topic(topic),
        ("show" | "ls", []) => Ok(Reply::text(report::tensors(
            context.session.compiler(),
            |_, _| true,
        ))),
        ("show" | "ls", [pattern]) => show(context.session, pattern),
        ("stats", [name]) => stats(context, name),
        ("graph", []) => Ok(Reply::text(graph(context))),
        ("graph", [file]) => {
            write_file(file, &graph(context))?;
            Ok(Reply::text(format!("wrote {}\n", file.text)))
        }
        ("undo", []) => undo(context.session, line.name.span),
        ("plan", []) => Ok(Reply::text(print_plan(context, Syntax::Yaml))),
        ("plan", [syntax]) => match syntax.text.as_str() {
            "yaml" => Ok(Reply::text(print_plan(context, Syntax::Yaml))),
            "terse" => Ok(Reply::text(print_plan(context, Syntax::Terse))),
            _ => Err(usage(":plan [yaml|terse]")),
        },
        ("save", [file]) => save(context, file),
        ("run", arguments) => run(context, arguments, line.name.span),
        ("quit" | "q" | "exit", _) => Err(usage(":quit")),
        ("help" | "h", _) => Err(usage(":help [OP]")),
        ("show" | "ls", _) => Err(usage(":show [PATTERN]")),
        ("stats", _) => Err(usage(":stats NAME")),
        ("graph", _) => Err(usage(":graph [FILE]")),
        ("undo", _) => Err(usage(":undo")),
        ("plan", _) => Err(usage(":plan [yaml|terse]")),
        ("save", _) => Err(usage(":save FILE")),
        _ => {
            let known: Vec<&str> = help::COMMANDS.iter().map(|c| c.0).collect();
            Err(vec![diagnostics::unknown_command(
                name,
                line.name.span,
                &known,
            )])
        }
    }
}

fn help_topic(topic: &Word) -> Result<Reply, Vec<Diagnostic>> {
    let name = topic.text.trim_start_matches(':');
    if let Some((command, usage, what)) = help::COMMANDS.iter().find(|c| c.0 == name) {
        return Ok(Reply::text(format!(
            ":{command}: {what}\n  usage: {usage}\n"
        )));
    }
    help::topic(name).map(Reply::text).ok_or_else(|| {
        vec![diagnostics::unknown_help_topic(
            name,
            topic.span,
            &help::topics(),
        )]
    })
}

/// `alias::name` or `name` (in the default alias).
fn split_alias<'t>(session: &ReplSession<'_>, text: &'t str) -> (Option<String>, &'t str) {
    match text.split_once("::") {
        Some((alias, rest)) => (Some(alias.to_string()), rest),
        None => (session.compiler().default_alias().map(str::to_string), text),
    }
}

fn show(session: &ReplSession<'_>, pattern: &Word) -> Result<Reply, Vec<Diagnostic>> {
    let (alias, expression) = match pattern.text.split_once("::") {
        Some((alias, expression)) => (Some(alias.to_string()), expression),
        None => (None, pattern.text.as_str()),
    };
    let regex = fancy_regex::Regex::new(&format!("^(?:{expression})$")).map_err(|error| {
        vec![
            Diagnostic::error("E0711", format!("`{expression}` is not a regex: {error}"))
                .with_label(pattern.span, "this pattern"),
        ]
    })?;
    let text = report::tensors(session.compiler(), |tensor_alias, name| {
        alias.as_deref().is_none_or(|a| a == tensor_alias) && regex.is_match(name).unwrap_or(false)
    });
    Ok(Reply::text(text))
}

fn stats(context: &CommandContext<'_, '_>, word: &Word) -> Result<Reply, Vec<Diagnostic>> {
    let session = &*context.session;
    let (alias, name) = split_alias(session, &word.text);
    let Some(alias) = alias else {
        return Err(vec![diagnostics::command_usage(
            "stats",
            ":stats alias::NAME (the session has several aliases)",
            word.span,
        )]);
    };
    let compiler = session.compiler();
    let Some(node) = compiler.binding(&alias, name) else {
        let names: Vec<&str> = compiler
            .tensors(&alias)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let suggestions = nearest(name, names, 1);
        return Err(vec![diagnostics::unknown_tensor(
            &alias,
            name,
            word.span,
            &suggestions,
        )]);
    };
    let graph = compiler.graph();
    let shown = report::display_name(&alias, name, compiler.default_alias());
    let Some(NodeKind::Load(load)) = graph.node(node).map(|n| &n.kind) else {
        let computed = context
            .headers
            .with_opened(|checkpoints| evaluate::computed_values(graph, node, checkpoints));
        return match computed {
            Ok((ty, stats)) => Ok(Reply::text(stats_text(&shown, &ty, &stats))),
            Err(evaluate::Failure::Run(diagnostics)) => Err(diagnostics),
            Err(evaluate::Failure::Message(message)) => {
                Err(vec![diagnostics::stats_failed(name, &message, word.span)])
            }
        };
    };
    let dtype = load.ty.dtype;
    let computed = context
        .headers
        .with_checkpoint(&load.path, |checkpoint| {
            let bytes = checkpoint.read(&load.tensor)?;
            let result = summarize(dtype, &bytes);
            drop(bytes);
            checkpoint.release(&load.tensor);
            Ok::<_, crate::io::IoError>(result)
        })
        .and_then(|result| result);
    let stats = computed.map_err(|error| {
        vec![diagnostics::stats_failed(
            name,
            &error.to_string(),
            word.span,
        )]
    })?;
    Ok(Reply::text(stats_text(&shown, &load.ty, &stats)))
}

fn stats_text(name: &str, ty: &crate::tensor::TensorType, stats: &TensorStats) -> String {
    let mut text = format!("{name}  {} {}\n", ty.dtype, ty.shape);
    match stats {
        TensorStats::Summary(summary) => {
            let number = |value: Option<f64>| value.map_or("-".to_string(), general);
            text.push_str(&format!(
                "  elements {}  min {}  max {}  mean {}  std {}  nan {}  inf {}\n",
                summary.elements,
                number(summary.min),
                number(summary.max),
                number(summary.mean),
                number(summary.std),
                summary.nan,
                summary.infinite
            ));
        }
        TensorStats::Unsupported => text.push_str("  no statistics for this dtype\n"),
    }
    text
}

/// The DOT text of the graph so far, with the output's stores when the output resolves.
fn graph(context: &CommandContext<'_, '_>) -> String {
    let compiler = context.session.compiler().clone();
    let graph = match compiler.finish(context.session.output()) {
        Ok(compiled) => compiled.graph,
        Err(failure) => failure.graph,
    };
    let sources = context.sources.borrow();
    graph.to_dot(&DotOptions {
        all: false,
        sources: Some(&sources),
    })
}

/// Writes `text` to the file a command names, atomically (the file is the new text or as it was).
fn write_file(file: &Word, text: &str) -> Result<(), Vec<Diagnostic>> {
    write_file_atomically(Path::new(&file.text), text.as_bytes())
        .map_err(|error| vec![diagnostics::cannot_write(&file.text, &error, file.span)])
}

fn undo(session: &mut ReplSession<'_>, span: Span) -> Result<Reply, Vec<Diagnostic>> {
    match session.undo() {
        None => Err(vec![diagnostics::nothing_to_undo(span)]),
        Some(Undone::Step(step)) => {
            let plan = crate::plan::ast::Plan {
                steps: vec![crate::plan::ast::Spanned::new(*step, span)],
                ..Default::default()
            };
            let text = print_terse(&plan);
            Ok(Reply::text(format!("undid: {}\n", text.trim())))
        }
        Some(Undone::Output(_)) => Ok(Reply::text("undid the output line\n")),
    }
}

/// The plan typed so far in terse or YAML, with the comments of the plan files and of the
/// entries that wrote its steps.
fn print_plan(context: &CommandContext<'_, '_>, syntax: Syntax) -> String {
    let plan = context.session.plan();
    let comments = session_comments(context, &plan);
    match syntax {
        Syntax::Terse => print_terse_with(&plan, &comments),
        Syntax::Yaml => print_yaml_with(&plan, &comments),
    }
}

/// The comments of the plan files, then of every entry that holds a step or the output of
/// `plan` (in the order the plan holds them). An entry's syntax is decided as when it was read.
fn session_comments(context: &CommandContext<'_, '_>, plan: &Plan) -> PlanComments {
    let sources = context.sources.borrow();
    let mut from: Vec<CommentSource> = context.plan_files.to_vec();
    let spans = plan
        .steps
        .iter()
        .map(|step| step.span)
        .chain(plan.output.iter().map(|output| output.span));
    for span in spans {
        if from.iter().any(|source| source.id == span.source) {
            continue;
        }
        let Some(source) = sources.get(span.source) else {
            continue;
        };
        let syntax = match syntax_of(&source.text) {
            EntrySyntax::Terse => CommentSyntax::Terse,
            EntrySyntax::YamlOrOly => CommentSyntax::Yaml,
        };
        from.push(CommentSource {
            id: span.source,
            syntax,
            role: SourceRole::Entry,
        });
    }
    collect(plan, &sources, &from)
}

fn save(context: &CommandContext<'_, '_>, file: &Word) -> Result<Reply, Vec<Diagnostic>> {
    let syntax = if file.text.ends_with(".bs") {
        Syntax::Terse
    } else {
        Syntax::Yaml
    };
    let text = print_plan(context, syntax);
    write_file(file, &text)?;
    let count = context.session.steps().len();
    Ok(Reply::text(format!(
        "saved {count} step{} to {}\n",
        if count == 1 { "" } else { "s" },
        file.text
    )))
}

fn run(
    context: &CommandContext<'_, '_>,
    arguments: &[Word],
    span: Span,
) -> Result<Reply, Vec<Diagnostic>> {
    let dry_run = match arguments {
        [] => false,
        [flag] if flag.text == "--dry-run" => true,
        _ => {
            return Err(vec![diagnostics::command_usage(
                "run",
                ":run [--dry-run]",
                span,
            )])
        }
    };
    let Some(runner) = context.runner else {
        return Err(vec![diagnostics::run_unavailable(span)]);
    };
    let sources = context.sources.borrow().clone();
    match runner(&context.session.plan(), &sources, dry_run) {
        0 => Ok(Reply::default()),
        code => Err(vec![diagnostics::run_failed(code, span)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_into_spanned_words() {
        let line = split_command(":save \"my plan.yaml\" x", SourceId(2), 10);
        assert_eq!(line.name.text, "save");
        let words: Vec<&str> = line.arguments.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, vec!["my plan.yaml", "x"]);
        assert_eq!(line.arguments[0].span, Span::new(SourceId(2), 16, 30));
        assert_eq!(line.arguments[1].span, Span::new(SourceId(2), 31, 32));
    }
}
