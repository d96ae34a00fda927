//! Execution: the kernels that compute every op on plain tensor data.
//!
//! [`TensorView`] (borrowed bytes, e.g. straight from a memory map) and [`TensorData`] (owned
//! bytes) carry a tensor's type and its little-endian safetensors bytes, with the length checked
//! once at construction. [`kernels`] maps them to results and reports bad input as
//! [`KernelError`] values. Kernels know nothing of the plan graph; the scheduler that drives them
//! from graph nodes, within a memory budget, builds on this module.

pub mod error;
pub mod kernels;
pub mod tensor_data;

pub use error::KernelError;
pub use tensor_data::{TensorData, TensorView};
