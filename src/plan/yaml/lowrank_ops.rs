//! Lowering of our LoRA ops (not in BrainSurgery 0.2.12): `lora_extract` and `lora_merge`.
//!
//! Receives an op's payload opened with the keys its entry in [`OPS`] names (unknown keys and
//! missing required keys are refused by the table); returns the lowered [`Op`], or `None` after
//! recording diagnostics. `base`, `target_a` and `target_b` are templates against `tuned`;
//! `lora_a` and `lora_b` against `target`. The rules on values (a positive rank, an energy in
//! (0, 1], a finite alpha, distinct factor names) are the shared ones of [`crate::plan::rules`].

use super::fields::Fields;
use super::lower::{Lowerer, Lowering, OpTable};
use crate::plan::ast::{LoraExtract, LoraMerge, Op};
use crate::plan::rules::{self, Relation};

/// Each op of this module, with its keys.
pub(super) const OPS: OpTable = &[
    (
        "lora_extract",
        Lowering::Keys(
            &["tuned", "base", "target_a", "target_b", "rank", "energy"],
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
    let target_a = lower.reference(fields, "target_a", relation);
    let target_b = lower.reference(fields, "target_b", relation);
    let rank = fields.read(lower, "rank", |lower, node, what| {
        lower.count(node, what, true)
    });
    let energy = fields.read_optional(lower, "energy", Lowerer::number);
    let (target_a, target_b, energy) = (target_a?, target_b?, energy?);
    lower.check(rules::distinct_factors(&target_a, &target_b))?;
    if let Some(energy) = &energy {
        lower.check(rules::energy_fraction(energy))?;
    }
    Some(Op::LoraExtract(LoraExtract {
        tuned: tuned?,
        base: base?,
        target_a,
        target_b,
        rank: rank?,
        energy,
    }))
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
