//! Lowering: one plan step → graph nodes and environment changes, inside a [`Draft`].
//!
//! It receives a spanned step and records into the draft the nodes it creates, the names it
//! binds, rebinds or unbinds, and a diagnostic for every problem it finds (a multi-tensor step
//! reports all its items, not only the first). Each op family lives in its own file; the shared
//! shapes of ops live here: out-of-place mappings (`from` → new `to`), in-place updates of a target
//! (optionally of a slice region, which yields a new version of the whole tensor), and writes into
//! an existing destination. Destination policies follow BrainSurgery: creators need new names
//! (MUST_NOT_EXIST), `assign`/`add`/`add_`/… need existing ones (MUST_EXIST), and every
//! destination is checked — including collisions — before the first write.

mod arithmetic;
mod assertions;
mod create;
mod inspect;
mod layout;
mod lora;
mod mapping;
mod phlora;
mod session_ops;

use std::collections::BTreeMap;

use super::diagnostics::{self, OperandInfo};
use super::draft::{Draft, Operand};
use super::expand::Matched;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::elementwise::same_type_at;
use crate::graph::ops::layout::resolve_slice;
use crate::graph::ops::{Layout, NodeKind};
use crate::graph::NodeId;
use crate::plan::ast::{Op, Spanned, Step, TensorRef};

/// Lowers one step; problems end up in `draft.diagnostics`.
pub(crate) fn lower(draft: &mut Draft, step: &Spanned<Step>) {
    let previous_span = draft.step_span;
    draft.step_span = step.node.keyword.span;
    let op = step.node.op.name();
    let result = match &step.node.op {
        Op::Help(_) => Ok(()),
        Op::Dump(dump) => inspect::dump(draft, dump),
        Op::Diff(diff) => inspect::diff(draft, diff),
        Op::Assert(expression) => assertions::assert(draft, expression),
        Op::Load(load) => session_ops::load(draft, load),
        Op::Save(save) => session_ops::save(draft, save),
        Op::Copy(mapping) => mapping::copy(draft, mapping),
        Op::Move(mapping) => mapping::move_(draft, mapping),
        Op::Delete(unary) => mapping::delete(draft, unary),
        Op::Assign(mapping) => mapping::assign(draft, mapping),
        Op::AddInPlace(mapping) | Op::SubtractInPlace(mapping) => {
            mapping::accumulate(draft, op, mapping)
        }
        Op::Add(ternary) | Op::Subtract(ternary) | Op::Multiply(ternary) => {
            arithmetic::elementwise_ternary(draft, op, ternary)
        }
        Op::Matmul(ternary) => arithmetic::matmul(draft, ternary),
        Op::Scale(scale) => arithmetic::scale(draft, scale),
        Op::ScaleInPlace(scale) => arithmetic::scale_in_place(draft, scale),
        Op::Cast(cast) => arithmetic::cast(draft, cast),
        Op::CastInPlace(cast) => arithmetic::cast_in_place(draft, cast),
        Op::Clamp(clamp) => arithmetic::clamp(draft, clamp),
        Op::ClampInPlace(clamp) => arithmetic::clamp_in_place(draft, clamp),
        Op::Reshape(reshape) => layout::reshape(draft, reshape),
        Op::ReshapeInPlace(reshape) => layout::reshape_in_place(draft, reshape),
        Op::Permute(permute) => layout::permute(draft, permute),
        Op::Transpose(transpose) => layout::transpose(draft, transpose),
        Op::Split(split) => layout::split(draft, split),
        Op::Concat(concat) => layout::concat(draft, concat),
        Op::Fill(fill) => create::fill(draft, fill),
        Op::FillInPlace(fill) => create::fill_in_place(draft, fill),
        Op::Zeroes(spec) => create::constant(draft, op, spec, 0.0),
        Op::Ones(spec) => create::constant(draft, op, spec, 1.0),
        Op::Rand(rand) => create::rand(draft, rand),
        Op::Phlora(phlora) => phlora::phlora(draft, phlora),
        Op::PhloraInPlace(phlora) => phlora::phlora_in_place(draft, phlora),
        Op::LoraExtract(extract) => lora::lora_extract(draft, extract),
        Op::LoraMerge(merge) => lora::lora_merge(draft, merge),
        Op::Prefixes(prefixes) => session_ops::prefixes(draft, prefixes),
        Op::Set(set) => session_ops::set(draft, set),
        Op::Exit => {
            draft.flags.exited = true;
            Ok(())
        }
        Op::Execute(execute) => session_ops::execute(draft, execute),
    };
    if let Err(diagnostic) = result {
        draft.report(diagnostic);
    }
    draft.step_span = previous_span;
}

/// Whether a step's destinations must be new or must exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Policy {
    MustNotExist,
    MustExist,
}

/// Destination names for every source, checked for collisions and against `policy` before any
/// write; reports every problem and returns `None` if there was one.
pub(super) fn destinations(
    draft: &mut Draft,
    op: &str,
    sources: &[Matched],
    to: &Spanned<TensorRef>,
    policy: Policy,
) -> Option<Vec<(String, String)>> {
    if let (Policy::MustNotExist, Some(slice)) = (policy, &to.slice) {
        draft.report(diagnostics::slice_not_allowed(op, "to", slice.span));
        return None;
    }
    named_destinations(draft, op, sources, to, policy, |draft, source| {
        draft.destination(op, source, to)
    })
}

/// [`destinations`] with the names given by `name` (a template's expansion, or a naming
/// convention); `to` is the reference the diagnostics point at.
pub(super) fn named_destinations(
    draft: &mut Draft,
    op: &str,
    sources: &[Matched],
    to: &Spanned<TensorRef>,
    policy: Policy,
    mut name: impl FnMut(&mut Draft, &Matched) -> Result<(String, String), Diagnostic>,
) -> Option<Vec<(String, String)>> {
    let mut planned = Vec::with_capacity(sources.len());
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut failed = false;
    for source in sources {
        match name(draft, source) {
            Ok(destination) => {
                if let Some(first) = seen.get(&destination) {
                    draft.report(diagnostics::destination_collision(
                        op,
                        &destination.0,
                        &destination.1,
                        first,
                        &source.name,
                        to.span,
                    ));
                    failed = true;
                } else {
                    seen.insert(destination.clone(), source.name.clone());
                }
                planned.push(destination);
            }
            Err(diagnostic) => {
                draft.report(diagnostic);
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    for (alias, name) in &planned {
        if !check_policy(draft, op, alias, name, to, policy) {
            failed = true;
        }
    }
    (!failed).then_some(planned)
}

/// Checks one destination against `policy`; reports and returns `false` when it fails.
pub(super) fn check_policy(
    draft: &mut Draft,
    op: &str,
    alias: &str,
    name: &str,
    to: &Spanned<TensorRef>,
    policy: Policy,
) -> bool {
    let exists = draft.env.lookup(alias, name).is_some();
    match policy {
        Policy::MustNotExist if exists => {
            draft.report(diagnostics::destination_exists(op, alias, name, to.span));
            false
        }
        Policy::MustExist if !exists => {
            let nearest = draft.nearest_names(alias, name);
            let nearest: Vec<&str> = nearest.iter().map(String::as_str).collect();
            draft.report(diagnostics::destination_missing(
                op, alias, name, to.span, &nearest,
            ));
            false
        }
        _ => true,
    }
}

/// Binds a step's result and records the write for output-alias inference.
pub(super) fn write(draft: &mut Draft, alias: &str, name: &str, node: NodeId) {
    draft.bind(alias, name, Some(node));
    draft.record_write(alias);
}

/// `from` → new `to` for every match of `from`: the shape of `copy`, `scale`, `cast`, `clamp`,
/// `reshape`, `permute`, `transpose`, `fill`. `make` builds the new value from the (possibly
/// sliced) source operand.
pub(super) fn map_out_of_place(
    draft: &mut Draft,
    op: &str,
    from: &Spanned<TensorRef>,
    to: &Spanned<TensorRef>,
    mut make: impl FnMut(&mut Draft, Operand) -> Result<NodeId, Diagnostic>,
) -> Result<(), Diagnostic> {
    let sources = draft.expand(op, "source", from, false)?;
    let Some(planned) = destinations(draft, op, &sources, to, Policy::MustNotExist) else {
        return Ok(());
    };
    for (source, (alias, name)) in sources.iter().zip(planned) {
        let result = draft
            .operand(op, "from", source, from, true)
            .and_then(|operand| make(draft, operand));
        match result {
            Ok(node) => write(draft, &alias, &name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

/// Replaces every match of `target` by `make`'s value of it — of its slice region when the
/// reference has one (then the result is a new version of the whole tensor).
pub(super) fn map_in_place(
    draft: &mut Draft,
    op: &str,
    target: &Spanned<TensorRef>,
    slice_allowed: bool,
    mut make: impl FnMut(&mut Draft, Operand) -> Result<NodeId, Diagnostic>,
) -> Result<(), Diagnostic> {
    let targets = draft.expand(op, "target", target, false)?;
    for matched in &targets {
        let result = draft
            .operand(op, "target", matched, target, slice_allowed)
            .and_then(|region| {
                let value = make(draft, region.clone())?;
                merge_region(draft, op, matched, target, region, value)
            });
        match result {
            Ok(node) => write(draft, &matched.alias, &matched.name, node),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    Ok(())
}

/// When `region` is a view of `whole`, the new whole tensor with `value` in the region; otherwise
/// `value` itself.
fn merge_region(
    draft: &mut Draft,
    op: &str,
    whole: &Matched,
    reference: &Spanned<TensorRef>,
    region: Operand,
    value: NodeId,
) -> Result<NodeId, Diagnostic> {
    if region.node == whole.node {
        return Ok(value);
    }
    let Some(slice) = &reference.slice else {
        return Ok(value);
    };
    let Some(base) = draft.type_of(whole.node).cloned() else {
        return Ok(value);
    };
    let spec = resolve_slice(&slice.node.0, &base.shape)
        .map_err(|error| draft.type_diagnostic(op, &error, &[whole_operand(whole, reference)]))?;
    let value = Operand {
        node: value,
        name: format!("the new value of {}", region.name),
        used_at: region.used_at,
    };
    draft.add(
        op,
        NodeKind::Layout(Layout::UpdateRegion(spec)),
        &[whole_operand(whole, reference), value],
    )
}

fn whole_operand(matched: &Matched, reference: &Spanned<TensorRef>) -> Operand {
    Operand {
        node: matched.node,
        name: matched.label(),
        used_at: reference.span,
    }
}

/// Writes `value` into the existing tensor `alias::name` (through `to`'s slice when it has one):
/// the result must have exactly the destination's (or region's) type — no casting, no
/// broadcasting. Returns the new value of the whole destination.
pub(super) fn write_into(
    draft: &mut Draft,
    op: &str,
    alias: &str,
    name: &str,
    to: &Spanned<TensorRef>,
    value: Operand,
) -> Result<NodeId, Diagnostic> {
    let Some(base) = draft.env.lookup(alias, name) else {
        let nearest = draft.nearest_names(alias, name);
        let nearest: Vec<&str> = nearest.iter().map(String::as_str).collect();
        return Err(diagnostics::destination_missing(
            op, alias, name, to.span, &nearest,
        ));
    };
    let destination = Matched {
        alias: alias.to_string(),
        name: name.to_string(),
        node: base,
        captures: super::expand::Captures::Structured(Default::default()),
    };
    let base_type = draft.type_of(base).cloned();
    let value_type = draft.type_of(value.node).cloned();
    let (Some(base_type), Some(value_type)) = (base_type, value_type) else {
        return Ok(value.node);
    };
    let sliced = to.slice.as_ref().filter(|slice| !slice.node.0.is_empty());
    let Some(slice) = sliced else {
        // A whole-tensor write: the value must have the destination's type exactly.
        if let Err(error) = same_type_at(&base_type, 0, &value_type, 1) {
            let infos = vec![
                operand_info(draft, &destination.label(), &base_type, to.span, base),
                operand_info(draft, &value.name, &value_type, value.used_at, value.node),
            ];
            return Err(diagnostics::type_error(op, &error, draft.step_span, &infos));
        }
        return Ok(value.node);
    };
    let spec = resolve_slice(&slice.node.0, &base_type.shape)
        .map_err(|error| draft.type_diagnostic(op, &error, &[whole_operand(&destination, to)]))?;
    // Check the region against the value first so the message shows the region's type.
    let region_type = crate::tensor::TensorType::new(
        base_type.dtype,
        spec.view_shape(&base_type.shape).map_err(|error| {
            draft.type_diagnostic(op, &error, &[whole_operand(&destination, to)])
        })?,
    );
    if let Err(error) = same_type_at(&region_type, 0, &value_type, 1) {
        let infos = vec![
            operand_info(
                draft,
                &format!("{}[…]", destination.label()),
                &region_type,
                slice.span,
                base,
            ),
            operand_info(draft, &value.name, &value_type, value.used_at, value.node),
        ];
        return Err(diagnostics::type_error(op, &error, draft.step_span, &infos));
    }
    draft.add(
        op,
        NodeKind::Layout(Layout::UpdateRegion(spec)),
        &[whole_operand(&destination, to), value],
    )
}

fn operand_info(
    draft: &Draft,
    name: &str,
    ty: &crate::tensor::TensorType,
    used_at: crate::diagnostics::Span,
    node: NodeId,
) -> OperandInfo {
    OperandInfo {
        name: name.to_string(),
        ty: ty.clone(),
        used_at,
        produced_at: draft.span_of(node).filter(|&span| span != draft.step_span),
    }
}

/// A name's display form `alias::name`.
pub(super) fn label(alias: &str, name: &str) -> String {
    format!("{alias}::{name}")
}
