//! Layout ops: reshape, permute, transpose, concat and split, byte-level over any dtype whose
//! elements are whole bytes (F4/F6 are refused).
//!
//! Each op has a `*_type` function (its type rule, for the compiler) and a kernel. Reshape is a
//! reinterpretation of the same row-major bytes: [`reshape_view`] costs nothing, [`reshape`] copies.
//! Dimensions may be negative (counting from the end) wherever PyTorch allows it.

use super::strided::{contiguous_strides, gather, Strided};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{element_size, TensorData, TensorView};
use crate::tensor::{Shape, TensorType};

/// A dimension index in `-rank..rank`, made non-negative.
pub fn normalize_dimension(dim: i64, rank: usize) -> Result<usize, KernelError> {
    let resolved = if dim < 0 { dim + rank as i64 } else { dim };
    if resolved < 0 || resolved >= rank as i64 {
        return Err(KernelError::DimensionOutOfRange { dim, rank });
    }
    Ok(resolved as usize)
}

/// The type of reshaping `ty` to `shape`, where one entry may be `-1` (inferred).
pub fn reshape_type(ty: &TensorType, shape: &[i64]) -> Result<TensorType, KernelError> {
    let error = |reason: &str| KernelError::Reshape {
        from: ty.shape.clone(),
        to: format!("{shape:?}"),
        reason: reason.to_string(),
    };
    let count = ty
        .shape
        .element_count()
        .ok_or_else(|| error("too many elements"))?;
    let mut inferred = None;
    let mut known: u64 = 1;
    for (position, &dim) in shape.iter().enumerate() {
        match dim {
            -1 if inferred.is_none() => inferred = Some(position),
            -1 => return Err(error("only one dimension can be -1")),
            d if d < 0 => return Err(error("dimensions must be -1 or at least 0")),
            d => {
                known = known
                    .checked_mul(d as u64)
                    .ok_or_else(|| error("too many elements"))?
            }
        }
    }
    let mut dims: Vec<u64> = shape.iter().map(|&d| d.max(0) as u64).collect();
    if let Some(position) = inferred {
        if known == 0 || count % known != 0 {
            return Err(error("the -1 dimension cannot be inferred"));
        }
        dims[position] = count / known;
    } else if known != count {
        return Err(error(&format!("{known} elements are not {count}")));
    }
    Ok(TensorType::new(ty.dtype, Shape::new(dims)))
}

/// The same bytes seen with a new shape (no copy).
pub fn reshape_view<'a>(
    input: &TensorView<'a>,
    shape: &[i64],
) -> Result<TensorView<'a>, KernelError> {
    input.with_type(reshape_type(input.ty(), shape)?)
}

/// A contiguous copy with a new shape.
pub fn reshape(input: &TensorView, shape: &[i64]) -> Result<TensorData, KernelError> {
    Ok(reshape_view(input, shape)?.to_data())
}

/// The type of permuting `ty`'s dimensions by `order` (output dimension `i` is input dimension
/// `order[i]`).
pub fn permute_type(ty: &TensorType, order: &[i64]) -> Result<TensorType, KernelError> {
    let resolved = resolve_order(order, ty.shape.rank())?;
    let dims = resolved
        .iter()
        .map(|&axis| ty.shape.dims()[axis])
        .collect::<Vec<_>>();
    Ok(TensorType::new(ty.dtype, Shape::new(dims)))
}

fn resolve_order(order: &[i64], rank: usize) -> Result<Vec<usize>, KernelError> {
    let not_a_permutation = || KernelError::NotAPermutation {
        order: order.to_vec(),
        rank,
    };
    if order.len() != rank {
        return Err(not_a_permutation());
    }
    let mut seen = vec![false; rank];
    let mut resolved = Vec::with_capacity(rank);
    for &dim in order {
        let axis = normalize_dimension(dim, rank).map_err(|_| not_a_permutation())?;
        if std::mem::replace(&mut seen[axis], true) {
            return Err(not_a_permutation());
        }
        resolved.push(axis);
    }
    Ok(resolved)
}

/// A contiguous copy with dimensions reordered.
pub fn permute(input: &TensorView, order: &[i64]) -> Result<TensorData, KernelError> {
    let size = element_size("permute", input.dtype())?;
    let resolved = resolve_order(order, input.shape().rank())?;
    let dims: Vec<usize> = input.shape().dims().iter().map(|&d| d as usize).collect();
    let strides = contiguous_strides(&dims);
    let layout = Strided {
        offset: 0,
        dims: resolved.iter().map(|&axis| dims[axis]).collect(),
        strides: resolved.iter().map(|&axis| strides[axis]).collect(),
    };
    let bytes = gather(input.bytes(), size, &layout);
    TensorData::new(permute_type(input.ty(), order)?, bytes)
}

/// The permutation that swaps `dim0` and `dim1`.
fn transpose_order(rank: usize, dim0: i64, dim1: i64) -> Result<Vec<i64>, KernelError> {
    let first = normalize_dimension(dim0, rank)?;
    let second = normalize_dimension(dim1, rank)?;
    let mut order: Vec<i64> = (0..rank as i64).collect();
    order.swap(first, second);
    Ok(order)
}

pub fn transpose_type(ty: &TensorType, dim0: i64, dim1: i64) -> Result<TensorType, KernelError> {
    permute_type(ty, &transpose_order(ty.shape.rank(), dim0, dim1)?)
}

/// A contiguous copy with two dimensions swapped.
pub fn transpose(input: &TensorView, dim0: i64, dim1: i64) -> Result<TensorData, KernelError> {
    permute(input, &transpose_order(input.shape().rank(), dim0, dim1)?)
}

/// The type of concatenating tensors along `dim`: same dtype and rank, equal sizes elsewhere.
pub fn concat_type(types: &[&TensorType], dim: i64) -> Result<TensorType, KernelError> {
    let Some(first) = types.first() else {
        return Err(KernelError::InvalidArgument {
            op: "concat",
            reason: "nothing to concatenate".into(),
        });
    };
    let rank = first.shape.rank();
    let axis = normalize_dimension(dim, rank)?;
    let mut total = 0u64;
    for ty in types {
        if ty.dtype != first.dtype {
            return Err(KernelError::DTypeMismatch {
                op: "concat",
                left: first.dtype,
                right: ty.dtype,
            });
        }
        let same_elsewhere = ty.shape.rank() == rank
            && ty
                .shape
                .dims()
                .iter()
                .zip(first.shape.dims())
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !same_elsewhere {
            return Err(KernelError::ShapeMismatch {
                op: "concat",
                left: first.shape.clone(),
                right: ty.shape.clone(),
            });
        }
        total += ty.shape.dims()[axis];
    }
    let mut dims = first.shape.dims().to_vec();
    dims[axis] = total;
    Ok(TensorType::new(first.dtype, Shape::new(dims)))
}

/// The tensors joined along `dim`.
pub fn concat(inputs: &[TensorView], dim: i64) -> Result<TensorData, KernelError> {
    let types: Vec<&TensorType> = inputs.iter().map(TensorView::ty).collect();
    let ty = concat_type(&types, dim)?;
    let size = element_size("concat", ty.dtype)?;
    let axis = normalize_dimension(dim, ty.shape.rank())?;
    let outer: usize = ty.shape.dims()[..axis]
        .iter()
        .map(|&d| d as usize)
        .product();
    let inner: usize = ty.shape.dims()[axis + 1..]
        .iter()
        .map(|&d| d as usize)
        .product();
    let mut out = TensorData::zeroed(ty)?;
    let bytes = out.bytes_mut();
    let mut position = 0;
    // Row `row` of the result is row `row` of every input, one after the other.
    for row in 0..outer {
        for input in inputs {
            let block = input.shape().dims()[axis] as usize * inner * size;
            bytes[position..position + block]
                .copy_from_slice(&input.bytes()[row * block..(row + 1) * block]);
            position += block;
        }
    }
    Ok(out)
}

/// The types of splitting `ty` along `dim` into pieces of `sizes`, which must add up to the
/// dimension.
pub fn split_types(
    ty: &TensorType,
    sizes: &[u64],
    dim: i64,
) -> Result<Vec<TensorType>, KernelError> {
    let axis = normalize_dimension(dim, ty.shape.rank())?;
    let available = ty.shape.dims()[axis];
    let sum = sizes.iter().try_fold(0u64, |acc, &s| acc.checked_add(s));
    if sum != Some(available) {
        return Err(KernelError::InvalidArgument {
            op: "split",
            reason: format!(
                "sizes {sizes:?} do not add up to dimension {axis} of size {available}"
            ),
        });
    }
    Ok(sizes
        .iter()
        .map(|&piece| {
            let mut dims = ty.shape.dims().to_vec();
            dims[axis] = piece;
            TensorType::new(ty.dtype, Shape::new(dims))
        })
        .collect())
}

/// The pieces of `input` along `dim`.
pub fn split(input: &TensorView, sizes: &[u64], dim: i64) -> Result<Vec<TensorData>, KernelError> {
    let types = split_types(input.ty(), sizes, dim)?;
    let size = element_size("split", input.dtype())?;
    let axis = normalize_dimension(dim, input.shape().rank())?;
    let dims = input.shape().dims();
    let outer: usize = dims[..axis].iter().map(|&d| d as usize).product();
    let inner: usize = dims[axis + 1..].iter().map(|&d| d as usize).product();
    let row = dims[axis] as usize * inner * size;
    let mut pieces = Vec::with_capacity(types.len());
    let mut start = 0;
    for ty in types {
        let block = ty.shape.dims()[axis] as usize * inner * size;
        let mut bytes = Vec::with_capacity(block * outer);
        for r in 0..outer {
            bytes.extend_from_slice(&input.bytes()[r * row + start..r * row + start + block]);
        }
        pieces.push(TensorData::new(ty, bytes)?);
        start += block;
    }
    Ok(pieces)
}
