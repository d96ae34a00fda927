//! Sinks: value assertions, value dumps and diffs — nodes that consume tensors and produce none.
//!
//! An assertion sink carries a [`Check`] tree over its operands: `equal` pairs, `iszero` operands,
//! the `all`/`any`/`not` combinators, and `Known` leaves for the parts the compiler already
//! decided from headers (so a combinator mixing static and value parts is one sink that carries
//! the static results). Its rule: every `equal` pair has one type (BrainSurgery treats a mismatch
//! as an error, not as "unequal"), and every operand index exists. A dump sink lists the tensors
//! it shows; it takes operands only when its verbosity needs values. A diff sink lists the names
//! found on one side only and, per common name, either a difference already known from the types
//! or a pair of operands to compare.

use serde_json::Value;

use super::elementwise::same_type_at;
use super::{Arity, TypeError};
use crate::plan::ast::{DumpFormat, DumpVerbosity};
use crate::tensor::TensorType;

#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    Assert {
        check: Check,
        /// A display name per operand (`alias::name`), for run-time messages.
        operands: Vec<String>,
    },
    Dump {
        format: DumpFormat,
        verbosity: DumpVerbosity,
        /// Every tensor shown, with its type; operands follow this order when values are needed.
        entries: Vec<(String, TensorType)>,
    },
    Diff {
        eps: Option<f64>,
        pairs: Vec<DiffPair>,
        missing_left: Vec<String>,
        missing_right: Vec<String>,
    },
}

/// One name present on both sides of a diff.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffPair {
    pub name: String,
    /// A difference known from the types (shape or dtype); such a pair has no operands.
    pub known_difference: Option<String>,
}

/// An assertion over a sink's operands (indices into them).
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Decided at compile time.
    Known {
        holds: bool,
        description: String,
    },
    Equal {
        left: usize,
        right: usize,
        eps: Option<f64>,
    },
    IsZero {
        operand: usize,
        eps: Option<f64>,
    },
    All(Vec<Check>),
    Any(Vec<Check>),
    Not(Box<Check>),
}

impl Check {
    /// Checks the operand types the tree refers to.
    fn check_types(&self, inputs: &[&TensorType]) -> Result<(), TypeError> {
        let operand = |index: usize| {
            inputs.get(index).copied().ok_or(TypeError::Arity {
                expected: Arity::AtLeast(index + 1),
                found: inputs.len(),
            })
        };
        match self {
            Check::Known { .. } => Ok(()),
            Check::Equal { left, right, .. } => {
                same_type_at(operand(*left)?, *left, operand(*right)?, *right)
            }
            Check::IsZero { operand: index, .. } => operand(*index).map(|_| ()),
            Check::All(children) | Check::Any(children) => children
                .iter()
                .try_for_each(|child| child.check_types(inputs)),
            Check::Not(child) => child.check_types(inputs),
        }
    }

    /// A one-line rendering (`all(equal(0, 1), not(iszero(2)))`), for labels.
    pub fn to_text(&self) -> String {
        let list = |children: &[Check]| {
            children
                .iter()
                .map(Check::to_text)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Check::Known { holds, .. } => holds.to_string(),
            Check::Equal { left, right, .. } => format!("equal({left}, {right})"),
            Check::IsZero { operand, .. } => format!("iszero({operand})"),
            Check::All(children) => format!("all({})", list(children)),
            Check::Any(children) => format!("any({})", list(children)),
            Check::Not(child) => format!("not({})", child.to_text()),
        }
    }
}

impl Sink {
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Assert { .. } => "assert",
            Sink::Dump { .. } => "dump",
            Sink::Diff { .. } => "diff",
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Sink::Assert { operands, .. } => Arity::Exactly(operands.len()),
            Sink::Dump {
                verbosity, entries, ..
            } => match verbosity {
                DumpVerbosity::Shape => Arity::Exactly(0),
                _ => Arity::Exactly(entries.len()),
            },
            Sink::Diff { pairs, .. } => Arity::Exactly(
                2 * pairs
                    .iter()
                    .filter(|pair| pair.known_difference.is_none())
                    .count(),
            ),
        }
    }

    pub fn parameters(&self) -> Vec<(&'static str, Value)> {
        match self {
            Sink::Assert { check, operands } => vec![
                ("check", Value::from(check.to_text())),
                ("operands", Value::from(operands.clone())),
            ],
            Sink::Dump {
                format,
                verbosity,
                entries,
            } => vec![
                ("format", Value::from(format!("{format:?}").to_lowercase())),
                (
                    "verbosity",
                    Value::from(format!("{verbosity:?}").to_lowercase()),
                ),
                ("tensors", Value::from(entries.len())),
            ],
            Sink::Diff {
                eps,
                pairs,
                missing_left,
                missing_right,
            } => {
                let mut parameters = vec![
                    ("common", Value::from(pairs.len())),
                    ("missing_left", Value::from(missing_left.clone())),
                    ("missing_right", Value::from(missing_right.clone())),
                ];
                if let Some(eps) = eps {
                    parameters.push(("eps", Value::from(*eps)));
                }
                parameters
            }
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<(), TypeError> {
        match self {
            Sink::Assert { check, .. } => check.check_types(inputs),
            Sink::Dump { .. } => Ok(()),
            // Value pairs come as (left, right) operands, which must have one type (a type
            // difference is recorded as a known difference instead).
            Sink::Diff { .. } => inputs.chunks(2).enumerate().try_for_each(|(pair, chunk)| {
                same_type_at(chunk[0], 2 * pair, chunk[1], 2 * pair + 1)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, Shape};

    #[test]
    fn equal_pairs_must_share_a_type() {
        let a = TensorType::new(DType::F32, Shape::new(vec![8]));
        let b = TensorType::new(DType::F32, Shape::new(vec![4]));
        let sink = Sink::Assert {
            check: Check::Not(Box::new(Check::Equal {
                left: 0,
                right: 1,
                eps: None,
            })),
            operands: vec!["a".into(), "b".into()],
        };
        assert!(matches!(
            sink.infer(&[&a, &b]),
            Err(TypeError::ShapeMismatch {
                left: 0,
                right: 1,
                ..
            })
        ));
        assert!(sink.infer(&[&a, &a]).is_ok());
        assert_eq!(sink.arity(), Arity::Exactly(2));
    }

    #[test]
    fn checks_render_as_one_line() {
        let check = Check::All(vec![
            Check::Known {
                holds: true,
                description: "exists".into(),
            },
            Check::IsZero {
                operand: 0,
                eps: Some(0.1),
            },
        ]);
        assert_eq!(check.to_text(), "all(true, iszero(0))");
    }
}
