//! The elementwise ops and their per-chunk kernels: scale, add, subtract, multiply, clamp, cast,
//! fill-constant.
//!
//! [`ElementwiseOp::prepare`] is the op's type rule: it checks the operand dtypes, converts scalar
//! arguments to the compute type once, and returns the output dtype. [`PreparedOp::apply`] then
//! maps a chunk of operand bytes to a chunk of output bytes: decode to lanes (exact), compute in the
//! lane type (`f32` for F16/BF16/F8/F32, `f64` for F64, wrapping 64-bit integers for integer
//! dtypes), encode to the output dtype (one rounding). **Every evaluation path — a fused program, an
//! unfused chain, a whole-tensor helper — calls `apply` per op**, which is why fused and unfused
//! results are bit-identical by construction.

use super::codec::{decode, encode, LaneKind, Lanes};
use super::scalar::{self, Scalar};
use crate::exec::error::KernelError;
use crate::tensor::DType;

/// One elementwise operation, as the graph describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementwiseOp {
    /// `x * by`.
    Scale { by: f64 },
    /// `a + b` (same dtype).
    Add,
    /// `a - b` (same dtype).
    Subtract,
    /// `a * b` (same dtype).
    Multiply,
    /// `torch.clamp(x, min, max)`; at least one bound is expected but none is accepted (a copy).
    Clamp { min: Option<f64>, max: Option<f64> },
    /// Conversion to `dtype` by the cast rules.
    Cast { dtype: DType },
    /// Every element `value` in `dtype`; operands are ignored (their count is free), only the
    /// element count matters.
    FillConstant { value: f64, dtype: DType },
}

impl ElementwiseOp {
    /// The op's name in diagnostics.
    pub fn name(&self) -> &'static str {
        match self {
            ElementwiseOp::Scale { .. } => "scale",
            ElementwiseOp::Add => "add",
            ElementwiseOp::Subtract => "subtract",
            ElementwiseOp::Multiply => "multiply",
            ElementwiseOp::Clamp { .. } => "clamp",
            ElementwiseOp::Cast { .. } => "cast",
            ElementwiseOp::FillConstant { .. } => "fill",
        }
    }

    /// How many operands the op reads, or `None` when any count is accepted (fill-constant).
    pub fn arity(&self) -> Option<usize> {
        match self {
            ElementwiseOp::Add | ElementwiseOp::Subtract | ElementwiseOp::Multiply => Some(2),
            ElementwiseOp::Scale { .. }
            | ElementwiseOp::Clamp { .. }
            | ElementwiseOp::Cast { .. } => Some(1),
            ElementwiseOp::FillConstant { .. } => None,
        }
    }

    /// Checks the operand dtypes and prepares the op: its output dtype and converted scalars.
    pub fn prepare(&self, operands: &[DType]) -> Result<PreparedOp, KernelError> {
        let op = self.name();
        if let Some(expected) = self.arity() {
            if operands.len() != expected {
                return Err(KernelError::OperandCount {
                    op,
                    expected,
                    actual: operands.len(),
                });
            }
        }
        let kernel = match *self {
            ElementwiseOp::FillConstant { value, dtype } => Kernel::Fill {
                element: scalar::element_bytes(op, "value", value, dtype)?,
            },
            ElementwiseOp::Cast { dtype } => {
                LaneKind::require(op, operands[0])?;
                LaneKind::require(op, dtype)?;
                Kernel::Cast
            }
            ElementwiseOp::Scale { by } => Kernel::Scale(scalar::multiplier(op, by, operands[0])?),
            ElementwiseOp::Clamp { min, max } => {
                let dtype = operands[0];
                let convert = |argument, value: Option<f64>| {
                    value
                        .map(|v| scalar::bound(op, argument, v, dtype))
                        .transpose()
                };
                // Checked even without bounds, so that an unsupported dtype is refused.
                arithmetic_kind(op, dtype)?;
                Kernel::Clamp {
                    min: convert("min", min)?,
                    max: convert("max", max)?,
                }
            }
            ElementwiseOp::Add | ElementwiseOp::Subtract | ElementwiseOp::Multiply => {
                let (left, right) = (operands[0], operands[1]);
                if left != right {
                    return Err(KernelError::DTypeMismatch { op, left, right });
                }
                arithmetic_kind(op, left)?;
                match self {
                    ElementwiseOp::Add => Kernel::Add,
                    ElementwiseOp::Subtract => Kernel::Subtract,
                    _ => Kernel::Multiply,
                }
            }
        };
        let output = match *self {
            ElementwiseOp::FillConstant { dtype, .. } | ElementwiseOp::Cast { dtype } => dtype,
            _ => operands[0],
        };
        Ok(PreparedOp {
            kernel,
            operands: operands.to_vec(),
            output,
        })
    }
}

/// Arithmetic is defined for numeric dtypes other than BOOL (PyTorch's bool arithmetic is
/// logical or/and, which no plan needs; refusing is clearer than a surprise).
fn arithmetic_kind(op: &'static str, dtype: DType) -> Result<LaneKind, KernelError> {
    if dtype == DType::BOOL {
        return Err(KernelError::UnsupportedDType { op, dtype });
    }
    LaneKind::require(op, dtype)
}

/// An op whose operand dtypes are checked and whose scalars are converted.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedOp {
    kernel: Kernel,
    operands: Vec<DType>,
    output: DType,
}

#[derive(Debug, Clone, PartialEq)]
enum Kernel {
    Scale(Scalar),
    Add,
    Subtract,
    Multiply,
    Clamp {
        min: Option<Scalar>,
        max: Option<Scalar>,
    },
    Cast,
    Fill {
        element: Vec<u8>,
    },
}

/// Reusable decode buffers for [`PreparedOp::apply`].
#[derive(Debug, Default)]
pub struct Scratch {
    left: Lanes,
    right: Lanes,
}

impl PreparedOp {
    pub fn output_dtype(&self) -> DType {
        self.output
    }

    pub fn operand_dtypes(&self) -> &[DType] {
        &self.operands
    }

    /// Computes one chunk: `operands[i]` holds the chunk's elements of operand `i` (of the dtype
    /// given to `prepare`), `out` receives as many elements of the output dtype. All slices must
    /// hold the same number of elements; the program guarantees it.
    pub fn apply(&self, operands: &[&[u8]], out: &mut [u8], scratch: &mut Scratch) {
        match &self.kernel {
            Kernel::Fill { element } => {
                for slot in out.chunks_exact_mut(element.len()) {
                    slot.copy_from_slice(element);
                }
            }
            Kernel::Cast => {
                decode(self.operands[0], operands[0], &mut scratch.left);
                encode(&scratch.left, self.output, out);
            }
            Kernel::Scale(by) => {
                decode(self.operands[0], operands[0], &mut scratch.left);
                scale(&mut scratch.left, *by);
                encode(&scratch.left, self.output, out);
            }
            Kernel::Clamp { min, max } => {
                decode(self.operands[0], operands[0], &mut scratch.left);
                clamp(&mut scratch.left, *min, *max);
                encode(&scratch.left, self.output, out);
            }
            Kernel::Add | Kernel::Subtract | Kernel::Multiply => {
                decode(self.operands[0], operands[0], &mut scratch.left);
                decode(self.operands[1], operands[1], &mut scratch.right);
                binary(&self.kernel, &mut scratch.left, &scratch.right);
                encode(&scratch.left, self.output, out);
            }
        }
    }
}

fn scale(lanes: &mut Lanes, by: Scalar) {
    match (lanes, by) {
        (Lanes::F32(values), Scalar::F32(by)) => values.iter_mut().for_each(|v| *v *= by),
        (Lanes::F64(values), Scalar::F64(by)) => values.iter_mut().for_each(|v| *v *= by),
        (Lanes::Signed(values), Scalar::Signed(by)) => {
            values.iter_mut().for_each(|v| *v = v.wrapping_mul(by))
        }
        (Lanes::Unsigned(values), Scalar::Unsigned(by)) => {
            values.iter_mut().for_each(|v| *v = v.wrapping_mul(by))
        }
        // `prepare` converts the scalar to the lane kind of the operand's dtype.
        _ => {}
    }
}

/// `torch.clamp`: NaN elements stay NaN, a NaN bound makes the result NaN, and with
/// `min > max` every element becomes `max` (the lower bound is applied first).
fn clamp(lanes: &mut Lanes, min: Option<Scalar>, max: Option<Scalar>) {
    // Comparisons with a NaN element are false, so the selects below leave NaN elements alone;
    // written as selects (not branches) so that the loops vectorize.
    fn float_clamp<T: Copy + PartialOrd>(values: &mut [T], min: Option<T>, max: Option<T>) {
        let is_nan = |bound: Option<T>| bound.is_some_and(|b| b.partial_cmp(&b).is_none());
        if let Some(nan) = [min, max].into_iter().find(|&bound| is_nan(bound)) {
            values
                .iter_mut()
                .for_each(|value| *value = nan.unwrap_or(*value));
            return;
        }
        if let Some(low) = min {
            values
                .iter_mut()
                .for_each(|value| *value = if *value < low { low } else { *value });
        }
        if let Some(high) = max {
            values
                .iter_mut()
                .for_each(|value| *value = if *value > high { high } else { *value });
        }
    }
    fn integer_clamp<T: Copy + Ord>(values: &mut [T], min: Option<T>, max: Option<T>) {
        if let Some(low) = min {
            values
                .iter_mut()
                .for_each(|value| *value = (*value).max(low));
        }
        if let Some(high) = max {
            values
                .iter_mut()
                .for_each(|value| *value = (*value).min(high));
        }
    }
    match lanes {
        Lanes::F32(values) => {
            let bound = |s: Option<Scalar>| match s {
                Some(Scalar::F32(v)) => Some(v),
                _ => None,
            };
            float_clamp(values, bound(min), bound(max))
        }
        Lanes::F64(values) => {
            let bound = |s: Option<Scalar>| match s {
                Some(Scalar::F64(v)) => Some(v),
                _ => None,
            };
            float_clamp(values, bound(min), bound(max))
        }
        Lanes::Signed(values) => {
            let bound = |s: Option<Scalar>| match s {
                Some(Scalar::Signed(v)) => Some(v),
                _ => None,
            };
            integer_clamp(values, bound(min), bound(max))
        }
        Lanes::Unsigned(values) => {
            let bound = |s: Option<Scalar>| match s {
                Some(Scalar::Unsigned(v)) => Some(v),
                _ => None,
            };
            integer_clamp(values, bound(min), bound(max))
        }
    }
}

fn binary(kernel: &Kernel, left: &mut Lanes, right: &Lanes) {
    macro_rules! zip_apply {
        ($left:expr, $right:expr, $assign:tt, $wrapping:ident) => {
            match ($left, $right) {
                (Lanes::F32(a), Lanes::F32(b)) => {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x $assign *y)
                }
                (Lanes::F64(a), Lanes::F64(b)) => {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x $assign *y)
                }
                (Lanes::Signed(a), Lanes::Signed(b)) => {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x = x.$wrapping(*y))
                }
                (Lanes::Unsigned(a), Lanes::Unsigned(b)) => {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x = x.$wrapping(*y))
                }
                // `prepare` requires both operands to have one dtype, hence one lane kind.
                _ => {}
            }
        };
    }
    match kernel {
        Kernel::Add => zip_apply!(left, right, +=, wrapping_add),
        Kernel::Subtract => zip_apply!(left, right, -=, wrapping_sub),
        Kernel::Multiply => zip_apply!(left, right, *=, wrapping_mul),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: ElementwiseOp, dtypes: &[DType], operands: &[&[u8]], out_len: usize) -> Vec<u8> {
        let prepared = op.prepare(dtypes).expect("valid op");
        let mut out = vec![0u8; out_len];
        prepared.apply(operands, &mut out, &mut Scratch::default());
        out
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn f32_values(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    #[test]
    fn clamp_propagates_nan_and_prefers_max_when_bounds_cross() {
        let input = f32_bytes(&[f32::NAN, -5.0, 0.5, 5.0]);
        let op = ElementwiseOp::Clamp {
            min: Some(-1.0),
            max: Some(1.0),
        };
        let out = f32_values(&run(op, &[DType::F32], &[&input], 16));
        assert!(out[0].is_nan());
        assert_eq!(&out[1..], &[-1.0, 0.5, 1.0]);
        let crossed = ElementwiseOp::Clamp {
            min: Some(2.0),
            max: Some(1.0),
        };
        let out = f32_values(&run(crossed, &[DType::F32], &[&input], 16));
        assert_eq!(&out[1..], &[1.0, 1.0, 1.0]);
        let nan_bound = ElementwiseOp::Clamp {
            min: Some(f64::NAN),
            max: None,
        };
        let out = f32_values(&run(nan_bound, &[DType::F32], &[&input], 16));
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn integer_arithmetic_wraps_in_the_dtype_width() {
        let a = [200u8, 10];
        let b = [100u8, 20];
        assert_eq!(
            run(ElementwiseOp::Add, &[DType::U8, DType::U8], &[&a, &b], 2),
            vec![44, 30]
        );
        assert_eq!(
            run(
                ElementwiseOp::Subtract,
                &[DType::U8, DType::U8],
                &[&a, &b],
                2
            ),
            vec![100, 246]
        );
        let i8s = [(-128i8) as u8, 3];
        assert_eq!(
            run(ElementwiseOp::Scale { by: -1.0 }, &[DType::I8], &[&i8s], 2),
            vec![(-128i8) as u8, (-3i8) as u8]
        );
    }

    #[test]
    fn scale_rounds_the_scalar_to_f32_before_multiplying() {
        // bf16 1.0 × 0.3: computed as 1.0_f32 × 0.3_f32, rounded once to bf16.
        let one = [0x80, 0x3F];
        let out = run(ElementwiseOp::Scale { by: 0.3 }, &[DType::BF16], &[&one], 2);
        assert_eq!(out, half::bf16::from_f32(0.3_f32).to_bits().to_le_bytes());
    }

    #[test]
    fn type_rules_refuse_mismatches() {
        assert!(matches!(
            ElementwiseOp::Add.prepare(&[DType::F16, DType::BF16]),
            Err(KernelError::DTypeMismatch { .. })
        ));
        assert!(matches!(
            ElementwiseOp::Add.prepare(&[DType::F16]),
            Err(KernelError::OperandCount { .. })
        ));
        assert!(matches!(
            ElementwiseOp::Multiply.prepare(&[DType::BOOL, DType::BOOL]),
            Err(KernelError::UnsupportedDType { .. })
        ));
        assert!(matches!(
            ElementwiseOp::Scale { by: 2.5 }.prepare(&[DType::I32]),
            Err(KernelError::NonIntegralScalar { .. })
        ));
        let cast = ElementwiseOp::Cast { dtype: DType::F16 }
            .prepare(&[DType::I64])
            .expect("int casts to float");
        assert_eq!(cast.output_dtype(), DType::F16);
    }
}
