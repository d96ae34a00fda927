//! Read-only reporting ops: `dump` and `diff`, both sinks.
//!
//! A dump lists the tensors it shows with their types (all aliases when it has no target; an
//! explicit target must match something) and takes their values as operands only when its
//! verbosity needs them (`stat`, `full`); the defaults are BrainSurgery's code defaults
//! (`compact`, `shape`). A diff pairs tensors by identical name on both sides: names on one side
//! only and type differences are known now; same-typed pairs become operands compared at run
//! time. Zero matches is not an error for a diff.

use std::collections::BTreeMap;

use super::label;
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::compile::expand::Matched;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{DiffPair, NodeKind, Sink};
use crate::plan::ast::{Diff, DiffSides, Dump, DumpFormat, DumpVerbosity};

pub(super) fn dump(draft: &mut Draft, dump: &Dump) -> Result<(), Diagnostic> {
    let op = "dump";
    let format = dump.format.as_ref().map_or(DumpFormat::Compact, |f| f.node);
    let verbosity = dump
        .verbosity
        .as_ref()
        .map_or(DumpVerbosity::Shape, |v| v.node);
    let mut operands = Vec::new();
    match &dump.target {
        Some(target) => {
            for matched in draft.expand(op, "target", target, false)? {
                operands.push(draft.operand(op, "target", &matched, target, true)?);
            }
        }
        None => {
            let bindings: Vec<(String, String, crate::graph::NodeId)> = draft
                .env
                .bindings()
                .map(|(alias, name, node)| (alias.to_string(), name.to_string(), node))
                .collect();
            for (alias, name, node) in bindings {
                operands.push(Operand {
                    node,
                    name: label(&alias, &name),
                    used_at: draft.step_span,
                });
            }
        }
    }
    let mut entries = Vec::with_capacity(operands.len());
    for operand in &operands {
        entries.push((operand.name.clone(), draft.operand_type(operand)?));
    }
    let operands = if verbosity == DumpVerbosity::Shape {
        Vec::new()
    } else {
        operands
    };
    draft.add(
        op,
        NodeKind::Sink(Sink::Dump {
            format,
            verbosity,
            entries,
        }),
        &operands,
    )?;
    Ok(())
}

pub(super) fn diff(draft: &mut Draft, diff: &Diff) -> Result<(), Diagnostic> {
    let op = "diff";
    let (left, right) = match &diff.sides {
        DiffSides::Refs { left, right } => {
            let left_matches = draft.expand(op, "left", left, true)?;
            let right_matches = draft.expand(op, "right", right, true)?;
            (
                operands_by_name(draft, &left_matches, left)?,
                operands_by_name(draft, &right_matches, right)?,
            )
        }
        DiffSides::Aliases {
            left_alias,
            right_alias,
        } => (
            whole_alias(draft, left_alias)?,
            whole_alias(draft, right_alias)?,
        ),
    };
    let missing_left = right
        .keys()
        .filter(|name| !left.contains_key(*name))
        .cloned()
        .collect();
    let missing_right = left
        .keys()
        .filter(|name| !right.contains_key(*name))
        .cloned()
        .collect();
    let mut pairs = Vec::new();
    let mut operands = Vec::new();
    for (name, left_operand) in &left {
        let Some(right_operand) = right.get(name) else {
            continue;
        };
        let left_type = draft.operand_type(left_operand)?;
        let right_type = draft.operand_type(right_operand)?;
        let known_difference = if left_type.shape != right_type.shape {
            Some(format!("shape {} != {}", left_type.shape, right_type.shape))
        } else if left_type.dtype != right_type.dtype {
            Some(format!("dtype {} != {}", left_type.dtype, right_type.dtype))
        } else {
            operands.push(left_operand.clone());
            operands.push(right_operand.clone());
            None
        };
        pairs.push(DiffPair {
            name: name.clone(),
            known_difference,
        });
    }
    draft.add(
        op,
        NodeKind::Sink(Sink::Diff {
            eps: diff.eps.as_ref().map(|e| e.node),
            pairs,
            missing_left,
            missing_right,
        }),
        &operands,
    )?;
    Ok(())
}

fn operands_by_name(
    draft: &mut Draft,
    matches: &[Matched],
    reference: &crate::plan::ast::Spanned<crate::plan::ast::TensorRef>,
) -> Result<BTreeMap<String, Operand>, Diagnostic> {
    let mut by_name = BTreeMap::new();
    for matched in matches {
        let operand = draft.operand("diff", "side", matched, reference, true)?;
        by_name.insert(matched.name.clone(), operand);
    }
    Ok(by_name)
}

fn whole_alias(
    draft: &Draft,
    alias: &crate::plan::ast::Spanned<String>,
) -> Result<BTreeMap<String, Operand>, Diagnostic> {
    let Some(table) = draft.env.alias(&alias.node) else {
        return Err(diagnostics::unknown_alias(
            &alias.node,
            alias.span,
            &draft.env.alias_names(),
        ));
    };
    Ok(table
        .iter()
        .map(|(name, &node)| {
            (
                name.clone(),
                Operand {
                    node,
                    name: label(&alias.node, name),
                    used_at: alias.span,
                },
            )
        })
        .collect())
}
