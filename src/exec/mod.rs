//! Execution: running a compiled [`PlanGraph`](crate::graph::PlanGraph) over memory-mapped
//! inputs, within a memory budget, into atomically published outputs.
//!
//! The layers, bottom up:
//! - [`TensorView`] (borrowed bytes, e.g. straight from a memory map) and [`TensorData`] (owned
//!   bytes) carry a tensor's type and its little-endian safetensors bytes, with the length checked
//!   once at construction; [`kernels`] maps them to results and reports bad input as
//!   [`KernelError`] values, knowing nothing of the graph.
//! - [`footprint`] is the memory model (how each node executes and what it holds), shared with
//!   `check`; [`budget`] the byte budget with RAII reservations; [`value`] the values passed
//!   between nodes (mapped pages or computed buffers that own their reservation).
//! - [`run::execute`] prepares a graph, lays out its outputs, schedules it (`schedule`: views at
//!   once, other nodes on a rayon pool as the budget allows, lowest id first), streams elementwise
//!   results and passthrough bytes into the outputs chunk by chunk (`stream`), evaluates sinks
//!   (`sinks`, `dump`), and publishes only when everything succeeded.

pub mod budget;
mod compute;
pub mod diagnostics;
pub mod dump;
pub mod error;
pub mod footprint;
pub mod kernels;
mod output_kind;
mod output_writer;
pub mod outputs;
mod prepare;
pub mod progress;
pub mod run;
mod schedule;
pub mod sinks;
mod stream;
pub mod tensor_data;
pub mod value;

pub use budget::{MemoryBudget, Reservation};
pub use error::KernelError;
pub use outputs::OutputOptions;
pub use progress::{ProgressObserver, ProgressUpdate};
pub use run::{execute, execute_observed, ExecOptions, RunFailure, RunReport};
pub use tensor_data::{TensorData, TensorView};
