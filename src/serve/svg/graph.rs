//! The plan graph as an SVG picture plus a JSON table of its nodes.
//!
//! [`draw`] receives a compiled [`PlanGraph`] and the source map of its plan and returns a
//! [`GraphPicture`]: the SVG (left to right, one box per node labelled as in `graph`'s DOT output,
//! styled by family, edges as curves) and, per drawn node, what the page shows when it is
//! clicked — op, parameters, type, and the plan step that made it (its line, column and text).
//! As in the DOT output, tensors passed through untouched are folded into one summary box,
//! because a real checkpoint has thousands. Each node's `<g>` carries `data-node` (its id), the
//! hook the page's click handler uses. **Guarantee**: at most [`NODE_LIMIT`] boxes are drawn;
//! beyond that the picture says how many nodes were left out rather than growing without bound.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::layout::layer_graph;
use super::{escape, shorten};
use crate::diagnostics::SourceMap;
use crate::graph::{NodeId, PlanGraph};

/// The most node boxes one picture draws.
pub const NODE_LIMIT: usize = 1500;

const BOX_WIDTH: f64 = 210.0;
const BOX_HEIGHT: f64 = 50.0;
const LAYER_GAP: f64 = 70.0;
const ROW_GAP: f64 = 14.0;
const MARGIN: f64 = 12.0;
const LABEL_CHARACTERS: usize = 32;

/// The picture and its clickable nodes.
#[derive(Debug, Clone)]
pub struct GraphPicture {
    pub svg: String,
    /// One entry per drawn graph node (the summary box has none).
    pub nodes: Vec<Value>,
    /// Nodes not drawn because of [`NODE_LIMIT`].
    pub omitted: usize,
}

/// One box of the picture: a graph node, or the summary of the folded passthrough tensors.
enum Box {
    Node(NodeId),
    Passthrough { tensors: usize, bytes: u64 },
}

pub fn draw(graph: &PlanGraph, sources: &SourceMap) -> GraphPicture {
    let mut folded = HashSet::new();
    let (mut tensors, mut bytes) = (0usize, 0u64);
    for load in graph.passthrough_loads() {
        folded.insert(load);
        folded.extend(graph.consumers(load));
        tensors += 1;
        bytes += graph
            .type_of(load)
            .and_then(|ty| ty.byte_len())
            .unwrap_or(0);
    }
    let visible: Vec<NodeId> = graph
        .node_ids()
        .into_iter()
        .filter(|id| !folded.contains(id))
        .collect();
    let omitted = visible.len().saturating_sub(NODE_LIMIT);
    let mut boxes: Vec<Box> = visible
        .into_iter()
        .take(NODE_LIMIT)
        .map(Box::Node)
        .collect();
    if tensors > 0 {
        boxes.push(Box::Passthrough { tensors, bytes });
    }
    let index: BTreeMap<NodeId, usize> = boxes
        .iter()
        .enumerate()
        .filter_map(|(position, drawn)| match drawn {
            Box::Node(id) => Some((*id, position)),
            Box::Passthrough { .. } => None,
        })
        .collect();
    let edges: Vec<(usize, usize)> = index
        .iter()
        .flat_map(|(&id, &to)| {
            graph
                .inputs(id)
                .into_iter()
                .filter_map(|input| index.get(&input).map(|&from| (from, to)))
                .collect::<Vec<_>>()
        })
        .collect();
    let layered = layer_graph(boxes.len(), &edges);
    let positions = layered.positions();
    let place = |node: usize| {
        let x = MARGIN + layered.layer[node] as f64 * (BOX_WIDTH + LAYER_GAP);
        let y = MARGIN + positions[node] as f64 * (BOX_HEIGHT + ROW_GAP);
        (x, y)
    };
    let tallest = layered.layers.iter().map(Vec::len).max().unwrap_or(0);
    let width = 2.0 * MARGIN + layered.layers.len() as f64 * (BOX_WIDTH + LAYER_GAP) - LAYER_GAP;
    let height = 2.0 * MARGIN + tallest as f64 * (BOX_HEIGHT + ROW_GAP) - ROW_GAP;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plan-graph\" width=\"{w:.0}\" \
         height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">",
        w = width.max(1.0),
        h = height.max(1.0)
    );
    svg.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\"/></marker></defs>");
    for &(from, to) in &edges {
        let (x1, y1) = place(from);
        let (x2, y2) = place(to);
        let (x1, y1, x2, y2) = (
            x1 + BOX_WIDTH,
            y1 + BOX_HEIGHT / 2.0,
            x2,
            y2 + BOX_HEIGHT / 2.0,
        );
        let bend = (x2 - x1) / 2.0;
        let _ = write!(
            svg,
            "<path class=\"edge\" d=\"M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}\" marker-end=\"url(#arrow)\"/>",
            x1 + bend,
            x2 - bend
        );
    }
    let mut nodes = Vec::new();
    for (position, drawn) in boxes.iter().enumerate() {
        let (x, y) = place(position);
        let (class, data, lines, title) = match drawn {
            Box::Node(id) => {
                let family = graph.node(*id).map_or("", |node| node.kind.family());
                let label = graph.label(*id);
                nodes.push(node_json(graph, *id, sources));
                let lines: Vec<String> = std::iter::once(format!("#{}", id.index()))
                    .chain(label.lines().map(str::to_string))
                    .collect();
                (
                    format!("node family-{family}"),
                    format!(" data-node=\"{}\"", id.index()),
                    lines,
                    label,
                )
            }
            Box::Passthrough { tensors, bytes } => {
                let count = format!("{tensors} tensor{}", if *tensors == 1 { "" } else { "s" });
                let text = format!("{count} passed through untouched ({bytes} bytes)");
                // The first two lines share a row, as a node's id and op do.
                let lines = vec![
                    count,
                    "passed".to_string(),
                    "through untouched".to_string(),
                    format!("{bytes} bytes"),
                ];
                ("node passthrough".to_string(), String::new(), lines, text)
            }
        };
        let _ = write!(
            svg,
            "<g class=\"{class}\"{data} transform=\"translate({x:.1},{y:.1})\"><title>{}</title>\
             <rect width=\"{BOX_WIDTH}\" height=\"{BOX_HEIGHT}\" rx=\"5\"/>",
            escape(&title)
        );
        // The id and op share the first line; the tensor name or parameters and the type follow.
        let first = lines.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
        let rows = std::iter::once(first)
            .chain(lines.into_iter().skip(2))
            .take(3);
        for (row, text) in rows.enumerate() {
            let _ = write!(
                svg,
                "<text x=\"8\" y=\"{:.0}\">{}</text>",
                15.0 + row as f64 * 14.0,
                escape(&shorten(&text, LABEL_CHARACTERS))
            );
        }
        svg.push_str("</g>");
    }
    if omitted > 0 {
        let _ = write!(
            svg,
            "<text class=\"omitted\" x=\"{MARGIN}\" y=\"{:.0}\">{omitted} more nodes not drawn</text>",
            height - 2.0
        );
    }
    svg.push_str("</svg>");
    GraphPicture {
        svg,
        nodes,
        omitted,
    }
}

/// What the page shows for a clicked node.
fn node_json(graph: &PlanGraph, id: NodeId, sources: &SourceMap) -> Value {
    let Some(node) = graph.node(id) else {
        return Value::Null;
    };
    let parameters: Map<String, Value> = node
        .kind
        .parameters()
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    let step = graph.span(id).and_then(|span| {
        let source = sources.get(span.source)?;
        let (line, column) = sources.line_col(span.source, span.start as usize);
        // A node's span is often just the op's keyword; the whole line says what the step does.
        let text = source.text.lines().nth(line - 1).unwrap_or("").trim();
        Some(json!({
            "source": source.name,
            "in_editor": span.source.0 == 0,
            "line": line,
            "column": column,
            "text": shorten(text, 400),
        }))
    });
    json!({
        "id": id.index(),
        "op": node.kind.name(),
        "family": node.kind.family(),
        "label": graph.label(id),
        "parameters": parameters,
        "type": node.ty.as_ref().map(|ty| ty.to_string()),
        "inputs": graph.inputs(id).iter().map(|input| input.index()).collect::<Vec<_>>(),
        "consumers": graph.consumers(id).iter().map(|c| c.index()).collect::<Vec<_>>(),
        "step": step,
    })
}
