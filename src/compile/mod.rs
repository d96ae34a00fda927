//! Compile: symbolic execution of a plan's steps over the inputs' headers, producing a typed SSA
//! [`PlanGraph`] and every diagnostic knowable before a tensor byte is read.
//!
//! It receives a plan AST and a [`HeaderSource`] (headers as plain data: `(name, TensorType)`
//! lists per file — the CLI backs it with checkpoint headers, tests with [`MemoryHeaders`]) and
//! returns a [`Compilation`]: the graph, the output it writes, and all diagnostics. The core is the
//! incremental [`CompileSession`]: one step at a time, an accepted step changes the state, a
//! rejected one leaves it **exactly** unchanged; batch compilation is a loop over it that skips
//! rejected steps and keeps checking the rest, so one run reports every error. Nothing here opens
//! a checkpoint or reads tensor data.

pub mod diagnostics;
mod draft;
mod environment;
mod expand;
mod lower;
pub mod memory;
mod output;
mod regex;
mod session;
mod structured;
pub mod summary;

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::graph::{OutputId, PlanGraph};
use crate::io::CheckpointFormat;
use crate::plan::ast::Plan;
use crate::tensor::TensorType;

pub use output::{CompiledPlan, FinishFailure};
pub use session::CompileSession;

/// Where the compiler gets a checkpoint's header: the tensor names and types of the file or
/// directory at `path`, in the file's order. Implementations must not read tensor data.
pub trait HeaderSource {
    fn headers(&self, path: &str) -> Result<Vec<(String, TensorType)>, Diagnostic>;

    /// The format of the file at `path`, recognised by content, once [`Self::headers`] has read
    /// it; `None` where the source does not know (headers held in memory). `load`'s `format`
    /// is checked against it.
    fn format(&self, _path: &str) -> Option<CheckpointFormat> {
        None
    }
}

/// Where `execute: {path: …}` gets a nested plan (the CLI parses the file with the plan front
/// end, recording its text in the run's source map).
pub trait PlanSource {
    fn load_plan(&self, path: &str) -> Result<Plan, Vec<Diagnostic>>;
}

/// A [`HeaderSource`] over headers held in memory (tests, the REPL, the web UI).
#[derive(Debug, Clone, Default)]
pub struct MemoryHeaders {
    files: BTreeMap<String, Vec<(String, TensorType)>>,
}

impl MemoryHeaders {
    pub fn new() -> MemoryHeaders {
        MemoryHeaders::default()
    }

    pub fn with_file(
        mut self,
        path: impl Into<String>,
        tensors: Vec<(String, TensorType)>,
    ) -> Self {
        self.files.insert(path.into(), tensors);
        self
    }
}

impl HeaderSource for MemoryHeaders {
    fn headers(&self, path: &str) -> Result<Vec<(String, TensorType)>, Diagnostic> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| diagnostics::headers_unavailable(path, "no such checkpoint", None))
    }
}

/// One input of a session: an alias, its file, and the file's header.
#[derive(Debug, Clone)]
pub struct InputHeaders {
    pub alias: String,
    pub path: String,
    /// The plan text declaring the input, when there is one (labels of diagnostics).
    pub span: Option<Span>,
    pub tensors: Vec<(String, TensorType)>,
}

/// What one accepted step did to the names (each list sorted by alias, then name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepEffect {
    pub created: Vec<EffectEntry>,
    /// Names bound to a new value (with the new type).
    pub changed: Vec<EffectEntry>,
    /// Names unbound (with the type they had).
    pub deleted: Vec<EffectEntry>,
    /// Warnings of an accepted step.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EffectEntry {
    pub alias: String,
    pub name: String,
    pub ty: TensorType,
}

/// The result of compiling a whole plan.
#[derive(Debug, Clone, Default)]
pub struct Compilation {
    pub graph: PlanGraph,
    /// The plan's output, when it has one and it could be resolved.
    pub output: Option<OutputId>,
    /// Errors and warnings, in plan order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Reads the headers of the plan's inputs; every input that cannot be read is reported.
pub fn read_inputs(
    plan: &Plan,
    headers: &dyn HeaderSource,
) -> Result<Vec<InputHeaders>, Vec<Diagnostic>> {
    let mut inputs = Vec::with_capacity(plan.inputs.len());
    let mut errors = Vec::new();
    for input in &plan.inputs {
        match headers.headers(&input.path.node) {
            Ok(tensors) => inputs.push(InputHeaders {
                alias: input.alias_or_default().to_string(),
                path: input.path.node.clone(),
                span: Some(input.span),
                tensors,
            }),
            Err(diagnostic) => errors.push(if diagnostic.labels.is_empty() {
                diagnostic.with_label(input.path.span, "this input")
            } else {
                diagnostic
            }),
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

/// Compiles a whole plan: every step is checked (a rejected step is skipped and the rest still
/// checked), then the output is resolved.
pub fn compile_plan(
    plan: &Plan,
    headers: &dyn HeaderSource,
    plans: Option<&dyn PlanSource>,
) -> Compilation {
    let inputs = match read_inputs(plan, headers) {
        Ok(inputs) => inputs,
        Err(diagnostics) => {
            return Compilation {
                diagnostics,
                ..Compilation::default()
            }
        }
    };
    let mut session = CompileSession::new(inputs, headers);
    if let Some(plans) = plans {
        session = session.with_plan_source(plans);
    }
    let mut diagnostics = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        match session.apply(step) {
            Ok(effect) => diagnostics.extend(effect.warnings),
            Err(errors) => diagnostics.extend(errors),
        }
        let remaining = plan.steps.len() - index - 1;
        if session.has_exited() {
            if remaining > 0 {
                diagnostics.push(self::diagnostics::steps_after_exit(
                    remaining,
                    step.node.keyword.span,
                ));
            }
            break;
        }
    }
    match session.finish(plan.output.as_ref()) {
        Ok(compiled) => {
            diagnostics.extend(compiled.warnings);
            Compilation {
                graph: compiled.graph,
                output: compiled.output,
                diagnostics,
            }
        }
        Err(failure) => {
            let FinishFailure {
                graph,
                diagnostics: errors,
            } = *failure;
            diagnostics.extend(errors);
            Compilation {
                graph,
                output: None,
                diagnostics,
            }
        }
    }
}
