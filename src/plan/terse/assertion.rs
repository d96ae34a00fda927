//! Assertion expressions after `assert`: `exists(x)`, `count(x) == 3`, `shape(x) == [2, 3]`,
//! `dimensions(x) >= 1, < 4`, `dtype(x) == float16`, `equal(a, b, eps=…)`, `iszero(x, eps=…)`,
//! `reads(x) …`, `writes(x) …`, `all(…)`, `any(…)` and `not …`.
//!
//! Receives an assertion pair; returns the spanned [`AssertExpr`] or every diagnostic found in it.
//! Checks are the YAML front end's: counts and shapes are non-negative, tolerances are not
//! negative, bounds can hold together, `equal`'s right side is a template of its left.

use super::diagnostics;
use super::grammar::Rule;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_dtype, parse_number, parse_unsigned, parse_unsigned_list,
    significant, Builder, Parsed, SeenArguments,
};
use crate::plan::ast::{AssertExpr, Bounds, Spanned, TensorRef};
use crate::plan::rules;
use pest::iterators::Pair;

/// Parses one assertion pair (any of the `*_assertion` rules).
pub fn parse_assertion(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<AssertExpr>> {
    let span = builder.span(&pair);
    let rule = pair.as_rule();
    let mut parts = significant(pair);
    let Some(keyword) = parts.next() else {
        return Err(diagnostics::unexpected_tree(span).into());
    };
    let name = keyword.as_str();
    let parts: Vec<Pair<'_, Rule>> = parts.collect();
    let mut errors = Vec::new();
    let expression = match rule {
        Rule::not_assertion => match parts.into_iter().next() {
            Some(inner) => keep(parse_assertion(builder, inner), &mut errors)
                .map(|inner| AssertExpr::Not(Box::new(inner))),
            None => None,
        },
        Rule::all_assertion | Rule::any_assertion => {
            let items: Vec<_> = parts
                .into_iter()
                .filter_map(|item| keep(parse_assertion(builder, item), &mut errors))
                .collect();
            (errors.is_empty()).then(|| {
                if rule == Rule::all_assertion {
                    AssertExpr::All(items)
                } else {
                    AssertExpr::Any(items)
                }
            })
        }
        Rule::exists_assertion => {
            subject(builder, name, &parts, &mut errors).map(AssertExpr::Exists)
        }
        Rule::count_assertion => {
            let of = subject(builder, name, &parts, &mut errors);
            let is = parts.get(2).and_then(|value| {
                keep(
                    parse_unsigned(builder, value.clone(), "count `is`", false),
                    &mut errors,
                )
            });
            of.zip(is).map(|(of, is)| AssertExpr::Count { of, is })
        }
        Rule::shape_assertion => {
            let of = subject(builder, name, &parts, &mut errors);
            let is = parts.get(2).and_then(|value| {
                keep(
                    parse_unsigned_list(builder, value.clone(), "shape `is`", false),
                    &mut errors,
                )
            });
            of.zip(is).map(|(of, is)| AssertExpr::Shape { of, is })
        }
        Rule::dtype_assertion => {
            let of = subject(builder, name, &parts, &mut errors);
            let is = parts
                .get(2)
                .and_then(|value| keep(parse_dtype(builder, value.clone()), &mut errors));
            of.zip(is).map(|(of, is)| AssertExpr::Dtype { of, is })
        }
        Rule::dimensions_assertion | Rule::reads_assertion | Rule::writes_assertion => {
            let of = subject(builder, name, &parts, &mut errors);
            let bounds = parts
                .get(1)
                .and_then(|bounds| keep(parse_bounds(builder, name, bounds.clone()), &mut errors));
            of.zip(bounds).map(|(of, bounds)| match rule {
                Rule::dimensions_assertion => AssertExpr::Dimensions { of, bounds },
                Rule::reads_assertion => AssertExpr::Reads { of, bounds },
                _ => AssertExpr::Writes { of, bounds },
            })
        }
        Rule::equal_assertion => {
            let left = parts.first().and_then(|pair| {
                keep(
                    parse_reference(builder, pair.clone(), Role::source("equal", "left")),
                    &mut errors,
                )
            });
            let right = parts.get(1).and_then(|pair| {
                keep(
                    parse_reference(
                        builder,
                        pair.clone(),
                        Role::template("equal", "right", left.as_ref()),
                    ),
                    &mut errors,
                )
            });
            let eps = optional_eps(builder, "equal", parts.get(2), &mut errors);
            match (left, right, eps) {
                (Some(left), Some(right), Some(eps)) => {
                    Some(AssertExpr::Equal { left, right, eps })
                }
                _ => None,
            }
        }
        _ => {
            let of = subject(builder, "iszero", &parts, &mut errors);
            let eps = optional_eps(builder, "iszero", parts.get(1), &mut errors);
            of.zip(eps).map(|(of, eps)| AssertExpr::IsZero { of, eps })
        }
    };
    if expression.is_none() && errors.is_empty() {
        errors.push(diagnostics::unexpected_tree(span));
    }
    finish(expression.map(|e| Spanned::new(e, span)), errors)
}

/// The reference an assertion is about (its first argument); a source that may be sliced.
fn subject(
    builder: &Builder,
    name: &str,
    parts: &[Pair<'_, Rule>],
    errors: &mut Vec<crate::diagnostics::Diagnostic>,
) -> Option<Spanned<TensorRef>> {
    let op = assertion_name(name);
    let key = if op == "exists" { "reference" } else { "of" };
    parts.first().and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source(op, key)),
            errors,
        )
    })
}

/// The assertion's name as a `'static` string (for messages).
fn assertion_name(name: &str) -> &'static str {
    crate::plan::ast::ASSERT_NAMES
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("assert")
}

/// `Some(None)` without `eps=`, `Some(Some(eps))` with a valid one, `None` after an error.
fn optional_eps(
    builder: &Builder,
    op: &str,
    argument: Option<&Pair<'_, Rule>>,
    errors: &mut Vec<crate::diagnostics::Diagnostic>,
) -> Option<Option<Spanned<f64>>> {
    let Some(argument) = argument else {
        return Some(None);
    };
    let (_, value) = argument_parts(argument.clone());
    let eps = keep(parse_number(builder, value?), errors)?;
    keep(rules::eps(&format!("{op} `eps`"), &eps), errors)?;
    Some(Some(eps))
}

/// `== 2`, `>= 1, < 4`: each comparison at most once, all able to hold together.
fn parse_bounds(builder: &Builder, name: &str, pair: Pair<'_, Rule>) -> Parsed<Bounds> {
    let span = builder.span(&pair);
    let mut bounds = Bounds::default();
    let mut seen = SeenArguments::default();
    for bound in significant(pair) {
        let mut parts = significant(bound);
        let (Some(comparison), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        seen.record(comparison.as_str(), builder.span(&comparison))?;
        let value = parse_unsigned(builder, value, &format!("{name} bound"), false)?;
        let slot = match comparison.as_rule() {
            Rule::is_equal => &mut bounds.is,
            Rule::at_least => &mut bounds.ge,
            Rule::greater => &mut bounds.gt,
            Rule::at_most => &mut bounds.le,
            _ => &mut bounds.lt,
        };
        *slot = Some(value);
    }
    rules::bounds(name, &bounds, span)?;
    Ok(bounds)
}
