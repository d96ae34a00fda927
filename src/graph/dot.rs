//! The DOT back end: a [`PlanGraph`] as Graphviz text.
//!
//! One DOT node per graph node, labeled with the op, its parameters, dtype and shape; loads,
//! stores, sinks and computations are styled apart so the boundary of the plan is visible (the
//! optimizer's byte views are dashed, its fused nodes bold, its byte-copying stores labeled
//! `copy_bytes`). Output
//! is deterministic — nodes in id order, edges by (consumer, operand position) — so two runs diff
//! cleanly. Unless [`DotOptions::all`] is set, untouched tensors (a `Load` read only by `Store`s)
//! are folded with their stores into one summary node, because a real checkpoint has thousands.

use std::fmt::Write as _;

use serde_json::Value;

use super::ops::{Layout, StoreMode};
use super::{NodeId, NodeKind, PlanGraph};
use crate::diagnostics::SourceMap;

/// How to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct DotOptions<'a> {
    /// Show passthrough tensors one by one instead of one summary node.
    pub all: bool,
    /// When given, each node gets a tooltip with the plan location of the step that made it.
    pub sources: Option<&'a SourceMap>,
}

impl PlanGraph {
    /// Loads whose every consumer is a `Store` (at least one), with those stores: tensors that
    /// go from input to output untouched.
    pub fn passthrough_loads(&self) -> Vec<NodeId> {
        self.node_ids()
            .into_iter()
            .filter(|&id| {
                let is_load = matches!(self.node(id).map(|n| &n.kind), Some(NodeKind::Load(_)));
                let consumers = self.consumers(id);
                is_load
                    && !consumers.is_empty()
                    && consumers
                        .iter()
                        .all(|&c| matches!(self.node(c).map(|n| &n.kind), Some(NodeKind::Store(_))))
            })
            .collect()
    }

    pub fn to_dot(&self, options: &DotOptions) -> String {
        let mut folded = std::collections::HashSet::new();
        let mut folded_bytes = 0u64;
        let mut folded_tensors = 0usize;
        if !options.all {
            for load in self.passthrough_loads() {
                folded.insert(load);
                folded_tensors += 1;
                folded_bytes += self.type_of(load).and_then(|ty| ty.byte_len()).unwrap_or(0);
                folded.extend(self.consumers(load));
            }
        }
        let mut out = String::new();
        out.push_str("digraph plan {\n");
        out.push_str("  rankdir=LR;\n");
        out.push_str("  node [fontname=\"monospace\", fontsize=10];\n");
        out.push_str("  edge [fontname=\"monospace\", fontsize=8];\n");
        for id in self.node_ids() {
            if folded.contains(&id) {
                continue;
            }
            let _ = writeln!(
                out,
                "  {id} [label=\"{}\", {}{}];",
                escape(&self.label(id)),
                style(&self.node(id).map(|n| &n.kind)),
                self.tooltip(id, options.sources)
            );
        }
        if folded_tensors > 0 {
            let _ = writeln!(
                out,
                "  passthrough [label=\"{folded_tensors} tensor{} passed through untouched\\n{folded_bytes} bytes\", shape=folder, style=dashed];",
                if folded_tensors == 1 { "" } else { "s" }
            );
        }
        for id in self.node_ids() {
            if folded.contains(&id) {
                continue;
            }
            let inputs = self.inputs(id);
            for (position, input) in inputs.iter().enumerate() {
                if inputs.len() > 1 {
                    let _ = writeln!(out, "  {input} -> {id} [label=\"{position}\"];");
                } else {
                    let _ = writeln!(out, "  {input} -> {id};");
                }
            }
        }
        out.push_str("}\n");
        out
    }

    /// `op parameters\ndtype shape` (plus the name for loads and stores).
    fn label(&self, id: NodeId) -> String {
        let Some(node) = self.node(id) else {
            return String::new();
        };
        let mut label = node.kind.name().to_string();
        match &node.kind {
            NodeKind::Load(load) => {
                let _ = write!(label, "\n{}::{}", load.alias, load.tensor);
            }
            NodeKind::Store(store) => {
                let alias = self
                    .output(store.output)
                    .map_or("", |output| output.alias.as_str());
                let _ = write!(label, " #{}", store.output.index());
                if store.mode == StoreMode::CopyBytes {
                    label.push_str(" copy_bytes");
                }
                let _ = write!(label, "\n{alias}::{}", store.name);
            }
            kind => {
                for (name, value) in kind.parameters() {
                    let _ = write!(label, " {name}={}", compact(&value));
                }
            }
        }
        if let Some(ty) = &node.ty {
            let _ = write!(label, "\n{ty}");
        }
        label
    }

    fn tooltip(&self, id: NodeId, sources: Option<&SourceMap>) -> String {
        let (Some(sources), Some(span)) = (sources, self.span(id)) else {
            return String::new();
        };
        let Some(source) = sources.get(span.source) else {
            return String::new();
        };
        let (line, column) = sources.line_col(span.source, span.start as usize);
        format!(", tooltip=\"{}:{line}:{column}\"", escape(&source.name))
    }
}

fn style(kind: &Option<&NodeKind>) -> &'static str {
    match kind {
        Some(NodeKind::Load(_)) => "shape=invhouse, style=filled, fillcolor=\"#dbeafe\"",
        Some(NodeKind::Store(_)) => "shape=house, style=filled, fillcolor=\"#dcfce7\"",
        Some(NodeKind::Sink(_)) => "shape=note, style=filled, fillcolor=\"#fef3c7\"",
        Some(NodeKind::Create(_)) => "shape=box, style=\"rounded,filled\", fillcolor=\"#f3e8ff\"",
        Some(NodeKind::Layout(Layout::ByteView(_))) => "shape=box, style=dashed",
        Some(NodeKind::Fused(_)) => "shape=box, style=bold",
        _ => "shape=box",
    }
}

/// A parameter value as short text: strings bare, everything else as compact JSON.
pub(super) fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{Elementwise, Load, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::{DType, Shape, TensorType};

    /// Two loads stored untouched and one scaled before its store.
    fn sample() -> PlanGraph {
        let mut graph = PlanGraph::new();
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "model".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        for name in ["a", "b", "c"] {
            let ty = TensorType::new(DType::F32, Shape::new(vec![2]));
            let load = graph.add_node(
                NodeKind::Load(Load {
                    alias: "model".into(),
                    path: "m".into(),
                    tensor: name.into(),
                    ty: ty.clone(),
                }),
                Some(ty.clone()),
                &[],
                None,
            );
            let value = if name == "c" {
                graph.add_node(
                    NodeKind::Elementwise(Elementwise::Scale { by: 0.5 }),
                    Some(ty.clone()),
                    &[load],
                    None,
                )
            } else {
                load
            };
            graph.add_node(
                NodeKind::Store(Store::new(output, name)),
                Some(ty),
                &[value],
                None,
            );
        }
        graph
    }

    #[test]
    fn passthroughs_fold_into_one_summary_node_unless_all() {
        let graph = sample();
        assert_eq!(graph.passthrough_loads().len(), 2);
        let folded = graph.to_dot(&DotOptions::default());
        assert!(folded.contains("2 tensors passed through untouched\\n16 bytes"));
        assert!(!folded.contains("model::a"));
        assert!(folded.contains("scale by=0.5\\nF32 [2]"));
        let all = graph.to_dot(&DotOptions {
            all: true,
            sources: None,
        });
        assert!(!all.contains("passed through"));
        assert!(all.contains("load\\nmodel::a\\nF32 [2]"));
        assert!(all.contains("shape=invhouse") && all.contains("shape=house"));
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(
            sample().to_dot(&DotOptions::default()),
            sample().to_dot(&DotOptions::default())
        );
        let json = sample().to_json(None);
        assert_eq!(json["nodes"].as_array().map(Vec::len), Some(7));
        assert_eq!(json["nodes"][5]["op"], "scale");
        assert_eq!(json["nodes"][5]["inputs"], serde_json::json!([4]));
    }
}
