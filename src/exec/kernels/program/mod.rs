//! Elementwise programs: a small DAG of elementwise ops over N same-shaped inputs, evaluated
//! chunk by chunk so that a fused chain streams over memory.
//!
//! A program receives input dtypes and a shape, and ops pushed one at a time
//! ([`ElementwiseProgram::push`] runs each op's type rule). It returns the output tensor, computed
//! over chunks of [`RunOptions::chunk_elements`] elements: each input is read once, the output is
//! written once, and intermediates live only for one chunk, so memory does not grow with the tensor.
//! Chunks are independent, which lets [`ElementwiseProgram::run_into`] spread them over rayon and
//! lets a scheduler call [`ElementwiseProgram::run_chunk`] itself.
//!
//! **Fused and unfused evaluation give identical bytes.** Every op writes its result encoded in its
//! own dtype, and the next op decodes it again; [`ElementwiseProgram::run_unfused`] materializes
//! each intermediate tensor instead, through the same [`PreparedOp::apply`]. Nothing else differs.

mod run;

use super::elementwise::{ElementwiseOp, PreparedOp, Scratch};
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{element_size, TensorData, TensorView};
use crate::tensor::{DType, Shape, TensorType};

/// Elements per chunk by default: 64 Ki, a few hundred KiB per buffer, which keeps a chunk's
/// intermediates in cache while amortizing per-chunk overhead.
pub const DEFAULT_CHUNK_ELEMENTS: usize = 64 * 1024;

/// A value of a program: one of its inputs or the result of one of its ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(usize);

impl ValueId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// How [`ElementwiseProgram::run_into`] splits the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Elements per chunk (at least 1).
    pub chunk_elements: usize,
    /// Whether chunks run on the rayon pool.
    pub parallel: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            chunk_elements: DEFAULT_CHUNK_ELEMENTS,
            parallel: true,
        }
    }
}

/// Buffers that one worker reuses from chunk to chunk: decode lanes and one byte buffer per
/// intermediate value.
#[derive(Debug, Default)]
pub struct ChunkState {
    scratch: Scratch,
    buffers: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
struct Node {
    op: ElementwiseOp,
    prepared: PreparedOp,
    operands: Vec<ValueId>,
}

/// A DAG of elementwise ops over same-shaped inputs.
#[derive(Debug, Clone)]
pub struct ElementwiseProgram {
    shape: Shape,
    element_count: usize,
    inputs: Vec<DType>,
    nodes: Vec<Node>,
    output: Option<ValueId>,
}

impl ElementwiseProgram {
    /// A program over `inputs`, which must be non-empty and share one shape.
    pub fn new(inputs: Vec<TensorType>) -> Result<ElementwiseProgram, KernelError> {
        let Some(first) = inputs.first() else {
            return Err(KernelError::InvalidArgument {
                op: "elementwise",
                reason: "a program needs at least one input (use `with_shape` for none)".into(),
            });
        };
        let shape = first.shape.clone();
        if let Some(other) = inputs.iter().find(|ty| ty.shape != shape) {
            return Err(KernelError::ShapeMismatch {
                op: "elementwise",
                left: shape,
                right: other.shape.clone(),
            });
        }
        let dtypes = inputs.iter().map(|ty| ty.dtype).collect();
        ElementwiseProgram::with_shape(shape, dtypes)
    }

    /// A program over inputs of the given dtypes, all of `shape` (possibly none at all, for a
    /// program that only fills).
    pub fn with_shape(shape: Shape, inputs: Vec<DType>) -> Result<ElementwiseProgram, KernelError> {
        let element_count = shape
            .element_count()
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| KernelError::TooLarge {
                ty: TensorType::new(inputs.first().copied().unwrap_or(DType::U8), shape.clone()),
            })?;
        for &dtype in &inputs {
            element_size("elementwise", dtype)?;
        }
        Ok(ElementwiseProgram {
            shape,
            element_count,
            inputs,
            nodes: Vec::new(),
            output: None,
        })
    }

    /// The value of input `index`.
    pub fn input(&self, index: usize) -> Option<ValueId> {
        (index < self.inputs.len()).then_some(ValueId(index))
    }

    /// Appends `op` over `operands` and returns its value, which becomes the output.
    pub fn push(
        &mut self,
        op: ElementwiseOp,
        operands: &[ValueId],
    ) -> Result<ValueId, KernelError> {
        let mut dtypes = Vec::with_capacity(operands.len());
        for &operand in operands {
            dtypes.push(self.dtype_of(op.name(), operand)?);
        }
        let prepared = op.prepare(&dtypes)?;
        self.nodes.push(Node {
            op,
            prepared,
            operands: operands.to_vec(),
        });
        let value = ValueId(self.inputs.len() + self.nodes.len() - 1);
        self.output = Some(value);
        Ok(value)
    }

    /// Makes `value` the output (by default the last pushed op, or input 0 if there is none).
    pub fn set_output(&mut self, value: ValueId) -> Result<(), KernelError> {
        self.dtype_of("elementwise", value)?;
        self.output = Some(value);
        Ok(())
    }

    pub fn output(&self) -> Result<ValueId, KernelError> {
        match self.output {
            Some(value) => Ok(value),
            None if !self.inputs.is_empty() => Ok(ValueId(0)),
            None => Err(KernelError::InvalidArgument {
                op: "elementwise",
                reason: "the program has neither inputs nor ops".into(),
            }),
        }
    }

    pub fn dtype(&self, value: ValueId) -> Option<DType> {
        self.dtype_of("elementwise", value).ok()
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn output_type(&self) -> Result<TensorType, KernelError> {
        let dtype = self.dtype_of("elementwise", self.output()?)?;
        Ok(TensorType::new(dtype, self.shape.clone()))
    }

    pub(super) fn dtype_of(&self, op: &'static str, value: ValueId) -> Result<DType, KernelError> {
        let index = value.0;
        if let Some(&dtype) = self.inputs.get(index) {
            return Ok(dtype);
        }
        self.nodes
            .get(index - self.inputs.len())
            .map(|node| node.prepared.output_dtype())
            .ok_or(KernelError::UnknownValue { op, index })
    }

    /// Which nodes the output depends on.
    pub(super) fn live_nodes(&self, output: ValueId) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        if let Some(index) = output.0.checked_sub(self.inputs.len()) {
            live[index] = true;
        }
        for index in (0..self.nodes.len()).rev() {
            if !live[index] {
                continue;
            }
            for operand in &self.nodes[index].operands {
                if let Some(node) = operand.0.checked_sub(self.inputs.len()) {
                    live[node] = true;
                }
            }
        }
        live
    }

    pub(super) fn check_inputs(&self, inputs: &[TensorView]) -> Result<(), KernelError> {
        if inputs.len() != self.inputs.len() {
            return Err(KernelError::OperandCount {
                op: "elementwise",
                expected: self.inputs.len(),
                actual: inputs.len(),
            });
        }
        for (input, &dtype) in inputs.iter().zip(&self.inputs) {
            if input.dtype() != dtype {
                return Err(KernelError::DTypeMismatch {
                    op: "elementwise",
                    left: dtype,
                    right: input.dtype(),
                });
            }
            if input.shape() != &self.shape {
                return Err(KernelError::ShapeMismatch {
                    op: "elementwise",
                    left: self.shape.clone(),
                    right: input.shape().clone(),
                });
            }
        }
        Ok(())
    }
}

/// Applies one op to whole tensors (a one-op program): the unfused building block.
pub fn evaluate(op: ElementwiseOp, inputs: &[TensorView]) -> Result<TensorData, KernelError> {
    let mut program = match inputs.first() {
        Some(_) => ElementwiseProgram::new(inputs.iter().map(|view| view.ty().clone()).collect())?,
        None => {
            return Err(KernelError::OperandCount {
                op: op.name(),
                expected: op.arity().unwrap_or(1),
                actual: 0,
            })
        }
    };
    let operands: Vec<ValueId> = (0..inputs.len()).map(ValueId).collect();
    program.push(op, &operands)?;
    program.run(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_tensor(values: &[f32]) -> TensorData {
        let ty = TensorType::new(DType::F32, Shape::new(vec![values.len() as u64]));
        TensorData::new(ty, values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .expect("bytes match the type")
    }

    fn f32_values(data: &TensorData) -> Vec<f32> {
        data.bytes()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    #[test]
    fn a_chain_computes_through_chunks_of_any_size() {
        let values: Vec<f32> = (0..1000).map(|i| i as f32 - 500.0).collect();
        let a = f32_tensor(&values);
        let mut program = ElementwiseProgram::new(vec![a.ty().clone()]).expect("one input");
        let x = program.input(0).expect("input 0");
        let scaled = program
            .push(ElementwiseOp::Scale { by: 0.5 }, &[x])
            .expect("scale");
        let sum = program.push(ElementwiseOp::Add, &[scaled, x]).expect("add");
        program
            .push(
                ElementwiseOp::Clamp {
                    min: Some(-100.0),
                    max: Some(100.0),
                },
                &[sum],
            )
            .expect("clamp");
        let expected: Vec<f32> = values
            .iter()
            .map(|v| (v * 0.5 + v).clamp(-100.0, 100.0))
            .collect();
        for chunk_elements in [1, 7, 64, 1000, 4096] {
            let mut out =
                TensorData::zeroed(program.output_type().expect("typed")).expect("small tensor");
            let options = RunOptions {
                chunk_elements,
                parallel: chunk_elements % 2 == 0,
            };
            program
                .run_into(&[a.view()], out.bytes_mut(), &options)
                .expect("runs");
            assert_eq!(f32_values(&out), expected, "chunk size {chunk_elements}");
        }
        let unfused = program.run_unfused(&[a.view()]).expect("runs unfused");
        assert_eq!(f32_values(&unfused), expected);
    }

    #[test]
    fn the_output_can_be_an_earlier_value() {
        let a = f32_tensor(&[1.0, 2.0]);
        let mut program = ElementwiseProgram::new(vec![a.ty().clone()]).expect("one input");
        let x = program.input(0).expect("input 0");
        let doubled = program
            .push(ElementwiseOp::Scale { by: 2.0 }, &[x])
            .expect("scale");
        program
            .push(ElementwiseOp::Cast { dtype: DType::F16 }, &[doubled])
            .expect("cast");
        program.set_output(doubled).expect("known value");
        assert_eq!(
            f32_values(&program.run(&[a.view()]).expect("runs")),
            [2.0, 4.0]
        );
        program.set_output(x).expect("known value");
        assert_eq!(program.run(&[a.view()]).expect("runs"), a);
        assert!(program.set_output(ValueId(9)).is_err());
    }

    #[test]
    fn fill_only_programs_need_no_input() {
        let mut program =
            ElementwiseProgram::with_shape(Shape::new(vec![2, 3]), vec![]).expect("shape fits");
        program
            .push(
                ElementwiseOp::FillConstant {
                    value: -1.5,
                    dtype: DType::F32,
                },
                &[],
            )
            .expect("fill");
        let out = program.run(&[]).expect("runs");
        assert_eq!(out.shape(), &Shape::new(vec![2, 3]));
        assert_eq!(f32_values(&out), [-1.5; 6]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let a = f32_tensor(&[1.0, 2.0]);
        let b = f32_tensor(&[1.0, 2.0, 3.0]);
        assert!(matches!(
            ElementwiseProgram::new(vec![a.ty().clone(), b.ty().clone()]),
            Err(KernelError::ShapeMismatch { .. })
        ));
        let mut program = ElementwiseProgram::new(vec![a.ty().clone()]).expect("one input");
        let x = program.input(0).expect("input 0");
        program
            .push(ElementwiseOp::Scale { by: 2.0 }, &[x])
            .expect("scale");
        assert!(matches!(
            program.run(&[b.view()]),
            Err(KernelError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            program.run(&[]),
            Err(KernelError::OperandCount { .. })
        ));
        let mut out = [0u8; 8];
        assert!(program.run_chunk(1..3, &[a.view()], &mut out).is_err());
        assert!(program.run_chunk_slices(&[&[0u8; 4]], &mut out).is_err());
        assert!(matches!(
            program.push(ElementwiseOp::Add, &[x, ValueId(5)]),
            Err(KernelError::UnknownValue { .. })
        ));
    }
}
