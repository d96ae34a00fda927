//! Name-level ops and writes into existing tensors: `copy`, `move`, `delete`, `assign`, `add_`,
//! `subtract_`.
//!
//! `copy` binds a new name to the source's value (a slice of it, when sliced); `move` rebinds and
//! unbinds the source; `delete` unbinds. None of these creates a computation node except for a
//! slice. `assign` writes a value into an existing destination (or its slice region);
//! `add_`/`subtract_` combine the destination (region) with the source and write the result back.

use super::{destinations, label, map_out_of_place, write, write_into, Policy};
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Elementwise, NodeKind};
use crate::plan::ast::{Mapping, Unary};

pub(super) fn copy(draft: &mut Draft, mapping: &Mapping) -> Result<(), Diagnostic> {
    map_out_of_place(draft, "copy", &mapping.from, &mapping.to, |_, operand| {
        Ok(operand.node)
    })
}

pub(super) fn move_(draft: &mut Draft, mapping: &Mapping) -> Result<(), Diagnostic> {
    let op = "move";
    if let Some(slice) = &mapping.from.slice {
        return Err(crate::compile::diagnostics::slice_not_allowed(
            op, "from", slice.span,
        ));
    }
    let sources = draft.expand(op, "source", &mapping.from, false)?;
    let Some(planned) = destinations(draft, op, &sources, &mapping.to, Policy::MustNotExist) else {
        return Ok(());
    };
    for source in &sources {
        draft.bind(&source.alias, &source.name, None);
        draft.record_write(&source.alias);
    }
    for (source, (alias, name)) in sources.iter().zip(planned) {
        write(draft, &alias, &name, source.node);
    }
    Ok(())
}

pub(super) fn delete(draft: &mut Draft, unary: &Unary) -> Result<(), Diagnostic> {
    let op = "delete";
    if let Some(slice) = &unary.target.slice {
        return Err(crate::compile::diagnostics::slice_not_allowed(
            op, "target", slice.span,
        ));
    }
    for matched in draft.expand(op, "target", &unary.target, false)? {
        draft.bind(&matched.alias, &matched.name, None);
        draft.record_write(&matched.alias);
    }
    Ok(())
}

pub(super) fn assign(draft: &mut Draft, mapping: &Mapping) -> Result<(), Diagnostic> {
    let op = "assign";
    let sources = draft.expand(op, "source", &mapping.from, false)?;
    let Some(planned) = destinations(draft, op, &sources, &mapping.to, Policy::MustExist) else {
        return Ok(());
    };
    for (source, (alias, name)) in sources.iter().zip(planned) {
        let result = draft
            .operand(op, "from", source, &mapping.from, true)
            .and_then(|value| write_into(draft, op, &alias, &name, &mapping.to, value));
        match result {
            Ok(node) => write(draft, &alias, &name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

/// `add_` / `subtract_`: `to ← to ± from`, on `to`'s slice region when it has one.
pub(super) fn accumulate(draft: &mut Draft, op: &str, mapping: &Mapping) -> Result<(), Diagnostic> {
    let combine = if op == "add_" {
        Elementwise::Add
    } else {
        Elementwise::Subtract
    };
    let sources = draft.expand(op, "source", &mapping.from, false)?;
    let Some(planned) = destinations(draft, op, &sources, &mapping.to, Policy::MustExist) else {
        return Ok(());
    };
    for (source, (alias, name)) in sources.iter().zip(planned) {
        let result = (|| {
            let addend = draft.operand(op, "from", source, &mapping.from, true)?;
            let current = current_region(draft, op, &alias, &name, &mapping.to)?;
            let sum = draft.add(
                op,
                NodeKind::Elementwise(combine.clone()),
                &[current, addend],
            )?;
            let value = Operand {
                node: sum,
                name: format!("the result of {op}"),
                used_at: mapping.to.span,
            };
            write_into(draft, op, &alias, &name, &mapping.to, value)
        })();
        match result {
            Ok(node) => write(draft, &alias, &name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

/// The current value of an existing destination, viewed through `to`'s slice.
pub(super) fn current_region(
    draft: &mut Draft,
    op: &str,
    alias: &str,
    name: &str,
    to: &crate::plan::ast::Spanned<crate::plan::ast::TensorRef>,
) -> Result<Operand, Diagnostic> {
    let node = draft.env.lookup(alias, name).ok_or_else(|| {
        crate::compile::diagnostics::destination_missing(op, alias, name, to.span, &[])
    })?;
    let matched = crate::compile::expand::Matched {
        alias: alias.to_string(),
        name: name.to_string(),
        node,
        captures: crate::compile::expand::Captures::Structured(Default::default()),
    };
    let operand = draft.operand(op, "to", &matched, to, true)?;
    Ok(Operand {
        name: if operand.node == node {
            label(alias, name)
        } else {
            operand.name
        },
        ..operand
    })
}
