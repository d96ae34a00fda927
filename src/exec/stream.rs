//! Writing into the outputs without materializing: streamed elementwise nodes and store copies.
//!
//! [`stream_program`] receives an elementwise program, its operand values and the store nodes
//! that write its result; it computes the result chunk by chunk (in parallel, one chunk buffer per
//! worker thread), writes each chunk at its offset into every store's tensor, and releases the
//! mapped pages of the input chunks it consumed. [`copy_value`] receives a store node and an
//! existing value and writes the value's bytes into the store's tensor undecoded: an input file's
//! bytes (a `Load → Store` passthrough, or a byte view of a load) go file to file inside the
//! kernel (`copy_file_range`, as `cp` does), computed bytes in chunks. Either way a run's resident memory stays at a few chunks however
//! large the tensors are.

use std::fs::File;

use rayon::prelude::*;

use super::error::KernelError;
use super::footprint::{COPY_CHUNK_BYTES, STREAM_CHUNK_ELEMENTS};
use super::kernels::program::{ChunkState, ElementwiseProgram};
use super::outputs::Outputs;
use super::progress::Progress;
use super::value::Value;
use crate::graph::NodeId;
use crate::io::IoError;

/// Bytes per file-to-file copy call: large enough to cost nothing, small enough that progress
/// moves and an interrupt is seen promptly.
const FILE_COPY_CHUNK_BYTES: u64 = 64 * 1024 * 1024;

/// Why streaming stopped.
#[derive(Debug)]
pub enum StreamError {
    Kernel(KernelError),
    Io(IoError),
}

impl From<KernelError> for StreamError {
    fn from(error: KernelError) -> StreamError {
        StreamError::Kernel(error)
    }
}

impl From<IoError> for StreamError {
    fn from(error: IoError) -> StreamError {
        StreamError::Io(error)
    }
}

/// Where streamed bytes go.
#[derive(Clone, Copy)]
pub struct Sink<'o> {
    pub outputs: &'o Outputs,
    pub progress: &'o Progress,
}

/// Computes `program` over `operands` chunk by chunk into the tensors of `stores`.
pub fn stream_program(
    program: &ElementwiseProgram,
    operands: &[Value],
    stores: &[NodeId],
    sink: Sink,
) -> Result<(), StreamError> {
    let output = program.output_type()?;
    let out_size = output.dtype.bit_size() / 8;
    let elements = output.shape.element_count().unwrap_or(0) as usize;
    if out_size == 0 || elements == 0 {
        return Ok(());
    }
    let sizes: Vec<usize> = operands
        .iter()
        .map(|v| v.ty().dtype.bit_size() / 8)
        .collect();
    let chunks = elements.div_ceil(STREAM_CHUNK_ELEMENTS);
    let result = (0..chunks).into_par_iter().try_for_each_init(
        || (ChunkState::default(), Vec::new()),
        |(state, buffer), index| {
            let start = index * STREAM_CHUNK_ELEMENTS;
            let end = (start + STREAM_CHUNK_ELEMENTS).min(elements);
            let slices: Vec<&[u8]> = operands
                .iter()
                .zip(&sizes)
                .map(|(value, &size)| &value.bytes()[start * size..end * size])
                .collect();
            buffer.resize((end - start) * out_size, 0);
            program.run_chunk_slices_with(&slices, buffer, state)?;
            let offset = (start * out_size) as u64;
            for &store in stores {
                sink.outputs
                    .write_at(store, offset, buffer, sink.progress)?;
            }
            for (value, slice) in operands.iter().zip(&slices) {
                value.release(slice);
            }
            Ok(())
        },
    );
    // Pages that chunks running side by side mapped again after their neighbour released them.
    operands.iter().for_each(Value::release_all);
    result
}

/// Writes `value`'s bytes as the tensor of store node `store`: file to file inside the kernel
/// when they are an input file's bytes (no page of either file enters this process, as with
/// `cp`), else chunk by chunk from memory.
pub fn copy_value(store: NodeId, value: &Value, sink: Sink) -> Result<(), StreamError> {
    if let Some((checkpoint, bytes)) = value.file_bytes() {
        if let Some((shard, start)) = checkpoint.locate(bytes) {
            let path = &checkpoint.shards()[shard];
            let file = File::open(path).map_err(|error| IoError::os("open", path, error))?;
            let mut offset = 0u64;
            let total = bytes.len() as u64;
            while offset < total {
                let step = (total - offset).min(FILE_COPY_CHUNK_BYTES);
                sink.outputs.copy_from_file(
                    store,
                    offset,
                    &file,
                    start + offset,
                    step,
                    sink.progress,
                )?;
                offset += step;
            }
            return Ok(());
        }
    }
    let bytes = value.bytes();
    let mut offset = 0u64;
    for chunk in bytes.chunks(COPY_CHUNK_BYTES) {
        sink.outputs.write_at(store, offset, chunk, sink.progress)?;
        value.release(chunk);
        offset += chunk.len() as u64;
    }
    value.release_all();
    Ok(())
}
