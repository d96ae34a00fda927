//! Which statements a blank line sets apart, by the rules of [`crate::plan::comments`].
//!
//! Receives one plan file placed by [`super::attach::place`] (its statements with their lines, its
//! blank lines) and its comments; [`record`] marks in the [`PlanComments`] each statement that a
//! blank line separates, with its leading comments, from what precedes it in that file: the
//! previous statement (the one ending last before it starts), the line opening the block that
//! holds it, or the file's header. Blank lines inside a statement (between the keys of a YAML
//! mapping, even a flow one spanning lines, or before a block's `}`) precede nothing and are not
//! kept; several blank lines make one mark.
//!
//! [`settle`] then brings the marks of the whole plan to what both printers can print and read
//! back alike, so that YAML → terse → YAML keeps them: the terse printer separates a level's
//! declarations from its steps by a blank line of its own, so the first step after declarations
//! carries no mark; nothing precedes the first statement of a block, nor the first statement of
//! a file without a header, so they carry none; and a blank line ends a terse header, so the
//! first statement after a header, when it has comments of its own, always carries one. "First"
//! is in the terse printer's order (inputs, output, steps), the order both printers settle by.

use super::attach::{Placed, Placement};
use super::{Element, PlanComments, SourceComment, StatementPath};
use crate::plan::ast::{Execute, Input, Op, Output, Plan, Spanned, Step};

/// Marks the statements of one plan file that a blank line separates from what precedes them.
pub(super) fn record(
    placement: &Placement<'_>,
    found: &[SourceComment],
    comments: &mut PlanComments,
) {
    let source = &placement.source;
    let header_last_line = found
        .iter()
        .map(|comment| source.line(comment.offset.min(placement.length)))
        .filter(|line| source.in_header(*line))
        .max();
    // The statements that hold the current one, innermost last, and the last line of any
    // statement that ended before it. Statements are sorted by start, so a statement that does
    // not end before the current one starts holds it.
    let mut open: Vec<&Placed<'_>> = Vec::new();
    let mut ended: Option<usize> = None;
    for statement in &placement.statements {
        while let Some(last) = open.last() {
            if last.end > statement.start {
                break;
            }
            ended = ended.max(Some(last.end_line));
            open.pop();
        }
        let opening = open.last().map(|enclosing| enclosing.start_line);
        let preceding = ended.max(opening).or(header_last_line);
        if preceding.is_some_and(|line| source.blank_between(line, statement.start_line)) {
            comments.add_blank_line(statement.path);
        }
        open.push(statement);
    }
}

/// Keeps the marks both printers print (see the module's rules) and adds the one the terse
/// syntax needs after a header.
pub(super) fn settle(plan: &Plan, comments: &mut PlanComments) {
    settle_level(
        &plan.inputs,
        plan.output.as_ref(),
        &plan.steps,
        &mut Vec::new(),
        comments,
    );
}

/// Settles one level (the plan, an `execute` block's steps or nested plan) at `path`, then the
/// blocks among its steps.
fn settle_level(
    inputs: &[Spanned<Input>],
    output: Option<&Spanned<Output>>,
    steps: &[Spanned<Step>],
    path: &mut StatementPath,
    comments: &mut PlanComments,
) {
    let declarations = !inputs.is_empty() || output.is_some();
    // The level's first statement as the terse printer orders them: inputs, output, steps.
    let first = if !inputs.is_empty() {
        Some(Element::Input(0))
    } else if output.is_some() {
        Some(Element::Output)
    } else if !steps.is_empty() {
        Some(Element::Step(0))
    } else {
        None
    };
    if let Some(first) = first {
        path.push(first);
        let after_header = path.len() == 1 && !comments.header().is_empty();
        if !after_header {
            comments.remove_blank_line(path);
        } else if !comments.before(path).is_empty() {
            comments.add_blank_line(path);
        }
        path.pop();
    }
    if declarations && !steps.is_empty() {
        path.push(Element::Step(0));
        comments.remove_blank_line(path);
        path.pop();
    }
    for (index, step) in steps.iter().enumerate() {
        path.push(Element::Step(index));
        match &step.op {
            Op::Execute(Execute::Steps(nested)) => settle_level(&[], None, nested, path, comments),
            Op::Execute(Execute::Plan(nested)) => settle_level(
                &nested.inputs,
                nested.output.as_ref(),
                &nested.steps,
                path,
                comments,
            ),
            _ => {}
        }
        path.pop();
    }
}
