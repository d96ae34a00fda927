//! A reference evaluator for plan graphs over in-memory tensors, and a generator of random plans,
//! for the optimizer's equivalence tests.
//!
//! [`evaluate`] computes every `Store` of a graph node by node, with each node's value held whole:
//! elementwise ops one kernel call each, slices and split pieces gathered element by element with
//! index arithmetic of their own (independent of view folding's offsets), byte views and reshapes
//! as byte ranges, fused nodes through their program. It supports the node kinds the generator
//! produces and reports anything else as an error. [`random_plan`] turns a list of choices into a
//! terse plan that compiles: it tracks every name's type so each step's operands fit.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use brainsurgery::exec::kernels::creators;
use brainsurgery::exec::kernels::elementwise::ElementwiseOp;
use brainsurgery::exec::kernels::program::evaluate as evaluate_op;
use brainsurgery::exec::{TensorData, TensorView};
use brainsurgery::graph::ops::{Create, Elementwise, Layout, SliceDim};
use brainsurgery::graph::{NodeId, NodeKind, PlanGraph};
use brainsurgery::tensor::{DType, Shape, TensorType};

/// Stored tensors by name: type and bytes.
pub type Stored = BTreeMap<String, (TensorType, Vec<u8>)>;

/// The kernel op of an unfused elementwise node, written out here so that the reference does not
/// share the fused node's mapping.
fn kernel_op(op: &Elementwise) -> ElementwiseOp {
    match *op {
        Elementwise::Scale { by } => ElementwiseOp::Scale { by },
        Elementwise::Add => ElementwiseOp::Add,
        Elementwise::Subtract => ElementwiseOp::Subtract,
        Elementwise::Multiply => ElementwiseOp::Multiply,
        Elementwise::Clamp { min, max } => ElementwiseOp::Clamp { min, max },
        Elementwise::Cast { dtype } => ElementwiseOp::Cast { dtype },
    }
}

/// Every store's value; `inputs` holds the loaded tensors by name.
pub fn evaluate(graph: &PlanGraph, inputs: &HashMap<String, TensorData>) -> Result<Stored, String> {
    let mut values: HashMap<NodeId, TensorData> = HashMap::new();
    let mut stored = Stored::new();
    for id in graph.node_ids() {
        let node = graph.node(id).ok_or("a listed node exists")?;
        let ty = node.ty.clone().ok_or_else(|| format!("{id} has no type"))?;
        let operands: Vec<&TensorData> = graph
            .inputs(id)
            .iter()
            .map(|operand| values.get(operand).ok_or(format!("{operand} not computed")))
            .collect::<Result<_, _>>()?;
        let views: Vec<TensorView> = operands.iter().map(|data| data.view()).collect();
        let kernel = |result: Result<TensorData, _>| result.map_err(|e| format!("{id}: {e}"));
        let value = match &node.kind {
            NodeKind::Load(load) => inputs
                .get(&load.tensor)
                .cloned()
                .ok_or_else(|| format!("no input tensor {}", load.tensor))?,
            NodeKind::Store(store) => {
                stored.insert(store.name.clone(), (ty, operands[0].bytes().to_vec()));
                continue;
            }
            NodeKind::Elementwise(op) => kernel(evaluate_op(kernel_op(op), &views))?,
            NodeKind::Fused(fused) => {
                let dtypes: Vec<DType> = views.iter().map(TensorView::dtype).collect();
                let program = fused.to_program(&dtypes).map_err(|e| e.to_string())?;
                kernel(program.run(&views))?
            }
            NodeKind::Create(Create::FillConstant { ty, value }) => {
                kernel(creators::fill_constant(ty.clone(), *value))?
            }
            NodeKind::Create(Create::Ones { ty }) => kernel(creators::ones(ty.clone()))?,
            NodeKind::Create(Create::Zeros { ty }) => kernel(creators::zeros(ty.clone()))?,
            NodeKind::Layout(Layout::Reshape { .. }) => {
                TensorData::new(ty, operands[0].bytes().to_vec()).map_err(|e| e.to_string())?
            }
            NodeKind::Layout(Layout::ByteView(view)) => {
                let range = view.byte_range(&ty).ok_or("view range overflows")?;
                let bytes = operands[0]
                    .bytes()
                    .get(range.start as usize..range.end as usize)
                    .ok_or("view outside its operand")?;
                TensorData::new(ty, bytes.to_vec()).map_err(|e| e.to_string())?
            }
            NodeKind::Layout(Layout::Slice(spec)) => {
                let dims = operands[0].shape().dims();
                let mut selections: Vec<(u64, u64, u64, bool)> =
                    dims.iter().map(|&size| (0, size, 1, true)).collect();
                for (selection, component) in selections.iter_mut().zip(&spec.0) {
                    *selection = match *component {
                        SliceDim::Index(index) => (index, 1, 1, false),
                        SliceDim::Range {
                            start,
                            step,
                            length,
                        } => (start, length, step, true),
                    };
                }
                gather(operands[0], &selections, ty)?
            }
            NodeKind::Layout(Layout::SplitPiece { dim, start, length }) => {
                let dims = operands[0].shape().dims();
                let mut selections: Vec<(u64, u64, u64, bool)> =
                    dims.iter().map(|&size| (0, size, 1, true)).collect();
                selections[*dim] = (*start, *length, 1, true);
                gather(operands[0], &selections, ty)?
            }
            other => return Err(format!("the reference does not evaluate {}", other.name())),
        };
        values.insert(id, value);
    }
    Ok(stored)
}

/// The elements of `source` that `(start, count, step, kept)` per dimension select, in row-major
/// order, one index tuple at a time.
fn gather(
    source: &TensorData,
    selections: &[(u64, u64, u64, bool)],
    ty: TensorType,
) -> Result<TensorData, String> {
    let dims = source.shape().dims();
    let size = source.dtype().bit_size() / 8;
    let mut strides = vec![1u64; dims.len()];
    for d in (0..dims.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * dims[d + 1];
    }
    let total: u64 = selections.iter().map(|s| s.1).product();
    let mut out = Vec::with_capacity(total as usize * size);
    for flat in 0..total {
        let mut rest = flat;
        let mut element = 0u64;
        for d in (0..dims.len()).rev() {
            let (start, count, step, _) = selections[d];
            let position = rest % count;
            rest /= count;
            element += (start + position * step) * strides[d];
        }
        let at = element as usize * size;
        out.extend_from_slice(&source.bytes()[at..at + size]);
    }
    TensorData::new(ty, out).map_err(|e| e.to_string())
}

/// Deterministic bytes for a tensor (SplitMix64 of the seed and position): every bit pattern,
/// NaNs and infinities included, can occur.
pub fn random_tensor(ty: &TensorType, seed: u64) -> TensorData {
    let length = ty.byte_len().expect("small tensor") as usize;
    let mut state = seed;
    let mut bytes = Vec::with_capacity(length);
    while bytes.len() < length {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        bytes.extend_from_slice(&z.to_le_bytes());
    }
    bytes.truncate(length);
    TensorData::new(ty.clone(), bytes).expect("length matches")
}

pub const FLOAT_DTYPES: [DType; 6] = [
    DType::F16,
    DType::BF16,
    DType::F32,
    DType::F64,
    DType::F8_E4M3,
    DType::F8_E5M2,
];

/// One step of a random plan, as raw choices the generator interprets.
pub type Choice = (u8, u8, u8, u8);

/// A terse plan over input tensors `a`, `b`, `c` (all `input_type`) built from `choices`; every
/// step fits the types of the names it reads, so the plan compiles. Plans with an even number of
/// choices end by deleting all but their last two names.
pub fn random_plan(input_type: &TensorType, choices: &[Choice]) -> String {
    let mut names: Vec<(String, TensorType)> = ["a", "b", "c"]
        .iter()
        .map(|name| (name.to_string(), input_type.clone()))
        .collect();
    let mut lines = vec!["input \"m\"".to_string(), "output \"out\"".to_string()];
    for (index, &(kind, first, second, parameter)) in choices.iter().enumerate() {
        // Half of the steps read the newest name, which builds chains.
        let pick = if first.is_multiple_of(2) {
            names.len() - 1
        } else {
            first as usize / 2 % names.len()
        };
        let (x, x_type) = names[pick].clone();
        let dims = x_type.shape.dims().to_vec();
        let fresh = format!("t{index}");
        let mut created = |names: &mut Vec<(String, TensorType)>, ty: TensorType, line: String| {
            lines.push(line);
            names.push((fresh.clone(), ty));
        };
        match kind % 11 {
            0 => {
                let by = [0.5, -1.25, 3.0, 0.3, 1e-3][parameter as usize % 5];
                created(&mut names, x_type, format!("{fresh} = {x} * {by}"));
            }
            1 => {
                let bounds = ["min=-0.75, max=2", "min=0", "max=0.5"][parameter as usize % 3];
                created(
                    &mut names,
                    x_type,
                    format!("{fresh} = clamp({x}, {bounds})"),
                );
            }
            2 => {
                let dtype = FLOAT_DTYPES[parameter as usize % FLOAT_DTYPES.len()];
                let ty = TensorType::new(dtype, x_type.shape.clone());
                created(
                    &mut names,
                    ty,
                    format!("{fresh} = {x} as {}", dtype.plan_name()),
                );
            }
            3 => {
                let partners: Vec<&(String, TensorType)> =
                    names.iter().filter(|(_, ty)| *ty == x_type).collect();
                let y = partners[second as usize % partners.len()].0.clone();
                let op = ["+", "-", "*"][parameter as usize % 3];
                lines.push(format!("{x} <- {x} {op} {y}"));
            }
            4 if dims.first().is_some_and(|&rows| rows >= 3) => {
                let (slice, shape) = if parameter.is_multiple_of(2) {
                    ("[1:3]".to_string(), [&[2][..], &dims[1..]].concat())
                } else {
                    ("[2]".to_string(), dims[1..].to_vec())
                };
                let ty = TensorType::new(x_type.dtype, Shape::new(shape));
                created(&mut names, ty, format!("{fresh} = {x}::{slice}"));
            }
            5 if dims.len() >= 2 && dims[1] >= 2 => {
                let mut shape = dims.clone();
                shape[1] = 2;
                let ty = TensorType::new(x_type.dtype, Shape::new(shape));
                created(&mut names, ty, format!("{fresh} = {x}::[:, 0:2]"));
            }
            6 => {
                let count = dims.iter().product::<u64>();
                let ty = TensorType::new(x_type.dtype, Shape::new(vec![count]));
                created(&mut names, ty, format!("{fresh} = reshape({x}, [-1])"));
            }
            7 => {
                let value = [0.25, -2.0, 1.5][parameter as usize % 3];
                created(&mut names, x_type, format!("{fresh} = fill({x}, {value})"));
            }
            8 => {
                let dtype = FLOAT_DTYPES[parameter as usize % FLOAT_DTYPES.len()];
                let ty = TensorType::new(dtype, input_type.shape.clone());
                let shape: Vec<String> =
                    input_type.shape.dims().iter().map(u64::to_string).collect();
                let line = format!(
                    "{fresh} = ones([{}], dtype={})",
                    shape.join(", "),
                    dtype.plan_name()
                );
                created(&mut names, ty, line);
            }
            9 if names.len() > 1 => {
                lines.push(format!("del {x}"));
                names.retain(|(name, _)| *name != x);
            }
            10 if dims.first().is_some_and(|&rows| rows >= 2) => {
                let top = 1 + u64::from(parameter) % (dims[0] - 1);
                let pieces = [
                    (format!("{fresh}_top"), top),
                    (format!("{fresh}_rest"), dims[0] - top),
                ];
                lines.push(format!(
                    "{}, {} = split({x}, [{}, {}], dim=0)",
                    pieces[0].0, pieces[1].0, pieces[0].1, pieces[1].1
                ));
                for (name, rows) in pieces {
                    let mut shape = dims.clone();
                    shape[0] = rows;
                    names.push((name, TensorType::new(x_type.dtype, Shape::new(shape))));
                }
            }
            _ => {}
        }
    }
    // Half of the plans keep only their last two names, so that most intermediates are read by
    // one consumer and chains can fuse; the other half store every intermediate.
    if choices.len().is_multiple_of(2) {
        let kept = names.len().saturating_sub(2);
        for (name, _) in &names[..kept] {
            lines.push(format!("del {name}"));
        }
    }
    lines.join("\n") + "\n"
}
