//! The plan as the editor holds it: text in one of the two syntaxes, checked against the
//! checkpoints under the served root exactly as `brainsurgery check` checks a file.
//!
//! [`check_document`] receives the text, its [`Syntax`], the [`Root`] and optionally an output
//! path chosen in the Run panel; it parses the text with the plan front ends
//! ([`crate::plan::yaml::parse_yaml`], [`crate::plan::terse::parse_terse`]), compiles it with
//! [`crate::compile::compile_plan`] over [`RootedHeaders`], and returns a [`Checked`] document:
//! the source map, the plan, the compilation and every diagnostic. **Guarantees**: every path the
//! plan reads (inputs, `load` steps, nested `execute` plans) is resolved inside the root, or the
//! step gets a diagnostic instead; every output path that lies outside the root is an error
//! diagnostic pointing at the plan; nothing but headers is read.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::root::{PathError, Root};
use crate::cli::check::CheckpointHeaders;
use crate::compile::{compile_plan, Compilation, HeaderSource, PlanSource};
use crate::diagnostics::{Diagnostic, SourceMap, Span};
use crate::graph::{OutputId, PlanGraph};
use crate::io::{Checkpoint, CheckpointFormat};
use crate::plan::ast::Plan;
use crate::plan::comments::{collect, loaded_files, PlanComments};
use crate::tensor::TensorType;

/// The two plan syntaxes of the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Terse,
}

impl Syntax {
    /// Reads the page's name for a syntax (`yaml` or `terse`).
    pub fn parse(text: &str) -> Option<Syntax> {
        match text {
            "yaml" => Some(Syntax::Yaml),
            "terse" => Some(Syntax::Terse),
            _ => None,
        }
    }

    /// The name the editor's text gets in diagnostics.
    pub fn source_name(self) -> &'static str {
        match self {
            Syntax::Yaml => "plan.yaml",
            Syntax::Terse => "plan.bs",
        }
    }
}

/// Diagnostic code of a path refused by the root's confinement.
pub const PATH_REFUSED: &str = "E0901";

/// A path refused by the root, as a diagnostic (labelled by the caller, or by the compiler with
/// the input's span).
pub fn path_refused(error: &PathError) -> Diagnostic {
    Diagnostic::error(PATH_REFUSED, format!("path refused: {error}"))
        .with_help("the Web UI reads and writes only inside the directory given with --root")
}

/// A [`HeaderSource`] that resolves every path inside the root before `check`'s own
/// [`CheckpointHeaders`] opens it, and remembers which resolved path each plan path became (a
/// run executes over the same opened checkpoints).
#[derive(Debug)]
pub struct RootedHeaders {
    root: Root,
    checkpoints: CheckpointHeaders,
    resolved: RefCell<BTreeMap<String, String>>,
}

impl RootedHeaders {
    pub fn new(root: Root) -> RootedHeaders {
        RootedHeaders {
            root,
            checkpoints: CheckpointHeaders::new(),
            resolved: RefCell::new(BTreeMap::new()),
        }
    }

    /// Each path as the plan wrote it, with the canonical path it was opened as.
    pub fn resolved(&self) -> BTreeMap<String, String> {
        self.resolved.borrow().clone()
    }

    /// The checkpoints opened so far, with their read counters.
    pub fn checkpoints(&self) -> &CheckpointHeaders {
        &self.checkpoints
    }

    /// The opened checkpoints keyed by the paths the plan names them with, as the executor looks
    /// them up. A file the plan names in two ways is opened again for the second name.
    pub fn into_checkpoints(self) -> Result<BTreeMap<String, Checkpoint>, Diagnostic> {
        let resolved = self.resolved.into_inner();
        let mut opened = self.checkpoints.into_checkpoints();
        let mut by_plan_path = BTreeMap::new();
        for (plan_path, path) in resolved {
            let checkpoint = match opened.remove(&path) {
                Some(checkpoint) => checkpoint,
                None => {
                    let checkpoint =
                        Checkpoint::open(&path).map_err(|error| error.to_diagnostic())?;
                    self.root
                        .confine_opened(&checkpoint, &plan_path)
                        .map_err(|error| path_refused(&error))?;
                    checkpoint
                }
            };
            by_plan_path.insert(plan_path, checkpoint);
        }
        Ok(by_plan_path)
    }
}

impl HeaderSource for RootedHeaders {
    fn headers(&self, path: &str) -> Result<Vec<(String, TensorType)>, Diagnostic> {
        let resolved = match self.root.existing(path) {
            Ok(resolved) => resolved,
            // A missing file gets the storage layer's own "does not exist" error.
            Err(PathError::Missing(_)) => self.root.path().join(path),
            Err(error) => return Err(path_refused(&error)),
        };
        let resolved = resolved.to_string_lossy().into_owned();
        let tensors = self.checkpoints.headers(&resolved)?;
        // Checked again on the files actually opened, in case a link changed in between.
        self.checkpoints
            .with_checkpoint(&resolved, |checkpoint| {
                self.root.confine_opened(checkpoint, path)
            })
            .map_err(|error| error.to_diagnostic())?
            .map_err(|error| path_refused(&error))?;
        self.resolved
            .borrow_mut()
            .insert(path.to_string(), resolved);
        Ok(tensors)
    }

    fn format(&self, path: &str) -> Option<CheckpointFormat> {
        let resolved = self.resolved.borrow().get(path)?.clone();
        self.checkpoints.format(&resolved)
    }
}

/// Nested plans of `execute: {path: …}`, read only from inside the root.
struct RootedPlans<'a> {
    root: &'a Root,
    sources: &'a RefCell<SourceMap>,
}

impl PlanSource for RootedPlans<'_> {
    fn load_plan(&self, path: &str) -> Result<Plan, Vec<Diagnostic>> {
        let resolved = self
            .root
            .existing(path)
            .map_err(|error| vec![path_refused(&error)])?;
        crate::plan::yaml::load_plan(&[resolved], &[], &mut self.sources.borrow_mut())
    }
}

/// A checked editor document.
#[derive(Debug)]
pub struct Checked {
    /// The editor's text is always source 0.
    pub sources: SourceMap,
    pub plan: Option<Plan>,
    pub compilation: Option<Compilation>,
    pub diagnostics: Vec<Diagnostic>,
    pub headers: RootedHeaders,
}

impl Checked {
    /// The compiled graph, when the plan parsed and compiled without errors.
    pub fn valid_graph(&self) -> Option<&PlanGraph> {
        let failed = self
            .diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        match (&self.compilation, failed) {
            (Some(compilation), false) => Some(&compilation.graph),
            _ => None,
        }
    }
}

/// Parses the editor's text with the front end of its syntax (source 0 of the returned map).
pub fn parse_document(text: &str, syntax: Syntax) -> (SourceMap, Result<Plan, Vec<Diagnostic>>) {
    let mut sources = SourceMap::new();
    let id = sources.add(syntax.source_name(), text);
    let parsed = match syntax {
        Syntax::Yaml => crate::plan::yaml::parse_yaml(&mut sources, id),
        Syntax::Terse => crate::plan::terse::parse_terse(&mut sources, id),
    };
    (sources, parsed)
}

/// The comments of the editor's text, attached to `plan` (what [`parse_document`] read from it),
/// so that converting the plan to the other syntax keeps them.
pub fn document_comments(plan: &Plan, sources: &SourceMap, syntax: Syntax) -> PlanComments {
    let document = loaded_files(sources, 0, &[syntax.source_name()]);
    collect(plan, sources, &document)
}

/// Parses and compiles the editor's text. `output` replaces the plan's output path (keeping its
/// place in the text, so diagnostics about it still point at the plan's `output`).
pub fn check_document(text: &str, syntax: Syntax, root: &Root, output: Option<&str>) -> Checked {
    let (sources, parsed) = parse_document(text, syntax);
    let headers = RootedHeaders::new(root.clone());
    let mut plan = match parsed {
        Ok(plan) => plan,
        Err(diagnostics) => {
            return Checked {
                sources,
                plan: None,
                compilation: None,
                diagnostics,
                headers,
            }
        }
    };
    if let (Some(chosen), Some(plan_output)) = (output, plan.output.as_mut()) {
        plan_output.node.path.node = chosen.to_string();
    }
    let shared = RefCell::new(sources);
    let plans = RootedPlans {
        root,
        sources: &shared,
    };
    let compilation = compile_plan(&plan, &headers, Some(&plans));
    let mut diagnostics = compilation.diagnostics.clone();
    diagnostics.extend(refused_outputs(&compilation.graph, &plan, root));
    Checked {
        sources: shared.into_inner(),
        plan: Some(plan),
        compilation: Some(compilation),
        diagnostics,
        headers,
    }
}

/// An error for every output (the plan's, or a `save` step's) whose path is not inside the root.
fn refused_outputs(graph: &PlanGraph, plan: &Plan, root: &Root) -> Vec<Diagnostic> {
    graph
        .outputs()
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let error = root.writable(&spec.path).err()?;
            let span = output_span(
                graph,
                plan,
                OutputId::from_index(index),
                spec.is_plan_output,
            );
            let diagnostic = path_refused(&error);
            Some(match span {
                Some(span) => diagnostic.with_label(span, "written here"),
                None => diagnostic,
            })
        })
        .collect()
}

/// Where an output is named: the plan's `output` path, or the step of one of its stores.
fn output_span(graph: &PlanGraph, plan: &Plan, id: OutputId, is_plan_output: bool) -> Option<Span> {
    if is_plan_output {
        if let Some(output) = &plan.output {
            return Some(output.node.path.span);
        }
    }
    graph
        .stores_of(id)
        .first()
        .and_then(|&store| graph.span(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "examples/models/gpt2-tiny/model.safetensors";

    /// A root holding the example model, and a directory outside it holding a copy.
    fn workspace() -> (tempfile::TempDir, tempfile::TempDir, Root) {
        let inside = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL);
        std::fs::create_dir_all(inside.path().join("examples/models/gpt2-tiny")).expect("mkdir");
        std::fs::copy(&source, inside.path().join(MODEL)).expect("copy");
        std::fs::copy(&source, outside.path().join("model.safetensors")).expect("copy");
        let root = Root::new(inside.path()).expect("root");
        (inside, outside, root)
    }

    fn codes(checked: &Checked) -> Vec<&'static str> {
        checked.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn inputs_resolve_inside_the_root_and_are_remembered() {
        let (_inside, _outside, root) = workspace();
        let text = format!("inputs: [{MODEL}]\noutput: out/x\n");
        let checked = check_document(&text, Syntax::Yaml, &root, None);
        assert!(checked.valid_graph().is_some(), "{:?}", checked.diagnostics);
        let resolved = checked.headers.resolved();
        assert_eq!(
            resolved.get(MODEL).map(String::as_str),
            Some(root.path().join(MODEL).to_string_lossy().as_ref())
        );
        assert_eq!(checked.headers.checkpoints().read_stats().bytes, 0);
    }

    #[test]
    fn load_save_and_nested_plans_outside_the_root_are_refused() {
        let (_inside, outside, root) = workspace();
        let elsewhere = outside.path().join("model.safetensors");
        let text = format!(
            "inputs: [{MODEL}]\ntransforms:\n  - load: {{ path: {}, alias: other }}\noutput: out/x\n",
            elsewhere.display()
        );
        let checked = check_document(&text, Syntax::Yaml, &root, None);
        assert!(
            codes(&checked).contains(&PATH_REFUSED),
            "{:?}",
            checked.diagnostics
        );

        let text = format!(
            "inputs: [{MODEL}]\ntransforms:\n  - save: {{ path: {}, alias: model }}\noutput: out/x\n",
            outside.path().join("saved").display()
        );
        let checked = check_document(&text, Syntax::Yaml, &root, None);
        let refused = checked
            .diagnostics
            .iter()
            .find(|d| d.code == PATH_REFUSED)
            .expect("the save is refused");
        let span = refused.primary_span().expect("labelled");
        assert_eq!(
            checked.sources.line_col(span.source, span.start as usize).0,
            3
        );

        std::fs::write(outside.path().join("nested.yaml"), "transforms: []\n").expect("write");
        let text = format!(
            "inputs: [{MODEL}]\ntransforms:\n  - execute: {{ path: {} }}\noutput: out/x\n",
            outside.path().join("nested.yaml").display()
        );
        let checked = check_document(&text, Syntax::Yaml, &root, None);
        assert!(
            codes(&checked).contains(&PATH_REFUSED),
            "{:?}",
            checked.diagnostics
        );
    }

    #[test]
    fn the_chosen_output_replaces_the_plans_and_is_confined() {
        let (_inside, _outside, root) = workspace();
        let text = format!("inputs: [{MODEL}]\noutput: out/x\n");
        let checked = check_document(&text, Syntax::Yaml, &root, Some("out/chosen"));
        let graph = checked.valid_graph().expect("valid");
        assert_eq!(graph.outputs()[0].path, "out/chosen");
        let checked = check_document(&text, Syntax::Yaml, &root, Some("../escape"));
        assert_eq!(codes(&checked), vec![PATH_REFUSED]);
        let span = checked.diagnostics[0].primary_span().expect("labelled");
        assert_eq!(
            checked.sources.line_col(span.source, span.start as usize),
            (2, 9)
        );
    }
}
