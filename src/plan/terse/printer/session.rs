//! Printing the session statements (`help`, `dump`, `diff`, `load`, `save`, `prefixes`, `set`)
//! and assertion expressions in canonical terse form.
//!
//! Receives the op's AST node; returns its line (without indentation), printing only the options
//! the plan holds, in a fixed order.

use super::lexical::{alias, number, reference, string, word};
use super::{list, size};
use crate::plan::ast::*;
use std::fmt::Write as _;

pub(super) fn help_line(help: &Help) -> String {
    match help.topic.as_ref().map(|t| &t.node) {
        None => "help".to_string(),
        Some(HelpTopic::Op(name)) if name == "assert" => format!("help {}", string(name)),
        Some(HelpTopic::Op(name)) => format!("help {}", word(name)),
        Some(HelpTopic::Assert(None)) => "help assert".to_string(),
        Some(HelpTopic::Assert(Some(name))) => format!("help assert {}", word(name)),
    }
}

pub(super) fn dump_line(dump: &Dump) -> String {
    let mut text = "dump".to_string();
    if let Some(target) = &dump.target {
        let _ = write!(text, " {}", reference(target));
    }
    if let Some(format) = &dump.format {
        let name = match format.node {
            DumpFormat::Compact => "compact",
            DumpFormat::Tree => "tree",
            DumpFormat::Json => "json",
        };
        let _ = write!(text, " format={name}");
    }
    if let Some(verbosity) = &dump.verbosity {
        let name = match verbosity.node {
            DumpVerbosity::Shape => "shape",
            DumpVerbosity::Stat => "stat",
            DumpVerbosity::Full => "full",
        };
        let _ = write!(text, " verbosity={name}");
    }
    text
}

pub(super) fn diff_line(diff: &Diff) -> String {
    let mut text = match &diff.sides {
        DiffSides::Refs { left, right } => {
            format!("diff {} {}", reference(left), reference(right))
        }
        DiffSides::Aliases {
            left_alias,
            right_alias,
        } => format!(
            "diff aliases {} {}",
            alias(&left_alias.node),
            alias(&right_alias.node)
        ),
    };
    if let Some(eps) = &diff.eps {
        let _ = write!(text, " eps={}", number(eps.node));
    }
    text
}

pub(super) fn load_line(load: &Load) -> String {
    let mut text = format!("load {}", string(&load.path.node));
    if let Some(name) = &load.alias {
        let _ = write!(text, " alias={}", alias(&name.node));
    }
    if let Some(to) = &load.to {
        let _ = write!(text, " to={}", reference(to));
    }
    if let Some(format) = &load.format {
        let _ = write!(text, " format={}", format.node.name());
    }
    text
}

pub(super) fn save_line(save: &Save) -> String {
    let mut text = format!("save {}", string(&save.path.node));
    if let Some(name) = &save.alias {
        let _ = write!(text, " alias={}", alias(&name.node));
    }
    if let Some(target) = &save.target {
        let _ = write!(text, " target={}", reference(target));
    }
    if let Some(format) = &save.format {
        let _ = write!(text, " format={}", format.node.name());
    }
    if let Some(shard) = &save.shard {
        let _ = write!(text, " shard={}", size(&shard.node));
    }
    text
}

pub(super) fn prefixes_line(prefixes: &Prefixes) -> String {
    match prefixes {
        Prefixes::List => "prefixes".to_string(),
        Prefixes::Add { alias: name } => format!("prefixes add {}", alias(&name.node)),
        Prefixes::Remove { alias: name } => format!("prefixes remove {}", alias(&name.node)),
        Prefixes::Rename { from, to } => format!(
            "prefixes rename {} -> {}",
            alias(&from.node),
            alias(&to.node)
        ),
    }
}

pub(super) fn set_line(set: &Set) -> String {
    let mut text = "set".to_string();
    for (key, flag) in [
        ("dry-run", &set.dry_run),
        ("preview", &set.preview),
        ("verbose", &set.verbose),
    ] {
        if let Some(flag) = flag {
            let _ = write!(text, " {key}={}", flag.node);
        }
    }
    text
}

/// An assertion expression.
pub(super) fn assertion(expression: &AssertExpr) -> String {
    match expression {
        AssertExpr::Exists(of) => format!("exists({})", reference(of)),
        AssertExpr::Count { of, is } => format!("count({}) == {}", reference(of), is.node),
        AssertExpr::Shape { of, is } => format!("shape({}) == {}", reference(of), list(&is.node)),
        AssertExpr::Dimensions { of, bounds } => {
            format!("dimensions({}){}", reference(of), bounds_text(bounds))
        }
        AssertExpr::Dtype { of, is } => {
            format!("dtype({}) == {}", reference(of), is.node.plan_name())
        }
        AssertExpr::Equal { left, right, eps } => format!(
            "equal({}, {}{})",
            reference(left),
            reference(right),
            eps_argument(eps)
        ),
        AssertExpr::IsZero { of, eps } => format!("iszero({}{})", reference(of), eps_argument(eps)),
        AssertExpr::Reads { of, bounds } => {
            format!("reads({}){}", reference(of), bounds_text(bounds))
        }
        AssertExpr::Writes { of, bounds } => {
            format!("writes({}){}", reference(of), bounds_text(bounds))
        }
        AssertExpr::All(items) => format!("all({})", assertions(items)),
        AssertExpr::Any(items) => format!("any({})", assertions(items)),
        AssertExpr::Not(inner) => format!("not {}", assertion(&inner.node)),
    }
}

fn assertions(items: &[Spanned<AssertExpr>]) -> String {
    let items: Vec<String> = items.iter().map(|item| assertion(&item.node)).collect();
    items.join(", ")
}

fn eps_argument(eps: &Option<Spanned<f64>>) -> String {
    eps.as_ref()
        .map_or_else(String::new, |eps| format!(", eps={}", number(eps.node)))
}

fn bounds_text(bounds: &Bounds) -> String {
    let written: Vec<String> = [
        ("==", &bounds.is),
        (">=", &bounds.ge),
        (">", &bounds.gt),
        ("<=", &bounds.le),
        ("<", &bounds.lt),
    ]
    .iter()
    .filter_map(|(operator, value)| value.as_ref().map(|v| format!("{operator} {}", v.node)))
    .collect();
    if written.is_empty() {
        String::new()
    } else {
        format!(" {}", written.join(", "))
    }
}
