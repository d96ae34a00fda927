//! Lowering of our LoRA ops (not in BrainSurgery 0.2.12): `lora_extract` and `lora_merge`.
//!
//! Receives an op's payload opened with the keys its entry in [`OPS`] names (unknown keys and
//! missing required keys are refused by the table); returns the lowered [`Op`], or `None` after
//! recording diagnostics. `base`, `target_a` and `target_b` are templates against `tuned`
//! (`target_a` and `target_b` both or neither: without them the factors get PEFT's names);
//! `lora_a` and `lora_b` against `target`. The rules on values (a positive rank, an energy in
//! (0, 1], a finite alpha, distinct factor names) are the shared ones of [`crate::plan::rules`].

use super::creation_ops::svd_options;
use super::fields::Fields;
use super::lower::{Lowerer, Lowering, OpTable};
use crate::plan::ast::{LoraExtract, LoraMerge, Op, Spanned, TensorRef};
use crate::plan::diagnostics;
use crate::plan::rules::{self, Relation};

/// Each op of this module, with its keys.
pub(super) const OPS: OpTable = &[
    (
        "lora_extract",
        Lowering::Keys(
            &[
                "tuned",
                "base",
                "target_a",
                "target_b",
                "rank",
                "energy",
                "method",
                "oversampling",
                "power_iterations",
                "seed",
            ],
            lora_extract,
        ),
    ),
    (
        "lora_merge",
        Lowering::Keys(&["target", "lora_a", "lora_b", "alpha"], lora_merge),
    ),
];

fn lora_extract(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let tuned = lower.reference(fields, "tuned", Relation::Source);
    let relation = Relation::TemplateOf(tuned.as_ref());
    let base = lower.reference(fields, "base", relation);
    let factors = factor_names(lower, fields, relation);
    let rank = fields.read(lower, "rank", |lower, node, what| {
        lower.count(node, what, true)
    });
    let energy = fields.read_optional(lower, "energy", Lowerer::number);
    let svd = svd_options(lower, fields);
    let (factors, energy) = (factors?, energy?);
    if let Some((target_a, target_b)) = &factors {
        lower.check(rules::distinct_factors(target_a, target_b))?;
    }
    if let Some(energy) = &energy {
        lower.check(rules::energy_fraction(energy))?;
    }
    Some(Op::LoraExtract(LoraExtract {
        tuned: tuned?,
        base: base?,
        factors,
        rank: rank?,
        energy,
        svd: svd?,
    }))
}

/// `target_a` and `target_b`, both or neither (PEFT's names then): `Some(None)` when neither is
/// written, `None` after a diagnostic.
fn factor_names(
    lower: &mut Lowerer<'_>,
    fields: &Fields<'_>,
    relation: Relation<'_>,
) -> Option<Option<(Spanned<TensorRef>, Spanned<TensorRef>)>> {
    match (fields.entry("target_a"), fields.entry("target_b")) {
        (None, None) => Some(None),
        (Some(_), Some(_)) => {
            let target_a = lower.reference(fields, "target_a", relation);
            let target_b = lower.reference(fields, "target_b", relation);
            Some(Some((target_a?, target_b?)))
        }
        (Some(_), None) | (None, Some(_)) => {
            let (written, missing) = if fields.entry("target_a").is_some() {
                ("target_a", "target_b")
            } else {
                ("target_b", "target_a")
            };
            lower.error(
                diagnostics::missing_key(fields.op(), missing, fields.keyword_span()).with_note(
                    format!(
                        "`{written}` is written: name both factors, or neither to get PEFT's \
                         `….lora_A.weight` / `….lora_B.weight`"
                    ),
                ),
            );
            None
        }
    }
}

fn lora_merge(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.reference(fields, "target", Relation::Source);
    let relation = Relation::TemplateOf(target.as_ref());
    let lora_a = lower.reference(fields, "lora_a", relation);
    let lora_b = lower.reference(fields, "lora_b", relation);
    let alpha = fields.read(lower, "alpha", Lowerer::number)?;
    lower.check(rules::finite_alpha(&alpha))?;
    Some(Op::LoraMerge(LoraMerge {
        target: target?,
        lora_a: lora_a?,
        lora_b: lora_b?,
        alpha,
    }))
}
