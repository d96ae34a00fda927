//! The REPL's diagnostics (E07xx), one constructor per problem: OLY syntax errors, commands and
//! their arguments, and the session rules of the prompt (fixed inputs, undo).
//!
//! Receives what was found and where; returns a [`Diagnostic`] rendered by the shared renderer,
//! so a rejected entry reads exactly like an error of `check`.

use crate::diagnostics::{nearest, Diagnostic, Span};

#[cold]
pub fn oly_unexpected(expected: &str, found: Option<char>, span: Span) -> Diagnostic {
    let found = match found {
        Some(character) => format!("`{character}`"),
        None => "the end of the line".to_string(),
    };
    Diagnostic::error("E0700", format!("expected {expected}, found {found}"))
        .with_label(span, format!("expected {expected}"))
        .with_help(
            "a one-line step is `op`, `op: key: value, …` or `op: {key: value, …}`; \
             values with spaces or any of `, : [ ] { } #` are quoted",
        )
}

#[cold]
pub fn oly_duplicate_key(key: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0701", format!("the key `{key}` is written twice"))
        .with_label(span, "written again here")
        .with_label(first, "first written here")
}

#[cold]
pub fn oly_unclosed(bracket: char, span: Span) -> Diagnostic {
    let closing = if bracket == '[' { ']' } else { '}' };
    Diagnostic::error("E0702", format!("`{bracket}` is never closed"))
        .with_label(span, "opened here")
        .with_help(format!("close it with `{closing}` on the same line"))
}

#[cold]
pub fn oly_unclosed_quote(span: Span) -> Diagnostic {
    Diagnostic::error("E0703", "the quoted value is never closed")
        .with_label(span, "the quote opens here")
}

#[cold]
pub fn oly_colon_in_bare_value(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0704",
        format!("`{text}` holds `:`, which ends a bare value"),
    )
    .with_label(span, "quote this value")
    .with_help(format!("write it quoted: \"{text}\""))
}

#[cold]
pub fn oly_bad_escape(character: char, span: Span) -> Diagnostic {
    Diagnostic::error("E0705", format!("`\\{character}` is not an escape"))
        .with_label(span, "unknown escape")
        .with_help("double-quoted values know `\\\\`, `\\\"`, `\\n`, `\\t`, `\\r` and `\\0`; single-quoted values have no escapes")
}

#[cold]
pub fn unknown_command(name: &str, span: Span, known: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error("E0710", format!("unknown command `:{name}`"))
        .with_label(span, "not a command");
    match nearest(name, known.iter().copied(), 1).first() {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `:{suggestion}`?")),
        None => diagnostic.with_help("`:help` lists the commands"),
    }
}

#[cold]
pub fn command_usage(command: &str, usage: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0711", format!("wrong arguments for `:{command}`"))
        .with_label(span, "here")
        .with_help(format!("usage: {usage}"))
}

#[cold]
pub fn inputs_in_entry(span: Span) -> Diagnostic {
    Diagnostic::error("E0712", "inputs cannot be declared at the prompt")
        .with_label(span, "an input declaration")
        .with_help(
            "the session's inputs are fixed when it starts (`--input alias::path` or the plan's \
             inputs); bring in another checkpoint with `load \"path\" alias=NAME`",
        )
}

#[cold]
pub fn unknown_tensor(alias: &str, name: &str, span: Span, nearest_names: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error("E0713", format!("`{alias}::{name}` does not exist"))
        .with_label(span, "no tensor of this name at this point");
    match nearest_names.first() {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None => diagnostic,
    }
}

#[cold]
pub fn nothing_to_undo(span: Span) -> Diagnostic {
    Diagnostic::error("E0715", "there is no step to undo")
        .with_label(span, "nothing was accepted yet")
}

#[cold]
pub fn cannot_write(path: &str, error: &dyn std::fmt::Display, span: Span) -> Diagnostic {
    Diagnostic::error("E0716", format!("cannot write `{path}`: {error}"))
        .with_label(span, "this file")
}

#[cold]
pub fn run_unavailable(span: Span) -> Diagnostic {
    Diagnostic::error("E0717", "`:run` is not available in this session")
        .with_label(span, "no executor was given")
        .with_help("save the plan with `:save FILE` and run it with `brainsurgery run FILE`")
}

#[cold]
pub fn run_failed(code: i32, span: Span) -> Diagnostic {
    Diagnostic::error("E0721", format!("the run failed (exit code {code})"))
        .with_label(span, "this run")
        .with_help("the plan typed so far is unchanged; the run's own messages are above")
}

#[cold]
pub fn unknown_help_topic(topic: &str, span: Span, known: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error("E0718", format!("no help on `{topic}`"))
        .with_label(span, "not an op or assertion");
    match nearest(topic, known.iter().copied(), 1).first() {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None => diagnostic.with_help("`:help` lists the ops"),
    }
}

#[cold]
pub fn bad_input_argument(text: &str, problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0719", format!("bad `--input {text}`: {problem}"))
        .with_label(span, "this input")
        .with_help("write `--input alias::path`; a bare path is allowed for a single input (alias `model`)")
}

#[cold]
pub fn stats_failed(name: &str, error: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0720", format!("cannot read `{name}`: {error}"))
        .with_label(span, "this tensor")
}
