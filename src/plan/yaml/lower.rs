//! Lowering a (merged, overridden) YAML node tree to the plan AST.
//!
//! Receives the root [`Node`] of a plan; returns a [`Plan`] when the whole plan is well formed, and
//! otherwise every diagnostic found: lowering never stops at the first error, it records it on the
//! [`Lowerer`] and goes on with the next key, step and input.
//!
//! The plan format is BrainSurgery's: `inputs` (a list of `alias::path` or, for a single input, a
//! bare path, whose alias is then `model`), `transforms` (a list of single-key mappings; a bare op
//! name means no arguments; a null payload means `{}`), `output` (a path, or a mapping with `path`,
//! `format`, `shard` and our `alias`; an empty string or mapping means no output).

use super::fields::Fields;
use super::node::{Node, Value};
use crate::diagnostics::{Diagnostic, SourceMap, Span};
use crate::plan::ast::{Input, Op, Output, Plan, Spanned, Step, TensorRef, OP_NAMES};
use crate::plan::diagnostics;
use crate::plan::reference::{
    parse_reference_string, parse_structured_reference, AliasScope, TextSpan,
};
use crate::plan::rules::{self, Checked, Relation};

/// The state of one lowering run: the diagnostics found so far and the aliases an unqualified
/// reference may mean.
pub(crate) struct Lowerer<'s> {
    diagnostics: Vec<Diagnostic>,
    pub(crate) scope: AliasScope,
    /// For `execute: {plan-yaml: …}`, whose text becomes a source of its own.
    pub(crate) sources: &'s mut SourceMap,
}

impl<'s> Lowerer<'s> {
    pub fn new(sources: &'s mut SourceMap) -> Lowerer<'s> {
        Lowerer {
            diagnostics: Vec::new(),
            scope: AliasScope::default(),
            sources,
        }
    }

    pub fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// Records what a shared rule found; `None` when it found anything.
    pub fn check(&mut self, result: Checked) -> Option<()> {
        result.map_err(|errors| self.extend(errors)).ok()
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// Lowers a whole plan; its inputs set the alias scope for its steps. A nested plan without
    /// inputs (`execute: {plan: …}`) keeps the enclosing plan's scope.
    pub fn plan(&mut self, root: &Node) -> Plan {
        let entries = match &root.value {
            Value::Null => &[][..],
            Value::Mapping(entries) => entries.as_slice(),
            _ => {
                self.error(diagnostics::wrong_type(
                    "a plan",
                    "a mapping with `inputs`, `transforms` and `output`",
                    &root.describe(),
                    root.span,
                ));
                return Plan::default();
            }
        };
        for entry in entries {
            if !matches!(entry.key.as_str(), "inputs" | "transforms" | "output") {
                self.error(diagnostics::unknown_top_level_key(
                    &entry.key,
                    entry.key_span,
                ));
            }
        }
        let inputs = root
            .get("inputs")
            .map(|entry| self.inputs(&entry.value))
            .unwrap_or_default();
        let outer_scope = self.scope.clone();
        if !inputs.is_empty() {
            let aliases = inputs
                .iter()
                .map(|input| input.alias_or_default().to_string())
                .collect();
            self.scope = AliasScope::from_inputs(aliases);
        }
        let steps = root
            .get("transforms")
            .map(|entry| self.steps(&entry.value))
            .unwrap_or_default();
        let output = root
            .get("output")
            .and_then(|entry| self.output(&entry.value));
        self.scope = outer_scope;
        Plan {
            inputs,
            steps,
            output,
        }
    }

    fn inputs(&mut self, node: &Node) -> Vec<Spanned<Input>> {
        let items = match &node.value {
            Value::Null => return Vec::new(),
            Value::Sequence(items) => items,
            _ => {
                self.error(diagnostics::wrong_type(
                    "`inputs`",
                    "a list of `alias::path` strings",
                    &node.describe(),
                    node.span,
                ));
                return Vec::new();
            }
        };
        let several = items.len() > 1;
        let mut inputs: Vec<Spanned<Input>> = Vec::new();
        for item in items {
            let Some((text, text_span)) = self.text(item, "an input") else {
                continue;
            };
            // Split on the first `::`; an empty alias is no alias.
            let (alias, path, path_start) = match text.find("::") {
                Some(split) => (&text[..split], &text[split + 2..], split + 2),
                None => ("", text, 0),
            };
            let path_span = text_span.part(path_start..text.len());
            if path.is_empty() {
                self.error(diagnostics::empty_input_path(path_span));
                continue;
            }
            let alias = (!alias.is_empty())
                .then(|| Spanned::new(alias.to_string(), text_span.part(0..alias.len())));
            if alias.is_none() && several {
                self.error(diagnostics::input_alias_required(path, item.span));
                continue;
            }
            let input = Input {
                alias,
                path: Spanned::new(path.to_string(), path_span),
            };
            let name = input.alias_or_default().to_string();
            if let Some(first) = inputs.iter().find(|i| i.alias_or_default() == name) {
                let first_span = first.alias.as_ref().map_or(first.span, |a| a.span);
                let span = input.alias.as_ref().map_or(item.span, |a| a.span);
                self.error(diagnostics::duplicate_input_alias(&name, span, first_span));
                continue;
            }
            inputs.push(Spanned::new(input, item.span));
        }
        inputs
    }

    fn output(&mut self, node: &Node) -> Option<Spanned<Output>> {
        match &node.value {
            Value::Null => None,
            Value::Scalar(scalar) if scalar.text.is_empty() => None,
            Value::Scalar(scalar) => Some(Spanned::new(
                Output {
                    path: Spanned::new(scalar.text.clone(), node.span),
                    format: None,
                    shard: None,
                    alias: None,
                },
                node.span,
            )),
            Value::Mapping(entries) if entries.is_empty() => None,
            Value::Mapping(_) => {
                let fields = Fields::open(
                    self,
                    "output",
                    node.span,
                    node,
                    &["path", "format", "shard", "alias"],
                )?;
                let path = fields
                    .required(self, "path")
                    .and_then(|n| self.string(n, "output `path`"));
                let format = fields
                    .optional("format")
                    .and_then(|n| self.choice(n, "output format", &rules::OUTPUT_FORMATS));
                let shard = fields
                    .optional("shard")
                    .and_then(|n| self.shard_size(n, "output `shard`"));
                let alias = fields
                    .optional("alias")
                    .and_then(|n| self.string(n, "output `alias`"));
                Some(Spanned::new(
                    Output {
                        path: path?,
                        format,
                        shard,
                        alias,
                    },
                    node.span,
                ))
            }
            Value::Sequence(_) => {
                self.error(diagnostics::wrong_type(
                    "`output`",
                    "a path or a mapping with `path`",
                    &node.describe(),
                    node.span,
                ));
                None
            }
        }
    }

    /// `transforms`: a list of steps (a single step is accepted where `execute` allows it).
    pub fn steps(&mut self, node: &Node) -> Vec<Spanned<Step>> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::Sequence(items) => items.iter().filter_map(|item| self.step(item)).collect(),
            _ => {
                self.error(diagnostics::wrong_type(
                    "`transforms`",
                    "a list of steps",
                    &node.describe(),
                    node.span,
                ));
                Vec::new()
            }
        }
    }

    /// One step: `op`, `op: payload` (a single-key mapping).
    pub fn step(&mut self, node: &Node) -> Option<Spanned<Step>> {
        let null_payload;
        let (keyword, keyword_span, payload) = match &node.value {
            Value::Scalar(scalar) => {
                null_payload = Node::null(node.span);
                (scalar.text.as_str(), node.span, &null_payload)
            }
            Value::Mapping(entries) if entries.len() == 1 => {
                let entry = &entries[0];
                (entry.key.as_str(), entry.key_span, &entry.value)
            }
            Value::Mapping(entries) => {
                let found = format!("a mapping with {} keys", entries.len());
                self.error(diagnostics::bad_step_shape(&found, node.span));
                return None;
            }
            _ => {
                self.error(diagnostics::bad_step_shape(&node.describe(), node.span));
                return None;
            }
        };
        let Some(name) = OP_NAMES.iter().find(|name| **name == keyword) else {
            self.error(diagnostics::unknown_op(keyword, keyword_span));
            return None;
        };
        let op = self.op(name, keyword_span, payload)?;
        Some(Spanned::new(
            Step {
                keyword: Spanned::new(keyword.to_string(), keyword_span),
                op,
            },
            node.span,
        ))
    }

    /// Lowers one op's payload by the op's entry in the tables.
    fn op(&mut self, name: &'static str, keyword_span: Span, payload: &Node) -> Option<Op> {
        let lowering = OP_TABLES
            .into_iter()
            .flatten()
            .find(|(op, _)| *op == name)
            .map(|(_, lowering)| lowering);
        match lowering {
            Some(Lowering::Keys(keys, lower)) => {
                let fields = Fields::open(self, name, keyword_span, payload, keys)?;
                lower(self, &fields)
            }
            Some(Lowering::Payload(lower)) => lower(self, keyword_span, payload),
            None => {
                self.error(diagnostics::unknown_op(name, keyword_span));
                None
            }
        }
    }
}

/// How one op's payload is lowered: the op's entry in a table of [`super::tensor_ops`],
/// [`super::creation_ops`] or [`super::session_ops`].
pub(crate) enum Lowering {
    /// A mapping with these keys (unknown keys are reported before the function runs); the
    /// function reads it.
    Keys(
        &'static [&'static str],
        fn(&mut Lowerer<'_>, &Fields<'_>) -> Option<Op>,
    ),
    /// Any payload (a path string, an assertion, nothing at all); the function reads it, given the
    /// op keyword's span.
    Payload(fn(&mut Lowerer<'_>, Span, &Node) -> Option<Op>),
}

/// One table of ops: each op's name and how its payload is lowered.
pub(crate) type OpTable = &'static [(&'static str, Lowering)];

const OP_TABLES: [OpTable; 4] = [
    super::tensor_ops::OPS,
    super::creation_ops::OPS,
    super::lowrank_ops::OPS,
    super::session_ops::OPS,
];

/// The payload keys of an op that takes a mapping (`None` for ops whose payload may be a string
/// or an expression: help, exit, assert, load, save, execute). The REPL completes keys from it.
pub fn payload_keys(op: &str) -> Option<&'static [&'static str]> {
    OP_TABLES
        .into_iter()
        .flatten()
        .find(|(name, _)| *name == op)
        .and_then(|(_, lowering)| match lowering {
            Lowering::Keys(keys, _) => Some(*keys),
            Lowering::Payload(_) => None,
        })
}

impl Lowerer<'_> {
    /// A required reference under `key`.
    pub(crate) fn reference(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        relation: Relation<'_>,
    ) -> Option<Spanned<TensorRef>> {
        let node = fields.required(self, key)?;
        self.reference_node(node, fields.op(), key, relation)
    }

    /// An optional reference under `key`: `Some(None)` when it is not written.
    pub(crate) fn optional_reference(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        relation: Relation<'_>,
    ) -> Option<Option<Spanned<TensorRef>>> {
        match fields.optional(key) {
            None => Some(None),
            Some(node) => self
                .reference_node(node, fields.op(), key, relation)
                .map(Some),
        }
    }

    /// Parses a string or structured reference, then checks the op's rules for it
    /// ([`rules::check_slice`], [`rules::check_relation`]): whether it may be sliced, and that a
    /// destination agrees with its source.
    pub(crate) fn reference_node(
        &mut self,
        node: &Node,
        op: &str,
        key: &str,
        relation: Relation<'_>,
    ) -> Option<Spanned<TensorRef>> {
        let mut expression_span = None;
        let reference = match &node.value {
            Value::Scalar(scalar) => {
                let role = relation.role();
                match parse_reference_string(&scalar.text, scalar.text_span, &self.scope, role) {
                    Ok(reference) => {
                        expression_span = Some(if scalar.text_span.is_exact() {
                            TextSpan::exact(reference.pattern.span)
                        } else {
                            scalar.text_span
                        });
                        reference
                    }
                    Err(error) => {
                        self.error(error);
                        return None;
                    }
                }
            }
            Value::Sequence(items) => {
                let mut texts = Vec::with_capacity(items.len());
                for item in items {
                    texts.push(self.text(item, &format!("a token of {op} `{key}`"))?);
                }
                match parse_structured_reference(&texts, node.span, &self.scope, relation.side()) {
                    Ok(reference) => reference,
                    Err(errors) => {
                        self.extend(errors);
                        return None;
                    }
                }
            }
            _ => {
                self.error(diagnostics::wrong_type(
                    &format!("{op} `{key}`"),
                    "a tensor reference (a string or a list of tokens)",
                    &node.describe(),
                    node.span,
                ));
                return None;
            }
        };
        let slice = reference.slice.as_ref().map(|slice| slice.span);
        if let Err(error) = rules::check_slice(op, key, slice) {
            self.error(error);
        }
        let related =
            rules::check_relation(&reference, relation, node.span, expression_span, op, key);
        self.extend(related.err().into_iter().flatten());
        Some(Spanned::new(reference, node.span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_exactly_one_lowering() {
        for name in OP_NAMES {
            let entries = OP_TABLES
                .into_iter()
                .flatten()
                .filter(|(op, _)| *op == name)
                .count();
            assert_eq!(
                entries, 1,
                "`{name}` has {entries} entries in the op tables"
            );
        }
        let listed: usize = OP_TABLES.iter().map(|table| table.len()).sum();
        assert_eq!(
            listed,
            OP_NAMES.len(),
            "the op tables list an op that does not exist"
        );
    }
}
