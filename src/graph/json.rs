//! The JSON back end: a [`PlanGraph`] as one JSON document.
//!
//! `{"nodes": [...], "outputs": [...]}`; each node has its id, op, family, parameters, dtype and
//! shape (null for sinks), operand ids in position order and, when a [`SourceMap`] is given, the
//! plan location (`file:line:column`) of the step that made it. Nodes come in id order and
//! parameters in each op's fixed order, so the document is deterministic. Nothing is folded.

use serde_json::{json, Map, Value};

use super::{PlanGraph, ShardSize};
use crate::diagnostics::SourceMap;

impl PlanGraph {
    pub fn to_json(&self, sources: Option<&SourceMap>) -> Value {
        let nodes: Vec<Value> = self
            .node_ids()
            .into_iter()
            .filter_map(|id| {
                let node = self.node(id)?;
                let parameters: Map<String, Value> = node
                    .kind
                    .parameters()
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect();
                let at = sources.zip(self.span(id)).and_then(|(sources, span)| {
                    let source = sources.get(span.source)?;
                    let (line, column) = sources.line_col(span.source, span.start as usize);
                    Some(format!("{}:{line}:{column}", source.name))
                });
                Some(json!({
                    "id": id.index(),
                    "op": node.kind.name(),
                    "family": node.kind.family(),
                    "parameters": parameters,
                    "dtype": node.ty.as_ref().map(|ty| ty.dtype.to_string()),
                    "shape": node.ty.as_ref().map(|ty| ty.shape.dims().to_vec()),
                    "inputs": self.inputs(id).iter().map(|input| input.index()).collect::<Vec<_>>(),
                    "at": at,
                }))
            })
            .collect();
        let outputs: Vec<Value> = self
            .outputs()
            .iter()
            .enumerate()
            .map(|(index, output)| {
                json!({
                    "id": index,
                    "path": output.path,
                    "alias": output.alias,
                    "format": output.format,
                    "shard": output.shard.as_ref().map(|shard| match shard {
                        ShardSize::None => Value::from("none"),
                        ShardSize::Bytes { bytes, .. } => Value::from(*bytes),
                    }),
                    "plan_output": output.is_plan_output,
                })
            })
            .collect();
        json!({ "nodes": nodes, "outputs": outputs })
    }
}
