//! LoRA: `lora_extract` (factors of `tuned − base` for each matched tuned tensor) and
//! `lora_merge` (an adapter added onto each matched weight in place).
//!
//! In `lora_extract`, `base`, `target_a` and `target_b` are templates against each match of
//! `tuned`; without `target_a`/`target_b` the factors get PEFT's names next to the tuned tensor
//! ([`peft_names`]). The base tensor must exist, the factor names must be new and must not
//! collide across matches (checked for every match before the first write). One node computes
//! both factors from one SVD; A and B are byte views of it. In `lora_merge`, `lora_a` and
//! `lora_b` are templates against each match of `target` and must exist. Types come from the
//! linalg family's rules, which are the low-rank kernels' own.

use std::collections::BTreeMap;

use super::arithmetic::second_operand;
use super::phlora::{factor_views, svd_method};
use super::{check_policy, destinations, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::Draft;
use crate::compile::expand::Matched;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::linalg::lora_extract_packed;
use crate::graph::ops::{Linalg, NodeKind};
use crate::plan::ast::{LoraExtract, LoraMerge, Spanned, TensorRef};

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
        None => {
            let names = peft_destinations(draft, op, &tuned, &extract.tuned);
            let (a, b) = names.map(|names| names.into_iter().unzip()).unzip();
            (a, b, extract.tuned.span)
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

/// An (alias, name) a step writes.
type Destination = (String, String);

/// PEFT's factor names for each tuned match, in its alias: `NAME.lora_A.weight` and
/// `NAME.lora_B.weight` for a tuned `NAME.weight` (for a name without `.weight`, the suffixes
/// are appended to the whole name). The names must be new and distinct across matches; `None`
/// after reporting why not.
fn peft_destinations(
    draft: &mut Draft,
    op: &str,
    tuned: &[Matched],
    reference: &Spanned<TensorRef>,
) -> Option<Vec<(Destination, Destination)>> {
    let mut planned = Vec::with_capacity(tuned.len());
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut failed = false;
    for matched in tuned {
        let (a, b) = peft_names(&matched.name);
        for name in [&a, &b] {
            let destination = (matched.alias.clone(), name.clone());
            if let Some(first) = seen.get(&destination) {
                draft.report(diagnostics::destination_collision(
                    op,
                    &destination.0,
                    &destination.1,
                    first,
                    &matched.name,
                    reference.span,
                ));
                failed = true;
                continue;
            }
            if !check_policy(
                draft,
                op,
                &matched.alias,
                name,
                reference,
                Policy::MustNotExist,
            ) {
                failed = true;
            }
            seen.insert(destination, matched.name.clone());
        }
        planned.push(((matched.alias.clone(), a), (matched.alias.clone(), b)));
    }
    (!failed).then_some(planned)
}

/// `NAME.lora_A.weight` and `NAME.lora_B.weight` for `NAME.weight` (PEFT's adapter keys).
pub fn peft_names(tuned: &str) -> (String, String) {
    let stem = tuned.strip_suffix(".weight").unwrap_or(tuned);
    (
        format!("{stem}.lora_A.weight"),
        format!("{stem}.lora_B.weight"),
    )
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
            peft_names("model.layers.0.self_attn.q_proj.weight"),
            (
                "model.layers.0.self_attn.q_proj.lora_A.weight".to_string(),
                "model.layers.0.self_attn.q_proj.lora_B.weight".to_string()
            )
        );
        assert_eq!(
            peft_names("h.0.mlp.c_fc"),
            (
                "h.0.mlp.c_fc.lora_A.weight".to_string(),
                "h.0.mlp.c_fc.lora_B.weight".to_string()
            )
        );
    }
}
