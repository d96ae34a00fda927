//! Lowering of the ops that manage the session rather than tensor values: help, prefixes, set,
//! exit, dump, diff, assert, load, save and execute.
//!
//! Receives an op's payload (opened with the keys its entry in [`OPS`] names, for the ops that
//! take only a mapping); returns the lowered [`Op`] or records diagnostics. String payloads are
//! accepted where BrainSurgery accepts them (`load: path`, `save: path`, `help: copy`); `exit`
//! takes no payload; `execute` takes exactly one of `transforms`, `plan`, `plan-yaml` and `path`,
//! and a `plan-yaml` string is parsed as a YAML source of its own. The rules on `load` and `save`
//! options, paths and aliases are the shared ones of [`crate::plan::rules`].

use super::fields::Fields;
use super::lower::{Lowerer, Lowering, OpTable};
use super::node::{parse_document, Node, Value};
use crate::diagnostics::Span;
use crate::plan::ast::{
    Diff, DiffSides, Dump, Execute, Help, HelpTopic, Load, Op, Plan, Prefixes, Save, Set, Spanned,
    ASSERT_NAMES, OP_NAMES,
};
use crate::plan::diagnostics;
use crate::plan::rules::{self, Relation, Syntax};

/// Each op of this module, with its keys when it takes only a mapping.
pub(super) const OPS: OpTable = &[
    ("help", Lowering::Payload(help)),
    (
        "prefixes",
        Lowering::Keys(&["mode", "alias", "from", "to"], prefixes),
    ),
    (
        "set",
        Lowering::Keys(&["dry-run", "preview", "verbose"], set),
    ),
    ("exit", Lowering::Payload(exit)),
    (
        "dump",
        Lowering::Keys(&["target", "format", "verbosity"], dump),
    ),
    (
        "diff",
        Lowering::Keys(
            &["mode", "left", "right", "left_alias", "right_alias", "eps"],
            diff,
        ),
    ),
    (
        "assert",
        Lowering::Payload(|lower, _, payload| lower.assertion(payload).map(Op::Assert)),
    ),
    ("load", Lowering::Payload(load)),
    ("save", Lowering::Payload(save)),
    ("execute", Lowering::Payload(execute)),
];

fn help(lower: &mut Lowerer<'_>, keyword_span: Span, payload: &Node) -> Option<Op> {
    let topic = match &payload.value {
        Value::Null => None,
        Value::Scalar(scalar) => {
            let name = scalar.text.trim();
            if name == "assert" {
                Some(HelpTopic::Assert(None))
            } else if OP_NAMES.contains(&name) {
                Some(HelpTopic::Op(name.to_string()))
            } else {
                lower.error(diagnostics::unknown_op(name, payload.span));
                return None;
            }
        }
        Value::Mapping(_) => {
            let fields = Fields::open(lower, "help", keyword_span, payload, &["assert"])?;
            match fields.optional("assert") {
                None if fields.entry("assert").is_none() => None,
                None => Some(HelpTopic::Assert(None)),
                Some(node) => {
                    let (text, _) = lower.text(node, "help `assert`")?;
                    let text = text.trim();
                    if !ASSERT_NAMES.contains(&text) {
                        lower.error(diagnostics::unknown_choice(
                            "assertion",
                            text,
                            node.span,
                            &ASSERT_NAMES,
                        ));
                        return None;
                    }
                    Some(HelpTopic::Assert(Some(text.to_string())))
                }
            }
        }
        Value::Sequence(_) => {
            lower.error(diagnostics::wrong_type(
                "the `help` topic",
                "an op name or `{assert: <assertion>}`",
                &payload.describe(),
                payload.span,
            ));
            return None;
        }
    };
    Some(Op::Help(Help {
        topic: topic.map(|t| Spanned::new(t, payload.span)),
    }))
}

#[derive(Clone, Copy)]
enum PrefixMode {
    List,
    Add,
    Remove,
    Rename,
}

fn prefixes(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let mode = match fields.optional("mode") {
        None => PrefixMode::List,
        Some(node) => {
            lower
                .choice(
                    node,
                    "prefixes mode",
                    &[
                        ("list", PrefixMode::List),
                        ("add", PrefixMode::Add),
                        ("remove", PrefixMode::Remove),
                        ("rename", PrefixMode::Rename),
                    ],
                )?
                .node
        }
    };
    let prefixes = match mode {
        PrefixMode::List => {
            fields.reject_for_mode(lower, "list", &["alias", "from", "to"]);
            Prefixes::List
        }
        PrefixMode::Add | PrefixMode::Remove => {
            let mode_name = if matches!(mode, PrefixMode::Add) {
                "add"
            } else {
                "remove"
            };
            fields.reject_for_mode(lower, mode_name, &["from", "to"]);
            let alias = fields.read(lower, "alias", Lowerer::string)?;
            if matches!(mode, PrefixMode::Add) {
                Prefixes::Add { alias }
            } else {
                Prefixes::Remove { alias }
            }
        }
        PrefixMode::Rename => {
            fields.reject_for_mode(lower, "rename", &["alias"]);
            let from = fields.read(lower, "from", Lowerer::string);
            let to = fields.read(lower, "to", Lowerer::string);
            let (from, to) = (from?, to?);
            lower.check(rules::distinct_aliases(&from, &to))?;
            Prefixes::Rename { from, to }
        }
    };
    Some(Op::Prefixes(prefixes))
}

fn set(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let dry_run = fields.read_optional(lower, "dry-run", Lowerer::boolean);
    let preview = fields.read_optional(lower, "preview", Lowerer::boolean);
    let verbose = fields.read_optional(lower, "verbose", Lowerer::boolean);
    Some(Op::Set(Set {
        dry_run: dry_run?,
        preview: preview?,
        verbose: verbose?,
    }))
}

fn exit(lower: &mut Lowerer<'_>, _: Span, payload: &Node) -> Option<Op> {
    match &payload.value {
        Value::Null => Some(Op::Exit),
        Value::Mapping(entries) if entries.is_empty() => Some(Op::Exit),
        _ => {
            lower.error(diagnostics::exit_takes_no_payload(payload.span));
            None
        }
    }
}

fn dump(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let target = lower.optional_reference(fields, "target", Relation::Source);
    let format = fields.read_optional(lower, "format", |lower, node, _| {
        lower.choice(node, "dump format", &rules::DUMP_FORMATS)
    });
    let verbosity = fields.read_optional(lower, "verbosity", |lower, node, _| {
        lower.choice(node, "dump verbosity", &rules::DUMP_VERBOSITIES)
    });
    Some(Op::Dump(Dump {
        target: target?,
        format: format?,
        verbosity: verbosity?,
    }))
}

fn diff(lower: &mut Lowerer<'_>, fields: &Fields<'_>) -> Option<Op> {
    let aliases_mode = match fields.optional("mode") {
        None => false,
        Some(node) => {
            lower
                .choice(node, "diff mode", &[("refs", false), ("aliases", true)])?
                .node
        }
    };
    let sides = if aliases_mode {
        fields.reject_for_mode(lower, "aliases", &["left", "right"]);
        let left_alias = fields.read(lower, "left_alias", Lowerer::string);
        let right_alias = fields.read(lower, "right_alias", Lowerer::string);
        DiffSides::Aliases {
            left_alias: left_alias?,
            right_alias: right_alias?,
        }
    } else {
        fields.reject_for_mode(lower, "refs", &["left_alias", "right_alias"]);
        // Both sides are matched on their own: diff compares by identical name.
        let left = lower.reference(fields, "left", Relation::Source);
        let right = lower.reference(fields, "right", Relation::Source);
        DiffSides::Refs {
            left: left?,
            right: right?,
        }
    };
    let eps = lower.eps(fields)?;
    Some(Op::Diff(Diff { sides, eps }))
}

/// A path that is not blank (`what` names it in messages).
fn non_empty_path(lower: &mut Lowerer<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let path = lower.string(node, what)?;
    lower.check(rules::non_empty_path(what, &path))?;
    Some(path)
}

/// `load: path`, or a mapping with `path`, `alias`, `to` and `format`.
fn load(lower: &mut Lowerer<'_>, keyword_span: Span, payload: &Node) -> Option<Op> {
    if let Value::Scalar(_) = payload.value {
        let path = non_empty_path(lower, payload, "load path")?;
        return Some(Op::Load(Load {
            path,
            alias: None,
            to: None,
            format: None,
        }));
    }
    let keys = ["path", "alias", "to", "format"];
    let fields = Fields::open(lower, "load", keyword_span, payload, &keys)?;
    let path = fields.read(lower, "path", non_empty_path);
    let alias = fields.read_optional(lower, "alias", Lowerer::string);
    let to = lower.optional_reference(&fields, "to", Relation::Name);
    let format = fields.read_optional(lower, "format", |lower, node, _| {
        lower.choice(node, "load format", &rules::LOAD_FORMATS)
    });
    let (path, alias, to, format) = (path?, alias?, to?, format?);
    lower.check(rules::load_format(
        Syntax::Yaml,
        format.as_ref(),
        to.is_some(),
    ))?;
    Some(Op::Load(Load {
        path,
        alias,
        to,
        format,
    }))
}

/// `save: path`, or a mapping with `path`, `alias`, `target`, `format` and `shard`.
fn save(lower: &mut Lowerer<'_>, keyword_span: Span, payload: &Node) -> Option<Op> {
    if let Value::Scalar(_) = payload.value {
        let path = non_empty_path(lower, payload, "save path")?;
        return Some(Op::Save(Save {
            path,
            alias: None,
            target: None,
            format: None,
            shard: None,
        }));
    }
    let keys = ["path", "alias", "target", "format", "shard"];
    let fields = Fields::open(lower, "save", keyword_span, payload, &keys)?;
    let path = fields.read(lower, "path", non_empty_path);
    let alias = fields.read_optional(lower, "alias", Lowerer::string);
    let target = lower.optional_reference(&fields, "target", Relation::Name);
    let format = fields.read_optional(lower, "format", |lower, node, _| {
        lower.choice(node, "save format", &rules::SAVE_FORMATS)
    });
    let shard = fields.read_optional(lower, "shard", Lowerer::shard_size);
    let (path, alias, target, format, shard) = (path?, alias?, target?, format?, shard?);
    lower.check(rules::save_conflict(
        Syntax::Yaml,
        format.as_ref(),
        target.is_some(),
        shard.as_ref(),
    ))?;
    Some(Op::Save(Save {
        path,
        alias,
        target,
        format,
        shard,
    }))
}

fn execute(lower: &mut Lowerer<'_>, keyword_span: Span, payload: &Node) -> Option<Op> {
    let keys = ["transforms", "plan", "plan-yaml", "path"];
    let fields = Fields::open(lower, "execute", keyword_span, payload, &keys)?;
    let written: Vec<_> = keys.iter().filter_map(|key| fields.entry(key)).collect();
    match written.as_slice() {
        [] => {
            lower.error(diagnostics::invalid_argument(
                "execute needs one of `transforms`, `plan`, `plan-yaml` or `path`",
                "nothing to execute",
                keyword_span,
                "add e.g. `transforms: [...]` or `path: other.yaml`",
            ));
            None
        }
        [first, second, ..] => {
            lower.error(diagnostics::conflicting_keys(
                "execute",
                &first.key,
                &second.key,
                second.key_span,
                first.key_span,
            ));
            None
        }
        [entry] => {
            let node = &entry.value;
            let execute = match entry.key.as_str() {
                "transforms" => match &node.value {
                    Value::Sequence(_) => Execute::Steps(lower.steps(node)),
                    _ => Execute::Steps(vec![lower.step(node)?]),
                },
                "plan" => match &node.value {
                    Value::Sequence(_) => Execute::Plan(Box::new(Plan {
                        steps: lower.steps(node),
                        ..Plan::default()
                    })),
                    _ => Execute::Plan(Box::new(lower.plan(node))),
                },
                "plan-yaml" => Execute::Plan(Box::new(nested_yaml(lower, node)?)),
                _ => Execute::Path(non_empty_path(lower, node, "execute `path`")?),
            };
            Some(Op::Execute(execute))
        }
    }
}

/// `plan-yaml: "<yaml text>"`: the text becomes a source of its own, so errors inside it point
/// into it.
fn nested_yaml(lower: &mut Lowerer<'_>, node: &Node) -> Option<Plan> {
    let (text, _) = lower.text(node, "execute `plan-yaml`")?;
    let text = text.to_string();
    let (line, column) = lower
        .sources
        .line_col(node.span.source, node.span.start as usize);
    let outer = lower
        .sources
        .get(node.span.source)
        .map_or_else(String::new, |s| s.name.clone());
    let id = lower.sources.add(
        format!("<plan-yaml at {outer}:{line}:{column}>"),
        text.as_str(),
    );
    match parse_document(&text, id, 0) {
        Ok(root) => Some(lower.plan(&root)),
        Err(errors) => {
            lower.extend(errors);
            None
        }
    }
}
