//! LoRA: `lora_extract` (factors of `tuned − base` for each matched tuned tensor) and
//! `lora_merge` (an adapter added onto each matched weight in place).
//!
//! In `lora_extract`, `base`, `target_a` and `target_b` are templates against each match of
//! `tuned`; without `target_a`/`target_b` the factors get PEFT's names next to the tuned tensor
//! ([`peft_name`]). The base tensor must exist, the factor names must be new and must not
//! collide across matches (checked for every match before the first write). One node computes
//! both factors from one SVD; A and B are byte views of it. In `lora_merge`, `lora_a` and
//! `lora_b` are templates against each match of `target` and must exist. Types come from the
//! linalg family's rules, which are the low-rank kernels' own.

use super::arithmetic::second_operand;
use super::phlora::{factor_views, svd_method};
use super::{destinations, named_destinations, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::Draft;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::linalg::lora_extract_packed;
use crate::graph::ops::{Linalg, NodeKind};
use crate::plan::ast::{LoraExtract, LoraMerge};

pub(super) fn lora_extract(draft: &mut Draft, extract: &LoraExtract) -> Result<(), Diagnostic> {
    let op = "lora_extract";
    if let Some(slice) = &extract.tuned.slice {
        return Err(diagnostics::slice_not_allowed(op, "tuned", slice.span));
    }
    let rank = extract.rank.node;
    let energy = extract.energy.as_ref().map(|e| e.node);
    let method = svd_method(&extract.svd);
    let tuned = draft.expand(op, "tuned", &extract.tuned, false)?;
    let (names_a, names_b, b_span) = match &extract.factors {
        Some((target_a, target_b)) => (
            destinations(draft, op, &tuned, target_a, Policy::MustNotExist),
            destinations(draft, op, &tuned, target_b, Policy::MustNotExist),
            target_b.span,
        ),
        // PEFT's names, in the tuned tensor's alias: A and B names never collide with each
        // other (different suffixes), so each list is checked on its own.
        None => {
            let mut peft = |factor: &str| {
                named_destinations(
                    draft,
                    op,
                    &tuned,
                    &extract.tuned,
                    Policy::MustNotExist,
                    |_, matched| Ok((matched.alias.clone(), peft_name(&matched.name, factor))),
                )
            };
            (peft("lora_A"), peft("lora_B"), extract.tuned.span)
        }
    };
    let (Some(names_a), Some(names_b)) = (names_a, names_b) else {
        return Ok(());
    };
    for ((matched, a), b) in tuned.iter().zip(names_a).zip(names_b) {
        if a == b {
            draft.report(diagnostics::phlora_names_equal(&a.1, b_span));
            continue;
        }
        let result = (|| {
            let tuned_value = draft.operand(op, "tuned", matched, &extract.tuned, false)?;
            let base_value = second_operand(draft, op, matched, &extract.base)?;
            let kind = NodeKind::Linalg(Linalg::LoraExtractFactors {
                rank,
                energy,
                method,
            });
            let layout = match (
                draft.type_of(base_value.node),
                draft.type_of(tuned_value.node),
            ) {
                (Some(base), Some(tuned)) => Some(lora_extract_packed(base, tuned, rank, energy)),
                _ => None,
            };
            let operands = [base_value, tuned_value.clone()];
            let packed = draft.add(op, kind, &operands)?;
            factor_views(draft, op, packed, &tuned_value, layout)
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

/// PEFT's adapter key of `factor` (`lora_A` or `lora_B`) for a tuned `NAME.weight`:
/// `NAME.lora_A.weight`; for a name without `.weight`, the suffix is appended to the whole name.
pub fn peft_name(tuned: &str, factor: &str) -> String {
    let stem = tuned.strip_suffix(".weight").unwrap_or(tuned);
    format!("{stem}.{factor}.weight")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peft_names_replace_the_weight_suffix() {
        assert_eq!(
            peft_name("model.layers.0.self_attn.q_proj.weight", "lora_A"),
            "model.layers.0.self_attn.q_proj.lora_A.weight"
        );
        assert_eq!(
            peft_name("h.0.mlp.c_fc", "lora_B"),
            "h.0.mlp.c_fc.lora_B.weight"
        );
    }
}
