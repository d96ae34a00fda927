//! The BrainSurgery-compatible YAML front end.
//!
//! Receives plan files (and `key=value` overrides) as text in a [`SourceMap`]; returns the plan
//! AST, or **every** diagnostic found (not only the first), each pointing at file:line:column.
//!
//! Stages, one submodule each: [`node`] parses YAML into a tree whose every key and value keeps
//! its byte span; [`merge`] deep-merges several files in order and applies overrides;
//! [`lower`] turns the tree into the AST, op by op ([`tensor_ops`], [`creation_ops`],
//! [`session_ops`], [`assertions`]), reading payloads through [`fields`] (unknown and missing keys)
//! and [`scalars`] (typed values); [`print`] writes a plan back as canonical YAML, with or
//! without the comments that [`crate::plan::comments`] collects ([`node::comments`] finds those
//! of a YAML text).
//!
//! **Guarantees.** Never panics on any input; a plan is returned only when it has no errors;
//! printing a plan and parsing the text gives an equal plan.

pub mod assertions;
pub mod creation_ops;
pub mod fields;
pub mod lower;
pub mod lowrank_ops;
pub mod merge;
pub mod node;
pub mod print;
pub mod scalars;
pub mod session_ops;
pub mod tensor_ops;

pub use self::print::{print_yaml, print_yaml_with};
// Shared with the terse front end, which reads sizes, numbers and booleans the same way.
pub use self::scalars::{parse_bool, parse_float, parse_int, parse_size, SizeError};

use self::lower::Lowerer;
use self::node::{parse_document, Node, Value};
use crate::diagnostics::{Diagnostic, SourceId, SourceMap, Span};
use crate::plan::ast::Plan;
use crate::plan::diagnostics;
use std::path::Path;

/// Parses the YAML plan held by source `id`.
pub fn parse_yaml(sources: &mut SourceMap, id: SourceId) -> Result<Plan, Vec<Diagnostic>> {
    let Some(source) = sources.get(id) else {
        return Ok(Plan::default());
    };
    let text = source.text.clone();
    let root = parse_document(&text, id, 0)?;
    lower_root(sources, &root)
}

/// Reads plan files and applies overrides: YAML files are deep-merged in order, then each
/// `key=value` override is merged on top (each becomes a source named `<override N>`). A single
/// `.bs` file is the terse syntax; it cannot be mixed with YAML files or take overrides.
pub fn load_plan(
    paths: &[impl AsRef<Path>],
    overrides: &[String],
    sources: &mut SourceMap,
) -> Result<Plan, Vec<Diagnostic>> {
    let terse = paths
        .iter()
        .filter(|p| p.as_ref().extension().is_some_and(|e| e == "bs"))
        .count();
    if terse > 0 {
        return load_terse(paths, overrides, sources, terse);
    }
    let mut errors = Vec::new();
    let mut root: Option<Node> = None;
    for path in paths {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                errors.push(diagnostics::unreadable_plan(&name, &error));
                continue;
            }
        };
        let id = sources.add(name, text.as_str());
        match parse_document(&text, id, 0) {
            Ok(node) => root = merge_into(root, node),
            Err(found) => errors.extend(found),
        }
    }
    for (index, text) in overrides.iter().enumerate() {
        let id = sources.add(format!("<override {}>", index + 1), text.as_str());
        match merge::parse_override(text, id) {
            Ok(node) => root = merge_into(root, node),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let root = root.unwrap_or_else(|| Node::null(Span::default()));
    lower_root(sources, &root)
}

/// An empty file (null root) contributes nothing, as an empty OmegaConf config does.
fn merge_into(root: Option<Node>, node: Node) -> Option<Node> {
    if node.is_null() {
        return root;
    }
    Some(match root {
        None => node,
        Some(base) => merge::merge(base, node),
    })
}

/// A single `.bs` plan goes to the terse front end; it cannot be merged with YAML files (their
/// merge is defined on YAML trees) nor take overrides.
fn load_terse(
    paths: &[impl AsRef<Path>],
    overrides: &[String],
    sources: &mut SourceMap,
    terse: usize,
) -> Result<Plan, Vec<Diagnostic>> {
    let first = paths
        .iter()
        .map(|p| p.as_ref())
        .find(|p| p.extension().is_some_and(|e| e == "bs"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if terse != paths.len() || terse > 1 {
        return Err(vec![diagnostics::mixed_plan_syntaxes(&first)]);
    }
    if !overrides.is_empty() {
        return Err(vec![diagnostics::overrides_on_terse_plan(&first)]);
    }
    let text = match std::fs::read_to_string(&first) {
        Ok(text) => text,
        Err(error) => return Err(vec![diagnostics::unreadable_plan(&first, &error)]),
    };
    let id = sources.add(first, text);
    crate::plan::terse::parse_terse(sources, id)
}

fn lower_root(sources: &mut SourceMap, root: &Node) -> Result<Plan, Vec<Diagnostic>> {
    if let Value::Scalar(_) | Value::Sequence(_) = root.value {
        return Err(vec![diagnostics::wrong_type(
            "a plan",
            "a mapping with `inputs`, `transforms` and `output`",
            &root.describe(),
            root.span,
        )]);
    }
    let mut lowerer = Lowerer::new(sources);
    let plan = lowerer.plan(root);
    let errors = lowerer.into_diagnostics();
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}
