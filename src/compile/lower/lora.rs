//! LoRA: `lora_extract` (factors of `tuned − base` for each matched tuned tensor) and
//! `lora_merge` (an adapter added onto each matched weight in place).
//!
//! In `lora_extract`, `base`, `target_a` and `target_b` are templates against each match of
//! `tuned`; the base tensor must exist, the factor names must be new and must not collide across
//! matches (checked for every match before the first write). In `lora_merge`, `lora_a` and
//! `lora_b` are templates against each match of `target` and must exist. Types come from the
//! linalg family's rules, which are the low-rank kernels' own.

use super::arithmetic::second_operand;
use super::{destinations, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::Draft;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Linalg, NodeKind};
use crate::plan::ast::{LoraExtract, LoraMerge};

pub(super) fn lora_extract(draft: &mut Draft, extract: &LoraExtract) -> Result<(), Diagnostic> {
    let op = "lora_extract";
    if let Some(slice) = &extract.tuned.slice {
        return Err(diagnostics::slice_not_allowed(op, "tuned", slice.span));
    }
    let rank = extract.rank.node;
    let energy = extract.energy.as_ref().map(|e| e.node);
    let tuned = draft.expand(op, "tuned", &extract.tuned, false)?;
    let names_a = destinations(draft, op, &tuned, &extract.target_a, Policy::MustNotExist);
    let names_b = destinations(draft, op, &tuned, &extract.target_b, Policy::MustNotExist);
    let (Some(names_a), Some(names_b)) = (names_a, names_b) else {
        return Ok(());
    };
    for ((matched, a), b) in tuned.iter().zip(names_a).zip(names_b) {
        if a == b {
            draft.report(diagnostics::phlora_names_equal(&a.1, extract.target_b.span));
            continue;
        }
        let result = (|| {
            let tuned_value = draft.operand(op, "tuned", matched, &extract.tuned, false)?;
            let base_value = second_operand(draft, op, matched, &extract.base)?;
            let operands = [base_value, tuned_value];
            let factor_a = draft.add(
                op,
                NodeKind::Linalg(Linalg::LoraExtractA { rank, energy }),
                &operands,
            )?;
            let factor_b = draft.add(
                op,
                NodeKind::Linalg(Linalg::LoraExtractB { rank, energy }),
                &operands,
            )?;
            Ok::<_, Diagnostic>((factor_a, factor_b))
        })();
        match result {
            Ok((factor_a, factor_b)) => {
                write(draft, &a.0, &a.1, factor_a);
                write(draft, &b.0, &b.1, factor_b);
            }
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

pub(super) fn lora_merge(draft: &mut Draft, merge: &LoraMerge) -> Result<(), Diagnostic> {
    let op = "lora_merge";
    if let Some(slice) = &merge.target.slice {
        return Err(diagnostics::slice_not_allowed(op, "target", slice.span));
    }
    let alpha = merge.alpha.node;
    let targets = draft.expand(op, "target", &merge.target, false)?;
    for matched in &targets {
        let result = (|| {
            let w = draft.operand(op, "target", matched, &merge.target, false)?;
            let a = second_operand(draft, op, matched, &merge.lora_a)?;
            let b = second_operand(draft, op, matched, &merge.lora_b)?;
            draft.add(
                op,
                NodeKind::Linalg(Linalg::LoraMerge { alpha }),
                &[w, a, b],
            )
        })();
        match result {
            Ok(node) => write(draft, &matched.alias, &matched.name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}
