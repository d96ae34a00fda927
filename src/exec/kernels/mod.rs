//! The compute kernels, one file per op family, independent of the graph: they take plain
//! tensors ([`TensorView`](crate::exec::TensorView)) and return plain tensors
//! ([`TensorData`](crate::exec::TensorData)) or results.
//!
//! - [`elementwise`] and [`program`]: scale, add, subtract, multiply, clamp, cast, fill-constant,
//!   alone or fused into one chunked pass; [`cast`] is the one-op case of casting.
//! - [`float8`]: the F8_E4M3 / F8_E5M2 conversions.
//!
//! The numerics (compute types, rounding, overflow) are PyTorch's on CPU, as `docs/numerics.md`
//! tabulates.

pub mod cast;
pub(crate) mod codec;
pub mod compare;
pub mod creators;
pub mod elementwise;
pub mod float8;
pub mod layout;
pub mod linalg;
pub mod program;
pub mod random;
pub(crate) mod scalar;
pub mod slicing;
pub(crate) mod strided;
