//! Statements that manage the session rather than tensor values: `dump`, `diff`, `help`, `load`,
//! `save`, `prefixes` and `set`.
//!
//! Receives the meaningful children of the statement pair (after its keyword); returns the op or
//! every diagnostic of the statement. Options are `name=value` in any order, each at most once;
//! the rules are the shared ones of [`crate::plan::rules`] (a `load` format needs `to=`, `save`
//! shards only whole safetensors aliases, `prefixes rename` needs two different aliases, …).

use super::grammar::Rule;
use super::statements::non_empty_path;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_alias_name, parse_boolean, parse_choice, parse_number,
    parse_size, parse_string, significant, Builder, Parsed, SeenArguments,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{
    Diff, DiffSides, Dump, Help, HelpTopic, Load, Op, Prefixes, Save, Set, Spanned, ASSERT_NAMES,
    OP_NAMES,
};
use crate::plan::diagnostics as shared;
use crate::plan::rules::{
    self, Syntax, DUMP_FORMATS, DUMP_VERBOSITIES, LOAD_FORMATS, SAVE_FORMATS,
};
use pest::iterators::Pair;

/// Splits `name=value` options, refusing a name given twice; calls `each` with the option rule,
/// the name's span and the value pair.
fn for_each_option<'i>(
    builder: &Builder,
    options: impl IntoIterator<Item = Pair<'i, Rule>>,
    errors: &mut Vec<Diagnostic>,
    mut each: impl FnMut(Rule, Span, Pair<'i, Rule>, &mut Vec<Diagnostic>),
) {
    let mut seen = SeenArguments::default();
    for option in options {
        let rule = option.as_rule();
        let (name, value) = argument_parts(option);
        let name_span = builder.span(&name);
        if keep(seen.record(name.as_str(), name_span), errors).is_none() {
            continue;
        }
        if let Some(value) = value {
            each(rule, name_span, value, errors);
        }
    }
}

/// `dump [REF] [format=…] [verbosity=…]`.
pub fn parse_dump(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let mut errors = Vec::new();
    let (references, options): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .partition(|part| part.as_rule() == Rule::reference);
    let target = references.into_iter().next().and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::source("dump", "target")),
            &mut errors,
        )
    });
    let (mut format, mut verbosity) = (None, None);
    for_each_option(builder, options, &mut errors, |rule, _, value, errors| {
        if rule == Rule::dump_format_option {
            format = keep(
                parse_choice(builder, value, "dump format", &DUMP_FORMATS),
                errors,
            );
        } else {
            verbosity = keep(
                parse_choice(builder, value, "dump verbosity", &DUMP_VERBOSITIES),
                errors,
            );
        }
    });
    let dump = Dump {
        target,
        format,
        verbosity,
    };
    finish(Some(Op::Dump(dump)), errors)
}

/// `diff LEFT RIGHT [eps=…]` or `diff aliases LEFT RIGHT [eps=…]`.
pub fn parse_diff(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let mut errors = Vec::new();
    let mut sides = None;
    let mut eps = None;
    for part in parts {
        match part.as_rule() {
            Rule::diff_aliases => {
                let mut names = significant(part)
                    .filter(|p| p.as_rule() == Rule::alias_name)
                    .map(|p| keep(parse_alias_name(builder, p), &mut errors));
                if let (Some(Some(left_alias)), Some(Some(right_alias))) =
                    (names.next(), names.next())
                {
                    sides = Some(DiffSides::Aliases {
                        left_alias,
                        right_alias,
                    });
                }
            }
            Rule::diff_references => {
                let mut references = significant(part);
                let left = references.next().and_then(|p| {
                    keep(
                        parse_reference(builder, p, Role::source("diff", "left")),
                        &mut errors,
                    )
                });
                let right = references.next().and_then(|p| {
                    keep(
                        parse_reference(builder, p, Role::source("diff", "right")),
                        &mut errors,
                    )
                });
                if let (Some(left), Some(right)) = (left, right) {
                    sides = Some(DiffSides::Refs { left, right });
                }
            }
            _ => {
                let (_, value) = argument_parts(part);
                eps = value.and_then(|value| {
                    let eps = keep(parse_number(builder, value), &mut errors)?;
                    keep(rules::eps("diff `eps`", &eps), &mut errors)?;
                    Some(eps)
                });
            }
        }
    }
    finish(sides.map(|sides| Op::Diff(Diff { sides, eps })), errors)
}

/// `help`, `help OP`, `help assert`, `help assert NAME`; topics are checked against the op and
/// assertion names.
pub fn parse_help(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let Some(topic) = parts.into_iter().next() else {
        return Ok(Op::Help(Help { topic: None }));
    };
    let span = builder.span(&topic);
    let topic = match topic.as_rule() {
        Rule::help_assert => match significant(topic).nth(1) {
            None => HelpTopic::Assert(None),
            Some(name) => {
                let name = topic_text(builder, name)?;
                if !ASSERT_NAMES.contains(&name.node.as_str()) {
                    return Err(shared::unknown_choice(
                        "assertion",
                        &name.node,
                        name.span,
                        &ASSERT_NAMES,
                    )
                    .into());
                }
                HelpTopic::Assert(Some(name.node))
            }
        },
        _ => {
            let name = topic_text(builder, topic)?;
            if !OP_NAMES.contains(&name.node.as_str()) || name.node == "assert" {
                return Err(shared::unknown_op(&name.node, name.span).into());
            }
            HelpTopic::Op(name.node)
        }
    };
    Ok(Op::Help(Help {
        topic: Some(Spanned::new(topic, span)),
    }))
}

/// A `help_topic` pair: a word or a quoted string.
fn topic_text(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<String>> {
    let inner = significant(pair.clone()).next().unwrap_or(pair);
    match inner.as_rule() {
        Rule::string => parse_string(builder, inner),
        _ => Ok(Spanned::new(
            inner.as_str().to_string(),
            builder.span(&inner),
        )),
    }
}

/// `load "path" [alias=…] [to=REF] [format=…]`.
pub fn parse_load(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let mut errors = Vec::new();
    let mut parts = parts.into_iter();
    let path = parts
        .next()
        .and_then(|path| keep(non_empty_path(builder, path, "load path"), &mut errors));
    let (mut alias, mut to, mut format) = (None, None, None);
    for_each_option(
        builder,
        parts,
        &mut errors,
        |rule, _, value, errors| match rule {
            Rule::alias_option => alias = keep(parse_alias_name(builder, value), errors),
            Rule::to_option => {
                to = keep(
                    parse_reference(builder, value, Role::name("load", "to")),
                    errors,
                )
            }
            _ => {
                format = keep(
                    parse_choice(builder, value, "load format", &LOAD_FORMATS),
                    errors,
                )
            }
        },
    );
    // Only options that were all read can conflict (as in YAML): a `to=` that failed to parse
    // must not also be reported as missing.
    if errors.is_empty() {
        keep(
            rules::load_format(Syntax::Terse, format.as_ref(), to.is_some()),
            &mut errors,
        );
    }
    let load = path.map(|path| Load {
        path,
        alias,
        to,
        format,
    });
    finish(load.map(Op::Load), errors)
}

/// `save "path" [alias=…] [target=REF] [format=…] [shard=…]`.
pub fn parse_save(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let mut errors = Vec::new();
    let mut parts = parts.into_iter();
    let path = parts
        .next()
        .and_then(|path| keep(non_empty_path(builder, path, "save path"), &mut errors));
    let (mut alias, mut target, mut format, mut shard) = (None, None, None, None);
    for_each_option(
        builder,
        parts,
        &mut errors,
        |rule, _, value, errors| match rule {
            Rule::alias_option => alias = keep(parse_alias_name(builder, value), errors),
            Rule::target_option => {
                target = keep(
                    parse_reference(builder, value, Role::name("save", "target")),
                    errors,
                )
            }
            Rule::shard_option => shard = keep(parse_size(builder, value), errors),
            _ => {
                format = keep(
                    parse_choice(builder, value, "save format", &SAVE_FORMATS),
                    errors,
                )
            }
        },
    );
    // Only options that were all read can conflict (as in YAML).
    if errors.is_empty() {
        keep(
            rules::save_conflict(
                Syntax::Terse,
                format.as_ref(),
                target.is_some(),
                shard.as_ref(),
            ),
            &mut errors,
        );
    }
    let save = path.map(|path| Save {
        path,
        alias,
        target,
        format,
        shard,
    });
    finish(save.map(Op::Save), errors)
}

/// `prefixes`, `prefixes add A`, `prefixes remove A`, `prefixes rename A -> B`.
pub fn parse_prefixes(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let Some(mode) = parts.into_iter().next() else {
        return Ok(Op::Prefixes(Prefixes::List));
    };
    let rule = mode.as_rule();
    let names = significant(mode)
        .filter(|p| p.as_rule() == Rule::alias_name)
        .map(|p| parse_alias_name(builder, p))
        .collect::<Parsed<Vec<_>>>()?;
    let mut names = names.into_iter();
    let prefixes = match (rule, names.next(), names.next()) {
        (Rule::prefixes_add, Some(alias), _) => Prefixes::Add { alias },
        (Rule::prefixes_remove, Some(alias), _) => Prefixes::Remove { alias },
        (_, Some(from), Some(to)) => {
            rules::distinct_aliases(&from, &to)?;
            Prefixes::Rename { from, to }
        }
        _ => return Err(super::diagnostics::unexpected_tree(Span::default()).into()),
    };
    Ok(Op::Prefixes(prefixes))
}

/// `set [dry-run=…] [preview=…] [verbose=…]`.
pub fn parse_set(builder: &Builder, parts: Vec<Pair<'_, Rule>>) -> Parsed<Op> {
    let mut errors = Vec::new();
    let mut set = Set::default();
    let mut seen = SeenArguments::default();
    for option in parts {
        let (name, value) = argument_parts(option);
        if keep(seen.record(name.as_str(), builder.span(&name)), &mut errors).is_none() {
            continue;
        }
        let Some(value) = value else { continue };
        let flag = Some(parse_boolean(builder, value));
        match name.as_rule() {
            Rule::kw_dry_run => set.dry_run = flag,
            Rule::kw_preview => set.preview = flag,
            _ => set.verbose = flag,
        }
    }
    finish(Some(Op::Set(set)), errors)
}
