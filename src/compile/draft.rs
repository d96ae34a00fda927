//! The working state of one step: nodes about to be added, environment changes with their undo
//! log, diagnostics, and the session flags the step may change.
//!
//! It receives the session's graph (read-only) and environment (mutated through the undo log) and
//! ends in exactly one of two ways: [`Draft::commit`] adds the pending nodes to the graph and
//! returns what the step changed, or [`Draft::rollback`] reverts every environment change, so a
//! rejected step leaves the session **exactly** as it was (the graph is never touched until
//! commit). Pending nodes get provisional ids — the ids the graph will hand out next — so
//! lowering code refers to every value by [`NodeId`] alone.

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostics::{self, OperandInfo};
use super::environment::{Environment, Undo};
use super::{EffectEntry, HeaderSource, PlanSource, StepEffect};
use crate::diagnostics::{Diagnostic, Span};
use crate::graph::{NodeId, NodeKind, OutputId, OutputSpec, PlanGraph};
use crate::tensor::TensorType;

/// What a step may read besides the state: header and plan sources and the default alias.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub headers: &'a dyn HeaderSource,
    pub plans: Option<&'a dyn PlanSource>,
    pub default_alias: Option<&'a str>,
}

/// Session-wide flags a step may change.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Flags {
    pub exited: bool,
    /// Aliases written by writer steps (for output-alias inference).
    pub written: BTreeSet<String>,
    /// The environment saved when dry-run mode was switched on (restored when it is switched
    /// off); `Some` exactly while dry-run mode is on.
    pub dry_run_snapshot: Option<Environment>,
}

impl Flags {
    pub fn dry_run(&self) -> bool {
        self.dry_run_snapshot.is_some()
    }
}

/// An operand of a node being built: its value and how the user named it.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub node: NodeId,
    pub name: String,
    pub used_at: Span,
}

#[derive(Debug)]
struct PendingNode {
    kind: NodeKind,
    ty: Option<TensorType>,
    inputs: Vec<NodeId>,
    span: Span,
}

/// An accepted step, ready to be added to the graph it was drafted against.
pub(crate) struct Commit {
    pub effect: StepEffect,
    pub flags: Flags,
    nodes: Vec<PendingNode>,
    outputs: Vec<OutputSpec>,
}

impl Commit {
    /// Adds the step's outputs and nodes; the nodes receive exactly their provisional ids because
    /// the graph hands out ids in sequence (see [`PlanGraph::next_node_id`]).
    pub fn apply(self, graph: &mut PlanGraph) -> (StepEffect, Flags) {
        for output in self.outputs {
            graph.add_output(output);
        }
        for node in self.nodes {
            graph.add_node(node.kind, node.ty, &node.inputs, Some(node.span));
        }
        (self.effect, self.flags)
    }
}

pub(crate) struct Draft<'s> {
    graph: &'s PlanGraph,
    pub env: &'s mut Environment,
    pub log: Vec<Undo>,
    pub context: Context<'s>,
    pub flags: Flags,
    original_flags: Flags,
    first_id: NodeId,
    pending: Vec<PendingNode>,
    pending_outputs: Vec<OutputSpec>,
    pub diagnostics: Vec<Diagnostic>,
    /// The span new nodes are attributed to (the step being lowered; nested steps of `execute`
    /// set their own).
    pub step_span: Span,
    /// Depth of `execute` nesting (only one level is allowed).
    pub execute_depth: usize,
    /// The default alias inside a nested plan with exactly one input (that input's alias).
    pub nested_default_alias: Option<String>,
}

impl<'s> Draft<'s> {
    /// Starts a step whose first node will get `first_id` (the graph's
    /// [`PlanGraph::next_node_id`]). `flags` is moved in and handed back by
    /// `into_commit`/`rollback`.
    pub fn new(
        graph: &'s PlanGraph,
        env: &'s mut Environment,
        context: Context<'s>,
        flags: Flags,
        step_span: Span,
        first_id: NodeId,
    ) -> Draft<'s> {
        Draft {
            graph,
            env,
            log: Vec::new(),
            context,
            original_flags: flags.clone(),
            flags,
            first_id,
            pending: Vec::new(),
            pending_outputs: Vec::new(),
            diagnostics: Vec::new(),
            step_span,
            execute_depth: 0,
            nested_default_alias: None,
        }
    }

    fn pending_index(&self, id: NodeId) -> Option<usize> {
        id.index().checked_sub(self.first_id.index())
    }

    /// The type of a committed or pending node's value.
    pub fn type_of(&self, id: NodeId) -> Option<&TensorType> {
        match self.pending_index(id) {
            Some(index) => self.pending.get(index).and_then(|n| n.ty.as_ref()),
            None => self.graph.type_of(id),
        }
    }

    /// The type of an operand's value (every operand has one: sinks are never operands).
    pub fn operand_type(&self, operand: &Operand) -> Result<TensorType, Diagnostic> {
        self.type_of(operand.node).cloned().ok_or_else(|| {
            Diagnostic::error(
                "E0499",
                format!("internal error: `{}` has no value", operand.name),
            )
            .with_label(operand.used_at, "here")
        })
    }

    /// The span of the step that made a committed or pending node.
    pub fn span_of(&self, id: NodeId) -> Option<Span> {
        match self.pending_index(id) {
            Some(index) => self.pending.get(index).map(|n| n.span),
            None => self.graph.span(id),
        }
    }

    /// Adds a node after checking its operands with the kind's own rule; on failure returns the
    /// diagnostic naming both operands, their types and where they came from.
    pub fn add(
        &mut self,
        op: &str,
        kind: NodeKind,
        operands: &[Operand],
    ) -> Result<NodeId, Diagnostic> {
        let types: Vec<&TensorType> = operands
            .iter()
            .filter_map(|operand| self.type_of(operand.node))
            .collect();
        if types.len() != operands.len() {
            return Err(Diagnostic::error(
                "E0499",
                format!("internal error: an operand of `{op}` has no value"),
            )
            .with_label(self.step_span, "here"));
        }
        let ty = kind
            .infer(&types)
            .map_err(|error| self.type_diagnostic(op, &error, operands))?;
        Ok(self.push(kind, ty, operands.iter().map(|o| o.node).collect()))
    }

    /// The diagnostic for a failed rule over `operands`.
    pub fn type_diagnostic(
        &self,
        op: &str,
        error: &crate::graph::TypeError,
        operands: &[Operand],
    ) -> Diagnostic {
        let infos: Vec<OperandInfo> = operands
            .iter()
            .filter_map(|operand| {
                let ty = self.type_of(operand.node)?.clone();
                let produced_at = self
                    .span_of(operand.node)
                    .filter(|&span| span != self.step_span);
                Some(OperandInfo {
                    name: operand.name.clone(),
                    ty,
                    used_at: operand.used_at,
                    produced_at,
                })
            })
            .collect();
        diagnostics::type_error(op, error, self.step_span, &infos)
    }

    fn push(&mut self, kind: NodeKind, ty: Option<TensorType>, inputs: Vec<NodeId>) -> NodeId {
        let id = self.first_id.offset(self.pending.len());
        self.pending.push(PendingNode {
            kind,
            ty,
            inputs,
            span: self.step_span,
        });
        id
    }

    /// Registers an output (the plan's, or a `save` step's); its id is provisional until commit.
    pub fn add_output(&mut self, spec: OutputSpec) -> OutputId {
        let id = OutputId::from_index(self.graph.outputs().len() + self.pending_outputs.len());
        self.pending_outputs.push(spec);
        id
    }

    pub fn bind(&mut self, alias: &str, name: &str, value: Option<NodeId>) {
        self.env.bind(alias, name, value, &mut self.log);
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Records that a writer step wrote into `alias` (output-alias inference).
    pub fn record_write(&mut self, alias: &str) {
        if !self.flags.written.contains(alias) {
            self.flags.written.insert(alias.to_string());
        }
    }

    /// Reverts everything; returns the diagnostics and the untouched flags.
    pub fn rollback(self) -> (Vec<Diagnostic>, Flags) {
        self.env.undo(self.log);
        (self.diagnostics, self.original_flags)
    }

    /// Ends the step successfully: returns what must be added to the graph, with the step's
    /// effect, the new flags and any warnings.
    pub fn into_commit(self) -> Commit {
        let mut effect = self.effect();
        effect.warnings = self.diagnostics;
        Commit {
            effect,
            flags: self.flags,
            nodes: self.pending,
            outputs: self.pending_outputs,
        }
    }

    /// Created, changed and deleted names, from the undo log (before) and the environment (after).
    fn effect(&self) -> StepEffect {
        let mut before: BTreeMap<(String, String), Option<NodeId>> = BTreeMap::new();
        let mut replaced = false;
        for entry in &self.log {
            match entry {
                Undo::Bind {
                    alias,
                    name,
                    previous,
                } => {
                    before
                        .entry((alias.clone(), name.clone()))
                        .or_insert(*previous);
                }
                Undo::AliasRemoved { alias, table } => {
                    for (name, &node) in table {
                        before
                            .entry((alias.clone(), name.clone()))
                            .or_insert(Some(node));
                    }
                }
                Undo::AliasCreated { .. } => {}
                Undo::Replaced(previous) => {
                    replaced = true;
                    for (alias, name, node) in previous.bindings() {
                        before
                            .entry((alias.to_string(), name.to_string()))
                            .or_insert(Some(node));
                    }
                }
            }
        }
        if replaced {
            for (alias, name, _) in self.env.bindings() {
                before
                    .entry((alias.to_string(), name.to_string()))
                    .or_insert(None);
            }
        }
        let mut effect = StepEffect::default();
        for ((alias, name), old) in before {
            let new = self.env.lookup(&alias, &name);
            let entry = |ty: Option<&TensorType>| {
                ty.map(|ty| EffectEntry {
                    alias: alias.clone(),
                    name: name.clone(),
                    ty: ty.clone(),
                })
            };
            match (old, new) {
                (None, Some(node)) => effect.created.extend(entry(self.type_of(node))),
                (Some(node), None) => effect.deleted.extend(entry(self.type_of(node))),
                (Some(a), Some(b)) if a != b => effect.changed.extend(entry(self.type_of(b))),
                _ => {}
            }
        }
        effect
    }
}
