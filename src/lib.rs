//! brainsurgery: reproducible, validated tensor surgery on neural-network checkpoints.
//!
//! The crate is laid out as the pipeline of `docs/architecture.md`: `plan` (front ends → AST),
//! `io` (checkpoint storage), `cli` (one module per subcommand). Later stages (`compile`, `graph`,
//! `optimize`, `exec`) follow the same shape.

pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod exec;
pub mod graph;
pub mod inspect;
pub mod io;
pub mod optimize;
pub mod plan;
pub mod repl;
pub mod tensor;
