//! The diagnostics of a run (codes E05xx), one constructor each, so their wording is reviewed in
//! one place. Each points at the plan step whose node failed, when the node came from a plan.

use crate::diagnostics::{Diagnostic, Span};

fn at(diagnostic: Diagnostic, span: Option<Span>, label: &str) -> Diagnostic {
    match span {
        Some(span) => diagnostic.with_label(span, label),
        None => diagnostic,
    }
}

/// A value assertion (`equal`, `iszero`, or a combination) did not hold.
#[cold]
pub fn assertion_failed(check: &str, reason: &str, span: Option<Span>) -> Diagnostic {
    at(
        Diagnostic::error("E0501", format!("assertion failed: {reason}")),
        span,
        "this assertion",
    )
    .with_note(format!("checked: {check}"))
    .with_help("nothing was written: the outputs are published only when every assertion holds")
}

/// A kernel refused its input at run time (the compiler's checks should have caught it).
#[cold]
pub fn step_failed(op: &str, error: &str, span: Option<Span>) -> Diagnostic {
    at(
        Diagnostic::error("E0502", format!("`{op}` failed at run time: {error}")),
        span,
        "this step",
    )
}

/// A feature this version compiles but cannot run yet.
#[cold]
pub fn not_supported(what: &str, help: &str, span: Option<Span>) -> Diagnostic {
    at(
        Diagnostic::error("E0503", format!("{what} is not supported by this version")),
        span,
        "here",
    )
    .with_help(help.to_string())
}

/// The scheduler found no node it could run although work remained (a bug; please report).
#[cold]
pub fn scheduler_stalled(remaining: usize) -> Diagnostic {
    Diagnostic::error(
        "E0504",
        format!("internal error: {remaining} node(s) could not be scheduled"),
    )
}

/// A task panicked (a bug; the run stops and publishes nothing).
#[cold]
pub fn task_panicked(op: &str, span: Option<Span>) -> Diagnostic {
    at(
        Diagnostic::error("E0505", format!("internal error: `{op}` panicked")),
        span,
        "this step",
    )
}

/// An output whose path, `format`, `shard` or tensor count do not fit together.
#[cold]
pub fn unwritable_output(path: &str, problem: &str, span: Option<Span>) -> Diagnostic {
    at(
        Diagnostic::error("E0506", format!("cannot write `{path}`: {problem}")),
        span,
        "this output",
    )
    .with_help(
        "`.safetensors` files and directories take safetensors (sharded or not), `.pt`/`.pth`/`.bin` \
         one PyTorch file, `.npy` one tensor and `.npz` NumPy arrays",
    )
}
