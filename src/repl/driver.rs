//! The read–check–print loop, the same for a terminal and for piped input.
//!
//! Receives lines from a [`LineInput`] (the line editor, or stdin read line by line), gathers
//! them into entries ([`needs_more`]), and hands each to the session or to the commands; writes
//! what was accepted to `out` and diagnostics, rendered as `check` renders them (plain), to `err`.
//! Returns the exit code: 0 when the input ends or the user quits; with
//! [`Driver::stop_on_error`] (stdin not a terminal) 1 at the first rejected entry, so a script of
//! steps fails where its first bad line is.
//!
//! **Line numbers.** Every entry becomes a source of its own whose text is padded with one line
//! break per earlier line of the session, so a diagnostic says `<stdin>:7:5` for the seventh line
//! of a script and quotes that line.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::cli::check::CheckpointHeaders;
use crate::cli::{EXIT_OK, EXIT_PLAN};
use crate::diagnostics::{render_all_plain, Diagnostic, SourceMap};
use crate::plan::ast::{HelpTopic, Spanned, Step};
use crate::plan::comments::CommentSource;

use super::block::needs_more;
use super::commands::{execute, split_command, CommandContext, Runner};
use super::complete::Vocabulary;
use super::entry::{parse_entry, ParsedEntry};
use super::help;
use super::report;
use super::session::{ReplSession, StepOutcome};

/// The prompt of a new entry and of its continuation lines.
pub const PROMPT: &str = "bs> ";
pub const CONTINUATION: &str = "... ";

/// One read from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Ctrl-C: the entry being typed is dropped.
    Interrupted,
    /// Ctrl-D or the end of piped input.
    End,
}

/// Where lines come from.
pub trait LineInput {
    fn read_line(&mut self, prompt: &str) -> Line;
    /// Called before each entry with what completion may offer.
    fn refresh(&mut self, _vocabulary: &Vocabulary) {}
}

/// What one entry printed and whether it was rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryResult {
    pub stdout: String,
    pub stderr: String,
    pub rejected: bool,
    pub quit: bool,
}

pub struct Driver<'s, 'a> {
    pub session: ReplSession<'a>,
    pub headers: &'s CheckpointHeaders,
    pub sources: &'s RefCell<SourceMap>,
    pub runner: Option<Runner<'s>>,
    /// The name diagnostics give the session's text (`<stdin>`, `<repl>`).
    pub source_name: String,
    /// Stop with exit code 1 at the first rejected entry (piped input).
    pub stop_on_error: bool,
    /// Tensor names of the inputs' headers, offered by completion even after they are deleted.
    pub header_names: BTreeMap<String, BTreeSet<String>>,
    /// The plan files the session started from, whose comments `:plan` and `:save` keep.
    pub plan_files: Vec<CommentSource>,
    lines_read: usize,
}

impl<'s, 'a> Driver<'s, 'a> {
    pub fn new(
        session: ReplSession<'a>,
        headers: &'s CheckpointHeaders,
        sources: &'s RefCell<SourceMap>,
    ) -> Driver<'s, 'a> {
        Driver {
            session,
            headers,
            sources,
            runner: None,
            source_name: "<repl>".to_string(),
            stop_on_error: false,
            header_names: BTreeMap::new(),
            plan_files: Vec::new(),
            lines_read: 0,
        }
    }

    /// Reads and handles entries until the input ends, the user quits, or (with
    /// `stop_on_error`) an entry is rejected; returns the exit code.
    pub fn run(
        &mut self,
        input: &mut dyn LineInput,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> i32 {
        loop {
            input.refresh(&self.vocabulary());
            let mut lines = match input.read_line(PROMPT) {
                Line::Text(line) => vec![line],
                Line::Interrupted => continue,
                Line::End => return EXIT_OK,
            };
            while needs_more(&lines) {
                match input.read_line(CONTINUATION) {
                    Line::Text(line) => lines.push(line),
                    Line::Interrupted => {
                        self.lines_read += lines.len();
                        lines.clear();
                        break;
                    }
                    Line::End => break,
                }
            }
            if lines.is_empty() {
                continue;
            }
            let result = self.entry(&lines);
            // A closed stdout or stderr (`| head`) ends nothing here: the session goes on.
            let _ = out
                .write_all(result.stdout.as_bytes())
                .and_then(|()| out.flush());
            let _ = err
                .write_all(result.stderr.as_bytes())
                .and_then(|()| err.flush());
            if result.rejected && self.stop_on_error {
                return EXIT_PLAN;
            }
            if result.quit {
                return EXIT_OK;
            }
        }
    }

    /// Handles one entry (its lines, as typed).
    pub fn entry(&mut self, lines: &[String]) -> EntryResult {
        let padding = self.lines_read;
        self.lines_read += lines.len();
        let text = lines.join("\n");
        if text.trim().is_empty() {
            return EntryResult::default();
        }
        let id = self.sources.borrow_mut().add(
            self.source_name.clone(),
            format!("{}{text}", "\n".repeat(padding)),
        );
        if text.trim_start().starts_with(':') {
            let line = split_command(&text, id, padding);
            let mut context = CommandContext {
                session: &mut self.session,
                headers: self.headers,
                sources: self.sources,
                runner: self.runner,
                plan_files: &self.plan_files,
            };
            return match execute(&line, &mut context) {
                Ok(reply) => EntryResult {
                    stdout: reply.text,
                    quit: reply.quit,
                    ..EntryResult::default()
                },
                Err(diagnostics) => self.rejected(&diagnostics),
            };
        }
        let parsed = parse_entry(
            &mut self.sources.borrow_mut(),
            id,
            padding,
            self.session.scope(),
        );
        // A comment-only entry says nothing.
        if let Ok(ParsedEntry {
            steps,
            output: None,
        }) = &parsed
        {
            if steps.is_empty() {
                return EntryResult::default();
            }
        }
        match parsed.and_then(|entry| self.session.submit(entry)) {
            Ok(outcomes) => self.accepted(&outcomes),
            Err(diagnostics) => self.rejected(&diagnostics),
        }
    }

    /// Applies the steps of a plan file one by one, as if typed; returns the diagnostics of the
    /// rejected ones (which are left out of the session).
    pub fn load_steps(&mut self, steps: Vec<Spanned<Step>>) -> Vec<Diagnostic> {
        let mut rejected = Vec::new();
        for step in steps {
            let entry = ParsedEntry {
                steps: vec![step],
                output: None,
            };
            if let Err(diagnostics) = self.session.submit(entry) {
                rejected.extend(diagnostics);
            }
        }
        rejected
    }

    /// Renders diagnostics as `check` does (plain).
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        let mut text = render_all_plain(diagnostics, &self.sources.borrow());
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    fn rejected(&self, diagnostics: &[Diagnostic]) -> EntryResult {
        EntryResult {
            stderr: self.render(diagnostics),
            rejected: true,
            ..EntryResult::default()
        }
    }

    fn accepted(&self, outcomes: &[StepOutcome]) -> EntryResult {
        let default_alias = self.session.compiler().default_alias();
        let mut stdout = String::new();
        let mut warnings = Vec::new();
        for outcome in outcomes {
            match outcome {
                StepOutcome::Applied { keyword, effect } => {
                    if outcomes.len() > 1 {
                        stdout.push_str(&format!("{keyword}:\n"));
                    }
                    stdout.push_str(&report::effect(effect, default_alias));
                    warnings.extend(effect.warnings.iter().cloned());
                }
                StepOutcome::Help(topic) => stdout.push_str(&help_text(topic.as_ref())),
                StepOutcome::OutputSet(output) => {
                    stdout.push_str(&format!("output: {}\n", output.path.node));
                }
            }
        }
        EntryResult {
            stdout,
            stderr: self.render(&warnings),
            rejected: false,
            quit: self.session.has_exited(),
        }
    }

    /// What completion may offer now.
    pub fn vocabulary(&self) -> Vocabulary {
        let compiler = self.session.compiler();
        let mut names = self.header_names.clone();
        for alias in compiler.aliases() {
            let known = names.entry(alias.to_string()).or_default();
            known.extend(
                compiler
                    .tensors(alias)
                    .into_iter()
                    .map(|(n, _)| n.to_string()),
            );
        }
        Vocabulary {
            default_alias: compiler.default_alias().map(str::to_string),
            aliases: compiler.aliases().into_iter().map(str::to_string).collect(),
            names,
        }
    }
}

/// The answer to a `help` step.
fn help_text(topic: Option<&HelpTopic>) -> String {
    match topic {
        None => help::general(),
        Some(HelpTopic::Op(name)) => help::topic(name).unwrap_or_default(),
        Some(HelpTopic::Assert(None)) => help::topic("assert").unwrap_or_default(),
        Some(HelpTopic::Assert(Some(name))) => help::assertion(name).unwrap_or_default(),
    }
}
