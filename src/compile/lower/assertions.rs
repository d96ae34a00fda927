//! `assert`: static parts decided from headers, value parts turned into one sink node.
//!
//! It receives an assertion expression and returns nothing; it reports a failed static assertion
//! as a diagnostic pointing at the failing part, and adds an `assert` sink carrying a
//! [`Check`] tree when values must be looked at (`equal`, `iszero`). `exists`, `count`, `shape`,
//! `dimensions` and `dtype` are static. Combinators: `all` fails statically if any part does,
//! `any` holds statically if any part does, `not` flips a decided part; a combinator that mixes
//! undecided value parts with decided ones becomes a sink carrying the decided results as
//! `Known` leaves. Deliberate fixes of BrainSurgery (see `docs/differences.md`): `count: {is: 0}`
//! holds when nothing matches, and `not` negates only a *failed* assertion — a reference error
//! inside it (a name that matches nothing where a tensor is required, an unknown alias) is still
//! an error. `reads`/`writes` are refused with an explanation.

use super::label;
use crate::compile::diagnostics;
use crate::compile::draft::{Draft, Operand};
use crate::compile::expand::{pattern_text, AliasUse, Matched};
use crate::diagnostics::{Diagnostic, Span};
use crate::graph::ops::elementwise::same_type_at;
use crate::graph::ops::{Check, NodeKind, Sink};
use crate::plan::ast::{AssertExpr, Bounds, Spanned, TensorRef};
use crate::tensor::TensorType;

/// What is known of an assertion at compile time.
enum Verdict {
    Holds,
    Fails {
        span: Span,
        reason: String,
    },
    /// Depends on values: decided by the sink at run time.
    Pending(Check),
}

type Evaluation = Result<Verdict, Vec<Diagnostic>>;

pub(super) fn assert(
    draft: &mut Draft,
    expression: &Spanned<AssertExpr>,
) -> Result<(), Diagnostic> {
    let mut evaluator = Evaluator {
        draft,
        operands: Vec::new(),
    };
    match evaluator.evaluate(expression) {
        Err(diagnostics) => {
            for diagnostic in diagnostics {
                evaluator.draft.report(diagnostic);
            }
        }
        Ok(Verdict::Holds) => {}
        Ok(Verdict::Fails { span, reason }) => {
            let assert_span = evaluator.draft.step_span;
            evaluator
                .draft
                .report(diagnostics::assertion_failed(assert_span, span, &reason));
        }
        Ok(Verdict::Pending(check)) => {
            let operands = std::mem::take(&mut evaluator.operands);
            let names = operands.iter().map(|o| o.name.clone()).collect();
            evaluator.draft.add(
                "assert",
                NodeKind::Sink(Sink::Assert {
                    check,
                    operands: names,
                }),
                &operands,
            )?;
        }
    }
    Ok(())
}

struct Evaluator<'d, 's> {
    draft: &'d mut Draft<'s>,
    /// The sink's operands, in the order the check tree indexes them.
    operands: Vec<Operand>,
}

impl Evaluator<'_, '_> {
    fn evaluate(&mut self, expression: &Spanned<AssertExpr>) -> Evaluation {
        let span = expression.span;
        match &expression.node {
            AssertExpr::Exists(of) => {
                let count = self.matches(of, true)?.len();
                Ok(decide(count > 0, of.span, || {
                    format!("`{}` matches no tensor", shown(self.draft, of))
                }))
            }
            AssertExpr::Count { of, is } => {
                let count = self.matches(of, true)?.len() as u64;
                Ok(decide(count == is.node, is.span, || {
                    format!(
                        "`{}` matches {count} tensor{}, not {}",
                        shown(self.draft, of),
                        plural(count),
                        is.node
                    )
                }))
            }
            AssertExpr::Shape { of, is } => self.every(of, is.span, |ty| {
                (ty.shape.dims() != is.node.as_slice())
                    .then(|| format!("has shape {}, not {}", ty.shape, shape_text(&is.node)))
            }),
            AssertExpr::Dtype { of, is } => self.every(of, is.span, |ty| {
                (ty.dtype != is.node).then(|| format!("is {}, not {}", ty.dtype, is.node))
            }),
            AssertExpr::Dimensions { of, bounds } => {
                let bounds_span = bounds_span(bounds).unwrap_or(of.span);
                self.every(of, bounds_span, |ty| {
                    let rank = ty.shape.rank() as u64;
                    violated(bounds, rank)
                        .map(|bound| format!("has {rank} dimensions, not {bound}"))
                })
            }
            AssertExpr::Equal { left, right, eps } => {
                self.equal(left, right, eps.as_ref().map(|e| e.node))
            }
            AssertExpr::IsZero { of, eps } => {
                let eps = eps.as_ref().map(|e| e.node);
                let mut checks = Vec::new();
                for matched in self.matches(of, false)? {
                    let operand = self
                        .draft
                        .operand("assert iszero", "of", &matched, of, true)
                        .map_err(|d| vec![d])?;
                    checks.push(Check::IsZero {
                        operand: self.push(operand),
                        eps,
                    });
                }
                Ok(Verdict::Pending(all_of(checks)))
            }
            AssertExpr::Reads { .. } | AssertExpr::Writes { .. } => {
                Err(vec![diagnostics::access_counters_unsupported(
                    expression.node.name(),
                    span,
                )])
            }
            AssertExpr::All(children) => {
                let verdicts = self.children(children)?;
                if let Some(failure) = verdicts.iter().find_map(|v| match v {
                    Verdict::Fails { span, reason } => Some((*span, reason.clone())),
                    _ => None,
                }) {
                    return Ok(Verdict::Fails {
                        span: failure.0,
                        reason: failure.1,
                    });
                }
                let pending: Vec<Check> = verdicts.into_iter().map(known_or_check).collect();
                if pending
                    .iter()
                    .all(|c| matches!(c, Check::Known { holds: true, .. }))
                {
                    return Ok(Verdict::Holds);
                }
                Ok(Verdict::Pending(Check::All(pending)))
            }
            AssertExpr::Any(children) => {
                let verdicts = self.children(children)?;
                if verdicts.iter().any(|v| matches!(v, Verdict::Holds)) {
                    return Ok(Verdict::Holds);
                }
                if verdicts.iter().all(|v| matches!(v, Verdict::Fails { .. })) {
                    let reasons: Vec<String> = verdicts
                        .into_iter()
                        .filter_map(|v| match v {
                            Verdict::Fails { reason, .. } => Some(reason),
                            _ => None,
                        })
                        .collect();
                    return Ok(Verdict::Fails {
                        span,
                        reason: format!("no alternative holds: {}", reasons.join("; ")),
                    });
                }
                Ok(Verdict::Pending(Check::Any(
                    verdicts.into_iter().map(known_or_check).collect(),
                )))
            }
            AssertExpr::Not(inner) => Ok(match self.evaluate(inner)? {
                Verdict::Holds => Verdict::Fails {
                    span,
                    reason: format!("the negated assertion holds: {}", self.describe(inner)),
                },
                Verdict::Fails { .. } => Verdict::Holds,
                Verdict::Pending(check) => Verdict::Pending(Check::Not(Box::new(check))),
            }),
        }
    }

    /// Evaluates every child, collecting the errors of all of them.
    fn children(
        &mut self,
        children: &[Spanned<AssertExpr>],
    ) -> Result<Vec<Verdict>, Vec<Diagnostic>> {
        let mut verdicts = Vec::with_capacity(children.len());
        let mut errors = Vec::new();
        for child in children {
            match self.evaluate(child) {
                Ok(verdict) => verdicts.push(verdict),
                Err(mut diagnostics) => errors.append(&mut diagnostics),
            }
        }
        if errors.is_empty() {
            Ok(verdicts)
        } else {
            Err(errors)
        }
    }

    fn matches(
        &mut self,
        of: &Spanned<TensorRef>,
        allow_empty: bool,
    ) -> Result<Vec<Matched>, Vec<Diagnostic>> {
        self.draft
            .expand("assert", "reference", of, allow_empty)
            .map_err(|d| vec![d])
    }

    /// A static check of every match's type (after slicing); `problem` describes a mismatch.
    fn every(
        &mut self,
        of: &Spanned<TensorRef>,
        expected_span: Span,
        problem: impl Fn(&TensorType) -> Option<String>,
    ) -> Evaluation {
        let mut failures = Vec::new();
        for matched in self.matches(of, false)? {
            let ty = self.viewed_type(&matched, of)?;
            if let Some(problem) = problem(&ty) {
                failures.push(format!("`{}` {problem}", matched.label()));
            }
        }
        if failures.is_empty() {
            return Ok(Verdict::Holds);
        }
        let more = failures.len().saturating_sub(3);
        let mut reason = failures.into_iter().take(3).collect::<Vec<_>>().join("; ");
        if more > 0 {
            reason.push_str(&format!(" (and {more} more)"));
        }
        Ok(Verdict::Fails {
            span: expected_span,
            reason,
        })
    }

    /// The type of a match seen through the reference's slice, without adding nodes.
    fn viewed_type(
        &mut self,
        matched: &Matched,
        of: &Spanned<TensorRef>,
    ) -> Result<TensorType, Vec<Diagnostic>> {
        let whole = self
            .draft
            .type_of(matched.node)
            .cloned()
            .ok_or_else(Vec::new)?;
        let Some(slice) = of.slice.as_ref().filter(|s| !s.node.0.is_empty()) else {
            return Ok(whole);
        };
        let operand = Operand {
            node: matched.node,
            name: matched.label(),
            used_at: of.span,
        };
        crate::graph::ops::layout::resolve_slice(&slice.node.0, &whole.shape)
            .and_then(|spec| spec.view_shape(&whole.shape))
            .map(|shape| TensorType::new(whole.dtype, shape))
            .map_err(|error| vec![self.draft.type_diagnostic("assert", &error, &[operand])])
    }

    fn equal(
        &mut self,
        left: &Spanned<TensorRef>,
        right: &Spanned<TensorRef>,
        eps: Option<f64>,
    ) -> Evaluation {
        let op = "assert equal";
        let mut checks = Vec::new();
        let mut errors = Vec::new();
        let right_alias = self
            .draft
            .alias_of(right, AliasUse::Read)
            .map_err(|d| vec![d])?;
        for matched in self.matches(left, false)? {
            let result = (|| {
                let (alias, name) = self.draft.destination(op, &matched, right)?;
                let Some(node) = self.draft.env.lookup(&alias, &name) else {
                    let nearest = self.draft.nearest_names(&right_alias, &name);
                    let nearest: Vec<&str> = nearest.iter().map(String::as_str).collect();
                    return Err(diagnostics::source_missing(
                        op,
                        "right",
                        &alias,
                        &name,
                        right.pattern.span,
                        &nearest,
                    ));
                };
                let other = Matched {
                    alias,
                    name,
                    node,
                    captures: matched.captures.clone(),
                };
                let left_operand = self.draft.operand(op, "left", &matched, left, true)?;
                let right_operand = self.draft.operand(op, "right", &other, right, true)?;
                let (left_type, right_type) = (
                    self.draft.operand_type(&left_operand)?,
                    self.draft.operand_type(&right_operand)?,
                );
                same_type_at(&left_type, 0, &right_type, 1).map_err(|error| {
                    self.draft.type_diagnostic(
                        op,
                        &error,
                        &[left_operand.clone(), right_operand.clone()],
                    )
                })?;
                Ok((left_operand, right_operand))
            })();
            match result {
                Ok((left_operand, right_operand)) => {
                    let left = self.push(left_operand);
                    let right = self.push(right_operand);
                    checks.push(Check::Equal { left, right, eps });
                }
                Err(diagnostic) => errors.push(diagnostic),
            }
        }
        if errors.is_empty() {
            Ok(Verdict::Pending(all_of(checks)))
        } else {
            Err(errors)
        }
    }

    /// What an assertion says, for messages (`exists \`model::ln_f.bias\``).
    fn describe(&self, expression: &Spanned<AssertExpr>) -> String {
        let name = expression.node.name();
        match &expression.node {
            AssertExpr::Exists(of)
            | AssertExpr::Count { of, .. }
            | AssertExpr::Shape { of, .. }
            | AssertExpr::Dimensions { of, .. }
            | AssertExpr::Dtype { of, .. }
            | AssertExpr::IsZero { of, .. }
            | AssertExpr::Reads { of, .. }
            | AssertExpr::Writes { of, .. } => format!("{name} `{}`", shown(self.draft, of)),
            AssertExpr::Equal { left, .. } => format!("{name} `{}`", shown(self.draft, left)),
            AssertExpr::All(_) | AssertExpr::Any(_) | AssertExpr::Not(_) => format!("`{name}`"),
        }
    }

    fn push(&mut self, operand: Operand) -> usize {
        self.operands.push(operand);
        self.operands.len() - 1
    }
}

fn decide(holds: bool, span: Span, reason: impl FnOnce() -> String) -> Verdict {
    if holds {
        Verdict::Holds
    } else {
        Verdict::Fails {
            span,
            reason: reason(),
        }
    }
}

fn known_or_check(verdict: Verdict) -> Check {
    match verdict {
        Verdict::Holds => Check::Known {
            holds: true,
            description: "holds".into(),
        },
        Verdict::Fails { reason, .. } => Check::Known {
            holds: false,
            description: reason,
        },
        Verdict::Pending(check) => check,
    }
}

fn all_of(mut checks: Vec<Check>) -> Check {
    if checks.len() == 1 {
        checks.remove(0)
    } else {
        Check::All(checks)
    }
}

/// One bound of [`Bounds`]: its value, its symbol, and whether a value satisfies it.
type BoundCheck<'a> = (&'a Option<Spanned<u64>>, &'static str, fn(u64, u64) -> bool);

/// The first bound `value` violates, written as the bound (`>= 2`).
fn violated(bounds: &Bounds, value: u64) -> Option<String> {
    let checks: [BoundCheck; 5] = [
        (&bounds.is, "==", |v, b| v == b),
        (&bounds.ge, ">=", |v, b| v >= b),
        (&bounds.gt, ">", |v, b| v > b),
        (&bounds.le, "<=", |v, b| v <= b),
        (&bounds.lt, "<", |v, b| v < b),
    ];
    checks.iter().find_map(|(bound, symbol, holds)| {
        let bound = bound.as_ref()?.node;
        (!holds(value, bound)).then(|| format!("{symbol} {bound}"))
    })
}

fn bounds_span(bounds: &Bounds) -> Option<Span> {
    [&bounds.is, &bounds.ge, &bounds.gt, &bounds.le, &bounds.lt]
        .into_iter()
        .flatten()
        .map(|b| b.span)
        .reduce(|a, b| a.to(b))
}

fn shown(draft: &Draft, of: &Spanned<TensorRef>) -> String {
    let alias = draft
        .alias_of(of, AliasUse::Read)
        .unwrap_or_else(|_| "?".to_string());
    label(&alias, &pattern_text(&of.pattern.node))
}

fn shape_text(dims: &[u64]) -> String {
    crate::tensor::Shape::new(dims.to_vec()).to_string()
}

fn plural(count: u64) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}
