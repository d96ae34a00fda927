//! Computing one node into a new buffer: the dispatch from a graph node kind to its kernel.
//!
//! [`materialize`] receives a node, its operand values (in operand order), its elementwise
//! program when it has one, and the reservation taken for it; it returns the node's value, whose
//! buffer keeps the reserved output bytes until the last user drops it (the scratch part of the
//! reservation is returned when this function ends). Elementwise work reads its operands chunk
//! by chunk, in parallel, and releases the mapped pages of each chunk once done, so a mapped
//! operand never becomes resident as a whole; other kernels read mapped operands whole and
//! release them afterwards. [`elementwise_op`] translates a graph op to the kernels' op.

use rayon::prelude::*;

use super::budget::Reservation;
use super::error::KernelError;
use super::footprint::{plan_slice, STREAM_CHUNK_ELEMENTS};
use super::kernels::elementwise::ElementwiseOp;
use super::kernels::lowrank;
use super::kernels::program::{ChunkState, ElementwiseProgram};
use super::kernels::random::{seed_from_plan, RandomDistribution as KernelDistribution};
use super::kernels::{creators, layout, linalg, slicing};
use super::tensor_data::TensorData;
use super::value::{Buffer, Value};
use crate::graph::ops::linalg::{lora_extract_packed, lora_extract_rule};
use crate::graph::ops::{Create, Elementwise, Layout, Linalg, NodeKind, RandomDistribution};
use crate::graph::NodeId;
use crate::plan::ast::{NestedValues, Slice, SliceComponent};
use crate::tensor::TensorType;

/// The kernels' form of a graph elementwise op.
pub fn elementwise_op(op: &Elementwise) -> ElementwiseOp {
    match *op {
        Elementwise::Scale { by } => ElementwiseOp::Scale { by },
        Elementwise::Add => ElementwiseOp::Add,
        Elementwise::Subtract => ElementwiseOp::Subtract,
        Elementwise::Multiply => ElementwiseOp::Multiply,
        Elementwise::Clamp { min, max } => ElementwiseOp::Clamp { min, max },
        Elementwise::Cast { dtype } => ElementwiseOp::Cast { dtype },
    }
}

/// A one-op program over a node's operands.
pub fn single_op_program(
    op: &Elementwise,
    operands: &[TensorType],
) -> Result<ElementwiseProgram, KernelError> {
    let mut program = ElementwiseProgram::new(operands.to_vec())?;
    let values: Vec<_> = (0..operands.len())
        .filter_map(|i| program.input(i))
        .collect();
    program.push(elementwise_op(op), &values)?;
    Ok(program)
}

/// Computes node `id` (of `kind` and type `ty`) from `operands`.
pub fn materialize<'a>(
    id: NodeId,
    kind: &NodeKind,
    ty: &TensorType,
    operands: &[Value<'a>],
    program: Option<&ElementwiseProgram>,
    mut reservation: Reservation,
    held_bytes: u64,
) -> Result<Value<'a>, KernelError> {
    let held = reservation.split(held_bytes);
    let bytes = match kind {
        NodeKind::Elementwise(_) | NodeKind::Fused(_) => {
            let program = program.ok_or_else(|| missing_program(id))?;
            run_program(program, operands)?
        }
        other => {
            let result = compute_whole(other, ty, operands, id);
            // Mapped operands were read whole; their pages are not needed any more.
            operands.iter().for_each(Value::release_all);
            result?.into_bytes()
        }
    };
    drop(reservation);
    Value::computed(ty.clone(), Buffer::new(bytes, Some(held)))
}

fn missing_program(id: NodeId) -> KernelError {
    KernelError::InvalidArgument {
        op: "elementwise",
        reason: format!("node {id} has no prepared program"),
    }
}

/// Runs an elementwise program into a new buffer, in parallel chunks, releasing each mapped
/// input chunk once it is consumed.
pub fn run_program(
    program: &ElementwiseProgram,
    operands: &[Value],
) -> Result<Vec<u8>, KernelError> {
    let output = program.output_type()?;
    let out_size = output.dtype.bit_size() / 8;
    let length = output.byte_len().unwrap_or(0) as usize;
    let mut bytes = vec![0u8; length];
    if out_size == 0 || length == 0 {
        return Ok(bytes);
    }
    let sizes: Vec<usize> = operands
        .iter()
        .map(|v| v.ty().dtype.bit_size() / 8)
        .collect();
    bytes
        .par_chunks_mut(STREAM_CHUNK_ELEMENTS * out_size)
        .enumerate()
        .try_for_each_init(ChunkState::default, |state, (index, out)| {
            let start = index * STREAM_CHUNK_ELEMENTS;
            let end = start + out.len() / out_size;
            let slices: Vec<&[u8]> = operands
                .iter()
                .zip(&sizes)
                .map(|(value, &size)| &value.bytes()[start * size..end * size])
                .collect();
            program.run_chunk_slices_with(&slices, out, state)?;
            for (value, slice) in operands.iter().zip(&slices) {
                value.release(slice);
            }
            Ok(())
        })?;
    Ok(bytes)
}

fn compute_whole(
    kind: &NodeKind,
    ty: &TensorType,
    operands: &[Value],
    id: NodeId,
) -> Result<TensorData, KernelError> {
    let views = operands
        .iter()
        .map(Value::view)
        .collect::<Result<Vec<_>, _>>()?;
    let operand = |index: usize| {
        views.get(index).ok_or(KernelError::OperandCount {
            op: "layout",
            expected: index + 1,
            actual: views.len(),
        })
    };
    match kind {
        NodeKind::Layout(layout_op) => match layout_op {
            Layout::Slice(spec) => slicing::slice(operand(0)?, &plan_slice(spec)),
            Layout::SplitPiece { dim, start, length } => {
                slicing::slice(operand(0)?, &split_slice(*dim, *start, *length))
            }
            Layout::Reshape { shape } => {
                let dims: Vec<i64> = shape.dims().iter().map(|&d| d as i64).collect();
                layout::reshape(operand(0)?, &dims)
            }
            Layout::Permute { order } => {
                let order: Vec<i64> = order.iter().map(|&d| d as i64).collect();
                layout::permute(operand(0)?, &order)
            }
            Layout::Transpose { dim0, dim1 } => {
                layout::transpose(operand(0)?, *dim0 as i64, *dim1 as i64)
            }
            Layout::Concat { dim } => layout::concat(&views, *dim as i64),
            Layout::UpdateRegion(spec) => {
                slicing::write_into_slice(operand(0)?, &plan_slice(spec), operand(1)?)
            }
            Layout::ByteView(_) => Err(KernelError::InvalidArgument {
                op: "view",
                reason: format!("node {id} is a view and is never copied"),
            }),
        },
        NodeKind::Linalg(Linalg::Matmul) => linalg::matmul(operand(0)?, operand(1)?),
        // One SVD yields both factors, packed A then B; the graph views each out of the buffer.
        NodeKind::Linalg(Linalg::PhloraFactors { rank, method }) => {
            lowrank::phlora(operand(0)?, *rank, method)
                .and_then(|factors| pack(factors.a, factors.b, ty))
        }
        NodeKind::Linalg(Linalg::PhloraReconstruct { rank, method }) => {
            lowrank::phlora_reconstruct(operand(0)?, *rank, method)
        }
        NodeKind::Linalg(Linalg::LoraExtractFactors {
            rank,
            energy,
            method,
        }) => {
            let rule = lora_extract_rule(*rank, *energy);
            let packed = lora_extract_packed(operand(0)?.ty(), operand(1)?.ty(), *rank, *energy)
                .map_err(|error| KernelError::InvalidArgument {
                    op: "lora_extract",
                    reason: error.to_string(),
                })?;
            lowrank::lora_extract(operand(0)?, operand(1)?, &rule, method).and_then(|factors| {
                let a = pad_rows(factors.a, &packed.a)?;
                let b = pad_columns(factors.b, &packed.b)?;
                pack(a, b, ty)
            })
        }
        NodeKind::Linalg(Linalg::LoraMerge { alpha }) => {
            lowrank::lora_merge(operand(0)?, operand(1)?, operand(2)?, *alpha)
        }
        NodeKind::Create(create) => create_tensor(create, id),
        _ => Err(KernelError::InvalidArgument {
            op: kind_name(kind),
            reason: format!("node {id} is not computed into a buffer"),
        }),
    }
    .and_then(|data| {
        if data.ty() == ty {
            Ok(data)
        } else {
            Err(KernelError::InvalidArgument {
                op: kind_name(kind),
                reason: format!("computed {} where the plan expects {ty}", data.ty()),
            })
        }
    })
}

/// Factors A and B in one buffer of type `ty` (1-D, their elements one after the other): the
/// packed layout of [`crate::graph::ops::linalg::PackedFactors`].
fn pack(a: TensorData, b: TensorData, ty: &TensorType) -> Result<TensorData, KernelError> {
    let mut bytes = a.into_bytes();
    bytes.extend_from_slice(b.bytes());
    TensorData::new(ty.clone(), bytes)
}

/// An A factor (r × in) zero-padded with rows to the planned type: an energy rule may keep
/// fewer components than the rank the plan typed, and zero components leave B·A unchanged.
fn pad_rows(factor: TensorData, ty: &TensorType) -> Result<TensorData, KernelError> {
    if factor.ty() == ty {
        return Ok(factor);
    }
    let mut bytes = factor.into_bytes();
    bytes.resize(ty.byte_len().unwrap_or(0) as usize, 0);
    TensorData::new(ty.clone(), bytes)
}

/// A B factor (out × r) zero-padded with columns to the planned type (see [`pad_rows`]).
fn pad_columns(factor: TensorData, ty: &TensorType) -> Result<TensorData, KernelError> {
    if factor.ty() == ty {
        return Ok(factor);
    }
    let width = factor.dtype().bit_size() / 8;
    let (rows, kept, planned) = match (factor.shape().dims(), ty.shape.dims()) {
        ([rows, kept], [_, planned]) => (*rows as usize, *kept as usize, *planned as usize),
        _ => return TensorData::new(ty.clone(), factor.into_bytes()),
    };
    let mut bytes = vec![0u8; rows * planned * width];
    if kept > 0 {
        for (row, source) in factor.bytes().chunks_exact(kept * width).enumerate() {
            let start = row * planned * width;
            bytes[start..start + kept * width].copy_from_slice(source);
        }
    }
    TensorData::new(ty.clone(), bytes)
}

fn kind_name(kind: &NodeKind) -> &'static str {
    kind.name()
}

/// `length` elements of dimension `dim` from `start`, every other dimension whole.
fn split_slice(dim: usize, start: u64, length: u64) -> Slice {
    let mut components = vec![
        SliceComponent::Range {
            start: None,
            stop: None,
            step: None,
        };
        dim
    ];
    components.push(SliceComponent::Range {
        start: Some(start as i64),
        stop: Some((start + length) as i64),
        step: Some(1),
    });
    Slice(components)
}

fn create_tensor(create: &Create, id: NodeId) -> Result<TensorData, KernelError> {
    match create {
        Create::Zeros { ty } => creators::zeros(ty.clone()),
        Create::Ones { ty } => creators::ones(ty.clone()),
        Create::FillConstant { ty, value } => creators::fill_constant(ty.clone(), *value),
        Create::Rand {
            ty,
            distribution,
            seed,
        } => {
            let distribution = match *distribution {
                RandomDistribution::Uniform { low, high } => {
                    KernelDistribution::new_uniform(low, high)?
                }
                RandomDistribution::Normal { mean, std } => {
                    KernelDistribution::new_normal(mean, std)?
                }
            };
            // Without a seed, each creator gets its node's number: runs stay reproducible and
            // two unseeded creators still differ.
            let seed = seed.map_or(id.index() as u64, seed_from_plan);
            creators::random(ty.clone(), &distribution, seed)
        }
        Create::FillTensor {
            ty,
            values,
            values_shape,
        } => creators::fill_values(ty.clone(), &nested(values, values_shape.dims())),
    }
}

/// Row-major `values` as the nested lists of `shape` that the fill kernel reads.
fn nested(values: &[f64], shape: &[u64]) -> NestedValues {
    match shape.split_first() {
        None => NestedValues::Scalar(values.first().copied().unwrap_or(0.0)),
        Some((&length, rest)) => {
            let step = rest.iter().product::<u64>() as usize;
            NestedValues::List(
                (0..length as usize)
                    .map(|i| nested(values.get(i * step..).unwrap_or(&[]), rest))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Shape;

    #[test]
    fn flat_values_nest_back_into_their_shape() {
        let nested_values = nested(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let (shape, flat) = creators::nested_shape(&nested_values).expect("not ragged");
        assert_eq!(shape, Shape::new(vec![2, 3]));
        assert_eq!(flat, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(nested(&[7.0], &[]), NestedValues::Scalar(7.0));
    }

    #[test]
    fn a_split_piece_is_a_range_of_one_dimension() {
        let slice = split_slice(1, 8, 4);
        assert_eq!(slice.0.len(), 2);
        assert_eq!(
            slice.0[1],
            SliceComponent::Range {
                start: Some(8),
                stop: Some(12),
                step: Some(1)
            }
        );
    }
}
