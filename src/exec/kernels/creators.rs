//! Creators: new tensors of a given type filled with zeros, ones, a constant, a nested value list
//! broadcast to the shape, or seeded random samples.
//!
//! Values are converted to the dtype with the scalar rules of `scalar` (floats round by the cast
//! rules; integer dtypes need integral, representable values; BOOL is `value != 0`). Fills and
//! random generation run in parallel chunks; random output depends only on the seed and each
//! element's index, never on the chunking ([`random_chunk`] lets a caller generate any range).

use std::ops::Range;

use rayon::prelude::*;

use super::codec::{encode_values, LaneKind};
use super::random::RandomDistribution;
use super::scalar::element_bytes;
use super::strided::{contiguous_strides, gather, Strided};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{byte_len, TensorData};
use crate::plan::ast::NestedValues;
use crate::tensor::{DType, Shape, TensorType};

/// Elements generated per parallel task.
const CHUNK_ELEMENTS: usize = 64 * 1024;

/// A tensor of zeros (all bytes zero, which is 0 in every numeric dtype).
pub fn zeros(ty: TensorType) -> Result<TensorData, KernelError> {
    LaneKind::require("zeroes", ty.dtype)?;
    TensorData::zeroed(ty)
}

/// A tensor of ones.
pub fn ones(ty: TensorType) -> Result<TensorData, KernelError> {
    let element = element_bytes("ones", "value", 1.0, ty.dtype)?;
    repeat(ty, &element)
}

/// A tensor whose every element is `value`.
pub fn fill_constant(ty: TensorType, value: f64) -> Result<TensorData, KernelError> {
    let element = element_bytes("fill", "value", value, ty.dtype)?;
    repeat(ty, &element)
}

fn repeat(ty: TensorType, element: &[u8]) -> Result<TensorData, KernelError> {
    let mut out = TensorData::zeroed(ty)?;
    out.bytes_mut()
        .par_chunks_mut(element.len() * CHUNK_ELEMENTS)
        .for_each(|chunk| {
            for slot in chunk.chunks_exact_mut(element.len()) {
                slot.copy_from_slice(element);
            }
        });
    Ok(out)
}

/// A nested list's shape and its values in row-major order; ragged lists are an error.
pub fn nested_shape(values: &NestedValues) -> Result<(Shape, Vec<f64>), KernelError> {
    // The shape is read along the first elements; every other element must then match it.
    let mut dims = Vec::new();
    let mut node = values;
    while let NestedValues::List(items) = node {
        dims.push(items.len() as u64);
        match items.first() {
            Some(first) => node = first,
            None => break,
        }
    }
    fn collect(node: &NestedValues, dims: &[u64], flat: &mut Vec<f64>) -> Result<(), KernelError> {
        match (node, dims.split_first()) {
            (NestedValues::Scalar(value), None) => {
                flat.push(*value);
                Ok(())
            }
            (NestedValues::List(items), Some((&length, rest))) if items.len() as u64 == length => {
                items.iter().try_for_each(|item| collect(item, rest, flat))
            }
            _ => Err(ragged()),
        }
    }
    let mut flat = Vec::new();
    collect(values, &dims, &mut flat)?;
    Ok((Shape::new(dims), flat))
}

fn ragged() -> KernelError {
    KernelError::InvalidArgument {
        op: "fill",
        reason: "the value list is ragged (its sublists differ in length or depth)".into(),
    }
}

/// A tensor of `ty` holding `values` broadcast to its shape by PyTorch's rules: dimensions align
/// from the right, and each value dimension is 1 or equal to the target's.
pub fn fill_values(ty: TensorType, values: &NestedValues) -> Result<TensorData, KernelError> {
    let (shape, flat) = nested_shape(values)?;
    let target = ty.shape.dims();
    let broadcast_error = || KernelError::Broadcast {
        values: shape.clone(),
        target: ty.shape.clone(),
    };
    if shape.rank() > target.len() {
        return Err(broadcast_error());
    }
    let leading = target.len() - shape.rank();
    let value_strides =
        contiguous_strides(&shape.dims().iter().map(|&d| d as usize).collect::<Vec<_>>());
    let mut strides = vec![0usize; target.len()];
    for (axis, (&size, &stride)) in shape.dims().iter().zip(&value_strides).enumerate() {
        let target_size = target[leading + axis];
        if size == target_size {
            strides[leading + axis] = stride;
        } else if size != 1 {
            return Err(broadcast_error());
        }
    }
    let width = ty.dtype.bit_size() / 8;
    let mut encoded = Vec::with_capacity(flat.len() * width);
    for &value in &flat {
        encoded.extend(element_bytes("fill", "values", value, ty.dtype)?);
    }
    let layout = Strided {
        offset: 0,
        dims: target.iter().map(|&d| d as usize).collect(),
        strides,
    };
    byte_len(&ty)?;
    let bytes = gather(&encoded, width, &layout);
    TensorData::new(ty, bytes)
}

/// A tensor of `ty` of random samples of `distribution` with `seed`.
pub fn random(
    ty: TensorType,
    distribution: &RandomDistribution,
    seed: u64,
) -> Result<TensorData, KernelError> {
    LaneKind::require("rand", ty.dtype)?;
    let mut out = TensorData::zeroed(ty)?;
    let dtype = out.dtype();
    let width = dtype.bit_size() / 8;
    out.bytes_mut()
        .par_chunks_mut(width * CHUNK_ELEMENTS)
        .enumerate()
        .try_for_each(|(index, chunk)| {
            let start = (index * CHUNK_ELEMENTS) as u64;
            let range = start..start + (chunk.len() / width) as u64;
            random_chunk(dtype, distribution, seed, range, chunk)
        })?;
    Ok(out)
}

/// Elements `range` of a random tensor of `dtype`, written to `out` (exactly those elements).
pub fn random_chunk(
    dtype: DType,
    distribution: &RandomDistribution,
    seed: u64,
    range: Range<u64>,
    out: &mut [u8],
) -> Result<(), KernelError> {
    LaneKind::require("rand", dtype)?;
    let count = range.end.saturating_sub(range.start) as usize;
    let expected = count * (dtype.bit_size() / 8);
    if out.len() != expected {
        return Err(KernelError::ByteLength {
            ty: TensorType::new(dtype, Shape::new(vec![count as u64])),
            expected: expected as u64,
            actual: out.len(),
        });
    }
    let samples: Vec<f64> = range
        .map(|index| distribution.sample(seed, index))
        .collect();
    encode_values(&samples, dtype, out);
    Ok(())
}
