//! The REPL's state: the plan typed so far over the incremental compiler.
//!
//! A [`ReplSession`] receives parsed entries (steps, and possibly a new output) and applies them
//! to a [`CompileSession`]; it returns what each step did, or the diagnostics of the first
//! rejected step. It keeps the accepted steps in order — the accumulated plan that `:plan`
//! prints and `:save` writes — and one undo record per accepted change.
//!
//! **Guarantees.** An entry is atomic: when any of its steps is rejected, the compile state, the
//! steps and the output are exactly as before the entry (the compiler leaves its state unchanged
//! on a rejected step, and the steps of the entry accepted before it are undone). `help` steps are
//! answered, not recorded: they ask about the plan rather than being part of it.

use crate::compile::{CompileSession, StepEffect};
use crate::diagnostics::Diagnostic;
use crate::plan::ast::{HelpTopic, Input, Op, Output, Plan, Spanned, Step};
use crate::plan::reference::AliasScope;

use super::entry::ParsedEntry;

/// What one step of an accepted entry did.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The step was compiled into the state.
    Applied { keyword: String, effect: StepEffect },
    /// A `help` step, to be answered with this topic.
    Help(Option<HelpTopic>),
    /// A terse `output` line replaced the plan's output.
    OutputSet(Output),
}

/// What `:undo` took back.
#[derive(Debug, Clone, PartialEq)]
pub enum Undone {
    Step(Box<Step>),
    /// The output that an `output` line had set (the previous one is back).
    Output(Option<Output>),
}

/// One accepted change, with what is needed to take it back.
#[derive(Clone)]
enum Change<'a> {
    Step { before: Box<CompileSession<'a>> },
    Output { before: Option<Spanned<Output>> },
}

#[derive(Clone)]
pub struct ReplSession<'a> {
    inputs: Vec<Spanned<Input>>,
    scope: AliasScope,
    output: Option<Spanned<Output>>,
    steps: Vec<Spanned<Step>>,
    compiler: CompileSession<'a>,
    changes: Vec<Change<'a>>,
}

impl<'a> ReplSession<'a> {
    /// A session over a compiler built from `inputs`' headers, with the plan's output (if any).
    pub fn new(
        inputs: Vec<Spanned<Input>>,
        output: Option<Spanned<Output>>,
        compiler: CompileSession<'a>,
    ) -> ReplSession<'a> {
        let aliases = inputs
            .iter()
            .map(|input| input.alias_or_default().to_string())
            .collect();
        ReplSession {
            inputs,
            scope: AliasScope::from_inputs(aliases),
            output,
            steps: Vec::new(),
            compiler,
            changes: Vec::new(),
        }
    }

    /// The aliases unqualified references in an entry may mean.
    pub fn scope(&self) -> &AliasScope {
        &self.scope
    }

    pub fn compiler(&self) -> &CompileSession<'a> {
        &self.compiler
    }

    /// The accepted steps, in order.
    pub fn steps(&self) -> &[Spanned<Step>] {
        &self.steps
    }

    pub fn output(&self) -> Option<&Spanned<Output>> {
        self.output.as_ref()
    }

    /// Whether an `exit` step was accepted: the prompt ends.
    pub fn has_exited(&self) -> bool {
        self.compiler.has_exited()
    }

    /// The accumulated plan: the session's inputs, the accepted steps and the output.
    pub fn plan(&self) -> Plan {
        Plan {
            inputs: self.inputs.clone(),
            steps: self.steps.clone(),
            output: self.output.clone(),
        }
    }

    /// Applies every step of an entry, then its output. Rejected → the first rejected step's
    /// diagnostics, with the session as before the entry.
    pub fn submit(&mut self, entry: ParsedEntry) -> Result<Vec<StepOutcome>, Vec<Diagnostic>> {
        let mark = self.changes.len();
        let mut outcomes = Vec::with_capacity(entry.steps.len() + 1);
        for step in entry.steps {
            if let Op::Help(help) = &step.node.op {
                outcomes.push(StepOutcome::Help(
                    help.topic.as_ref().map(|t| t.node.clone()),
                ));
                continue;
            }
            match self.apply(step) {
                Ok(outcome) => outcomes.push(outcome),
                Err(diagnostics) => {
                    while self.changes.len() > mark {
                        self.undo();
                    }
                    return Err(diagnostics);
                }
            }
        }
        if let Some(output) = entry.output {
            let before = self.output.replace(output.clone());
            self.changes.push(Change::Output { before });
            outcomes.push(StepOutcome::OutputSet(output.node));
        }
        Ok(outcomes)
    }

    fn apply(&mut self, step: Spanned<Step>) -> Result<StepOutcome, Vec<Diagnostic>> {
        let before = Box::new(self.compiler.clone());
        let effect = self.compiler.apply(&step)?;
        self.changes.push(Change::Step { before });
        let keyword = step.node.keyword.node.clone();
        self.steps.push(step);
        Ok(StepOutcome::Applied { keyword, effect })
    }

    /// Takes back the last accepted change; `None` when there is none.
    pub fn undo(&mut self) -> Option<Undone> {
        match self.changes.pop()? {
            Change::Step { before } => {
                self.compiler = *before;
                self.steps
                    .pop()
                    .map(|step| Undone::Step(Box::new(step.node)))
            }
            Change::Output { before } => {
                let undone = std::mem::replace(&mut self.output, before);
                Some(Undone::Output(undone.map(|output| output.node)))
            }
        }
    }
}
