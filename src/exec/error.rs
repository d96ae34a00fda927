//! The error values every kernel returns.
//!
//! Kernels receive plain data whose types the compiler has usually checked already, but they are
//! also a library API of their own, so they re-check what they rely on and report a mismatch as a
//! [`KernelError`] instead of panicking. Each variant carries the figures a caller needs to build a
//! diagnostic (the op, the dtypes or shapes involved); the `Display` text is a complete sentence.

use crate::tensor::{DType, Shape, TensorType};

/// Why a kernel refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    #[error("tensor of type {ty} needs {expected} bytes but {actual} were given")]
    ByteLength {
        ty: TensorType,
        expected: u64,
        actual: usize,
    },
    #[error("tensor of type {ty} is too large to address in memory on this machine")]
    TooLarge { ty: TensorType },
    #[error("{op} does not support dtype {dtype}")]
    UnsupportedDType { op: &'static str, dtype: DType },
    #[error("{op} needs operands of one dtype, got {left} and {right} (no implicit promotion)")]
    DTypeMismatch {
        op: &'static str,
        left: DType,
        right: DType,
    },
    #[error("{op} needs operands of one shape, got {left} and {right}")]
    ShapeMismatch {
        op: &'static str,
        left: Shape,
        right: Shape,
    },
    #[error("{op} expects {expected} operand(s), got {actual}")]
    OperandCount {
        op: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("{op} refers to value {index}, which does not exist yet")]
    UnknownValue { op: &'static str, index: usize },
    #[error("{op}: `{argument}` = {value} is not an integer, but the tensor's dtype {dtype} is")]
    NonIntegralScalar {
        op: &'static str,
        argument: &'static str,
        value: f64,
        dtype: DType,
    },
    #[error("{op}: `{argument}` = {value} does not fit in dtype {dtype}")]
    ScalarOutOfRange {
        op: &'static str,
        argument: &'static str,
        value: f64,
        dtype: DType,
    },
    #[error("{op}: {reason}")]
    InvalidArgument { op: &'static str, reason: String },
    #[error("dimension {dim} is out of range for a tensor of rank {rank}")]
    DimensionOutOfRange { dim: i64, rank: usize },
    #[error("index {index} is out of range for dimension {dim} of size {size}")]
    IndexOutOfRange { index: i64, dim: usize, size: u64 },
    #[error("slice has {given} components but the tensor has rank {rank}")]
    TooManyIndices { given: usize, rank: usize },
    #[error("slice step must be positive, got {step}")]
    NonPositiveStep { step: i64 },
    #[error("cannot reshape {from} into {to}: {reason}")]
    Reshape {
        from: Shape,
        to: String,
        reason: String,
    },
    #[error("{order:?} is not a permutation of the {rank} dimensions")]
    NotAPermutation { order: Vec<i64>, rank: usize },
    #[error("matmul cannot multiply {left} by {right}: {reason}")]
    Matmul {
        left: Shape,
        right: Shape,
        reason: String,
    },
    #[error("cannot broadcast values of shape {values} to {target}")]
    Broadcast { values: Shape, target: Shape },
}
