//! Arithmetic: `add`/`subtract`/`multiply` (into an existing `to`), `matmul` (into a new `to`),
//! `scale`/`scale_`, `cast`/`cast_`, `clamp`/`clamp_`.
//!
//! In the ternary ops `from_b` and `to` are templates against each match of `from_a` (regex
//! back-references or structured bindings), as in BrainSurgery; `from_b` must exist. Type rules
//! are the ops' own (`graph::ops::elementwise`, `graph::ops::linalg`): no promotion, no
//! broadcasting except matmul's.

use super::mapping::current_region;
use super::{destinations, map_in_place, map_out_of_place, write, write_into, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::compile::expand::{AliasUse, Matched};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Elementwise, Linalg, NodeKind};
use crate::plan::ast::{
    Cast, CastInPlace, Clamp, ClampInPlace, Scale, ScaleInPlace, Spanned, TensorRef, Ternary,
};

/// The `from_b` tensor for one `from_a` match.
pub(super) fn second_operand(
    draft: &mut Draft,
    op: &str,
    first: &Matched,
    from_b: &Spanned<TensorRef>,
) -> Result<Operand, Diagnostic> {
    // Checks that a written alias exists before naming the tensor in it.
    draft.alias_of(from_b, AliasUse::Read)?;
    let (alias, name) = draft.destination(op, first, from_b)?;
    let Some(node) = draft.env.lookup(&alias, &name) else {
        let nearest = draft.nearest_names(&alias, &name);
        let nearest: Vec<&str> = nearest.iter().map(String::as_str).collect();
        return Err(diagnostics::source_missing(
            op,
            "source_b",
            &alias,
            &name,
            from_b.pattern.span,
            &nearest,
        ));
    };
    let second = Matched {
        alias,
        name,
        node,
        captures: first.captures.clone(),
    };
    draft.operand(op, "from_b", &second, from_b, true)
}

pub(super) fn elementwise_ternary(
    draft: &mut Draft,
    op: &str,
    ternary: &Ternary,
) -> Result<(), Diagnostic> {
    let kind = match op {
        "add" => Elementwise::Add,
        "subtract" => Elementwise::Subtract,
        _ => Elementwise::Multiply,
    };
    let firsts = draft.expand(op, "source_a", &ternary.from_a, false)?;
    let Some(planned) = destinations(draft, op, &firsts, &ternary.to, Policy::MustExist) else {
        return Ok(());
    };
    for (first, (alias, name)) in firsts.iter().zip(planned) {
        let result = (|| {
            let a = draft.operand(op, "from_a", first, &ternary.from_a, true)?;
            let b = second_operand(draft, op, first, &ternary.from_b)?;
            // `to` must already hold a tensor of the result's type; check it exists before
            // computing so the error names the destination.
            current_region(draft, op, &alias, &name, &ternary.to)?;
            let result = draft.add(op, NodeKind::Elementwise(kind.clone()), &[a, b])?;
            let value = Operand {
                node: result,
                name: format!("the result of {op}"),
                used_at: ternary.from_a.span,
            };
            write_into(draft, op, &alias, &name, &ternary.to, value)
        })();
        match result {
            Ok(node) => write(draft, &alias, &name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

pub(super) fn matmul(draft: &mut Draft, ternary: &Ternary) -> Result<(), Diagnostic> {
    let op = "matmul";
    let firsts = draft.expand(op, "source_a", &ternary.from_a, false)?;
    let Some(planned) = destinations(draft, op, &firsts, &ternary.to, Policy::MustNotExist) else {
        return Ok(());
    };
    for (first, (alias, name)) in firsts.iter().zip(planned) {
        let result = (|| {
            let a = draft.operand(op, "from_a", first, &ternary.from_a, true)?;
            let b = second_operand(draft, op, first, &ternary.from_b)?;
            draft.add(op, NodeKind::Linalg(Linalg::Matmul), &[a, b])
        })();
        match result {
            Ok(node) => write(draft, &alias, &name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

/// Builds the node of a one-operand elementwise op.
fn unary(
    op: &'static str,
    kind: Elementwise,
) -> impl FnMut(&mut Draft, Operand) -> Result<crate::graph::NodeId, Diagnostic> {
    move |draft, operand| draft.add(op, NodeKind::Elementwise(kind.clone()), &[operand])
}

pub(super) fn scale(draft: &mut Draft, scale: &Scale) -> Result<(), Diagnostic> {
    let kind = Elementwise::Scale { by: scale.by.node };
    map_out_of_place(draft, "scale", &scale.from, &scale.to, unary("scale", kind))
}

pub(super) fn scale_in_place(draft: &mut Draft, scale: &ScaleInPlace) -> Result<(), Diagnostic> {
    let kind = Elementwise::Scale { by: scale.by.node };
    map_in_place(draft, "scale_", &scale.target, true, unary("scale_", kind))
}

pub(super) fn cast(draft: &mut Draft, cast: &Cast) -> Result<(), Diagnostic> {
    let kind = Elementwise::Cast {
        dtype: cast.dtype.node,
    };
    map_out_of_place(draft, "cast", &cast.from, &cast.to, unary("cast", kind))
}

pub(super) fn cast_in_place(draft: &mut Draft, cast: &CastInPlace) -> Result<(), Diagnostic> {
    let kind = Elementwise::Cast {
        dtype: cast.dtype.node,
    };
    map_in_place(draft, "cast_", &cast.target, false, unary("cast_", kind))
}

pub(super) fn clamp(draft: &mut Draft, clamp: &Clamp) -> Result<(), Diagnostic> {
    let kind = Elementwise::Clamp {
        min: clamp.min.as_ref().map(|m| m.node),
        max: clamp.max.as_ref().map(|m| m.node),
    };
    map_out_of_place(draft, "clamp", &clamp.from, &clamp.to, unary("clamp", kind))
}

pub(super) fn clamp_in_place(draft: &mut Draft, clamp: &ClampInPlace) -> Result<(), Diagnostic> {
    let kind = Elementwise::Clamp {
        min: clamp.min.as_ref().map(|m| m.node),
        max: clamp.max.as_ref().map(|m| m.node),
    };
    map_in_place(draft, "clamp_", &clamp.target, true, unary("clamp_", kind))
}
