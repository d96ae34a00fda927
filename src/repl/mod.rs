//! The interactive surgery session: a prompt that type-checks each step as it is typed.
//!
//! It receives the inputs' headers (and the steps of any plan given at start) and then entries:
//! steps in the terse syntax, YAML, or BrainSurgery's one-line form ([`oly`]), or `:` commands.
//! Each step is compiled against the current symbolic state by the incremental compiler — the
//! same checks `check` makes — and is either accepted, printing the names it created, changed or
//! deleted with their dtypes and shapes, or rejected with `check`'s diagnostic and **the state
//! unchanged**. Nothing is read or written until `:run`, except what `:stats` reads: one input
//! tensor, or for a tensor the plan computes, what computing it reads ([`evaluate`]).
//!
//! Layout: [`entry`] parses an entry (choosing the syntax), [`session`] holds the state and the
//! undo records, [`commands`] carries out `:` commands ([`evaluate`] computes a tensor for `:stats`), [`report`] and [`help`] produce text,
//! [`block`] decides when an entry continues on the next line, [`complete`] offers completions,
//! [`terminal`] reads lines (line editor or pipe), and [`driver`] is the loop over all of them.

pub mod block;
pub mod commands;
pub mod complete;
pub mod diagnostics;
pub mod driver;
pub mod entry;
pub mod evaluate;
pub mod help;
pub mod oly;
pub mod report;
pub mod session;
pub mod terminal;

pub use driver::{Driver, Line, LineInput};
pub use session::{ReplSession, StepOutcome, Undone};
