//! How a tensor's bytes sit in its file, and the bytes a read hands out.
//!
//! A [`TensorInfo`](super::TensorInfo) names a byte range of a mapped file; its [`DataLayout`] says
//! how that range becomes the tensor's row-major bytes: as it is (safetensors, contiguous PyTorch
//! tensors, C-order `.npy`), gathered by element strides (a non-contiguous PyTorch view, a
//! Fortran-order `.npy`), or inflated first (a compressed `.npz` member). Every layout is validated
//! when the checkpoint is opened, so the functions here index within bounds the opener has
//! checked. [`TensorBytes`] is what a read returns: the mapped pages themselves when nothing has to
//! be converted, an owned buffer otherwise; it dereferences to `[u8]` either way.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// How the bytes of a tensor's file range become its row-major bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLayout {
    /// The range holds exactly the tensor's bytes in row-major order; reads are zero-copy.
    Contiguous,
    /// The range starts at the tensor's first element; the element at index `i` lies
    /// `Σ i_d · strides[d]` elements further. Reads gather the elements into a new buffer.
    Strided { strides: Vec<u64> },
    /// The range is a raw DEFLATE stream that inflates to `inflated_len` bytes with CRC-32
    /// `crc32`; the tensor starts `skip` bytes into them, contiguous, or by `strides` when given.
    Deflated {
        inflated_len: u64,
        crc32: u32,
        skip: u64,
        strides: Option<Vec<u64>>,
    },
}

/// The row-major element strides of `shape`.
pub(crate) fn row_major_strides(shape: &[u64]) -> Vec<u64> {
    let mut strides = vec![1u64; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1].saturating_mul(shape[axis + 1]);
    }
    strides
}

/// True when elements at `strides` are laid out exactly row-major. Axes of length 1 may have any
/// stride (no step is ever taken along them), and an empty tensor is trivially contiguous; PyTorch
/// reports contiguity the same way.
pub(crate) fn is_row_major(shape: &[u64], strides: &[u64]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = 1u64;
    for (&length, &stride) in shape.iter().zip(strides).rev() {
        if length != 1 && stride != expected {
            return false;
        }
        expected = expected.saturating_mul(length);
    }
    true
}

/// Bytes from the first element to the end of the last one of a strided view, or `None` on
/// overflow. An empty tensor spans nothing.
pub(crate) fn strided_span(shape: &[u64], strides: &[u64], element_size: u64) -> Option<u64> {
    if shape.contains(&0) {
        return Some(0);
    }
    let mut last = 0u64;
    for (&length, &stride) in shape.iter().zip(strides) {
        last = last.checked_add((length - 1).checked_mul(stride)?)?;
    }
    last.checked_add(1)?.checked_mul(element_size)
}

/// A buffer of `len` bytes could not be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AllocationFailed {
    pub len: u64,
}

/// An empty buffer with room for `len` bytes, or an error instead of aborting the process (a
/// view with zero strides can describe far more bytes than its file holds).
pub(crate) fn buffer(len: u64) -> Result<Vec<u8>, AllocationFailed> {
    let mut output = Vec::new();
    usize::try_from(len)
        .ok()
        .and_then(|capacity| output.try_reserve_exact(capacity).ok())
        .ok_or(AllocationFailed { len })?;
    Ok(output)
}

/// Copies the elements of a strided view out of `source` in row-major order. `source` must hold
/// [`strided_span`] bytes, which the opener checked.
pub(crate) fn gather(
    source: &[u8],
    shape: &[u64],
    strides: &[u64],
    element_size: usize,
) -> Result<Vec<u8>, AllocationFailed> {
    let count = shape
        .iter()
        .try_fold(1u64, |total, &length| total.checked_mul(length))
        .and_then(|count| count.checked_mul(element_size as u64))
        .ok_or(AllocationFailed { len: u64::MAX })?;
    let mut output = buffer(count)?;
    if count == 0 {
        return Ok(output);
    }
    let Some((&inner_length, outer)) = shape.split_last() else {
        // A 0-dim tensor is its one element.
        output.extend_from_slice(&source[..element_size]);
        return Ok(output);
    };
    let inner_stride = strides[outer.len()];
    let mut index = vec![0u64; outer.len()];
    loop {
        let base: u64 = index.iter().zip(strides).map(|(i, s)| i * s).sum();
        if inner_stride == 1 {
            // A run of adjacent elements is one copy.
            let start = base as usize * element_size;
            output.extend_from_slice(&source[start..start + inner_length as usize * element_size]);
        } else {
            for step in 0..inner_length {
                let start = (base + step * inner_stride) as usize * element_size;
                output.extend_from_slice(&source[start..start + element_size]);
            }
        }
        // Advance the outer index like an odometer; done when it wraps around.
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return Ok(output);
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < outer[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// The bytes of one tensor as a read hands them out: borrowed from the file map when the tensor is
/// stored contiguously, owned when it had to be gathered or inflated. Dereferences to `[u8]`.
#[derive(Clone, PartialEq, Eq)]
pub struct TensorBytes<'a>(Cow<'a, [u8]>);

impl<'a> TensorBytes<'a> {
    pub(crate) fn mapped(bytes: &'a [u8]) -> TensorBytes<'a> {
        TensorBytes(Cow::Borrowed(bytes))
    }

    pub(crate) fn owned(bytes: Vec<u8>) -> TensorBytes<'static> {
        TensorBytes(Cow::Owned(bytes))
    }

    /// True when these are the file's own pages (no copy was made).
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }

    pub fn into_owned(self) -> Vec<u8> {
        self.0.into_owned()
    }

    /// The mapped slice (with the checkpoint's lifetime) or the gathered copy.
    pub fn into_cow(self) -> Cow<'a, [u8]> {
        self.0
    }
}

impl Deref for TensorBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for TensorBytes<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TensorBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

// Comparisons with plain byte containers keep tests and callers written against `&[u8]` reads
// working unchanged.
impl PartialEq<[u8]> for TensorBytes<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&[u8]> for TensorBytes<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        *self.0 == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for TensorBytes<'_> {
    fn eq(&self, other: &[u8; N]) -> bool {
        *self.0 == other[..]
    }
}

impl PartialEq<Vec<u8>> for TensorBytes<'_> {
    fn eq(&self, other: &Vec<u8>) -> bool {
        *self.0 == other[..]
    }
}

impl PartialEq<TensorBytes<'_>> for &[u8] {
    fn eq(&self, other: &TensorBytes<'_>) -> bool {
        **self == *other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_detection_ignores_unit_axes() {
        assert!(is_row_major(&[2, 3], &[3, 1]));
        assert!(!is_row_major(&[3, 2], &[1, 3]));
        assert!(is_row_major(&[1, 4], &[99, 1]));
        assert!(is_row_major(&[0, 4], &[7, 7]));
        assert!(is_row_major(&[], &[]));
        assert_eq!(row_major_strides(&[2, 3, 4]), [12, 4, 1]);
    }

    #[test]
    fn span_covers_first_to_last_element() {
        assert_eq!(strided_span(&[3, 2], &[1, 3], 4), Some(24));
        assert_eq!(strided_span(&[3], &[4], 2), Some(18));
        assert_eq!(strided_span(&[], &[], 8), Some(8));
        assert_eq!(strided_span(&[2, 0], &[1, 1], 8), Some(0));
        assert_eq!(strided_span(&[u64::MAX, 2], &[u64::MAX, 1], 1), None);
    }

    #[test]
    fn gather_walks_indices_in_row_major_order() {
        // A 2x3 row-major matrix of u16; its transpose is a 3x2 view with strides (1, 3).
        let matrix: Vec<u8> = (0u16..6).flat_map(u16::to_le_bytes).collect();
        let transposed = gather(&matrix, &[3, 2], &[1, 3], 2).unwrap();
        let values: Vec<u16> = transposed
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(values, [0, 3, 1, 4, 2, 5]);
        // Contiguous inner runs and broadcast (stride 0) rows.
        assert_eq!(
            gather(&[1, 2, 3], &[2, 3], &[0, 1], 1).unwrap(),
            [1, 2, 3, 1, 2, 3]
        );
        assert_eq!(gather(&[9], &[], &[], 1).unwrap(), [9]);
        assert!(gather(&[], &[0, 5], &[5, 1], 4).unwrap().is_empty());
        // A broadcast view of astronomically many elements fails cleanly.
        assert!(gather(&[1], &[u64::MAX / 2, 4], &[0, 0], 1).is_err());
    }

    #[test]
    fn tensor_bytes_compare_like_slices() {
        let data = [1u8, 2, 3];
        let mapped = TensorBytes::mapped(&data);
        assert!(mapped.is_mapped());
        assert_eq!(mapped, [1, 2, 3]);
        assert_eq!(&data[..], mapped);
        let owned = TensorBytes::owned(vec![1, 2, 3]);
        assert!(!owned.is_mapped());
        assert_eq!(owned, mapped);
        assert_eq!(owned.into_owned(), vec![1, 2, 3]);
    }
}
