//! Layout ops: `reshape`/`reshape_`, `permute`, `transpose`, `split`, `concat`.
//!
//! The plan's arguments are resolved against each operand's shape here (`-1` in a reshape,
//! negative dims, split offsets) with the helpers the layout family owns
//! (`graph::ops::layout`), and the family's rule checks the result. `split` and `concat` name
//! exactly one tensor per reference and literal destinations.

use std::collections::BTreeSet;

use super::{check_policy, map_in_place, map_out_of_place, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::layout::{normalize_dim, resolve_permutation, resolve_reshape};
use crate::graph::ops::{Layout, NodeKind};
use crate::graph::{NodeId, TypeError};
use crate::plan::ast::{Concat, Permute, Reshape, ReshapeInPlace, Split, Transpose};

/// Resolves an argument against the operand's type, reporting a failure as a type error of `op`.
fn resolve<T>(
    draft: &Draft,
    op: &str,
    operand: &Operand,
    resolve: impl FnOnce(&crate::tensor::TensorType) -> Result<T, TypeError>,
) -> Result<T, Diagnostic> {
    let ty = draft.operand_type(operand)?;
    resolve(&ty).map_err(|error| draft.type_diagnostic(op, &error, std::slice::from_ref(operand)))
}

fn reshaped(
    op: &'static str,
    requested: Vec<i64>,
) -> impl FnMut(&mut Draft, Operand) -> Result<NodeId, Diagnostic> {
    move |draft, operand| {
        let shape = resolve(draft, op, &operand, |ty| {
            resolve_reshape(&requested, &ty.shape)
        })?;
        draft.add(op, NodeKind::Layout(Layout::Reshape { shape }), &[operand])
    }
}

pub(super) fn reshape(draft: &mut Draft, reshape: &Reshape) -> Result<(), Diagnostic> {
    let requested = reshape.shape.node.clone();
    map_out_of_place(
        draft,
        "reshape",
        &reshape.from,
        &reshape.to,
        reshaped("reshape", requested),
    )
}

pub(super) fn reshape_in_place(
    draft: &mut Draft,
    reshape: &ReshapeInPlace,
) -> Result<(), Diagnostic> {
    let requested = reshape.shape.node.clone();
    map_in_place(
        draft,
        "reshape_",
        &reshape.target,
        false,
        reshaped("reshape_", requested),
    )
}

pub(super) fn permute(draft: &mut Draft, permute: &Permute) -> Result<(), Diagnostic> {
    let requested = permute.order.node.clone();
    map_out_of_place(
        draft,
        "permute",
        &permute.from,
        &permute.to,
        |draft, operand| {
            let order = resolve(draft, "permute", &operand, |ty| {
                resolve_permutation(&requested, ty.shape.rank())
            })?;
            draft.add(
                "permute",
                NodeKind::Layout(Layout::Permute { order }),
                &[operand],
            )
        },
    )
}

pub(super) fn transpose(draft: &mut Draft, transpose: &Transpose) -> Result<(), Diagnostic> {
    let (dim0, dim1) = (transpose.dim0.node, transpose.dim1.node);
    map_out_of_place(
        draft,
        "transpose",
        &transpose.from,
        &transpose.to,
        |draft, operand| {
            let (dim0, dim1) = resolve(draft, "transpose", &operand, |ty| {
                Ok((
                    normalize_dim(dim0, ty.shape.rank())?,
                    normalize_dim(dim1, ty.shape.rank())?,
                ))
            })?;
            draft.add(
                "transpose",
                NodeKind::Layout(Layout::Transpose { dim0, dim1 }),
                &[operand],
            )
        },
    )
}

pub(super) fn split(draft: &mut Draft, split: &Split) -> Result<(), Diagnostic> {
    let op = "split";
    let sizes = &split.sizes.node;
    if sizes.len() != split.to.len() {
        return Err(diagnostics::split_arity(
            sizes.len(),
            split.to.len(),
            split.sizes.span,
        ));
    }
    let source = draft.expand_one(op, "from", &split.from)?;
    let operand = draft.operand(op, "from", &source, &split.from, true)?;
    let requested_dim = split.dim.as_ref().map_or(0, |d| d.node);
    let (dim, size) = resolve(draft, op, &operand, |ty| {
        let dim = normalize_dim(requested_dim, ty.shape.rank())?;
        Ok((dim, ty.shape.dims()[dim]))
    })?;
    let sum: u64 = sizes.iter().sum();
    if sum != size {
        return Err(diagnostics::split_sizes(sum, size, dim, split.sizes.span));
    }
    let mut names = Vec::with_capacity(split.to.len());
    let mut seen = BTreeSet::new();
    let mut failed = false;
    for to in &split.to {
        let (alias, name) = draft.literal_destination(op, "to", to)?;
        if !seen.insert((alias.clone(), name.clone())) {
            draft.report(diagnostics::destination_collision(
                op,
                &alias,
                &name,
                &source.name,
                &source.name,
                to.span,
            ));
            failed = true;
        }
        if !check_policy(draft, op, &alias, &name, to, Policy::MustNotExist) {
            failed = true;
        }
        names.push((alias, name));
    }
    if failed {
        return Ok(());
    }
    let mut start = 0;
    for ((alias, name), &length) in names.iter().zip(sizes) {
        let piece = draft.add(
            op,
            NodeKind::Layout(Layout::SplitPiece { dim, start, length }),
            std::slice::from_ref(&operand),
        )?;
        write(draft, alias, name, piece);
        start += length;
    }
    Ok(())
}

pub(super) fn concat(draft: &mut Draft, concat: &Concat) -> Result<(), Diagnostic> {
    let op = "concat";
    let mut operands = Vec::with_capacity(concat.from.len());
    for from in &concat.from {
        match draft
            .expand_one(op, "from", from)
            .and_then(|matched| draft.operand(op, "from", &matched, from, true))
        {
            Ok(operand) => operands.push(operand),
            Err(diagnostic) => draft.report(diagnostic),
        }
    }
    if operands.len() != concat.from.len() {
        return Ok(());
    }
    let (alias, name) = draft.literal_destination(op, "to", &concat.to)?;
    if !check_policy(draft, op, &alias, &name, &concat.to, Policy::MustNotExist) {
        return Ok(());
    }
    let requested_dim = concat.dim.as_ref().map_or(0, |d| d.node);
    let dim = resolve(draft, op, &operands[0], |ty| {
        normalize_dim(requested_dim, ty.shape.rank())
    })?;
    let node = draft.add(op, NodeKind::Layout(Layout::Concat { dim }), &operands)?;
    write(draft, &alias, &name, node);
    Ok(())
}
