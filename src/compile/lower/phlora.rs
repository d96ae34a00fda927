//! PHLoRA: `phlora` (low-rank factors A and B of each matched 2-D tensor) and `phlora_` (its
//! rank-r reconstruction in place).
//!
//! `target_a` and `target_b` are templates against each match of `target`; the A and B names
//! must differ, must not collide across matches and — unless `require_missing_dest: false` — must
//! not exist. The source is deleted afterwards unless `delete_original: false`. The factor shapes
//! come from the linalg family's rule (A `[r, in]`, B `[out, r]`, `r = min(rank, out, in)`).
//! One node computes both factors from one SVD, packed in one buffer; A and B are byte views of
//! it ([`factor_views`]). The step's SVD options become the node's [`SvdMethod`].

use std::collections::BTreeMap;

use super::{check_policy, map_in_place, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::exec::kernels::lowrank::{RandomizedSvd, SvdMethod};
use crate::graph::ops::linalg::{phlora_factor_types, PackedFactors};
use crate::graph::ops::{ByteView, Layout, Linalg, NodeKind};
use crate::graph::{NodeId, TypeError};
use crate::plan::ast::{Phlora, PhloraInPlace, Spanned, SvdMethodName, SvdOptions};

pub(super) fn phlora(draft: &mut Draft, phlora: &Phlora) -> Result<(), Diagnostic> {
    let op = "phlora";
    if let Some(slice) = &phlora.target.slice {
        return Err(diagnostics::slice_not_allowed(op, "target", slice.span));
    }
    let rank = phlora.rank.node;
    let method = svd_method(&phlora.svd);
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
            let kind = NodeKind::Linalg(Linalg::PhloraFactors { rank, method });
            let packed = draft.add(op, kind, std::slice::from_ref(&w))?;
            let layout = draft
                .type_of(w.node)
                .map(|ty| phlora_factor_types(ty, rank));
            factor_views(draft, op, packed, &w, layout)
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
    let method = svd_method(&phlora.svd);
    map_in_place(
        draft,
        "phlora_",
        &phlora.target,
        false,
        |draft, w: Operand| {
            draft.add(
                "phlora_",
                NodeKind::Linalg(Linalg::PhloraReconstruct { rank, method }),
                &[w],
            )
        },
    )
}

/// The kernels' SVD method for a step's options: exact unless `method: randomized`, whose
/// settings not written take the kernels' defaults.
pub(super) fn svd_method(svd: &SvdOptions) -> SvdMethod {
    let Some(SvdMethodName::Randomized) = svd.method.as_ref().map(|method| method.node) else {
        return SvdMethod::Exact;
    };
    let defaults = RandomizedSvd::default();
    let count = |value: &Option<Spanned<u64>>, default: usize| {
        value
            .as_ref()
            .map_or(default, |v| usize::try_from(v.node).unwrap_or(usize::MAX))
    };
    SvdMethod::Randomized(RandomizedSvd {
        oversampling: count(&svd.oversampling, defaults.oversampling),
        power_iterations: count(&svd.power_iterations, defaults.power_iterations),
        seed: svd.seed.as_ref().map_or(defaults.seed, |seed| seed.node),
    })
}

/// A and B as byte views of the packed factor node `packed` computed from `source`; `layout`
/// is where each factor lies (its error, if any, was already reported by the packed node's
/// rule, which is the same).
pub(super) fn factor_views(
    draft: &mut Draft,
    op: &str,
    packed: NodeId,
    source: &Operand,
    layout: Option<Result<PackedFactors, TypeError>>,
) -> Result<(NodeId, NodeId), Diagnostic> {
    let operand = Operand {
        node: packed,
        name: format!("the factors of {}", source.name),
        used_at: source.used_at,
    };
    let layout = match layout {
        Some(Ok(layout)) => layout,
        Some(Err(error)) => {
            return Err(draft.type_diagnostic(op, &error, std::slice::from_ref(source)))
        }
        None => {
            return Err(Diagnostic::error(
                "E0499",
                format!("internal error: the operand of `{op}` has no type"),
            ))
        }
    };
    let view =
        |byte_offset, shape| NodeKind::Layout(Layout::ByteView(ByteView { byte_offset, shape }));
    let a = draft.add(
        op,
        view(0, layout.a.shape.clone()),
        std::slice::from_ref(&operand),
    )?;
    let b = draft.add(op, view(layout.b_offset, layout.b.shape), &[operand])?;
    Ok((a, b))
}
