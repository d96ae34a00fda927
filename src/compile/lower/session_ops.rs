//! Ops that act on the session rather than on tensor values: `load`, `save`, `prefixes`, `set`,
//! `execute`.
//!
//! `load` asks the [`HeaderSource`](crate::compile::HeaderSource) for a file's header (never its
//! bytes) and binds a `Load` node per tensor; `save` registers an output and its `Store` nodes;
//! `prefixes` adds, removes and renames aliases; `set dry-run` snapshots the environment and
//! restores it when switched off (so writes in between are discarded, and `load`/`save` are
//! skipped meanwhile, as in BrainSurgery); `execute` inlines a nested plan — its inputs become
//! loads and its output a save — one level deep.

use super::{check_policy, label, lower, write, Policy};
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Load as LoadNode, NodeKind, Store};
use crate::graph::OutputSpec;
use crate::io::CheckpointFormat;
use crate::plan::ast::{
    self, Execute, FileFormat, Load, Op, Plan, Prefixes, Save, Set, Spanned, Step,
    DEFAULT_INPUT_ALIAS,
};

pub(super) fn load(draft: &mut Draft, load: &Load) -> Result<(), Diagnostic> {
    let op = "load";
    if draft.flags.dry_run() {
        return Ok(());
    }
    let path = &load.path;
    let tensors = draft
        .context
        .headers
        .headers(&path.node)
        .map_err(|diagnostic| {
            if diagnostic.labels.is_empty() {
                diagnostic.with_label(path.span, "this file")
            } else {
                diagnostic
            }
        })?;
    if let Some(format) = &load.format {
        let found = draft.context.headers.format(&path.node);
        if let Some(found) = found.filter(|found| !format_matches(format.node, *found)) {
            return Err(diagnostics::load_format_mismatch(
                &path.node, format, found, path.span,
            ));
        }
    }
    match &load.to {
        None => {
            let alias = match &load.alias {
                Some(alias) => alias.node.clone(),
                None => draft
                    .default_alias()
                    .unwrap_or_else(|| DEFAULT_INPUT_ALIAS.to_string()),
            };
            if draft.env.has_alias(&alias) {
                let span = load.alias.as_ref().map_or(draft.step_span, |a| a.span);
                return Err(diagnostics::alias_exists(op, &alias, span));
            }
            draft.env.create_alias(&alias, &mut draft.log);
            for (name, ty) in tensors {
                let node = load_node(draft, &alias, &path.node, &name, ty)?;
                draft.bind(&alias, &name, Some(node));
            }
            draft.record_write(&alias);
        }
        Some(to) => {
            let [(name, ty)] = tensors.as_slice() else {
                return Err(diagnostics::exactly_one_required(
                    op,
                    "file",
                    tensors.len(),
                    path.span,
                ));
            };
            let (alias, destination) = draft.literal_destination(op, "to", to)?;
            if !check_policy(draft, op, &alias, &destination, to, Policy::MustNotExist) {
                return Ok(());
            }
            let node = load_node(draft, &alias, &path.node, name, ty.clone())?;
            write(draft, &alias, &destination, node);
        }
    }
    Ok(())
}

/// Whether a file recognised as `found` is what `load`'s `format` promised.
fn format_matches(format: FileFormat, found: CheckpointFormat) -> bool {
    match format {
        FileFormat::Auto => true,
        FileFormat::Safetensors => found == CheckpointFormat::Safetensors,
        FileFormat::Torch => found == CheckpointFormat::Torch,
        FileFormat::Numpy => matches!(found, CheckpointFormat::Npy | CheckpointFormat::Npz),
        FileFormat::Dcp => false,
    }
}

fn load_node(
    draft: &mut Draft,
    alias: &str,
    path: &str,
    name: &str,
    ty: crate::tensor::TensorType,
) -> Result<crate::graph::NodeId, Diagnostic> {
    draft.add(
        "load",
        NodeKind::Load(LoadNode {
            alias: alias.to_string(),
            path: path.to_string(),
            tensor: name.to_string(),
            ty,
        }),
        &[],
    )
}

pub(super) fn save(draft: &mut Draft, save: &Save) -> Result<(), Diagnostic> {
    let op = "save";
    if draft.flags.dry_run() {
        return Ok(());
    }
    let alias = match (&save.alias, &save.target) {
        (Some(alias), _) => {
            if !draft.env.has_alias(&alias.node) {
                return Err(diagnostics::unknown_alias(
                    &alias.node,
                    alias.span,
                    &draft.env.alias_names(),
                ));
            }
            alias.node.clone()
        }
        (None, Some(target)) => draft.alias_of(target, crate::compile::expand::AliasUse::Read)?,
        (None, None) => match draft.default_alias() {
            Some(alias) => alias,
            None => match draft.env.alias_names().as_slice() {
                [only] => only.to_string(),
                known => return Err(diagnostics::missing_alias(draft.step_span, known)),
            },
        },
    };
    let names: Vec<(String, crate::graph::NodeId)> = match &save.target {
        Some(target) => {
            let (_, name) = draft.literal_destination(op, "target", target)?;
            let Some(node) = draft.env.lookup(&alias, &name) else {
                let nearest = draft.nearest_names(&alias, &name);
                let nearest: Vec<&str> = nearest.iter().map(String::as_str).collect();
                return Err(diagnostics::source_missing(
                    op,
                    "target",
                    &alias,
                    &name,
                    target.span,
                    &nearest,
                ));
            };
            vec![(name, node)]
        }
        None => draft
            .env
            .alias(&alias)
            .into_iter()
            .flat_map(|table| table.iter().map(|(n, &node)| (n.clone(), node)))
            .collect(),
    };
    let output = draft.add_output(OutputSpec {
        path: save.path.node.clone(),
        alias: alias.clone(),
        format: save.format.as_ref().map(|f| f.node.name().to_string()),
        shard: save.shard.as_ref().map(|s| s.node.clone()),
        is_plan_output: false,
    });
    for (name, node) in names {
        let operand = Operand {
            node,
            name: label(&alias, &name),
            used_at: draft.step_span,
        };
        draft.add(op, NodeKind::Store(Store::new(output, name)), &[operand])?;
    }
    Ok(())
}

pub(super) fn prefixes(draft: &mut Draft, prefixes: &Prefixes) -> Result<(), Diagnostic> {
    let op = "prefixes";
    let known = |draft: &Draft| {
        draft
            .env
            .alias_names()
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match prefixes {
        Prefixes::List => {}
        Prefixes::Add { alias } => {
            if draft.env.has_alias(&alias.node) {
                return Err(diagnostics::alias_exists(op, &alias.node, alias.span));
            }
            draft.env.create_alias(&alias.node, &mut draft.log);
            draft.record_write(&alias.node);
        }
        Prefixes::Remove { alias } => {
            if draft
                .env
                .remove_alias(&alias.node, &mut draft.log)
                .is_none()
            {
                let names = known(draft);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                return Err(diagnostics::unknown_alias(&alias.node, alias.span, &names));
            }
        }
        Prefixes::Rename { from, to } => {
            if !draft.env.has_alias(&from.node) {
                let names = known(draft);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                return Err(diagnostics::unknown_alias(&from.node, from.span, &names));
            }
            if draft.env.has_alias(&to.node) {
                return Err(diagnostics::alias_exists(op, &to.node, to.span));
            }
            let table = draft
                .env
                .remove_alias(&from.node, &mut draft.log)
                .unwrap_or_default();
            draft.env.create_alias(&to.node, &mut draft.log);
            for (name, node) in table {
                draft.bind(&to.node, &name, Some(node));
            }
            draft.record_write(&to.node);
        }
    }
    Ok(())
}

pub(super) fn set(draft: &mut Draft, set: &Set) -> Result<(), Diagnostic> {
    match set.dry_run.as_ref().map(|d| d.node) {
        Some(true) if !draft.flags.dry_run() => {
            draft.flags.dry_run_snapshot = Some(draft.env.clone());
        }
        Some(false) => {
            if let Some(snapshot) = draft.flags.dry_run_snapshot.take() {
                draft.env.replace(snapshot, &mut draft.log);
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn execute(draft: &mut Draft, execute: &Execute) -> Result<(), Diagnostic> {
    if draft.execute_depth > 0 {
        return Err(diagnostics::nested_execute(draft.step_span));
    }
    let loaded;
    let (steps, nested) = match execute {
        Execute::Steps(steps) => (steps.clone(), None),
        Execute::Plan(plan) => (plan_steps(plan), Some(plan.as_ref())),
        Execute::Path(path) => {
            let Some(plans) = draft.context.plans else {
                return Err(diagnostics::plan_source_unavailable(path.span));
            };
            match plans.load_plan(&path.node) {
                Ok(plan) => {
                    loaded = plan;
                    (plan_steps(&loaded), Some(&loaded))
                }
                Err(errors) => {
                    for error in errors {
                        draft.report(error);
                    }
                    return Ok(());
                }
            }
        }
    };
    // A nested plan with one input resolves its unqualified references to that input, as the
    // front end read them; without inputs it keeps the enclosing plan's default.
    let default = nested
        .and_then(|plan| plan.default_alias())
        .map(str::to_string);
    let previous = std::mem::replace(&mut draft.nested_default_alias, default);
    draft.execute_depth += 1;
    for step in &steps {
        if draft.flags.exited {
            break;
        }
        lower(draft, step);
    }
    draft.execute_depth -= 1;
    draft.nested_default_alias = previous;
    Ok(())
}

/// A nested plan as steps: a `load` per input, its transforms, a `save` of its output.
fn plan_steps(plan: &Plan) -> Vec<Spanned<Step>> {
    let mut steps = Vec::with_capacity(plan.inputs.len() + plan.steps.len() + 1);
    for input in &plan.inputs {
        let keyword = Spanned::new("load".to_string(), input.span);
        let alias = input
            .alias
            .clone()
            .or_else(|| Some(Spanned::new(DEFAULT_INPUT_ALIAS.to_string(), input.span)));
        steps.push(Spanned::new(
            Step {
                keyword,
                op: Op::Load(Load {
                    path: input.path.clone(),
                    alias,
                    to: None,
                    format: None,
                }),
            },
            input.span,
        ));
    }
    steps.extend(plan.steps.iter().cloned());
    if let Some(output) = &plan.output {
        let keyword = Spanned::new("save".to_string(), output.span);
        steps.push(Spanned::new(
            Step {
                keyword,
                op: Op::Save(Save {
                    path: output.path.clone(),
                    alias: output.alias.clone(),
                    target: None,
                    format: output.format.as_ref().map(|f| {
                        f.clone().map(|format| match format {
                            ast::OutputFormat::Safetensors => ast::FileFormat::Safetensors,
                            ast::OutputFormat::Torch => ast::FileFormat::Torch,
                            ast::OutputFormat::Dcp => ast::FileFormat::Dcp,
                        })
                    }),
                    shard: output.shard.clone(),
                }),
            },
            output.span,
        ));
    }
    steps
}
