//! Lowering of the ops that manage the session rather than tensor values: help, prefixes, set,
//! exit, dump, diff, assert, load, save and execute.
//!
//! Receives the op name, its keyword span and its payload node; returns the lowered [`Op`] or
//! records diagnostics. String payloads are accepted where BrainSurgery accepts them (`load: path`,
//! `save: path`, `help: copy`); `exit` takes no payload; `execute` takes exactly one of
//! `transforms`, `plan`, `plan-yaml` and `path`, and a `plan-yaml` string is parsed as a YAML
//! source of its own.

use super::fields::{optional_read, Fields};
use super::lower::{Lowerer, Relation};
use super::node::{parse_document, Node, Value};
use crate::diagnostics::Span;
use crate::plan::ast::{
    Diff, DiffSides, Dump, DumpFormat, DumpVerbosity, Execute, FileFormat, Help, HelpTopic, Load,
    Op, Plan, Prefixes, Save, Set, Spanned, ASSERT_NAMES, OP_NAMES,
};
use crate::plan::diagnostics;

pub(super) fn lower(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    match name {
        "help" => help(lower, keyword_span, payload),
        "prefixes" => prefixes(lower, name, keyword_span, payload),
        "set" => set(lower, name, keyword_span, payload),
        "exit" => exit(lower, payload),
        "dump" => dump(lower, name, keyword_span, payload),
        "diff" => diff(lower, name, keyword_span, payload),
        "assert" => lower.assertion(payload).map(Op::Assert),
        "load" => load(lower, name, keyword_span, payload),
        "save" => save(lower, name, keyword_span, payload),
        "execute" => execute(lower, name, keyword_span, payload),
        _ => {
            lower.error(diagnostics::unknown_op(name, keyword_span));
            None
        }
    }
}

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

fn prefixes(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["mode", "alias", "from", "to"],
    )?;
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
    let alias = |lower: &mut Lowerer<'_>, key: &str| {
        fields
            .required(lower, key)
            .and_then(|n| lower.string(n, &fields.what(key)))
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
            let alias = alias(lower, "alias")?;
            if matches!(mode, PrefixMode::Add) {
                Prefixes::Add { alias }
            } else {
                Prefixes::Remove { alias }
            }
        }
        PrefixMode::Rename => {
            fields.reject_for_mode(lower, "rename", &["alias"]);
            let from = alias(lower, "from");
            let to = alias(lower, "to");
            let (from, to) = (from?, to?);
            if from.node == to.node {
                lower.error(diagnostics::invalid_argument(
                    "prefixes rename needs two different aliases",
                    "same as `from`",
                    to.span,
                    "rename to a new alias",
                ));
                return None;
            }
            Prefixes::Rename { from, to }
        }
    };
    Some(Op::Prefixes(prefixes))
}

fn set(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["dry-run", "preview", "verbose"],
    )?;
    let mut flag = |key: &str| {
        optional_read(
            fields
                .optional(key)
                .map(|n| lower.boolean(n, &fields.what(key))),
        )
    };
    let dry_run = flag("dry-run");
    let preview = flag("preview");
    let verbose = flag("verbose");
    Some(Op::Set(Set {
        dry_run: dry_run?,
        preview: preview?,
        verbose: verbose?,
    }))
}

fn exit(lower: &mut Lowerer<'_>, payload: &Node) -> Option<Op> {
    match &payload.value {
        Value::Null => Some(Op::Exit),
        Value::Mapping(entries) if entries.is_empty() => Some(Op::Exit),
        _ => {
            lower.error(diagnostics::exit_takes_no_payload(payload.span));
            None
        }
    }
}

fn dump(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["target", "format", "verbosity"],
    )?;
    let target = optional_read(
        fields
            .optional("target")
            .map(|n| lower.reference_node(n, name, "target", Relation::Source, true)),
    );
    let format = optional_read(fields.optional("format").map(|n| {
        lower.choice(
            n,
            "dump format",
            &[
                ("compact", DumpFormat::Compact),
                ("tree", DumpFormat::Tree),
                ("json", DumpFormat::Json),
            ],
        )
    }));
    let verbosity = optional_read(fields.optional("verbosity").map(|n| {
        lower.choice(
            n,
            "dump verbosity",
            &[
                ("shape", DumpVerbosity::Shape),
                ("stat", DumpVerbosity::Stat),
                ("full", DumpVerbosity::Full),
            ],
        )
    }));
    Some(Op::Dump(Dump {
        target: target?,
        format: format?,
        verbosity: verbosity?,
    }))
}

fn diff(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let keys = ["mode", "left", "right", "left_alias", "right_alias", "eps"];
    let fields = Fields::open(lower, name, keyword_span, payload, &keys)?;
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
        let mut alias = |key: &str| {
            fields
                .required(lower, key)
                .and_then(|n| lower.string(n, &fields.what(key)))
        };
        let left_alias = alias("left_alias");
        let right_alias = alias("right_alias");
        DiffSides::Aliases {
            left_alias: left_alias?,
            right_alias: right_alias?,
        }
    } else {
        fields.reject_for_mode(lower, "refs", &["left_alias", "right_alias"]);
        // Both sides are matched on their own: diff compares by identical name.
        let left = lower.reference(&fields, "left", Relation::Source, true);
        let right = lower.reference(&fields, "right", Relation::Source, true);
        DiffSides::Refs {
            left: left?,
            right: right?,
        }
    };
    let eps = lower.eps(&fields)?;
    Some(Op::Diff(Diff { sides, eps }))
}

fn non_empty_path(lower: &mut Lowerer<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let path = lower.string(node, what)?;
    if path.node.trim().is_empty() {
        lower.error(diagnostics::invalid_argument(
            &format!("{what} must not be empty"),
            "empty path",
            node.span,
            "write the file or directory to use",
        ));
        return None;
    }
    Some(path)
}

fn load(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    if let Value::Scalar(_) = payload.value {
        let path = non_empty_path(lower, payload, "load path")?;
        return Some(Op::Load(Load {
            path,
            alias: None,
            to: None,
            format: None,
        }));
    }
    let fields = Fields::open(
        lower,
        name,
        keyword_span,
        payload,
        &["path", "alias", "to", "format"],
    )?;
    let path = fields
        .required(lower, "path")
        .and_then(|n| non_empty_path(lower, n, &fields.what("path")));
    let alias = optional_read(
        fields
            .optional("alias")
            .map(|n| lower.string(n, &fields.what("alias"))),
    );
    let to = optional_read(
        fields
            .optional("to")
            .map(|n| lower.reference_node(n, name, "to", Relation::Name, false)),
    );
    let format = optional_read(fields.optional("format").map(|n| {
        lower.choice(
            n,
            "load format",
            &[
                ("auto", FileFormat::Auto),
                ("safetensors", FileFormat::Safetensors),
                ("torch", FileFormat::Torch),
                ("numpy", FileFormat::Numpy),
            ],
        )
    }));
    let (path, alias, to, format) = (path?, alias?, to?, format?);
    if let (Some(format), None) = (&format, &to) {
        lower.error(diagnostics::invalid_argument(
            "load `format` applies only to a single tensor (with `to`)",
            "format without `to`",
            format.span,
            "add `to: <name>` to load one tensor, or remove `format` (checkpoints are detected)",
        ));
        return None;
    }
    Some(Op::Load(Load {
        path,
        alias,
        to,
        format,
    }))
}

fn save(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
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
    let fields = Fields::open(lower, name, keyword_span, payload, &keys)?;
    let path = fields
        .required(lower, "path")
        .and_then(|n| non_empty_path(lower, n, &fields.what("path")));
    let alias = optional_read(
        fields
            .optional("alias")
            .map(|n| lower.string(n, &fields.what("alias"))),
    );
    let target = optional_read(
        fields
            .optional("target")
            .map(|n| lower.reference_node(n, name, "target", Relation::Name, false)),
    );
    let format = optional_read(fields.optional("format").map(|n| {
        lower.choice(
            n,
            "save format",
            &[
                ("safetensors", FileFormat::Safetensors),
                ("torch", FileFormat::Torch),
                ("numpy", FileFormat::Numpy),
                ("dcp", FileFormat::Dcp),
            ],
        )
    }));
    let shard = optional_read(
        fields
            .optional("shard")
            .map(|n| lower.shard_size(n, &fields.what("shard"))),
    );
    let (path, alias, target, format, shard) = (path?, alias?, target?, format?, shard?);
    let problem = match (&format, &target, &shard) {
        (Some(f), None, _) if f.node == FileFormat::Numpy => Some((
            f.span,
            "save format `numpy` writes one tensor",
            "add `target: <name>`",
        )),
        (Some(f), Some(_), _) if f.node == FileFormat::Dcp => Some((
            f.span,
            "save format `dcp` writes a whole alias, not one tensor",
            "remove `target`, or save the tensor as safetensors, torch or numpy",
        )),
        (_, Some(_), Some(s)) => Some((
            s.span,
            "save `shard` applies to a whole alias, not one tensor",
            "remove `shard` or `target`",
        )),
        (Some(f), None, Some(_)) if f.node != FileFormat::Safetensors => Some((
            f.span,
            "save `shard` is only supported for safetensors output",
            "remove `shard` or save as safetensors",
        )),
        _ => None,
    };
    if let Some((span, message, help)) = problem {
        lower.error(diagnostics::invalid_argument(
            message,
            "conflicts here",
            span,
            help,
        ));
        return None;
    }
    Some(Op::Save(Save {
        path,
        alias,
        target,
        format,
        shard,
    }))
}

fn execute(
    lower: &mut Lowerer<'_>,
    name: &'static str,
    keyword_span: Span,
    payload: &Node,
) -> Option<Op> {
    let keys = ["transforms", "plan", "plan-yaml", "path"];
    let fields = Fields::open(lower, name, keyword_span, payload, &keys)?;
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
                name,
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
