//! The node kinds of a [`PlanGraph`](super::PlanGraph), grouped by family, and the dispatch that
//! asks each family for its type rule.
//!
//! It receives a node kind and the types of its operands (in operand order) and returns the type of
//! the value the node produces — `None` for sinks, which produce no tensor — or a structured
//! [`TypeError`] naming the operands involved. **Each family owns its rule** in its own file
//! (`elementwise.rs`, `layout.rs`, `view.rs`, `linalg.rs`, `create.rs`, `sink.rs`, `io.rs`,
//! `fused.rs` — the last two families are also produced by the optimizer); this module only
//! dispatches, so adding an op is one place. The same functions serve the compiler (which attaches
//! plan spans to the errors) and [`PlanGraph::validate`](super::PlanGraph::validate) (which
//! re-checks a whole graph after a rewrite).

pub mod create;
pub mod elementwise;
pub mod fused;
pub mod io;
pub mod layout;
pub mod linalg;
pub mod sink;
pub mod view;

use std::fmt;

use serde_json::Value;

use crate::tensor::{DType, Shape, TensorType};

pub use create::{Create, RandomDistribution};
pub use elementwise::Elementwise;
pub use fused::{Fused, FusedOp, FusedStep, FusedValue};
pub use io::{Load, Store, StoreMode};
pub use layout::{Layout, SliceDim, SliceSpec};
pub use linalg::Linalg;
pub use sink::{Check, DiffPair, Sink};
pub use view::ByteView;

/// What a node does. Parameters live in the kind; operands are the node's incoming edges.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Load(Load),
    Store(Store),
    Elementwise(Elementwise),
    /// Several elementwise ops evaluated as one streaming pass (made by the optimizer).
    Fused(Fused),
    Layout(Layout),
    Linalg(Linalg),
    Create(Create),
    Sink(Sink),
}

/// How many operands a node takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Arity {
    pub fn accepts(self, count: usize) -> bool {
        match self {
            Arity::Exactly(n) => count == n,
            Arity::AtLeast(n) => count >= n,
        }
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arity::Exactly(n) => write!(f, "exactly {n}"),
            Arity::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

impl NodeKind {
    /// The short op name used in DOT labels and JSON (`load`, `scale`, `slice`, …).
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Load(_) => "load",
            NodeKind::Store(_) => "store",
            NodeKind::Elementwise(op) => op.name(),
            NodeKind::Fused(_) => "fused",
            NodeKind::Layout(op) => op.name(),
            NodeKind::Linalg(op) => op.name(),
            NodeKind::Create(op) => op.name(),
            NodeKind::Sink(op) => op.name(),
        }
    }

    /// The family, for printers that style families differently.
    pub fn family(&self) -> &'static str {
        match self {
            NodeKind::Load(_) => "load",
            NodeKind::Store(_) => "store",
            NodeKind::Elementwise(_) => "elementwise",
            NodeKind::Fused(_) => "fused",
            NodeKind::Layout(_) => "layout",
            NodeKind::Linalg(_) => "linalg",
            NodeKind::Create(_) => "create",
            NodeKind::Sink(_) => "sink",
        }
    }

    /// The node's parameters as name/value pairs, in a fixed order (printers use them).
    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            NodeKind::Load(op) => op.parameters(),
            NodeKind::Store(op) => op.parameters(),
            NodeKind::Elementwise(op) => op.parameters(),
            NodeKind::Fused(op) => op.parameters(),
            NodeKind::Layout(op) => op.parameters(),
            NodeKind::Linalg(op) => op.parameters(),
            NodeKind::Create(op) => op.parameters(),
            NodeKind::Sink(op) => op.parameters(),
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            NodeKind::Load(_) | NodeKind::Create(_) => Arity::Exactly(0),
            NodeKind::Store(_) => Arity::Exactly(1),
            NodeKind::Elementwise(op) => op.arity(),
            NodeKind::Fused(op) => op.arity(),
            NodeKind::Layout(op) => op.arity(),
            NodeKind::Linalg(op) => op.arity(),
            NodeKind::Sink(op) => op.arity(),
        }
    }

    /// The type of the value this node produces from operands of `inputs` types (`None` for
    /// sinks), or why those operands are not acceptable.
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<Option<TensorType>, TypeError> {
        let arity = self.arity();
        if !arity.accepts(inputs.len()) {
            return Err(TypeError::Arity {
                expected: arity,
                found: inputs.len(),
            });
        }
        match self {
            NodeKind::Load(op) => Ok(Some(op.ty.clone())),
            NodeKind::Store(_) => Ok(Some(inputs[0].clone())),
            NodeKind::Elementwise(op) => op.infer(inputs).map(Some),
            NodeKind::Fused(op) => op.infer(inputs).map(Some),
            NodeKind::Layout(op) => op.infer(inputs).map(Some),
            NodeKind::Linalg(op) => op.infer(inputs).map(Some),
            NodeKind::Create(op) => op.infer().map(Some),
            NodeKind::Sink(op) => op.infer(inputs).map(|()| None),
        }
    }

    pub fn is_sink(&self) -> bool {
        matches!(self, NodeKind::Sink(_))
    }

    /// Whether the node's output shares the memory of its first operand (a view) rather than
    /// being materialized.
    pub fn is_view(&self) -> bool {
        matches!(
            self,
            NodeKind::Layout(Layout::Slice(_) | Layout::ByteView(_))
        )
    }
}

/// Why a node's operands do not fit its op. Operand positions (`left`, `right`, `operand`) index
/// the node's operands, so the compiler can point at the plan steps that produced them.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeError {
    Arity {
        expected: Arity,
        found: usize,
    },
    ShapeMismatch {
        left: usize,
        right: usize,
        left_type: TensorType,
        right_type: TensorType,
    },
    DtypeMismatch {
        left: usize,
        right: usize,
        left_type: TensorType,
        right_type: TensorType,
    },
    /// The op is not defined for this dtype (e.g. subtracting booleans, an SVD of integers).
    UnsupportedDtype {
        op: &'static str,
        dtype: DType,
        reason: &'static str,
    },
    /// Scaling an integer tensor by a fractional factor has no integer result.
    FractionalFactor {
        dtype: DType,
        factor: f64,
    },
    /// A dimension index outside `-rank..rank`.
    DimensionOutOfRange {
        dim: i64,
        rank: usize,
    },
    SliceTooManyIndices {
        rank: usize,
        indices: usize,
    },
    SliceIndexOutOfRange {
        dim: usize,
        index: i64,
        size: u64,
    },
    /// A resolved slice that does not fit the tensor (only a hand-built or rewritten graph can
    /// contain one).
    SliceDoesNotFit {
        dim: usize,
        size: u64,
    },
    ReshapeElementCount {
        from: Shape,
        requested: Vec<i64>,
    },
    ReshapeInvalid {
        requested: Vec<i64>,
    },
    NotAPermutation {
        order: Vec<i64>,
        rank: usize,
    },
    SplitOutOfRange {
        dim: usize,
        start: u64,
        length: u64,
        size: u64,
    },
    /// An operand of concat whose rank or size outside the concatenated dim differs from the
    /// first operand's.
    ConcatMismatch {
        operand: usize,
        dim: usize,
        first_type: TensorType,
        other_type: TensorType,
    },
    MatmulShapes {
        left_type: TensorType,
        right_type: TensorType,
        reason: String,
    },
    NotTwoDimensional {
        shape: Shape,
    },
    /// `fill mode: tensor` values whose shape does not broadcast to the template's.
    ValuesDoNotBroadcast {
        values: Shape,
        target: Shape,
    },
    ValuesCount {
        expected: u64,
        found: usize,
    },
    /// A rank or size so large that byte counts overflow.
    TooLarge {
        shape: Shape,
    },
    /// A byte-range view that does not lie inside its operand (or holds partial bytes).
    ViewOutsideOperand {
        byte_offset: u64,
        view: TensorType,
        operand: TensorType,
    },
    /// One step of a fused program breaks its op's rule (`error` is that rule's, with operand
    /// positions counted within the step).
    FusedStep {
        step: usize,
        error: Box<TypeError>,
    },
    /// A fused program that is not well formed (no steps, a step reading a later one, an
    /// operand of another shape); only a rewritten graph can contain one.
    FusedMalformed {
        reason: String,
    },
    /// A low-rank op (`lora_extract`, `lora_merge`) refused its operands or arguments; `reason`
    /// is the kernels' own type rule's message.
    LowRank {
        op: &'static str,
        reason: String,
    },
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeError::Arity { expected, found } => {
                write!(f, "takes {expected} operands, found {found}")
            }
            TypeError::ShapeMismatch {
                left_type,
                right_type,
                ..
            } => write!(
                f,
                "shapes differ: {} and {}",
                left_type.shape, right_type.shape
            ),
            TypeError::DtypeMismatch {
                left_type,
                right_type,
                ..
            } => write!(
                f,
                "dtypes differ: {} and {} (no implicit promotion)",
                left_type.dtype, right_type.dtype
            ),
            TypeError::UnsupportedDtype { op, dtype, reason } => {
                write!(f, "{op} is not defined for {dtype}: {reason}")
            }
            TypeError::FractionalFactor { dtype, factor } => write!(
                f,
                "cannot scale a {dtype} tensor by the fractional factor {factor}"
            ),
            TypeError::DimensionOutOfRange { dim, rank } => write!(
                f,
                "dimension {dim} is out of range for a tensor of rank {rank}"
            ),
            TypeError::SliceTooManyIndices { rank, indices } => write!(
                f,
                "slice has {indices} indices but the tensor has rank {rank}"
            ),
            TypeError::SliceIndexOutOfRange { dim, index, size } => write!(
                f,
                "index {index} is out of range for dimension {dim} of size {size}"
            ),
            TypeError::SliceDoesNotFit { dim, size } => {
                write!(f, "slice does not fit dimension {dim} of size {size}")
            }
            TypeError::ReshapeElementCount { from, requested } => write!(
                f,
                "cannot reshape {from} ({} elements) to {requested:?}",
                from.element_count()
                    .map_or_else(|| "too many".to_string(), |n| n.to_string())
            ),
            TypeError::ReshapeInvalid { requested } => write!(
                f,
                "invalid reshape target {requested:?}: sizes must be positive, with at most one -1"
            ),
            TypeError::NotAPermutation { order, rank } => write!(
                f,
                "{order:?} is not a permutation of the {rank} dimensions"
            ),
            TypeError::SplitOutOfRange {
                dim,
                start,
                length,
                size,
            } => write!(
                f,
                "pieces of dimension {dim} up to {} exceed its size {size}",
                start + length
            ),
            TypeError::ConcatMismatch {
                operand,
                dim,
                first_type,
                other_type,
            } => write!(
                f,
                "operand {} ({other_type}) does not match the first ({first_type}) outside dimension {dim}",
                operand + 1
            ),
            TypeError::MatmulShapes {
                left_type,
                right_type,
                reason,
            } => write!(
                f,
                "cannot multiply {} by {}: {reason}",
                left_type.shape, right_type.shape
            ),
            TypeError::NotTwoDimensional { shape } => {
                write!(f, "needs a 2-D tensor, found shape {shape}")
            }
            TypeError::ValuesDoNotBroadcast { values, target } => write!(
                f,
                "values of shape {values} do not broadcast to {target}"
            ),
            TypeError::ValuesCount { expected, found } => write!(
                f,
                "the values hold {found} numbers where their shape needs {expected}"
            ),
            TypeError::TooLarge { shape } => write!(f, "shape {shape} is too large"),
            TypeError::ViewOutsideOperand {
                byte_offset,
                view,
                operand,
            } => write!(
                f,
                "a view of {view} from byte {byte_offset} does not fit inside its operand ({operand})"
            ),
            TypeError::FusedStep { step, error } => write!(f, "fused step {step}: {error}"),
            TypeError::FusedMalformed { reason } => write!(f, "malformed fused program: {reason}"),
            TypeError::LowRank { reason, .. } => write!(f, "{reason}"),
        }
    }
}

/// A shape as a JSON array.
pub(crate) fn shape_json(shape: &Shape) -> Value {
    Value::from(shape.dims().to_vec())
}
