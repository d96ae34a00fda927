//! The plain-text back end: a [`PlanGraph`] as one line per node, for optimizer snapshots and
//! reading a graph in a terminal.
//!
//! Each line is `id = op(operands) parameters : type`; loads show `alias::tensor`, stores their
//! output, name and (when it is not the default) their mode. Nodes come in id order and parameters
//! in each op's fixed order, so the text is deterministic and diffs cleanly. Nothing is folded.

use std::fmt::Write as _;

use super::dot::compact;
use super::ops::StoreMode;
use super::{NodeKind, PlanGraph};

impl PlanGraph {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for id in self.node_ids() {
            let Some(node) = self.node(id) else {
                continue;
            };
            let operands: Vec<String> = self.inputs(id).iter().map(|i| i.to_string()).collect();
            let _ = write!(out, "{id} = {}", node.kind.name());
            if !operands.is_empty() {
                let _ = write!(out, "({})", operands.join(", "));
            }
            match &node.kind {
                NodeKind::Load(load) => {
                    let _ = write!(out, " {}::{}", load.alias, load.tensor);
                }
                NodeKind::Store(store) => {
                    let alias = self
                        .output(store.output)
                        .map_or("", |output| output.alias.as_str());
                    let _ = write!(out, " #{} {alias}::{}", store.output.index(), store.name);
                    if store.mode == StoreMode::CopyBytes {
                        out.push_str(" copy_bytes");
                    }
                }
                kind => {
                    for (name, value) in kind.parameters() {
                        let _ = write!(out, " {name}={}", compact(&value));
                    }
                }
            }
            if let Some(ty) = &node.ty {
                let _ = write!(out, " : {ty}");
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::ops::{Elementwise, Load, Store};
    use crate::graph::{NodeKind, OutputSpec, PlanGraph};
    use crate::tensor::{DType, Shape, TensorType};

    #[test]
    fn one_line_per_node_in_id_order() {
        let mut graph = PlanGraph::new();
        let ty = TensorType::new(DType::F32, Shape::new(vec![2]));
        let load = graph.add_node(
            NodeKind::Load(Load {
                alias: "model".into(),
                path: "m".into(),
                tensor: "a".into(),
                ty: ty.clone(),
            }),
            Some(ty.clone()),
            &[],
            None,
        );
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 0.5 }),
            Some(ty.clone()),
            &[load],
            None,
        );
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "model".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        graph.add_node(
            NodeKind::Store(Store::new(output, "a")),
            Some(ty),
            &[scaled],
            None,
        );
        assert_eq!(
            graph.to_text(),
            "n0 = load model::a : F32 [2]\nn1 = scale(n0) by=0.5 : F32 [2]\nn2 = store(n1) #0 model::a : F32 [2]\n"
        );
    }
}
