//! Expressions on the right of `=` and `<-`, and how each lowers to exactly one op.
//!
//! Receives an `expression` pair; a Pratt parser gives the operators their precedence (`as`
//! binds tightest, then `*` and `@`, then `+` and `-`, all left-associative) and builds an
//! [`Expression`] tree over the unparsed operand pairs. [`lower_bind`] (`=`, new tensors) and
//! [`lower_store`] (`<-`, existing tensors) then match the tree's shape against the ops:
//!
//! | `=`                     | op       | `<-`          | op       |
//! |-------------------------|----------|---------------|----------|
//! | `x = a`                 | copy     | `x <- a`      | assign   |
//! | `x = a * 0.5`           | scale    | `x <- a + b`  | add      |
//! | `x = a @ b`             | matmul   | `x <- a - b`  | subtract |
//! | `x = a as float16`      | cast     | `x <- a * b`  | multiply |
//! | `x = clamp(a, …)`, …    | the call |               |          |
//!
//! **One statement is one step**: the AST has no general expression node, so a tree of any other
//! shape (`a * 0.5 + b`) is refused with a message saying how to split it, and the YAML → terse →
//! YAML round trip stays exact. Operands are parsed as references only once the op is known,
//! because the op decides each reference's role.

use super::calls::{from_to_op, lower_call, Destinations};
use super::diagnostics;
use super::grammar::Rule;
use super::tensor_ref::{parse_reference, Role};
use super::values::{finish, keep, parse_dtype, parse_number, significant, Builder, Parsed};
use crate::diagnostics::Span;
use crate::plan::ast::{Cast, Mapping, Op, Scale, Ternary};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op as PrattOp, PrattParser};
use std::sync::OnceLock;

/// An expression over unparsed operands.
pub enum Expression<'i> {
    /// A reference, a number or a function call.
    Operand(Pair<'i, Rule>),
    Binary {
        operator: Pair<'i, Rule>,
        left: Box<Expression<'i>>,
        right: Box<Expression<'i>>,
    },
    /// `operand as DTYPE` (`suffix` is the `cast_suffix` pair).
    Cast {
        operand: Box<Expression<'i>>,
        suffix: Pair<'i, Rule>,
    },
}

impl Expression<'_> {
    pub fn span(&self, builder: &Builder) -> Span {
        match self {
            Expression::Operand(pair) => builder.span(pair),
            Expression::Binary { left, right, .. } => left.span(builder).to(right.span(builder)),
            Expression::Cast { operand, suffix } => operand.span(builder).to(builder.span(suffix)),
        }
    }

    /// The operand pair when this is a bare reference.
    fn reference(&self) -> Option<&Pair<'_, Rule>> {
        match self {
            Expression::Operand(pair) if pair.as_rule() == Rule::reference => Some(pair),
            _ => None,
        }
    }

    fn number(&self) -> Option<&Pair<'_, Rule>> {
        match self {
            Expression::Operand(pair) if pair.as_rule() == Rule::number => Some(pair),
            _ => None,
        }
    }
}

fn pratt() -> &'static PrattParser<Rule> {
    static PARSER: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PARSER.get_or_init(|| {
        PrattParser::new()
            .op(PrattOp::infix(Rule::plus, Assoc::Left) | PrattOp::infix(Rule::minus, Assoc::Left))
            .op(PrattOp::infix(Rule::times, Assoc::Left)
                | PrattOp::infix(Rule::matmul, Assoc::Left))
            .op(PrattOp::postfix(Rule::cast_suffix))
    })
}

/// Builds the expression tree of an `expression` pair.
pub fn parse_expression(pair: Pair<'_, Rule>) -> Expression<'_> {
    pratt()
        .map_primary(Expression::Operand)
        .map_infix(|left, operator, right| Expression::Binary {
            operator,
            left: Box::new(left),
            right: Box::new(right),
        })
        .map_postfix(|operand, suffix| Expression::Cast {
            operand: Box::new(operand),
            suffix,
        })
        .parse(pair.into_inner())
}

/// `DESTINATIONS = EXPRESSION`: an op that makes new tensors. Returns the op and the span of the
/// text that chose it (the operator or function name), which becomes the step's keyword span.
pub fn lower_bind(
    builder: &Builder,
    destinations: &Destinations<'_>,
    equals_span: Span,
    expression: &Expression<'_>,
) -> Parsed<(Op, Span)> {
    match expression {
        Expression::Operand(pair) => match pair.as_rule() {
            Rule::reference => {
                let copy = |from, to, ()| Op::Copy(Mapping { from, to });
                let copy = from_to_op(builder, "copy", Some(pair), destinations, Ok(()), copy)?;
                Ok((copy, equals_span))
            }
            Rule::number => Err(diagnostics::not_a_tensor(builder.span(pair)).into()),
            _ => lower_call(builder, pair.clone(), destinations),
        },
        Expression::Binary {
            operator,
            left,
            right,
        } => {
            let operator_span = builder.span(operator);
            match (operator.as_rule(), left.reference(), right.reference()) {
                (Rule::matmul, Some(a), Some(b)) => {
                    let (from_a, from_b, to) = ternary(builder, "matmul", a, b, destinations)?;
                    Ok((Op::Matmul(Ternary { from_a, from_b, to }), operator_span))
                }
                (Rule::times, Some(source), None) | (Rule::times, None, Some(source)) => {
                    let factor = left.number().or(right.number());
                    let Some(factor) = factor else {
                        return Err(
                            diagnostics::compound_expression(expression.span(builder)).into()
                        );
                    };
                    scale(builder, source, factor, destinations, operator_span)
                }
                (rule, Some(_), Some(_)) => {
                    let (op, symbol) = match rule {
                        Rule::plus => ("add", "+"),
                        Rule::minus => ("subtract", "-"),
                        _ => ("multiply", "*"),
                    };
                    Err(diagnostics::writes_existing(op, symbol, expression.span(builder)).into())
                }
                _ => Err(diagnostics::compound_expression(expression.span(builder)).into()),
            }
        }
        Expression::Cast { operand, suffix } => {
            let Some(source) = operand.reference() else {
                return Err(diagnostics::compound_expression(expression.span(builder)).into());
            };
            cast(builder, source, suffix.clone(), destinations)
        }
    }
}

/// `DESTINATION <- EXPRESSION`: an op that writes into an existing tensor.
pub fn lower_store(
    builder: &Builder,
    destinations: &Destinations<'_>,
    arrow_span: Span,
    expression: &Expression<'_>,
) -> Parsed<(Op, Span)> {
    let span = expression.span(builder);
    match expression {
        Expression::Operand(pair) => match pair.as_rule() {
            Rule::reference => {
                let destination = destinations.single("assign")?;
                let mut errors = Vec::new();
                let from = keep(
                    parse_reference(builder, pair.clone(), Role::source("assign", "from")),
                    &mut errors,
                );
                let to = keep(
                    parse_reference(
                        builder,
                        destination,
                        Role::template("assign", "to", from.as_ref()),
                    ),
                    &mut errors,
                );
                let op = from
                    .zip(to)
                    .map(|(from, to)| Op::Assign(Mapping { from, to }));
                finish(op.map(|op| (op, arrow_span)), errors)
            }
            Rule::number => Err(diagnostics::not_a_tensor(span).into()),
            _ => Err(diagnostics::creates_new(&call_name(pair), span).into()),
        },
        Expression::Binary {
            operator,
            left,
            right,
        } => {
            let operator_span = builder.span(operator);
            let (Some(a), Some(b)) = (left.reference(), right.reference()) else {
                if operator.as_rule() == Rule::times
                    && (left.number().is_some() || right.number().is_some())
                {
                    return Err(diagnostics::creates_new("scale", span).into());
                }
                return Err(diagnostics::compound_expression(span).into());
            };
            let op = match operator.as_rule() {
                Rule::plus => "add",
                Rule::minus => "subtract",
                Rule::times => "multiply",
                _ => return Err(diagnostics::creates_new("matmul", span).into()),
            };
            let (from_a, from_b, to) = ternary(builder, op, a, b, destinations)?;
            let ternary = Ternary { from_a, from_b, to };
            let op = match op {
                "add" => Op::Add(ternary),
                "subtract" => Op::Subtract(ternary),
                _ => Op::Multiply(ternary),
            };
            Ok((op, operator_span))
        }
        Expression::Cast { .. } => Err(diagnostics::creates_new("cast", span).into()),
    }
}

/// The op name of a call pair, for messages.
fn call_name(pair: &Pair<'_, Rule>) -> String {
    significant(pair.clone())
        .next()
        .map_or_else(|| "this call".to_string(), |name| name.as_str().to_string())
}

type Triple = (
    crate::plan::ast::Spanned<crate::plan::ast::TensorRef>,
    crate::plan::ast::Spanned<crate::plan::ast::TensorRef>,
    crate::plan::ast::Spanned<crate::plan::ast::TensorRef>,
);

/// `from_a` (a source), then `from_b` and the destination, both templates of `from_a`.
fn ternary(
    builder: &Builder,
    op: &'static str,
    a: &Pair<'_, Rule>,
    b: &Pair<'_, Rule>,
    destinations: &Destinations<'_>,
) -> Parsed<Triple> {
    let mut errors = Vec::new();
    let from_a = keep(
        parse_reference(builder, a.clone(), Role::source(op, "from_a")),
        &mut errors,
    );
    let from_b = keep(
        parse_reference(
            builder,
            b.clone(),
            Role::template(op, "from_b", from_a.as_ref()),
        ),
        &mut errors,
    );
    let to = keep(destinations.single(op), &mut errors).and_then(|pair| {
        keep(
            parse_reference(builder, pair, Role::template(op, "to", from_a.as_ref())),
            &mut errors,
        )
    });
    let triple = match (from_a, from_b, to) {
        (Some(a), Some(b), Some(to)) => Some((a, b, to)),
        _ => None,
    };
    finish(triple, errors)
}

fn scale(
    builder: &Builder,
    source: &Pair<'_, Rule>,
    factor: &Pair<'_, Rule>,
    destinations: &Destinations<'_>,
    operator_span: Span,
) -> Parsed<(Op, Span)> {
    let op = from_to_op(
        builder,
        "scale",
        Some(source),
        destinations,
        parse_number(builder, factor.clone()),
        |from, to, by| Op::Scale(Scale { from, to, by }),
    )?;
    Ok((op, operator_span))
}

/// `x = a as DTYPE`; the keyword span is the span of `as`.
fn cast(
    builder: &Builder,
    source: &Pair<'_, Rule>,
    suffix: Pair<'_, Rule>,
    destinations: &Destinations<'_>,
) -> Parsed<(Op, Span)> {
    let suffix_span = builder.span(&suffix);
    let mut parts = significant(suffix);
    let keyword_span = parts
        .next()
        .map_or(suffix_span, |keyword| builder.span(&keyword));
    let dtype = match parts.next() {
        Some(dtype) => parse_dtype(builder, dtype),
        None => Err(diagnostics::unexpected_tree(suffix_span).into()),
    };
    let op = from_to_op(
        builder,
        "cast",
        Some(source),
        destinations,
        dtype,
        |from, to, dtype| Op::Cast(Cast { from, to, dtype }),
    )?;
    Ok((op, keyword_span))
}
