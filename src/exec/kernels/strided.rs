//! Strided copies: the one loop under every layout op (slice, permute, transpose, the scatter of
//! write-into-slice).
//!
//! A [`Strided`] layout names elements of a flat row-major buffer by an offset, dimensions and a
//! stride per dimension (all in elements). [`gather`] copies the elements a layout names into a
//! new contiguous buffer in row-major order; [`scatter`] does the reverse into an existing buffer.
//! Both collapse the innermost dimensions that are already contiguous into one `memcpy` per run,
//! and split large copies into parallel tasks over disjoint output ranges.

use rayon::prelude::*;

/// Elements of a flat buffer addressed as an N-dimensional array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Strided {
    pub offset: usize,
    pub dims: Vec<usize>,
    pub strides: Vec<usize>,
}

/// Runs per parallel task: enough work to amortize scheduling, small enough to balance.
const BYTES_PER_TASK: usize = 1 << 20;

impl Strided {
    pub fn element_count(&self) -> usize {
        self.dims.iter().product()
    }

    /// How many innermost elements are adjacent in memory (one run), and over how many of the
    /// innermost dimensions the run extends.
    fn run(&self) -> (usize, usize) {
        let mut run = 1;
        let mut inner_dims = 0;
        for (dim, stride) in self.dims.iter().zip(&self.strides).rev() {
            if *stride != run && *dim != 1 {
                break;
            }
            run *= dim;
            inner_dims += 1;
        }
        (run, inner_dims)
    }

    /// Calls `visit(position, source_offset)` for runs `first..first + count` of the outer
    /// dimensions (those not in the run), in row-major order.
    fn for_each_run(
        &self,
        inner_dims: usize,
        first: usize,
        count: usize,
        mut visit: impl FnMut(usize, usize),
    ) {
        let outer = &self.dims[..self.dims.len() - inner_dims];
        let outer_strides = &self.strides[..outer.len()];
        // Decompose `first` into a multi-index once, then advance it like an odometer.
        let mut index = vec![0usize; outer.len()];
        let mut remaining = first;
        for axis in (0..outer.len()).rev() {
            index[axis] = remaining % outer[axis].max(1);
            remaining /= outer[axis].max(1);
        }
        let mut offset = self.offset
            + index
                .iter()
                .zip(outer_strides)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        for position in 0..count {
            visit(position, offset);
            for axis in (0..outer.len()).rev() {
                index[axis] += 1;
                offset += outer_strides[axis];
                if index[axis] < outer[axis] {
                    break;
                }
                offset -= outer_strides[axis] * index[axis];
                index[axis] = 0;
            }
        }
    }
}

pub(crate) fn contiguous_strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; dims.len()];
    let mut stride = 1;
    for (slot, dim) in strides.iter_mut().zip(dims).rev() {
        *slot = stride;
        stride *= dim;
    }
    strides
}

/// Copies the elements `layout` names in `source` (elements of `element_size` bytes) into a new
/// row-major buffer.
pub(crate) fn gather(source: &[u8], element_size: usize, layout: &Strided) -> Vec<u8> {
    let total = layout.element_count();
    let mut out = vec![0u8; total * element_size];
    if total == 0 {
        return out;
    }
    let (run, inner_dims) = layout.run();
    let run_bytes = run * element_size;
    let runs_per_task = (BYTES_PER_TASK / run_bytes).max(1);
    out.par_chunks_mut(runs_per_task * run_bytes)
        .enumerate()
        .for_each(|(task, block)| {
            let count = block.len() / run_bytes;
            layout.for_each_run(
                inner_dims,
                task * runs_per_task,
                count,
                |position, offset| {
                    let start = offset * element_size;
                    block[position * run_bytes..(position + 1) * run_bytes]
                        .copy_from_slice(&source[start..start + run_bytes]);
                },
            );
        });
    out
}

/// Writes `values` (row-major, `layout.element_count()` elements) into the elements `layout`
/// names in `target`.
pub(crate) fn scatter(target: &mut [u8], element_size: usize, layout: &Strided, values: &[u8]) {
    if layout.element_count() == 0 {
        return;
    }
    let (run, inner_dims) = layout.run();
    let run_bytes = run * element_size;
    let count = layout.element_count() / run;
    // Target runs may interleave with each other's strides, so this loop stays sequential.
    layout.for_each_run(inner_dims, 0, count, |position, offset| {
        let start = offset * element_size;
        target[start..start + run_bytes]
            .copy_from_slice(&values[position * run_bytes..(position + 1) * run_bytes]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_a_transpose_and_scatters_it_back() {
        let source: Vec<u8> = (0..6).collect();
        // A 2×3 array read as its 3×2 transpose.
        let transposed = Strided {
            offset: 0,
            dims: vec![3, 2],
            strides: vec![1, 3],
        };
        let out = gather(&source, 1, &transposed);
        assert_eq!(out, [0, 3, 1, 4, 2, 5]);
        let mut back = vec![0u8; 6];
        scatter(&mut back, 1, &transposed, &out);
        assert_eq!(back, source);
    }

    #[test]
    fn contiguous_inner_dimensions_copy_as_runs() {
        let layout = Strided {
            offset: 2,
            dims: vec![2, 1, 2],
            strides: vec![4, 100, 1],
        };
        assert_eq!(layout.run(), (2, 2));
        let source: Vec<u8> = (0..16).collect();
        assert_eq!(gather(&source, 2, &layout), [4, 5, 6, 7, 12, 13, 14, 15]);
    }
}
