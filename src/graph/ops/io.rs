//! The graph's boundary nodes: `Load` (a tensor of an input file) and `Store` (a tensor of an
//! output).
//!
//! A `Load` takes no operands and produces the type its file's header declares; it is identified
//! by the file path and the tensor's name in that file (the alias is kept for display). A `Store`
//! takes one operand and names where it goes: an output of the graph (by index into
//! [`PlanGraph::outputs`](crate::graph::PlanGraph::outputs)) and the tensor's name there, and how
//! its bytes are produced ([`StoreMode`]): by encoding the operand's value, or — when the optimizer
//! proved the operand is an input tensor's bytes (a `Load`, or a byte-range view of one) — by
//! copying those bytes from the input map without decoding them. Neither reads bytes at compile
//! time.

use serde_json::Value;

use crate::graph::OutputId;
use crate::tensor::TensorType;

/// One tensor of an input file, as its header declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The alias the plan knows the file by (for display only).
    pub alias: String,
    pub path: String,
    /// The tensor's name inside the file.
    pub tensor: String,
    pub ty: TensorType,
}

impl Load {
    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("alias", Value::from(self.alias.clone())),
            ("path", Value::from(self.path.clone())),
            ("tensor", Value::from(self.tensor.clone())),
        ]
    }
}

/// Writes its operand as `name` into output `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub output: OutputId,
    pub name: String,
    pub mode: StoreMode,
}

/// How a `Store` produces the bytes it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreMode {
    /// The operand's value, computed and encoded in its dtype (what the compiler emits).
    #[default]
    Value,
    /// The operand is a `Load`, or a `Layout::ByteView` of a `Load`: its bytes are copied from the
    /// input map as they are, never decoded (set by the optimizer's zero-copy passthrough;
    /// [`PlanGraph::validate`](crate::graph::PlanGraph::validate) checks the operand's kind).
    CopyBytes,
}

impl Store {
    /// A store of the operand's value (the mode every compiled store starts with).
    pub fn new(output: OutputId, name: impl Into<String>) -> Store {
        Store {
            output,
            name: name.into(),
            mode: StoreMode::Value,
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        let mut parameters = vec![
            ("output", Value::from(self.output.index())),
            ("name", Value::from(self.name.clone())),
        ];
        // The default mode is left out so that unoptimized graphs print as before.
        if self.mode == StoreMode::CopyBytes {
            parameters.push(("mode", Value::from("copy_bytes")));
        }
        parameters
    }
}
