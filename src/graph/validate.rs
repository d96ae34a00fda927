//! Whole-graph validation: every node's operands are re-checked with its op's own type rule.
//!
//! It receives a [`PlanGraph`] and returns the list of problems found (empty when the graph is
//! well formed), never stopping at the first: operand positions that are not `0..n`, an operand
//! count the op does not accept, an operand that is a sink (sinks produce no value), a type rule
//! that rejects the operands, a stored type that differs from what the rule infers, a `Store`
//! naming an output the graph does not have, and a byte-copying `Store` whose operand is not an
//! input tensor's bytes. Passes run it after every rewrite in tests.

use std::fmt;

use petgraph::Direction;

use super::ops::{Layout, StoreMode};
use super::{NodeId, NodeKind, PlanGraph, TypeError};
use crate::tensor::TensorType;

/// One problem of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub node: NodeId,
    pub problem: ValidationProblem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValidationProblem {
    /// Operand positions must be exactly `0..n`, once each.
    OperandPositions(Vec<u32>),
    /// An operand produces no value (it is a sink).
    OperandWithoutValue {
        position: usize,
        operand: NodeId,
    },
    Rule(TypeError),
    StoredTypeDiffers {
        stored: Option<TensorType>,
        inferred: Option<TensorType>,
    },
    UnknownOutput,
    /// A `StoreMode::CopyBytes` store whose operand is neither a `Load` nor a byte view of one.
    CopyBytesFromComputedValue {
        operand: NodeId,
    },
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.node)?;
        match &self.problem {
            ValidationProblem::OperandPositions(positions) => {
                write!(f, "operand positions {positions:?} are not 0..n")
            }
            ValidationProblem::OperandWithoutValue { position, operand } => {
                write!(f, "operand {position} ({operand}) produces no value")
            }
            ValidationProblem::Rule(error) => write!(f, "{error}"),
            ValidationProblem::StoredTypeDiffers { stored, inferred } => {
                write!(f, "stored type {stored:?} but the rule infers {inferred:?}")
            }
            ValidationProblem::UnknownOutput => f.write_str("stores into an unknown output"),
            ValidationProblem::CopyBytesFromComputedValue { operand } => write!(
                f,
                "copies the bytes of {operand}, which is not an input tensor (a load or a byte view of one)"
            ),
        }
    }
}

impl PlanGraph {
    /// Re-checks every node; see the module documentation.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        for id in self.node_ids() {
            if let Err(problem) = self.validate_node(id) {
                errors.push(ValidationError { node: id, problem });
            }
        }
        errors
    }

    fn validate_node(&self, id: NodeId) -> Result<(), ValidationProblem> {
        let Some(node) = self.node(id) else {
            return Ok(());
        };
        let mut positions: Vec<u32> = self
            .graph
            .edges_directed(id.to_index(), Direction::Incoming)
            .map(|edge| *edge.weight())
            .collect();
        positions.sort_unstable();
        if positions.iter().enumerate().any(|(i, &p)| p as usize != i) {
            return Err(ValidationProblem::OperandPositions(positions));
        }
        let inputs = self.inputs(id);
        let mut types = Vec::with_capacity(inputs.len());
        for (position, &operand) in inputs.iter().enumerate() {
            match self.type_of(operand) {
                Some(ty) => types.push(ty),
                None => {
                    return Err(ValidationProblem::OperandWithoutValue { position, operand });
                }
            }
        }
        if let NodeKind::Store(store) = &node.kind {
            if self.output(store.output).is_none() {
                return Err(ValidationProblem::UnknownOutput);
            }
            if store.mode == StoreMode::CopyBytes {
                if let Some(&operand) = inputs.first() {
                    if !self.is_input_bytes(operand) {
                        return Err(ValidationProblem::CopyBytesFromComputedValue { operand });
                    }
                }
            }
        }
        let inferred = node.kind.infer(&types).map_err(ValidationProblem::Rule)?;
        if inferred != node.ty {
            return Err(ValidationProblem::StoredTypeDiffers {
                stored: node.ty.clone(),
                inferred,
            });
        }
        Ok(())
    }

    /// Whether a node's value is a byte range of an input file as it is: a `Load`, or a byte view
    /// of one.
    pub fn is_input_bytes(&self, id: NodeId) -> bool {
        match self.node(id).map(|node| &node.kind) {
            Some(NodeKind::Load(_)) => true,
            Some(NodeKind::Layout(Layout::ByteView(_))) => {
                self.inputs(id).first().is_some_and(|&operand| {
                    matches!(self.node(operand).map(|n| &n.kind), Some(NodeKind::Load(_)))
                })
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ops::{ByteView, Elementwise, Load, Store};
    use crate::graph::OutputSpec;
    use crate::tensor::{DType, Shape};

    fn load(graph: &mut PlanGraph, dims: &[u64]) -> NodeId {
        let ty = TensorType::new(DType::F32, Shape::new(dims.to_vec()));
        graph.add_node(
            NodeKind::Load(Load {
                alias: "m".into(),
                path: "p".into(),
                tensor: "t".into(),
                ty: ty.clone(),
            }),
            Some(ty),
            &[],
            None,
        )
    }

    #[test]
    fn a_wrong_stored_type_is_reported() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, &[2]);
        let wrong = TensorType::new(DType::F16, Shape::new(vec![2]));
        let scale = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            Some(wrong),
            &[a],
            None,
        );
        let errors = graph.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].node, scale);
        assert!(matches!(
            errors[0].problem,
            ValidationProblem::StoredTypeDiffers { .. }
        ));
    }

    #[test]
    fn operand_count_and_rules_are_rechecked() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, &[2]);
        let b = load(&mut graph, &[3]);
        let ty = graph.type_of(a).cloned();
        let lonely_add = graph.add_node(
            NodeKind::Elementwise(Elementwise::Add),
            ty.clone(),
            &[a],
            None,
        );
        let mismatched = graph.add_node(NodeKind::Elementwise(Elementwise::Add), ty, &[a, b], None);
        let errors = graph.validate();
        assert_eq!(
            errors.iter().map(|e| e.node).collect::<Vec<_>>(),
            vec![lonely_add, mismatched]
        );
        assert!(matches!(
            errors[0].problem,
            ValidationProblem::Rule(TypeError::Arity { .. })
        ));
        assert!(matches!(
            errors[1].problem,
            ValidationProblem::Rule(TypeError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn a_byte_copy_must_read_input_bytes() {
        let mut graph = PlanGraph::new();
        let a = load(&mut graph, &[4]);
        let ty = graph.type_of(a).cloned();
        let scaled = graph.add_node(
            NodeKind::Elementwise(Elementwise::Scale { by: 2.0 }),
            ty.clone(),
            &[a],
            None,
        );
        let half = TensorType::new(DType::F32, Shape::new(vec![2]));
        let view = graph.add_node(
            NodeKind::Layout(Layout::ByteView(ByteView {
                byte_offset: 8,
                shape: half.shape.clone(),
            })),
            Some(half.clone()),
            &[a],
            None,
        );
        let output = graph.add_output(OutputSpec {
            path: "out".into(),
            alias: "m".into(),
            format: None,
            shard: None,
            is_plan_output: true,
        });
        let copy = |name: &str| {
            let mut store = Store::new(output, name);
            store.mode = StoreMode::CopyBytes;
            NodeKind::Store(store)
        };
        graph.add_node(copy("a"), ty.clone(), &[a], None);
        graph.add_node(copy("half"), Some(half), &[view], None);
        assert!(graph.validate().is_empty(), "{:?}", graph.validate());
        let bad = graph.add_node(copy("scaled"), ty, &[scaled], None);
        let errors = graph.validate();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].node, bad);
        assert_eq!(
            errors[0].problem,
            ValidationProblem::CopyBytesFromComputedValue { operand: scaled }
        );
    }
}
