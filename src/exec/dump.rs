//! Rendering a `dump` step: the tensors it shows, in BrainSurgery's three formats.
//!
//! [`render`] receives the format, and one [`DumpEntry`] per tensor (its `alias::name` label, its
//! type and, by verbosity, nothing more, its statistics, or its values) and returns the text.
//! Names are split on `.` into a tree per alias; numeric segments are indices.
//! - `compact`: one line per tensor, `alias::name  DTYPE [shape]` plus `min=… max=… mean=…` or the
//!   values; at `shape` verbosity numbered siblings with identical structure fold into ranges
//!   (`h.[0-11].attn.weight`), as BrainSurgery's compact dump does;
//! - `tree`: the name tree, indented two spaces per level, a tensor's details after its last segment;
//! - `json`: one line, keys sorted, a level whose keys are exactly `0..n` written as a list.
//!
//! Numbers print with six significant digits (`%.6g`), NaN as `nan`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::kernels::compare::Statistics;
use crate::inspect::fold::fold;
use crate::inspect::text::general;
use crate::plan::ast::DumpFormat;
use crate::tensor::TensorType;

/// What a dump shows of one tensor besides its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Shape,
    /// `None` for an empty tensor.
    Stat(Option<Statistics>),
    /// The values in row-major order (`None` when the dtype has no real value per element).
    Full(Option<Vec<f64>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DumpEntry {
    pub label: String,
    pub ty: TensorType,
    pub detail: Detail,
}

pub fn render(format: DumpFormat, entries: &[DumpEntry]) -> String {
    match format {
        DumpFormat::Compact => compact(entries),
        DumpFormat::Tree => tree(entries),
        DumpFormat::Json => json(entries),
    }
}

fn split_label(label: &str) -> (&str, &str) {
    label.split_once("::").unwrap_or(("", label))
}

fn compact(entries: &[DumpEntry]) -> String {
    let mut out = String::new();
    if entries.iter().all(|e| e.detail == Detail::Shape) {
        let mut by_alias: BTreeMap<&str, Vec<(&str, &TensorType)>> = BTreeMap::new();
        for entry in entries {
            let (alias, name) = split_label(&entry.label);
            by_alias.entry(alias).or_default().push((name, &entry.ty));
        }
        for (alias, tensors) in by_alias {
            for line in fold(tensors) {
                out.push_str(&format!(
                    "{alias}::{}  {}\n",
                    line.path,
                    type_text(&line.ty)
                ));
            }
        }
        return out;
    }
    for entry in entries {
        out.push_str(&format!(
            "{}  {}{}\n",
            entry.label,
            type_text(&entry.ty),
            detail_text(&entry.detail)
        ));
    }
    out
}

fn type_text(ty: &TensorType) -> String {
    format!("{} {}", ty.dtype, ty.shape)
}

fn detail_text(detail: &Detail) -> String {
    match detail {
        Detail::Shape => String::new(),
        Detail::Stat(None) => "  min=None max=None mean=None".to_string(),
        Detail::Stat(Some(stats)) => format!(
            "  min={} max={} mean={}",
            general(stats.min),
            general(stats.max),
            general(stats.mean)
        ),
        Detail::Full(None) => "  values=(not decodable)".to_string(),
        Detail::Full(Some(values)) => format!("  values={}", values_text(values)),
    }
}

fn values_text(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().map(|&v| general(v)).collect();
    format!("[{}]", parts.join(", "))
}

/// One level of the name tree.
#[derive(Default)]
struct Level<'e> {
    children: BTreeMap<SegmentKey, Level<'e>>,
    entry: Option<&'e DumpEntry>,
}

/// Indices sort numerically before names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SegmentKey {
    Index(u64),
    Name(String),
}

impl SegmentKey {
    fn parse(segment: &str) -> SegmentKey {
        let canonical = segment == "0" || (!segment.starts_with('0') && !segment.is_empty());
        match segment.parse::<u64>() {
            Ok(index) if canonical && segment.bytes().all(|b| b.is_ascii_digit()) => {
                SegmentKey::Index(index)
            }
            _ => SegmentKey::Name(segment.to_string()),
        }
    }

    fn text(&self) -> String {
        match self {
            SegmentKey::Index(index) => index.to_string(),
            SegmentKey::Name(name) => name.clone(),
        }
    }
}

fn build_tree(entries: &[DumpEntry]) -> BTreeMap<String, Level<'_>> {
    let mut roots: BTreeMap<String, Level> = BTreeMap::new();
    for entry in entries {
        let (alias, name) = split_label(&entry.label);
        let mut level = roots.entry(alias.to_string()).or_default();
        for segment in name.split('.') {
            level = level
                .children
                .entry(SegmentKey::parse(segment))
                .or_default();
        }
        level.entry = Some(entry);
    }
    roots
}

fn tree(entries: &[DumpEntry]) -> String {
    fn walk(level: &Level, depth: usize, out: &mut String) {
        for (key, child) in &level.children {
            let indent = "  ".repeat(depth);
            match child.entry {
                Some(entry) => out.push_str(&format!(
                    "{indent}{}: {}{}\n",
                    key.text(),
                    type_text(&entry.ty),
                    detail_text(&entry.detail)
                )),
                None => out.push_str(&format!("{indent}{}\n", key.text())),
            }
            walk(child, depth + 1, out);
        }
    }
    let mut out = String::new();
    for (alias, root) in build_tree(entries) {
        out.push_str(&format!("{alias}::\n"));
        walk(&root, 1, &mut out);
    }
    out
}

fn json(entries: &[DumpEntry]) -> String {
    fn leaf(entry: &DumpEntry) -> BTreeMap<String, Value> {
        let mut fields = BTreeMap::new();
        fields.insert("dtype".to_string(), Value::from(entry.ty.dtype.to_string()));
        fields.insert(
            "shape".to_string(),
            Value::from(entry.ty.shape.dims().to_vec()),
        );
        match &entry.detail {
            Detail::Shape => {}
            Detail::Stat(stats) => {
                let number = |pick: fn(&Statistics) -> f64| {
                    stats.as_ref().map_or(Value::Null, |s| Value::from(pick(s)))
                };
                fields.insert("min".to_string(), number(|s| s.min));
                fields.insert("max".to_string(), number(|s| s.max));
                fields.insert("mean".to_string(), number(|s| s.mean));
            }
            Detail::Full(values) => {
                let shaped = values
                    .as_ref()
                    .map_or(Value::Null, |v| shaped_values(v, entry.ty.shape.dims()));
                fields.insert("values".to_string(), shaped);
            }
        }
        fields
    }
    fn object(fields: BTreeMap<String, Value>) -> Value {
        Value::Object(fields.into_iter().collect::<Map<String, Value>>())
    }
    fn level_value(level: &Level) -> Value {
        let mut fields = level.entry.map(leaf).unwrap_or_default();
        let dense = level.entry.is_none()
            && level
                .children
                .keys()
                .enumerate()
                .all(|(i, key)| *key == SegmentKey::Index(i as u64));
        if dense && !level.children.is_empty() {
            return Value::Array(level.children.values().map(level_value).collect());
        }
        for (key, child) in &level.children {
            fields.insert(key.text(), level_value(child));
        }
        object(fields)
    }
    let roots = build_tree(entries);
    let document = object(
        roots
            .iter()
            .map(|(alias, root)| (alias.clone(), level_value(root)))
            .collect(),
    );
    format!("{document}\n")
}

/// Row-major values nested as lists of `dims`.
fn shaped_values(values: &[f64], dims: &[u64]) -> Value {
    match dims.split_first() {
        None => values.first().map_or(Value::Null, |&v| Value::from(v)),
        Some((&length, rest)) => {
            let step = rest.iter().product::<u64>() as usize;
            Value::Array(
                (0..length as usize)
                    .map(|i| shaped_values(values.get(i * step..).unwrap_or(&[]), rest))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, Shape};

    fn entry(label: &str, dims: &[u64], detail: Detail) -> DumpEntry {
        DumpEntry {
            label: label.to_string(),
            ty: TensorType::new(DType::F32, Shape::new(dims.to_vec())),
            detail,
        }
    }

    #[test]
    fn compact_shapes_fold_identical_layers() {
        let entries = vec![
            entry("model::h.0.w", &[2, 3], Detail::Shape),
            entry("model::h.1.w", &[2, 3], Detail::Shape),
            entry("model::ln.b", &[3], Detail::Shape),
        ];
        assert_eq!(
            render(DumpFormat::Compact, &entries),
            "model::h.[0-1].w  F32 [2, 3]\nmodel::ln.b  F32 [3]\n"
        );
    }

    #[test]
    fn statistics_and_values_print_per_tensor() {
        let stats = Statistics {
            min: -1.5,
            max: 2.0,
            mean: 0.25,
        };
        let entries = vec![
            entry("m::a", &[2], Detail::Stat(Some(stats))),
            entry("m::b", &[2], Detail::Full(Some(vec![1.0, 0.5]))),
        ];
        assert_eq!(
            render(DumpFormat::Compact, &entries),
            "m::a  F32 [2]  min=-1.5 max=2 mean=0.25\nm::b  F32 [2]  values=[1, 0.5]\n"
        );
        assert_eq!(
            render(DumpFormat::Tree, &entries),
            "m::\n  a: F32 [2]  min=-1.5 max=2 mean=0.25\n  b: F32 [2]  values=[1, 0.5]\n"
        );
    }

    #[test]
    fn json_is_one_sorted_line_with_indices_as_lists() {
        let entries = vec![
            entry("m::h.0.w", &[1], Detail::Full(Some(vec![3.0]))),
            entry("m::h.1.w", &[1], Detail::Shape),
        ];
        assert_eq!(
            render(DumpFormat::Json, &entries),
            "{\"m\":{\"h\":[{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"values\":[3.0]}},\
             {\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}]}}\n"
        );
    }
}
