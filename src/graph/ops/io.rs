//! The graph's boundary nodes: `Load` (a tensor of an input file) and `Store` (a tensor of an
//! output).
//!
//! A `Load` takes no operands and produces the type its file's header declares; it is identified
//! by the file path and the tensor's name in that file (the alias is kept for display). A `Store`
//! takes one operand and names where it goes: an output of the graph (by index into
//! [`PlanGraph::outputs`](crate::graph::PlanGraph::outputs)) and the tensor's name there. Neither
//! reads bytes at compile time.

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
}

impl Store {
    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("output", Value::from(self.output.index())),
            ("name", Value::from(self.name.clone())),
        ]
    }
}
