//! The compute kernels, one file per op family, independent of the graph: they take plain
//! tensors ([`TensorView`](crate::exec::TensorView)) and return plain tensors
//! ([`TensorData`](crate::exec::TensorData)) or answers, and report bad input as
//! [`KernelError`](crate::exec::KernelError) values, never by panicking.
//!
//! - [`elementwise`], [`program`]: scale, add, subtract, multiply, clamp, cast, fill-constant,
//!   alone or fused into one chunked pass whose bytes equal the unfused evaluation's;
//!   [`cast`] is the one-op case of casting; [`float8`] holds the F8 conversions.
//! - [`slicing`], [`layout`]: Python basic indexing, write-into-slice, reshape, permute,
//!   transpose, concat, split (byte-level, over a shared strided copy).
//! - [`creators`], [`random`]: zeros, ones, constants, broadcast value lists, seeded random.
//! - [`linalg`]: matmul through faer.
//! - [`lowrank`]: PHLoRA factors and reconstruction, LoRA extract and merge (exact or randomized SVD).
//! - [`compare`]: equal, iszero, max abs diff, statistics.
//! - [`moments`]: min, max, mean and std as a mergeable, overflow-free accumulator, with the
//!   NaN policy chosen by the caller (`dump` propagates, `inspect --stats` excludes).
//!
//! Each family also exposes its type rule (`*_type` functions, `ElementwiseOp::prepare`,
//! `SliceGeometry`), so the compiler and the kernels agree by construction. The numerics
//! (compute types, rounding, overflow, conversions) are PyTorch's on CPU, as `docs/numerics.md`
//! tabulates.

pub mod cast;
pub(crate) mod codec;
pub mod compare;
pub mod creators;
pub mod elementwise;
pub mod float8;
pub mod layout;
pub mod linalg;
pub mod lowrank;
pub mod moments;
pub mod program;
pub mod random;
pub(crate) mod scalar;
pub mod slicing;
pub(crate) mod strided;
