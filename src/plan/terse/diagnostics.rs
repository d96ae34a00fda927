//! One constructor per terse-syntax error (codes E03xx), so the wording is reviewed in one file.
//!
//! Receives the facts the terse parser found (what was expected, the offending span, the op);
//! returns a [`Diagnostic`] with a stable code, a label on the exact span and a help line. Errors
//! that mean the same in both syntaxes (unknown dtype, bad size, bad regex, …) use the shared
//! constructors of [`crate::plan::diagnostics`] instead, so they keep one code.

use crate::diagnostics::{Diagnostic, Span};

/// Joins phrases as "a, b or c".
fn one_of(phrases: &[&str]) -> String {
    match phrases {
        [] => "something else".to_string(),
        [only] => (*only).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The parse tree lacks a part the grammar guarantees: a bug in the parser, reported rather than
/// panicking.
#[cold]
pub fn unexpected_tree(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0300",
        "internal error: the terse parser met an unexpected parse tree",
    )
    .with_label(span, "while reading this")
    .with_help("please report this plan; rewriting the statement may avoid the problem")
}

#[cold]
pub fn syntax_error(
    expected: &[&str],
    found: &str,
    span: Span,
    help: Option<String>,
) -> Diagnostic {
    let found = if found.is_empty() {
        "end of line".to_string()
    } else {
        format!("`{found}`")
    };
    let expected = one_of(expected);
    let diagnostic = Diagnostic::error("E0301", format!("expected {expected}, found {found}"))
        .with_label(span, format!("expected {expected}"));
    match help {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

#[cold]
pub fn unexpected_text(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0301", format!("unexpected `{found}`"))
        .with_label(span, "not understood here")
        .with_help("`docs/language.md` lists every statement of the terse syntax")
}

#[cold]
pub fn compound_expression(span: Span) -> Diagnostic {
    Diagnostic::error("E0302", "this expression is more than one step")
        .with_label(span, "not a single operation")
        .with_help(
            "a statement is one step: `x = a * 0.5`, `x = a @ b`, `x = a as float16`, \
             `x <- a + b`, `x = clamp(a, min=0)`; split longer expressions with temporaries, \
             e.g. `tmp = a * 0.5` then `x <- tmp + b`",
        )
}

#[cold]
pub fn writes_existing(op: &str, operator: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0303",
        format!("`{operator}` ({op}) writes into an existing tensor, so it needs `<-`"),
    )
    .with_label(span, "writes into an existing destination")
    .with_help(format!(
        "write `x <- a {operator} b`: `=` makes new tensors, `<-` writes into existing ones"
    ))
}

#[cold]
pub fn creates_new(op: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0303",
        format!("{op} makes a new tensor, so it needs `=`, not `<-`"),
    )
    .with_label(span, "creates a new destination")
    .with_help("`=` makes new tensors; `<-` only writes `a`, `a + b`, `a - b` or `a * b` into an existing tensor")
}

#[cold]
pub fn destination_count(op: &str, expected: &str, found: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0304",
        format!(
            "{op} writes {expected}, but {found} destination{} written",
            plural(found, " is", "s are")
        ),
    )
    .with_label(span, format!("expected {expected}"))
    .with_help("list one destination per result: `x = …`, `a, b = split(…)`, `a, b = phlora(…)`")
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 {
        one
    } else {
        many
    }
}

#[cold]
pub fn not_a_tensor(span: Span) -> Diagnostic {
    Diagnostic::error("E0305", "a number alone is not a tensor")
        .with_label(span, "a number")
        .with_help(
            "make a tensor with `zeroes([…])`, `ones([…])` or `fill(template, value)`, or scale \
             one with `x = a * 0.5`",
        )
}

#[cold]
pub fn bad_escape(problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0306", format!("invalid escape in string: {problem}"))
        .with_label(span, problem.to_string())
        .with_help(
            "strings know `\\\\`, `\\\"`, `\\n`, `\\t`, `\\r`, `\\0` and `\\u{…}`; write regexes \
             between slashes (`/h\\.(\\d+)/`) to keep their backslashes as they are",
        )
}

#[cold]
pub fn duplicate_argument(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0307", format!("`{name}` is given twice"))
        .with_label(span, "given again here")
        .with_label(first, "first given here")
        .with_help(format!("remove one of the `{name}` arguments"))
}

#[cold]
pub fn missing_argument(function: &str, name: &str, example: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0308",
        format!("{function} is missing the required argument `{name}`"),
    )
    .with_label(span, format!("`{name}` is required"))
    .with_help(format!("write it as `{example}`"))
}

#[cold]
pub fn unclosed_block(span: Span) -> Diagnostic {
    Diagnostic::error("E0309", "this `execute` block is never closed")
        .with_label(span, "opened here")
        .with_help("close the block with a line holding only `}`")
}

#[cold]
pub fn unexpected_close(span: Span) -> Diagnostic {
    Diagnostic::error("E0310", "`}` without an open `execute` block")
        .with_label(span, "nothing to close")
        .with_help("remove this line, or open the block with `execute {` or `execute plan {`")
}

#[cold]
pub fn declaration_in_steps(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0311",
        format!("`{what}` is not allowed inside `execute {{`"),
    )
    .with_label(span, "a declaration among nested steps")
    .with_help(format!(
        "declare `{what}` at the top of the file, or make the block a nested plan with `execute plan {{`"
    ))
}

#[cold]
pub fn duplicate_output(span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0312", "a plan has at most one `output`")
        .with_label(span, "declared again here")
        .with_label(first, "first declared here")
        .with_help("remove one of the `output` lines")
}

#[cold]
pub fn structured_slice(span: Span) -> Diagnostic {
    Diagnostic::error("E0313", "a structured pattern cannot be sliced")
        .with_label(span, "slice of a structured pattern")
        .with_help("slice a regex reference instead, e.g. `h.0.attn.weight::[:, :10]`")
}

#[cold]
pub fn input_alias_required(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0314",
        "this input needs an alias: the plan has several inputs",
    )
    .with_label(span, "no alias")
    .with_help("write it as `input NAME = \"path\"`; only a plan's single input may omit its alias (it is then `model`)")
}

#[cold]
pub fn empty_path(span: Span) -> Diagnostic {
    Diagnostic::error("E0315", "a path must not be empty")
        .with_label(span, "empty path")
        .with_help("write the file or directory between the quotes")
}

#[cold]
pub fn empty_alias(span: Span) -> Diagnostic {
    Diagnostic::error("E0316", "an alias must not be empty")
        .with_label(span, "empty alias")
        .with_help("name the alias, e.g. `base`")
}
