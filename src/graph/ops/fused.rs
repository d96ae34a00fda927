//! The fused elementwise node: several elementwise ops (and constant fills) over same-shaped
//! operands, evaluated as one streaming pass.
//!
//! A [`Fused`] node carries a small program — [`FusedStep`]s in evaluation order, each reading the
//! node's operands or earlier steps — and the shape every value of it has. Its value is the last
//! step's. The type rule replays each step through the unfused ops' own rules
//! ([`Elementwise::infer`]), so a fused node has exactly the type the chain it replaces had.
//! [`Fused::to_program`] turns it into the kernels' [`ElementwiseProgram`], which rounds to each
//! step's dtype after every op: fused and unfused evaluation give identical bytes.

use serde_json::Value;

use super::elementwise::Elementwise;
use super::{shape_json, Arity, TypeError};
use crate::exec::kernels::elementwise::ElementwiseOp;
use crate::exec::kernels::program::{ElementwiseProgram, ValueId};
use crate::exec::KernelError;
use crate::tensor::{DType, Shape, TensorType};

/// A fused chain or tree of elementwise ops.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The shape of every operand and of every step's value.
    pub shape: Shape,
    /// In evaluation order; the last one is the node's value.
    pub steps: Vec<FusedStep>,
}

/// One op of a fused program.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedStep {
    pub op: FusedOp,
    pub operands: Vec<FusedValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FusedOp {
    Elementwise(Elementwise),
    /// Every element `value` in `dtype` (an absorbed `fill` or `ones` creator); takes no operands.
    Fill {
        value: f64,
        dtype: DType,
    },
}

/// A value a step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FusedValue {
    /// The node's operand at this position.
    Operand(usize),
    /// The value of an earlier step.
    Step(usize),
}

impl std::fmt::Display for FusedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FusedValue::Operand(index) => write!(f, "in{index}"),
            FusedValue::Step(index) => write!(f, "s{index}"),
        }
    }
}

impl FusedOp {
    pub fn name(&self) -> &'static str {
        match self {
            FusedOp::Elementwise(op) => op.name(),
            FusedOp::Fill { .. } => "fill",
        }
    }

    /// The kernel op that evaluates this step.
    pub fn kernel_op(&self) -> ElementwiseOp {
        match *self {
            FusedOp::Elementwise(Elementwise::Scale { by }) => ElementwiseOp::Scale { by },
            FusedOp::Elementwise(Elementwise::Add) => ElementwiseOp::Add,
            FusedOp::Elementwise(Elementwise::Subtract) => ElementwiseOp::Subtract,
            FusedOp::Elementwise(Elementwise::Multiply) => ElementwiseOp::Multiply,
            FusedOp::Elementwise(Elementwise::Clamp { min, max }) => {
                ElementwiseOp::Clamp { min, max }
            }
            FusedOp::Elementwise(Elementwise::Cast { dtype }) => ElementwiseOp::Cast { dtype },
            FusedOp::Fill { value, dtype } => ElementwiseOp::FillConstant { value, dtype },
        }
    }
}

impl Fused {
    /// As many operands as the highest operand a step reads, plus one.
    pub fn arity(&self) -> Arity {
        let count = self
            .steps
            .iter()
            .flat_map(|step| &step.operands)
            .filter_map(|value| match value {
                FusedValue::Operand(index) => Some(index + 1),
                FusedValue::Step(_) => None,
            })
            .max()
            .unwrap_or(0);
        Arity::Exactly(count)
    }

    /// The program as one line: `s0=scale(in0) by=0.5; s1=add(s0, in1)`.
    pub fn program_text(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let operands: Vec<String> = step.operands.iter().map(|v| v.to_string()).collect();
                let mut text = format!("s{index}={}({})", step.op.name(), operands.join(", "));
                let parameters = match &step.op {
                    FusedOp::Elementwise(op) => op.parameters(),
                    FusedOp::Fill { value, dtype } => vec![
                        ("value", Value::from(*value)),
                        ("dtype", Value::from(dtype.to_string())),
                    ],
                };
                for (name, value) in parameters {
                    // Strings (dtypes) print bare, numbers as JSON.
                    let value = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    text.push_str(&format!(" {name}={value}"));
                }
                text
            })
            .collect();
        steps.join("; ")
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("shape", shape_json(&self.shape)),
            ("program", Value::from(self.program_text())),
        ]
    }

    /// The type of the last step, replaying every step's own rule; `inputs` has the arity's
    /// length (checked by the caller).
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType, TypeError> {
        let malformed = |reason: String| TypeError::FusedMalformed { reason };
        if let Some((operand, ty)) = inputs
            .iter()
            .enumerate()
            .find(|(_, ty)| ty.shape != self.shape)
        {
            return Err(malformed(format!(
                "operand {operand} has shape {} but the program's shape is {}",
                ty.shape, self.shape
            )));
        }
        let mut types: Vec<TensorType> = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let mut operands = Vec::with_capacity(step.operands.len());
            for value in &step.operands {
                let ty = match *value {
                    FusedValue::Operand(operand) => inputs.get(operand).copied(),
                    FusedValue::Step(earlier) if earlier < index => types.get(earlier),
                    FusedValue::Step(_) => None,
                };
                operands.push(ty.ok_or_else(|| {
                    malformed(format!("step {index} reads {value}, which it cannot see"))
                })?);
            }
            let in_step = |error: TypeError| TypeError::FusedStep {
                step: index,
                error: Box::new(error),
            };
            let ty = match &step.op {
                FusedOp::Elementwise(op) => {
                    let arity = op.arity();
                    if !arity.accepts(operands.len()) {
                        return Err(in_step(TypeError::Arity {
                            expected: arity,
                            found: operands.len(),
                        }));
                    }
                    op.infer(&operands).map_err(in_step)?
                }
                FusedOp::Fill { dtype, .. } => {
                    if !operands.is_empty() {
                        return Err(in_step(TypeError::Arity {
                            expected: Arity::Exactly(0),
                            found: operands.len(),
                        }));
                    }
                    TensorType::new(*dtype, self.shape.clone())
                }
            };
            types.push(ty);
        }
        types
            .pop()
            .ok_or_else(|| malformed("the program has no steps".to_string()))
    }

    /// The kernels' program for operands of `operand_dtypes` (in operand order). Fails when a
    /// step's kernel refuses its dtypes — the same error the unfused op would report.
    pub fn to_program(&self, operand_dtypes: &[DType]) -> Result<ElementwiseProgram, KernelError> {
        let mut program =
            ElementwiseProgram::with_shape(self.shape.clone(), operand_dtypes.to_vec())?;
        let mut values: Vec<ValueId> = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let mut operands = Vec::with_capacity(step.operands.len());
            for value in &step.operands {
                let id = match *value {
                    FusedValue::Operand(operand) => program.input(operand),
                    FusedValue::Step(earlier) => values.get(earlier).copied(),
                };
                operands.push(id.ok_or_else(|| KernelError::InvalidArgument {
                    op: "fused",
                    reason: format!("step {index} reads {value}, which does not exist"),
                })?);
            }
            values.push(program.push(step.op.kernel_op(), &operands)?);
        }
        Ok(program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(dtype: DType, dims: &[u64]) -> TensorType {
        TensorType::new(dtype, Shape::new(dims.to_vec()))
    }

    /// `cast(clamp(in0 * 0.5 + in1), f16)`.
    fn chain() -> Fused {
        Fused {
            shape: Shape::new(vec![2, 3]),
            steps: vec![
                FusedStep {
                    op: FusedOp::Elementwise(Elementwise::Scale { by: 0.5 }),
                    operands: vec![FusedValue::Operand(0)],
                },
                FusedStep {
                    op: FusedOp::Elementwise(Elementwise::Add),
                    operands: vec![FusedValue::Step(0), FusedValue::Operand(1)],
                },
                FusedStep {
                    op: FusedOp::Elementwise(Elementwise::Clamp {
                        min: Some(-1.0),
                        max: Some(1.0),
                    }),
                    operands: vec![FusedValue::Step(1)],
                },
                FusedStep {
                    op: FusedOp::Elementwise(Elementwise::Cast { dtype: DType::F16 }),
                    operands: vec![FusedValue::Step(2)],
                },
            ],
        }
    }

    #[test]
    fn the_type_is_the_last_steps() {
        let fused = chain();
        assert_eq!(fused.arity(), Arity::Exactly(2));
        let a = ty(DType::F32, &[2, 3]);
        assert_eq!(fused.infer(&[&a, &a]), Ok(ty(DType::F16, &[2, 3])));
        assert_eq!(
            fused.program_text(),
            "s0=scale(in0) by=0.5; s1=add(s0, in1); s2=clamp(s1) min=-1.0 max=1.0; s3=cast(s2) dtype=F16"
        );
        let program = fused
            .to_program(&[DType::F32, DType::F32])
            .expect("kernels accept f32");
        assert_eq!(program.output_type(), Ok(ty(DType::F16, &[2, 3])));
    }

    #[test]
    fn a_step_that_breaks_its_rule_is_named() {
        let fused = chain();
        let a = ty(DType::F32, &[2, 3]);
        let half = ty(DType::F16, &[2, 3]);
        assert!(matches!(
            fused.infer(&[&a, &half]),
            Err(TypeError::FusedStep { step: 1, .. })
        ));
        let wide = ty(DType::F32, &[3, 2]);
        assert!(matches!(
            fused.infer(&[&a, &wide]),
            Err(TypeError::FusedMalformed { .. })
        ));
    }

    #[test]
    fn steps_cannot_read_ahead_and_fills_take_no_operands() {
        let mut fused = chain();
        fused.steps[0].operands = vec![FusedValue::Step(2)];
        let a = ty(DType::F32, &[2, 3]);
        assert!(matches!(
            fused.infer(&[&a, &a]),
            Err(TypeError::FusedMalformed { .. })
        ));
        let fill = Fused {
            shape: Shape::new(vec![4]),
            steps: vec![FusedStep {
                op: FusedOp::Fill {
                    value: 1.0,
                    dtype: DType::BF16,
                },
                operands: vec![FusedValue::Operand(0)],
            }],
        };
        let four = ty(DType::F32, &[4]);
        assert!(matches!(
            fill.infer(&[&four]),
            Err(TypeError::FusedStep { step: 0, .. })
        ));
        let empty = Fused {
            shape: Shape::new(vec![4]),
            steps: Vec::new(),
        };
        assert!(empty.infer(&[]).is_err());
    }
}
