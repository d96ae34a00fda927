//! Every diagnostic the compiler emits, one `#[cold]` constructor per kind of error, so their
//! wording is reviewed in one file. Codes are `E04xx` (listed in `docs/errors.md`).
//!
//! Constructors receive what the compiler found (names, types, spans) and return a
//! [`Diagnostic`] whose first label is the primary one. Type errors name both operands with their
//! types and label both the place each operand is used and the step that produced it.

use crate::diagnostics::{Diagnostic, Span};
use crate::graph::TypeError;
use crate::io::CheckpointFormat;
use crate::plan::ast::{FileFormat, Spanned};
use crate::tensor::TensorType;

/// One operand of a failed type rule, as the user sees it.
#[derive(Debug, Clone)]
pub(crate) struct OperandInfo {
    /// `alias::name`, or a description for intermediate values (`the slice of …`).
    pub name: String,
    pub ty: TensorType,
    /// The reference in this step that supplied the operand.
    pub used_at: Span,
    /// The step that produced the operand's value, when it differs from this one.
    pub produced_at: Option<Span>,
}

fn name_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cold]
pub(crate) fn zero_matches(
    op: &str,
    role: &str,
    alias: &str,
    pattern: &str,
    span: Span,
    nearest: &[&str],
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "E0401",
        format!("{op} {role} matched zero tensors: `{alias}::{pattern}`"),
    )
    .with_label(span, "matches no tensor at this step");
    if nearest.is_empty() {
        diagnostic.with_note(format!("alias `{alias}` holds no tensors at this step"))
    } else {
        diagnostic.with_help(format!(
            "the nearest existing names are {}",
            name_list(nearest)
        ))
    }
}

#[cold]
pub(crate) fn destination_exists(op: &str, alias: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0402",
        format!("{op} destination already exists: `{alias}::{name}`"),
    )
    .with_label(span, format!("`{name}` already exists at this step"))
    .with_help(format!(
        "`{op}` creates new tensors; delete `{name}` first, or use `assign` to overwrite it"
    ))
}

#[cold]
pub(crate) fn destination_missing(
    op: &str,
    alias: &str,
    name: &str,
    span: Span,
    nearest: &[&str],
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "E0403",
        format!("{op} destination missing: `{alias}::{name}`"),
    )
    .with_label(
        span,
        format!("`{op}` writes into an existing tensor; `{name}` does not exist"),
    );
    if nearest.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(format!(
            "the nearest existing names are {}",
            name_list(nearest)
        ))
    }
}

#[cold]
pub(crate) fn source_missing(
    op: &str,
    role: &str,
    alias: &str,
    name: &str,
    span: Span,
    nearest: &[&str],
) -> Diagnostic {
    let diagnostic = Diagnostic::error("E0401", format!("{op} {role} missing: `{alias}::{name}`"))
        .with_label(
            span,
            format!("names `{name}`, which does not exist at this step"),
        );
    if nearest.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(format!(
            "the nearest existing names are {}",
            name_list(nearest)
        ))
    }
}

#[cold]
pub(crate) fn destination_collision(
    op: &str,
    alias: &str,
    name: &str,
    first_source: &str,
    second_source: &str,
    span: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0404",
        format!("{op} destination collision: `{alias}::{name}`"),
    )
    .with_label(
        span,
        format!("both `{first_source}` and `{second_source}` map to `{name}`"),
    )
    .with_help("make the destination depend on what differs between the sources (a back-reference)")
}

/// A type rule refused its operands: shape or dtype mismatches, bad slices, reshapes, dims, …
#[cold]
pub(crate) fn type_error(
    op: &str,
    error: &TypeError,
    step: Span,
    operands: &[OperandInfo],
) -> Diagnostic {
    let (code, involved): (&'static str, Vec<usize>) = match error {
        TypeError::ShapeMismatch { left, right, .. } => ("E0405", vec![*left, *right]),
        TypeError::DtypeMismatch { left, right, .. } => ("E0406", vec![*left, *right]),
        TypeError::SliceTooManyIndices { .. }
        | TypeError::SliceIndexOutOfRange { .. }
        | TypeError::SliceDoesNotFit { .. } => ("E0407", vec![0]),
        TypeError::ReshapeElementCount { .. } | TypeError::ReshapeInvalid { .. } => {
            ("E0408", vec![0])
        }
        TypeError::DimensionOutOfRange { .. } | TypeError::NotAPermutation { .. } => {
            ("E0409", vec![0])
        }
        TypeError::SplitOutOfRange { .. } => ("E0410", vec![0]),
        TypeError::ConcatMismatch { operand, .. } => ("E0410", vec![0, *operand]),
        TypeError::MatmulShapes { .. } => ("E0411", vec![0, 1]),
        TypeError::NotTwoDimensional { .. } => ("E0412", vec![0]),
        TypeError::UnsupportedDtype { .. } | TypeError::FractionalFactor { .. } => {
            ("E0413", vec![0])
        }
        TypeError::ValuesDoNotBroadcast { .. } | TypeError::ValuesCount { .. } => ("E0414", vec![]),
        TypeError::Arity { .. } | TypeError::TooLarge { .. } => ("E0414", vec![]),
        // Only the optimizer makes views and fused nodes; the compiler never reports these.
        TypeError::ViewOutsideOperand { .. }
        | TypeError::FusedStep { .. }
        | TypeError::FusedMalformed { .. } => ("E0414", vec![]),
        TypeError::LowRank { op, .. } if *op == "lora_merge" => ("E0412", vec![0, 1, 2]),
        TypeError::LowRank { .. } => ("E0412", vec![0, 1]),
    };
    let described: Vec<String> = involved
        .iter()
        .filter_map(|&i| operands.get(i))
        .map(|o| format!("`{}` is {}", o.name, o.ty))
        .collect();
    let mut message = format!("{op}: {error}");
    if !described.is_empty() {
        message.push_str(&format!(" ({})", described.join(", ")));
    }
    let mut diagnostic = Diagnostic::error(code, message).with_label(step, error.to_string());
    let mut seen = vec![step];
    for &index in &involved {
        let Some(operand) = operands.get(index) else {
            continue;
        };
        if !seen.contains(&operand.used_at) {
            seen.push(operand.used_at);
            diagnostic = diagnostic.with_label(
                operand.used_at,
                format!("`{}` is {}", operand.name, operand.ty),
            );
        }
        if let Some(produced) = operand.produced_at {
            if !seen.contains(&produced) {
                seen.push(produced);
                diagnostic = diagnostic.with_label(
                    produced,
                    format!("`{}` got its type {} here", operand.name, operand.ty),
                );
            }
        }
    }
    if matches!(error, TypeError::DtypeMismatch { .. }) {
        diagnostic = diagnostic
            .with_help("cast one operand first (`cast`/`cast_`): dtypes are never promoted");
    }
    diagnostic
}

#[cold]
pub(crate) fn slice_not_allowed(op: &str, role: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0423", format!("{op} {role} must not be sliced"))
        .with_label(span, "a slice is not allowed here")
        .with_help("copy the slice into a new tensor first, or drop the slice")
}

#[cold]
pub(crate) fn assertion_failed(assert_span: Span, leaf_span: Span, reason: &str) -> Diagnostic {
    let mut diagnostic = Diagnostic::error("E0415", format!("assertion failed: {reason}"))
        .with_label(leaf_span, reason);
    if assert_span != leaf_span {
        diagnostic = diagnostic.with_label(assert_span, "in this assertion");
    }
    diagnostic.with_note("decided from the checkpoint headers, before any tensor is read")
}

#[cold]
pub(crate) fn output_alias_ambiguous(candidates: &[&str], span: Option<Span>) -> Diagnostic {
    let message = if candidates.is_empty() {
        "cannot infer which alias to write: no alias holds tensors".to_string()
    } else {
        format!(
            "cannot infer which alias to write: candidates are {}",
            name_list(candidates)
        )
    };
    let diagnostic =
        Diagnostic::error("E0416", message).with_help("name it with `output: {path: …, alias: …}`");
    match span {
        Some(span) => diagnostic.with_label(span, "this output"),
        None => diagnostic,
    }
}

#[cold]
pub(crate) fn unknown_alias(alias: &str, span: Span, known: &[&str]) -> Diagnostic {
    let nearest = crate::diagnostics::nearest(alias, known.iter().copied(), 3);
    let diagnostic = Diagnostic::error("E0417", format!("unknown model alias: `{alias}`"))
        .with_label(span, "no alias of this name exists at this step");
    if nearest.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(format!("known aliases: {}", name_list(&nearest)))
    }
}

#[cold]
pub(crate) fn missing_alias(span: Span, known: &[&str]) -> Diagnostic {
    Diagnostic::error("E0417", "missing model alias in reference")
        .with_label(span, "which alias does this name?")
        .with_help(format!(
            "with several aliases every reference is qualified, e.g. `{}::name`",
            known.first().copied().unwrap_or("alias")
        ))
}

#[cold]
pub(crate) fn alias_exists(op: &str, alias: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0418", format!("{op}: alias `{alias}` already exists"))
        .with_label(span, "already in use")
}

#[cold]
pub(crate) fn access_counters_unsupported(kind: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0419",
        format!("`{kind}` assertions are not supported"),
    )
    .with_label(span, "counts tensor accesses")
    .with_note(
        "a compiled plan has no access counters: tensors are read once, lazily, and only when an \
         output or an assertion needs them, so BrainSurgery's read/write counts do not exist",
    )
    .with_help("assert on the result instead (`exists`, `shape`, `equal`, …)")
}

#[cold]
pub(crate) fn memory_budget_too_small(budget: u64, needed: u64, span: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "E0420",
        format!(
            "the memory budget of {} is smaller than the largest step, which needs {}",
            format_bytes(budget),
            format_bytes(needed)
        ),
    )
    .with_help(format!(
        "raise `--memory-budget` to at least {needed} bytes"
    ));
    match span {
        Some(span) => diagnostic.with_label(span, format!("needs {}", format_bytes(needed))),
        None => diagnostic,
    }
}

#[cold]
pub(crate) fn structured_error(message: String, span: Span) -> Diagnostic {
    Diagnostic::error("E0421", message).with_label(span, "in this structured pattern")
}

#[cold]
pub(crate) fn mixed_pattern_kinds(op: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0421",
        format!("{op} requires from/to expressions of the same kind"),
    )
    .with_label(span, "one side is a regex, the other a structured list")
}

#[cold]
pub(crate) fn regex_error(pattern: &str, reason: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0422", format!("invalid pattern `{pattern}`: {reason}"))
        .with_label(span, reason.to_string())
}

#[cold]
pub(crate) fn exactly_one_required(op: &str, role: &str, found: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0424",
        format!("{op} {role} must name exactly one tensor, but names {found}"),
    )
    .with_label(span, format!("{found} tensors"))
}

#[cold]
pub(crate) fn literal_name_required(op: &str, role: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0424",
        format!("{op} {role} must be a literal tensor name"),
    )
    .with_label(span, "a pattern is not allowed here")
}

#[cold]
pub(crate) fn load_format_mismatch(
    path: &str,
    format: &Spanned<FileFormat>,
    found: CheckpointFormat,
    path_span: Span,
) -> Diagnostic {
    let found = match found {
        CheckpointFormat::Safetensors => "safetensors",
        CheckpointFormat::Torch => "torch",
        CheckpointFormat::Npy | CheckpointFormat::Npz => "numpy",
    };
    Diagnostic::error(
        "E0430",
        format!(
            "load format is {}, but {path} holds a {found} file",
            format.node.name()
        ),
    )
    .with_label(format.span, format!("{} promised here", format.node.name()))
    .with_label(path_span, format!("recognised by its content as {found}"))
    .with_help(format!(
        "set the format to {found} (or auto), or point the path at the {} file you meant",
        format.node.name()
    ))
}

#[cold]
pub(crate) fn nested_execute(span: Span) -> Diagnostic {
    Diagnostic::error("E0425", "execute cannot nest another execute")
        .with_label(span, "nested here")
}

#[cold]
pub(crate) fn plan_source_unavailable(span: Span) -> Diagnostic {
    Diagnostic::error("E0425", "execute with a `path` cannot be resolved here")
        .with_label(span, "no plan files can be read in this context")
}

#[cold]
pub(crate) fn headers_unavailable(path: &str, reason: &str, span: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        "E0426",
        format!("cannot read the headers of `{path}`: {reason}"),
    );
    match span {
        Some(span) => diagnostic.with_label(span, "this checkpoint"),
        None => diagnostic,
    }
}

#[cold]
pub(crate) fn steps_after_exit(count: usize, span: Span) -> Diagnostic {
    Diagnostic::warning(
        "W0427",
        format!(
            "{count} step{} after `exit` will never run and were not checked",
            if count == 1 { "" } else { "s" }
        ),
    )
    .with_label(span, "the plan stops here")
}

#[cold]
pub(crate) fn ragged_values(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0414",
        "fill values are ragged: nested lists must have equal lengths",
    )
    .with_label(span, "ragged values")
}

#[cold]
pub(crate) fn phlora_names_equal(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0412",
        format!("phlora factors A and B would both be named `{name}`"),
    )
    .with_label(span, "target_a and target_b must differ")
}

#[cold]
pub(crate) fn split_sizes(sum: u64, size: u64, dim: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0410",
        format!("split sizes sum to {sum}, but dimension {dim} has size {size}"),
    )
    .with_label(span, format!("sums to {sum}"))
}

#[cold]
pub(crate) fn split_arity(sizes: usize, destinations: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0410",
        format!("split has {sizes} sizes but {destinations} destinations"),
    )
    .with_label(span, "one size per destination")
}

/// Bytes in binary units, as the reference prints sizes (`1.5 MiB`), with the exact count.
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {} ({bytes} bytes)", UNITS[unit])
    }
}
