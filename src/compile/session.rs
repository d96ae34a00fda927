//! The incremental compiler: a symbolic state that takes one step at a time.
//!
//! A [`CompileSession`] starts from the inputs' headers (a `Load` node per tensor) and receives
//! spanned steps through [`CompileSession::apply`]: an accepted step returns its [`StepEffect`]
//! and the state moves on; a rejected step returns all of its diagnostics and the state — graph,
//! bindings, flags — is **exactly** as before (the REPL and the web UI rely on this, and batch
//! compilation uses it to skip a bad step and keep checking). [`CompileSession::finish`] adds the
//! `Store` nodes of the plan's output.

use super::draft::{Context, Draft, Flags};
use super::environment::Environment;
use super::lower::lower;
use super::output::{self, CompiledPlan, FinishFailure};
use super::{HeaderSource, InputHeaders, PlanSource, StepEffect};
use crate::diagnostics::{Diagnostic, Severity};
use crate::graph::ops::{Load, NodeKind};
use crate::graph::{NodeId, PlanGraph};
use crate::plan::ast::{Output, Spanned, Step};
use crate::tensor::TensorType;

#[derive(Clone)]
pub struct CompileSession<'a> {
    graph: PlanGraph,
    env: Environment,
    flags: Flags,
    headers: &'a dyn HeaderSource,
    plans: Option<&'a dyn PlanSource>,
    default_alias: Option<String>,
    input_aliases: Vec<String>,
}

impl<'a> CompileSession<'a> {
    /// A session over `inputs`; `headers` serves later `load` steps.
    pub fn new(inputs: Vec<InputHeaders>, headers: &'a dyn HeaderSource) -> CompileSession<'a> {
        let mut graph = PlanGraph::new();
        let mut env = Environment::default();
        let mut log = Vec::new();
        let default_alias = match inputs.as_slice() {
            [only] => Some(only.alias.clone()),
            _ => None,
        };
        let input_aliases = inputs.iter().map(|input| input.alias.clone()).collect();
        for input in inputs {
            env.create_alias(&input.alias, &mut log);
            for (name, ty) in input.tensors {
                let node = graph.add_node(
                    NodeKind::Load(Load {
                        alias: input.alias.clone(),
                        path: input.path.clone(),
                        tensor: name.clone(),
                        ty: ty.clone(),
                    }),
                    Some(ty),
                    &[],
                    input.span,
                );
                env.bind(&input.alias, &name, Some(node), &mut log);
            }
        }
        CompileSession {
            graph,
            env,
            flags: Flags::default(),
            headers,
            plans: None,
            default_alias,
            input_aliases,
        }
    }

    /// Lets `execute: {path: …}` read nested plans.
    pub fn with_plan_source(mut self, plans: &'a dyn PlanSource) -> Self {
        self.plans = Some(plans);
        self
    }

    /// Checks and applies one step. Rejected → the diagnostics, and the session unchanged.
    pub fn apply(&mut self, step: &Spanned<Step>) -> Result<StepEffect, Vec<Diagnostic>> {
        if self.flags.exited {
            return Err(vec![Diagnostic::error(
                "E0428",
                "the plan has exited; no further steps run",
            )
            .with_label(step.node.keyword.span, "after `exit`")]);
        }
        let context = Context {
            headers: self.headers,
            plans: self.plans,
            default_alias: self.default_alias.as_deref(),
        };
        let Some(first_id) = self.graph.next_node_id() else {
            return Err(vec![Diagnostic::error(
                "E0499",
                "internal error: the session's graph had nodes removed and cannot take new steps",
            )]);
        };
        let flags = std::mem::take(&mut self.flags);
        let mut draft = Draft::new(
            &self.graph,
            &mut self.env,
            context,
            flags,
            step.node.keyword.span,
            first_id,
        );
        lower(&mut draft, step);
        if draft
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
        {
            let (diagnostics, flags) = draft.rollback();
            self.flags = flags;
            return Err(diagnostics);
        }
        let commit = draft.into_commit();
        let (effect, flags) = commit.apply(&mut self.graph);
        self.flags = flags;
        Ok(effect)
    }

    pub fn has_exited(&self) -> bool {
        self.flags.exited
    }

    pub fn is_dry_run(&self) -> bool {
        self.flags.dry_run()
    }

    /// The graph so far (without the output's `Store` nodes).
    pub fn graph(&self) -> &PlanGraph {
        &self.graph
    }

    /// Every alias, sorted.
    pub fn aliases(&self) -> Vec<&str> {
        self.env.alias_names()
    }

    /// The tensors of an alias at this point, sorted by name (empty for an unknown alias).
    pub fn tensors(&self, alias: &str) -> Vec<(&str, &TensorType)> {
        self.env
            .alias(alias)
            .into_iter()
            .flat_map(|table| table.iter())
            .filter_map(|(name, &node)| Some((name.as_str(), self.graph.type_of(node)?)))
            .collect()
    }

    /// The graph node that `name` of `alias` is bound to at this point (`None` when unbound), so
    /// a caller can tell an untouched input tensor (a `Load`) from a computed one.
    pub fn binding(&self, alias: &str, name: &str) -> Option<NodeId> {
        self.env.lookup(alias, name)
    }

    /// The alias an unqualified reference means: the only input's, when there is exactly one.
    pub fn default_alias(&self) -> Option<&str> {
        self.default_alias.as_deref()
    }

    /// Resolves the output alias and adds a `Store` per tensor it holds. Without an output the
    /// graph is returned as it is. On failure the graph comes back with the diagnostics.
    pub fn finish(
        self,
        output: Option<&Spanned<Output>>,
    ) -> Result<CompiledPlan, Box<FinishFailure>> {
        output::finish(
            self.graph,
            &self.env,
            &self.flags,
            &self.input_aliases,
            output,
        )
    }
}
