//! PHLoRA: `phlora` (low-rank factors A and B of each matched 2-D tensor) and `phlora_` (its
//! rank-r reconstruction in place).
//!
//! `target_a` and `target_b` are templates against each match of `target`; the A and B names
//! must differ, must not collide across matches and — unless `require_missing_dest: false` — must
//! not exist. The source is deleted afterwards unless `delete_original: false`. The factor shapes
//! come from the linalg family's rule (A `[r, in]`, B `[out, r]`, `r = min(rank, out, in)`).

use std::collections::BTreeMap;

use super::{check_policy, map_in_place, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Linalg, NodeKind};
use crate::plan::ast::{Phlora, PhloraInPlace};

pub(super) fn phlora(draft: &mut Draft, phlora: &Phlora) -> Result<(), Diagnostic> {
    let op = "phlora";
    if let Some(slice) = &phlora.target.slice {
        return Err(diagnostics::slice_not_allowed(op, "target", slice.span));
    }
    let rank = phlora.rank.node;
    let require_missing = phlora.require_missing_dest.as_ref().is_none_or(|r| r.node);
    let delete_original = phlora.delete_original.as_ref().is_none_or(|d| d.node);
    let sources = draft.expand(op, "target", &phlora.target, false)?;
    let mut planned = Vec::with_capacity(sources.len());
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut failed = false;
    for source in &sources {
        let names = draft
            .destination(op, source, &phlora.target_a)
            .and_then(|a| Ok((a, draft.destination(op, source, &phlora.target_b)?)));
        let (a, b) = match names {
            Ok(names) => names,
            Err(diagnostic) => {
                draft.report(diagnostic);
                failed = true;
                continue;
            }
        };
        if a == b {
            draft.report(diagnostics::phlora_names_equal(&a.1, phlora.target_b.span));
            failed = true;
            continue;
        }
        for (destination, reference) in [(&a, &phlora.target_a), (&b, &phlora.target_b)] {
            if let Some(first) = seen.get(destination) {
                draft.report(diagnostics::destination_collision(
                    op,
                    &destination.0,
                    &destination.1,
                    first,
                    &source.name,
                    reference.span,
                ));
                failed = true;
            } else {
                seen.insert(destination.clone(), source.name.clone());
            }
            if require_missing
                && !check_policy(
                    draft,
                    op,
                    &destination.0,
                    &destination.1,
                    reference,
                    Policy::MustNotExist,
                )
            {
                failed = true;
            }
        }
        planned.push((a, b));
    }
    if failed {
        return Ok(());
    }
    for (source, (a, b)) in sources.iter().zip(planned) {
        let result = (|| {
            let w = draft.operand(op, "target", source, &phlora.target, false)?;
            let factor_a = draft.add(
                op,
                NodeKind::Linalg(Linalg::PhloraA { rank }),
                std::slice::from_ref(&w),
            )?;
            let factor_b = draft.add(op, NodeKind::Linalg(Linalg::PhloraB { rank }), &[w])?;
            Ok::<_, Diagnostic>((factor_a, factor_b))
        })();
        match result {
            Ok((factor_a, factor_b)) => {
                let source_key = (source.alias.clone(), source.name.clone());
                if delete_original && source_key != a && source_key != b {
                    draft.bind(&source.alias, &source.name, None);
                    draft.record_write(&source.alias);
                }
                write(draft, &a.0, &a.1, factor_a);
                write(draft, &b.0, &b.1, factor_b);
            }
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

pub(super) fn phlora_in_place(draft: &mut Draft, phlora: &PhloraInPlace) -> Result<(), Diagnostic> {
    let rank = phlora.rank.node;
    map_in_place(
        draft,
        "phlora_",
        &phlora.target,
        false,
        |draft, w: Operand| {
            draft.add(
                "phlora_",
                NodeKind::Linalg(Linalg::PhloraReconstruct { rank }),
                &[w],
            )
        },
    )
}
