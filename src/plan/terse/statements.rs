//! Statements that become steps: keyword statements (`del`, `move`, `dump`, `diff`, `help`,
//! `load`, `save`, `prefixes`, `set`, `exit`, `execute "…"`, `assert`), in-place calls and
//! assignments.
//!
//! Receives one statement pair (its line already parsed); returns the [`Step`] with the op's name
//! as keyword and the span of the text that chose the op (`del`, `+=`, `clamp`), or every
//! diagnostic of the statement. Declarations (`input`, `output`) and blocks are handled by
//! [`super::plan`], which knows the plan's structure.

use super::assertion::parse_assertion;
use super::calls::{from_to_op, lower_in_place, Destinations};
use super::diagnostics;
use super::expression::{lower_bind, lower_store, parse_expression};
use super::grammar::Rule;
use super::lowrank;
use super::session;
use super::tensor_ref::{parse_reference, Role};
use super::values::{finish, keep, parse_number, parse_string, significant, Builder, Parsed};
use crate::diagnostics::Span;
use crate::plan::ast::{Execute, Mapping, Op, ScaleInPlace, Spanned, Step, TensorRef, Unary};
use crate::plan::rules;
use pest::iterators::Pair;

/// Builds the step of a statement pair (any statement rule but declarations and blocks).
pub fn parse_step(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<Step>> {
    let span = builder.span(&pair);
    let (op, keyword_span) = match pair.as_rule() {
        Rule::assignment => parse_assignment(builder, pair)?,
        Rule::clamp_in_place
        | Rule::reshape_in_place
        | Rule::cast_in_place
        | Rule::fill_in_place
        | Rule::phlora_in_place => lower_in_place(builder, pair)?,
        Rule::lora_merge_in_place => lowrank::lora_merge(builder, pair)?,
        Rule::lora_extract_call => lowrank::lora_extract_statement(builder, pair)?,
        _ => parse_keyword_statement(builder, pair)?,
    };
    let keyword = Spanned::new(op.name().to_string(), keyword_span);
    Ok(Spanned::new(Step { keyword, op }, span))
}

/// `DESTINATIONS OPERATOR RIGHT-HAND-SIDE`.
fn parse_assignment(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<(Op, Span)> {
    let mut parts = significant(pair.clone());
    let (Some(destinations), Some(operator), Some(right)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(diagnostics::unexpected_tree(builder.span(&pair)).into());
    };
    let whole = builder.span(&destinations);
    let pairs: Vec<Pair<'_, Rule>> = significant(destinations).collect();
    // From the first reference to the last: the grammar's pair also holds the blank before the
    // operator, which a label should not underline.
    let span = match (pairs.first(), pairs.last()) {
        (Some(first), Some(last)) => builder.span(first).to(builder.span(last)),
        _ => whole,
    };
    let destinations = Destinations { pairs, span };
    let operator_span = builder.span(&operator);
    match operator.as_rule() {
        Rule::bind_new => lower_bind(
            builder,
            &destinations,
            operator_span,
            &parse_expression(right),
        ),
        Rule::store_into => lower_store(
            builder,
            &destinations,
            operator_span,
            &parse_expression(right),
        ),
        Rule::scale_into => {
            let mut errors = Vec::new();
            let target = keep(destinations.single("scale_"), &mut errors).and_then(|target| {
                keep(
                    parse_reference(builder, target, Role::source("scale_", "target")),
                    &mut errors,
                )
            });
            let by = keep(parse_number(builder, right), &mut errors);
            let op = target
                .zip(by)
                .map(|(target, by)| Op::ScaleInPlace(ScaleInPlace { target, by }));
            finish(op.map(|op| (op, operator_span)), errors)
        }
        // `x += y` / `x -= y`: the source is `y`, the destination `x` a template of it.
        Rule::add_into => {
            let add = |from, to, ()| Op::AddInPlace(Mapping { from, to });
            let op = from_to_op(builder, "add_", Some(&right), &destinations, Ok(()), add)?;
            Ok((op, operator_span))
        }
        _ => {
            let subtract = |from, to, ()| Op::SubtractInPlace(Mapping { from, to });
            let op = from_to_op(
                builder,
                "subtract_",
                Some(&right),
                &destinations,
                Ok(()),
                subtract,
            )?;
            Ok((op, operator_span))
        }
    }
}

/// Statements that start with a keyword; the keyword's span is the step's keyword span.
fn parse_keyword_statement(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<(Op, Span)> {
    let rule = pair.as_rule();
    let statement_span = builder.span(&pair);
    let mut parts = significant(pair);
    let Some(keyword) = parts.next() else {
        return Err(diagnostics::unexpected_tree(statement_span).into());
    };
    let keyword_span = builder.span(&keyword);
    let parts: Vec<Pair<'_, Rule>> = parts.collect();
    let op = match rule {
        Rule::assert_statement => match parts.first() {
            Some(expression) => Op::Assert(parse_assertion(builder, expression.clone())?),
            None => return Err(diagnostics::unexpected_tree(statement_span).into()),
        },
        Rule::delete_statement => {
            let target = reference_at(builder, &parts, 0, Role::source("delete", "target"))?;
            Op::Delete(Unary { target })
        }
        Rule::move_statement => {
            let mut errors = Vec::new();
            let from = keep(
                reference_at(builder, &parts, 0, Role::source("move", "from")),
                &mut errors,
            );
            let to = keep(
                reference_at(
                    builder,
                    &parts,
                    1,
                    Role::template("move", "to", from.as_ref()),
                ),
                &mut errors,
            );
            finish(
                from.zip(to)
                    .map(|(from, to)| Op::Move(Mapping { from, to })),
                errors,
            )?
        }
        Rule::dump_statement => session::parse_dump(builder, parts)?,
        Rule::diff_statement => session::parse_diff(builder, parts)?,
        Rule::help_statement => session::parse_help(builder, parts)?,
        Rule::load_statement => session::parse_load(builder, parts)?,
        Rule::save_statement => session::parse_save(builder, parts)?,
        Rule::prefixes_statement => session::parse_prefixes(builder, parts)?,
        Rule::set_statement => session::parse_set(builder, parts)?,
        Rule::exit_statement => Op::Exit,
        Rule::execute_statement => match parts.into_iter().next() {
            Some(path) => Op::Execute(Execute::Path(non_empty_path(
                builder,
                path,
                "execute path",
            )?)),
            None => return Err(diagnostics::unexpected_tree(statement_span).into()),
        },
        _ => return Err(diagnostics::unexpected_tree(statement_span).into()),
    };
    Ok((op, keyword_span))
}

fn reference_at(
    builder: &Builder,
    parts: &[Pair<'_, Rule>],
    index: usize,
    role: Role<'_>,
) -> Parsed<Spanned<TensorRef>> {
    match parts.get(index) {
        Some(pair) => parse_reference(builder, pair.clone(), role),
        None => Err(diagnostics::unexpected_tree(Span::default()).into()),
    }
}

/// A quoted path that is not blank.
pub fn non_empty_path(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    what: &str,
) -> Parsed<Spanned<String>> {
    let path = parse_string(builder, pair)?;
    rules::non_empty_path(what, &path)?;
    Ok(path)
}
