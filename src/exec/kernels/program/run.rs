//! Evaluating an elementwise program: whole tensors in parallel chunks, a single chunk for a
//! caller that streams, or op by op with every intermediate materialized (unfused).
//!
//! All three paths call each op's `PreparedOp::apply` on bytes encoded in the op's dtype, so they
//! give identical bytes.

use std::ops::Range;

use rayon::prelude::*;

use super::{ChunkState, ElementwiseProgram, RunOptions, ValueId};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{byte_len, TensorData, TensorView};
use crate::tensor::{DType, Shape, TensorType};

impl ElementwiseProgram {
    /// Runs the whole program with the default options into a new tensor.
    pub fn run(&self, inputs: &[TensorView]) -> Result<TensorData, KernelError> {
        let mut out = TensorData::zeroed(self.output_type()?)?;
        self.run_into(inputs, out.bytes_mut(), &RunOptions::default())?;
        Ok(out)
    }

    /// Runs the whole program into `out` (the output's bytes), chunk by chunk.
    pub fn run_into(
        &self,
        inputs: &[TensorView],
        out: &mut [u8],
        options: &RunOptions,
    ) -> Result<(), KernelError> {
        self.check_inputs(inputs)?;
        let output_type = self.output_type()?;
        let expected = byte_len(&output_type)?;
        if out.len() != expected {
            return Err(KernelError::ByteLength {
                ty: output_type,
                expected: expected as u64,
                actual: out.len(),
            });
        }
        let chunk_elements = options.chunk_elements.max(1);
        let out_size = output_type.dtype.bit_size() / 8;
        if out_size == 0 || out.is_empty() {
            return Ok(());
        }
        let run_one = |(index, chunk): (usize, &mut [u8])| {
            let start = index * chunk_elements;
            let range = start..start + chunk.len() / out_size;
            self.run_chunk(range, inputs, chunk)
        };
        let chunk_bytes = chunk_elements * out_size;
        if options.parallel {
            out.par_chunks_mut(chunk_bytes)
                .enumerate()
                .try_for_each(run_one)
        } else {
            out.chunks_mut(chunk_bytes)
                .enumerate()
                .try_for_each(run_one)
        }
    }

    /// Computes elements `range` of the output into `out` (exactly those elements' bytes), reading
    /// the same range of every whole-tensor input.
    pub fn run_chunk(
        &self,
        range: Range<usize>,
        inputs: &[TensorView],
        out: &mut [u8],
    ) -> Result<(), KernelError> {
        self.check_inputs(inputs)?;
        if range.start > range.end || range.end > self.element_count {
            return Err(KernelError::InvalidArgument {
                op: "elementwise",
                reason: format!(
                    "chunk {range:?} is outside the {} elements",
                    self.element_count
                ),
            });
        }
        let slices: Vec<&[u8]> = inputs
            .iter()
            .map(|input| {
                let size = input.dtype().bit_size() / 8;
                &input.bytes()[range.start * size..range.end * size]
            })
            .collect();
        self.run_chunk_slices(&slices, out)
    }

    /// Computes one chunk from the chunk's bytes of every input (a caller streaming from files
    /// passes just those ranges); all slices and `out` must hold the same number of elements.
    pub fn run_chunk_slices(&self, inputs: &[&[u8]], out: &mut [u8]) -> Result<(), KernelError> {
        self.run_chunk_slices_with(inputs, out, &mut ChunkState::default())
    }

    /// [`ElementwiseProgram::run_chunk_slices`] reusing `state`'s buffers (one state per worker
    /// saves an allocation per intermediate per chunk).
    pub fn run_chunk_slices_with(
        &self,
        inputs: &[&[u8]],
        out: &mut [u8],
        state: &mut ChunkState,
    ) -> Result<(), KernelError> {
        let output = self.output()?;
        let output_dtype = self.dtype_of("elementwise", output)?;
        let elements = out.len() / (output_dtype.bit_size() / 8);
        self.check_chunk_lengths(inputs, out.len(), elements, output_dtype)?;
        if output.0 < self.inputs.len() {
            out.copy_from_slice(inputs[output.0]);
            return Ok(());
        }
        let live = self.live_nodes(output);
        let output_node = output.0 - self.inputs.len();
        state.buffers.resize_with(self.nodes.len(), Vec::new);
        for (index, node) in self.nodes.iter().enumerate().take(output_node + 1) {
            if !live[index] {
                continue;
            }
            // This node's buffer is taken out while the others are read as operands.
            let mut buffer = std::mem::take(&mut state.buffers[index]);
            let operands: Vec<&[u8]> = node
                .operands
                .iter()
                .map(|value| match inputs.get(value.0) {
                    Some(slice) => *slice,
                    None => &state.buffers[value.0 - self.inputs.len()][..],
                })
                .collect();
            if index == output_node {
                node.prepared.apply(&operands, out, &mut state.scratch);
            } else {
                let size = node.prepared.output_dtype().bit_size() / 8;
                buffer.resize(elements * size, 0);
                node.prepared
                    .apply(&operands, &mut buffer, &mut state.scratch);
            }
            state.buffers[index] = buffer;
        }
        Ok(())
    }

    /// Evaluates op by op, materializing every intermediate as a whole tensor (what execution
    /// without fusion does). Produces the same bytes as [`ElementwiseProgram::run`].
    pub fn run_unfused(&self, inputs: &[TensorView]) -> Result<TensorData, KernelError> {
        self.check_inputs(inputs)?;
        let output = self.output()?;
        if output.0 < self.inputs.len() {
            return Ok(inputs[output.0].to_data());
        }
        let live = self.live_nodes(output);
        let mut results: Vec<Option<TensorData>> = vec![None; self.nodes.len()];
        let output_node = output.0 - self.inputs.len();
        for (index, node) in self.nodes.iter().enumerate().take(output_node + 1) {
            if !live[index] {
                continue;
            }
            let mut operand_views = Vec::with_capacity(node.operands.len());
            for value in &node.operands {
                let view = match inputs.get(value.0) {
                    Some(view) => view.clone(),
                    None => results[value.0 - self.inputs.len()]
                        .as_ref()
                        .map(TensorData::view)
                        .ok_or(KernelError::UnknownValue {
                            op: "elementwise",
                            index: value.0,
                        })?,
                };
                operand_views.push(view);
            }
            let mut single = ElementwiseProgram::with_shape(
                self.shape.clone(),
                operand_views.iter().map(TensorView::dtype).collect(),
            )?;
            let operands: Vec<ValueId> = (0..operand_views.len()).map(ValueId).collect();
            single.push(node.op.clone(), &operands)?;
            results[index] = Some(single.run(&operand_views)?);
        }
        results[output_node]
            .take()
            .ok_or(KernelError::UnknownValue {
                op: "elementwise",
                index: output.0,
            })
    }

    fn check_chunk_lengths(
        &self,
        inputs: &[&[u8]],
        out_length: usize,
        elements: usize,
        output_dtype: DType,
    ) -> Result<(), KernelError> {
        let chunk_error = |dtype: DType, actual: usize| KernelError::ByteLength {
            ty: TensorType::new(dtype, Shape::new(vec![elements as u64])),
            expected: (elements * (dtype.bit_size() / 8)) as u64,
            actual,
        };
        if out_length != elements * (output_dtype.bit_size() / 8) {
            return Err(chunk_error(output_dtype, out_length));
        }
        if inputs.len() != self.inputs.len() {
            return Err(KernelError::OperandCount {
                op: "elementwise",
                expected: self.inputs.len(),
                actual: inputs.len(),
            });
        }
        for (slice, &dtype) in inputs.iter().zip(&self.inputs) {
            if slice.len() != elements * (dtype.bit_size() / 8) {
                return Err(chunk_error(dtype, slice.len()));
            }
        }
        Ok(())
    }
}
