//! Evaluating sinks: value assertions, dumps and diffs.
//!
//! [`evaluate`] receives a sink node's description and its operand values and returns a
//! [`SinkOutcome`]: the text the sink prints (dumps and diffs, to stdout, in plan order) and,
//! for an assertion that did not hold, why. Assertions follow BrainSurgery: `equal` is exact by
//! value or within `eps` (compared in f64), `iszero` likewise; `all` fails at its first failing
//! part, `any` holds at its first holding part (its failure lists every reason), `not` holds
//! exactly when its part fails. Parts decided at compile time arrive as known results. A diff
//! reports names missing on either side and the pairs that differ, or "No differences found.";
//! it never fails a run.

use super::dump::{self, Detail, DumpEntry};
use super::error::KernelError;
use super::kernels::compare;
use super::value::Value;
use crate::graph::ops::{Check, DiffPair, Sink};
use crate::inspect::decode::{decodable, decode_into};
use crate::inspect::text::general;
use crate::plan::ast::DumpVerbosity;

/// What a sink produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkOutcome {
    /// Text for stdout.
    pub text: Option<String>,
    /// For a failed assertion: the check as text and why it failed.
    pub failure: Option<(String, String)>,
}

pub fn evaluate(sink: &Sink, operands: &[Value]) -> Result<SinkOutcome, KernelError> {
    let outcome = match sink {
        Sink::Assert {
            check,
            operands: names,
        } => {
            let failure = holds(check, operands, names)?
                .err()
                .map(|reason| (describe(check, names), reason));
            SinkOutcome {
                text: None,
                failure,
            }
        }
        Sink::Dump {
            format,
            verbosity,
            entries,
        } => {
            let mut rendered = Vec::with_capacity(entries.len());
            for (index, (label, ty)) in entries.iter().enumerate() {
                let detail = match verbosity {
                    DumpVerbosity::Shape => Detail::Shape,
                    DumpVerbosity::Stat => {
                        Detail::Stat(compare::statistics(&operand(operands, index)?.view()?)?)
                    }
                    DumpVerbosity::Full => {
                        let value = operand(operands, index)?;
                        Detail::Full(decodable(ty.dtype).then(|| {
                            let mut values = Vec::new();
                            decode_into(ty.dtype, value.bytes(), &mut values);
                            values
                        }))
                    }
                };
                rendered.push(DumpEntry {
                    label: label.clone(),
                    ty: ty.clone(),
                    detail,
                });
            }
            SinkOutcome {
                text: Some(dump::render(*format, &rendered)),
                failure: None,
            }
        }
        Sink::Diff {
            eps,
            pairs,
            missing_left,
            missing_right,
        } => SinkOutcome {
            text: Some(diff_report(
                *eps,
                pairs,
                missing_left,
                missing_right,
                operands,
            )?),
            failure: None,
        },
    };
    operands.iter().for_each(Value::release_all);
    Ok(outcome)
}

fn operand<'v, 'a>(operands: &'v [Value<'a>], index: usize) -> Result<&'v Value<'a>, KernelError> {
    operands.get(index).ok_or(KernelError::OperandCount {
        op: "sink",
        expected: index + 1,
        actual: operands.len(),
    })
}

fn name(names: &[String], index: usize) -> &str {
    names.get(index).map_or("?", String::as_str)
}

/// `Ok(Ok(()))` when the check holds, `Ok(Err(reason))` when it does not.
fn holds(
    check: &Check,
    operands: &[Value],
    names: &[String],
) -> Result<Result<(), String>, KernelError> {
    Ok(match check {
        Check::Known { holds, description } => {
            if *holds {
                Ok(())
            } else {
                Err(description.clone())
            }
        }
        Check::Equal { left, right, eps } => {
            let (a, b) = (
                operand(operands, *left)?.view()?,
                operand(operands, *right)?.view()?,
            );
            if compare::equal(&a, &b, *eps)? {
                Ok(())
            } else {
                let largest = compare::max_abs_diff(&a, &b)?.map_or("none".into(), general);
                let within = eps.map_or(String::new(), |e| format!(" > eps {}", general(e)));
                Err(format!(
                    "{} and {} differ (max |a - b| = {largest}{within})",
                    name(names, *left),
                    name(names, *right)
                ))
            }
        }
        Check::IsZero {
            operand: index,
            eps,
        } => {
            let view = operand(operands, *index)?.view()?;
            if compare::is_zero(&view, *eps)? {
                Ok(())
            } else {
                let largest =
                    compare::statistics(&view)?.map_or(0.0, |s| s.min.abs().max(s.max.abs()));
                Err(format!(
                    "{} is not zero (largest |x| = {})",
                    name(names, *index),
                    general(largest)
                ))
            }
        }
        Check::All(children) => {
            for child in children {
                if let Err(reason) = holds(child, operands, names)? {
                    return Ok(Err(reason));
                }
            }
            Ok(())
        }
        Check::Any(children) => {
            let mut reasons = Vec::new();
            for child in children {
                match holds(child, operands, names)? {
                    Ok(()) => return Ok(Ok(())),
                    Err(reason) => reasons.push(reason),
                }
            }
            Err(format!(
                "none of the alternatives holds: {}",
                reasons.join("; ")
            ))
        }
        Check::Not(child) => match holds(child, operands, names)? {
            Ok(()) => Err(format!("{} holds", describe(child, names))),
            Err(_) => Ok(()),
        },
    })
}

/// The check written with operand names (`not(equal(model::a, model::b))`).
fn describe(check: &Check, names: &[String]) -> String {
    let list = |children: &[Check]| {
        children
            .iter()
            .map(|c| describe(c, names))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match check {
        Check::Known { description, .. } => description.clone(),
        Check::Equal { left, right, eps } => match eps {
            Some(eps) => format!(
                "equal({}, {}, eps={})",
                name(names, *left),
                name(names, *right),
                general(*eps)
            ),
            None => format!("equal({}, {})", name(names, *left), name(names, *right)),
        },
        Check::IsZero { operand, eps } => match eps {
            Some(eps) => format!("iszero({}, eps={})", name(names, *operand), general(*eps)),
            None => format!("iszero({})", name(names, *operand)),
        },
        Check::All(children) => format!("all({})", list(children)),
        Check::Any(children) => format!("any({})", list(children)),
        Check::Not(child) => format!("not({})", describe(child, names)),
    }
}

/// BrainSurgery's diff report.
fn diff_report(
    eps: Option<f64>,
    pairs: &[DiffPair],
    missing_left: &[String],
    missing_right: &[String],
    operands: &[Value],
) -> Result<String, KernelError> {
    let mut differing = Vec::new();
    let mut next = 0;
    for pair in pairs {
        if let Some(known) = &pair.known_difference {
            differing.push(format!("{}: {known}", pair.name));
            continue;
        }
        let left = operand(operands, next)?.view()?;
        let right = operand(operands, next + 1)?.view()?;
        next += 2;
        if let Some(reason) = value_difference(&left, &right, eps)? {
            differing.push(format!("{}: {reason}", pair.name));
        }
    }
    Ok(render_diff(missing_left, missing_right, &differing))
}

/// Why two same-typed tensors differ, or `None` when they do not (exactly, or within `eps`).
pub fn value_difference(
    left: &super::TensorView,
    right: &super::TensorView,
    eps: Option<f64>,
) -> Result<Option<String>, KernelError> {
    Ok(match eps {
        None => (!compare::equal(left, right, None)?).then(|| "values differ".to_string()),
        Some(eps) => match compare::max_abs_diff(left, right)? {
            Some(largest) if largest.is_nan() || largest > eps => {
                Some(format!("max_abs_diff={}", general(largest)))
            }
            _ => None,
        },
    })
}

/// The text of a diff: missing names on each side, differing names with reasons.
pub fn render_diff(
    missing_left: &[String],
    missing_right: &[String],
    differing: &[String],
) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    };
    let mut out = format!(
        "Missing on left: {}\nMissing on right: {}\n",
        list(missing_left),
        list(missing_right)
    );
    if differing.is_empty() {
        out.push_str("Differing: (none)\n");
    } else {
        out.push_str("Differing:\n");
        for line in differing {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if missing_left.is_empty() && missing_right.is_empty() && differing.is_empty() {
        out.push_str("No differences found.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_diff_says_so() {
        assert_eq!(
            render_diff(&[], &[], &[]),
            "Missing on left: (none)\nMissing on right: (none)\nDiffering: (none)\nNo differences found.\n"
        );
        assert_eq!(
            render_diff(&["a".into()], &[], &["b: values differ".into()]),
            "Missing on left: a\nMissing on right: (none)\nDiffering:\n  b: values differ\n"
        );
    }

    #[test]
    fn checks_are_described_with_operand_names() {
        let names = vec!["m::a".to_string(), "m::b".to_string()];
        let check = Check::Not(Box::new(Check::Equal {
            left: 0,
            right: 1,
            eps: Some(0.5),
        }));
        assert_eq!(describe(&check, &names), "not(equal(m::a, m::b, eps=0.5))");
    }
}
