//! Text the REPL prints about the symbolic state: what a step did, and which tensors exist.
//!
//! Receives a [`StepEffect`] or the compile state and returns plain lines. Names are shown
//! without their alias when it is the session's default alias, and with `alias::` otherwise;
//! types are dtype and shape as `inspect` prints them. Long lists are cut after
//! [`LISTED_PER_KIND`] entries with a count of the rest, because one `move` of a real checkpoint
//! renames thousands of tensors.

use crate::compile::{CompileSession, EffectEntry, StepEffect};
use crate::inspect::text::{columns, Align};

/// How many created, changed or deleted names are listed before "… and N more".
pub const LISTED_PER_KIND: usize = 20;

/// A name as the user writes it: without the default alias.
pub fn display_name(alias: &str, name: &str, default_alias: Option<&str>) -> String {
    if Some(alias) == default_alias {
        name.to_string()
    } else {
        format!("{alias}::{name}")
    }
}

/// `created x  F32 [8]` lines for each kind of change; a step that changed no name says so.
pub fn effect(effect: &StepEffect, default_alias: Option<&str>) -> String {
    let kinds: [(&str, &[EffectEntry]); 3] = [
        ("created", &effect.created),
        ("changed", &effect.changed),
        ("deleted", &effect.deleted),
    ];
    let mut rows = Vec::new();
    let mut rest = Vec::new();
    for (kind, entries) in kinds {
        for entry in entries.iter().take(LISTED_PER_KIND) {
            rows.push(vec![
                kind.to_string(),
                display_name(&entry.alias, &entry.name, default_alias),
                entry.ty.dtype.to_string(),
                entry.ty.shape.to_string(),
            ]);
        }
        if entries.len() > LISTED_PER_KIND {
            rest.push(format!(
                "… and {} more {kind}",
                entries.len() - LISTED_PER_KIND
            ));
        }
    }
    if rows.is_empty() {
        return "ok: no tensor created, changed or deleted\n".to_string();
    }
    let mut text = without_header(&rows, &[Align::Left; 4]);
    for line in rest {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Rows in aligned columns, without a header line.
fn without_header(rows: &[Vec<String>], align: &[Align]) -> String {
    let header = vec![""; align.len()];
    columns(&header, rows, align)
        .lines()
        .skip(1)
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

/// The tensors of the state whose `alias::name` satisfies `matches`, with dtype and shape, then
/// their count.
pub fn tensors(
    compiler: &CompileSession<'_>,
    mut matches: impl FnMut(&str, &str) -> bool,
) -> String {
    let default_alias = compiler.default_alias();
    let mut rows = Vec::new();
    for alias in compiler.aliases() {
        for (name, ty) in compiler.tensors(alias) {
            if matches(alias, name) {
                rows.push(vec![
                    display_name(alias, name, default_alias),
                    ty.dtype.to_string(),
                    ty.shape.to_string(),
                ]);
            }
        }
    }
    let count = rows.len();
    let mut text = if rows.is_empty() {
        String::new()
    } else {
        without_header(&rows, &[Align::Left; 3])
    };
    text.push_str(&format!(
        "{count} tensor{}\n",
        if count == 1 { "" } else { "s" }
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, Shape, TensorType};

    fn entry(alias: &str, name: &str, dims: &[u64]) -> EffectEntry {
        EffectEntry {
            alias: alias.into(),
            name: name.into(),
            ty: TensorType::new(DType::F32, Shape::new(dims.to_vec())),
        }
    }

    #[test]
    fn effects_list_names_types_and_kinds() {
        let effect = StepEffect {
            created: vec![entry("model", "x", &[8, 24])],
            deleted: vec![entry("base", "long.name", &[8])],
            ..StepEffect::default()
        };
        let text = super::effect(&effect, Some("model"));
        assert_eq!(
            text,
            "created  x                F32  [8, 24]\ndeleted  base::long.name  F32  [8]\n"
        );
        assert_eq!(
            super::effect(&StepEffect::default(), None),
            "ok: no tensor created, changed or deleted\n"
        );
    }

    #[test]
    fn long_effects_are_cut_with_a_count() {
        let effect = StepEffect {
            created: (0..25)
                .map(|i| entry("m", &format!("t{i}"), &[1]))
                .collect(),
            ..StepEffect::default()
        };
        let text = super::effect(&effect, Some("m"));
        assert_eq!(text.lines().count(), LISTED_PER_KIND + 1);
        assert!(text.ends_with("… and 5 more created\n"), "{text}");
    }
}
