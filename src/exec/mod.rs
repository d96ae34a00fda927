//! Execution: the kernels that compute every op on plain tensor data.
//!
//! [`TensorView`] (borrowed bytes, e.g. from a memory map) and [`TensorData`] (owned bytes) carry
//! a tensor's type and its little-endian safetensors bytes; [`kernels`] maps them to results and
//! reports bad input as [`KernelError`] values. The scheduler that drives kernels from graph nodes
//! builds on this module.

pub mod error;
pub mod kernels;
pub mod tensor_data;

pub use error::KernelError;
pub use tensor_data::{TensorData, TensorView};
