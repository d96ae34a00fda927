//! The structure of a terse plan file: lines, `execute` blocks, declarations and steps.
//!
//! Receives the text of a `.bs` source; parses it **one line at a time** (a syntax error ends only
//! its own line), assembles `execute {` … `}` and `execute plan {` … `}` blocks from the lines,
//! and builds the [`Plan`]: the `input` declarations of a level set the alias scope of its
//! statements (wherever they appear in the level), at most one `output` per plan, every other
//! statement a step in file order. Returns the plan only when the whole file is free of errors,
//! and otherwise every diagnostic of every line.

use super::diagnostics;
use super::grammar::{PlanParser, Rule};
use super::statements::{non_empty_path, parse_step};
use super::syntax_error;
use super::values::{
    argument_parts, keep, parse_alias_name, parse_choice, parse_size, significant, Builder,
    SeenArguments,
};
use crate::diagnostics::{Diagnostic, SourceId, Span};
use crate::plan::ast::{Execute, Input, Op, Output, Plan, Spanned, Step};
use crate::plan::diagnostics as shared;
use crate::plan::reference::AliasScope;
use crate::plan::rules::OUTPUT_FORMATS;
use pest::iterators::Pair;
use pest::Parser;

/// One parsed line that holds something: a statement or a whole block.
enum Item<'i> {
    Statement { offset: usize, pair: Pair<'i, Rule> },
    Block(Block<'i>),
}

struct Block<'i> {
    /// `execute plan {` (a nested plan) rather than `execute {` (nested steps).
    nested_plan: bool,
    keyword_span: Span,
    open_span: Span,
    close_span: Span,
    items: Vec<Item<'i>>,
}

/// Parses a whole terse plan.
pub fn parse_plan(source: SourceId, text: &str) -> Result<Plan, Vec<Diagnostic>> {
    parse_plan_in_scope(source, text, AliasScope::default())
}

/// Parses terse text whose unqualified references mean the aliases of `scope` unless the text
/// declares inputs of its own (the REPL parses each entry against its session's inputs).
pub fn parse_plan_in_scope(
    source: SourceId,
    text: &str,
    scope: AliasScope,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let items = parse_lines(source, text, &mut errors);
    let mut builder = Builder {
        source,
        offset: 0,
        scope,
    };
    let plan = build_plan(&mut builder, &items, true, &mut errors);
    // Report in file order: syntax errors are found before the steps are built.
    errors.sort_by_key(|error| error.primary_span().map(|span| span.start));
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Each line with its byte offset, without its line break.
pub(super) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (start, line.trim_end_matches('\n'))
    })
}

/// Parses every line and nests the blocks. A line that fails to parse is reported and skipped;
/// when it ends with `{` it still opens a block, so its `}` does not cause a second error.
fn parse_lines<'i>(source: SourceId, text: &'i str, errors: &mut Vec<Diagnostic>) -> Vec<Item<'i>> {
    let mut stack: Vec<(Block<'i>, bool)> = Vec::new();
    let mut top: Vec<Item<'i>> = Vec::new();
    for (offset, line) in lines(text) {
        let builder = Builder {
            source,
            offset,
            scope: AliasScope::default(),
        };
        let pair = match PlanParser::parse(Rule::line, line) {
            Ok(mut pairs) => pairs.next().and_then(|line| significant(line).next()),
            Err(error) => {
                errors.push(syntax_error::from_pest(&builder, line, &error));
                if line.trim_end().ends_with('{') {
                    let span = builder.line_span(0, line.trim_end().len());
                    stack.push((broken_block(span), false));
                }
                continue;
            }
        };
        let Some(pair) = pair else { continue };
        match pair.as_rule() {
            Rule::block_open => {
                let open_span = builder.span(&pair);
                let mut parts = significant(pair);
                let keyword_span = parts
                    .next()
                    .map_or(open_span, |keyword| builder.span(&keyword));
                let nested_plan = parts.any(|p| p.as_rule() == Rule::kw_plan);
                let block = Block {
                    nested_plan,
                    keyword_span,
                    open_span,
                    close_span: open_span,
                    items: Vec::new(),
                };
                stack.push((block, true));
            }
            Rule::block_close => {
                let close_span = builder.span(&pair);
                match stack.pop() {
                    None => errors.push(diagnostics::unexpected_close(close_span)),
                    Some((mut block, valid)) => {
                        block.close_span = close_span;
                        if valid {
                            push_item(&mut stack, &mut top, Item::Block(block));
                        }
                    }
                }
            }
            _ => push_item(&mut stack, &mut top, Item::Statement { offset, pair }),
        }
    }
    for (block, _) in stack {
        errors.push(diagnostics::unclosed_block(block.open_span));
    }
    top
}

fn broken_block<'i>(span: Span) -> Block<'i> {
    Block {
        nested_plan: false,
        keyword_span: span,
        open_span: span,
        close_span: span,
        items: Vec::new(),
    }
}

fn push_item<'i>(stack: &mut [(Block<'i>, bool)], top: &mut Vec<Item<'i>>, item: Item<'i>) {
    match stack.last_mut() {
        Some((block, _)) => block.items.push(item),
        None => top.push(item),
    }
}

/// A plan from the items of one level (`is_plan`: the file or an `execute plan` block, which may
/// declare inputs and an output). The level's inputs set the scope of its statements; a level
/// without inputs keeps the enclosing scope, as a nested YAML plan does.
fn build_plan(
    builder: &mut Builder,
    items: &[Item<'_>],
    is_plan: bool,
    errors: &mut Vec<Diagnostic>,
) -> Plan {
    let declarations: Vec<(usize, &Pair<'_, Rule>)> = items
        .iter()
        .filter_map(|item| match item {
            Item::Statement { offset, pair }
                if matches!(
                    pair.as_rule(),
                    Rule::input_declaration | Rule::output_declaration
                ) =>
            {
                Some((*offset, pair))
            }
            _ => None,
        })
        .collect();
    let mut plan = Plan::default();
    if is_plan {
        plan.inputs = build_inputs(builder, &declarations, errors);
    } else {
        for (offset, pair) in &declarations {
            builder.offset = *offset;
            let what = if pair.as_rule() == Rule::input_declaration {
                "input"
            } else {
                "output"
            };
            errors.push(diagnostics::declaration_in_steps(what, builder.span(pair)));
        }
    }
    let outer_scope = builder.scope.clone();
    if !plan.inputs.is_empty() {
        let aliases = plan
            .inputs
            .iter()
            .map(|input| input.alias_or_default().to_string())
            .collect();
        builder.scope = AliasScope::from_inputs(aliases);
    }
    for item in items {
        match item {
            Item::Statement { offset, pair } => {
                builder.offset = *offset;
                match pair.as_rule() {
                    Rule::input_declaration => {}
                    Rule::output_declaration => {
                        if is_plan {
                            build_output(builder, pair.clone(), &mut plan.output, errors);
                        }
                    }
                    _ => {
                        if let Some(step) = keep(parse_step(builder, pair.clone()), errors) {
                            plan.steps.push(step);
                        }
                    }
                }
            }
            Item::Block(block) => {
                let nested = build_plan(builder, &block.items, block.nested_plan, errors);
                let execute = if block.nested_plan {
                    Execute::Plan(Box::new(nested))
                } else {
                    Execute::Steps(nested.steps)
                };
                let keyword = Spanned::new("execute".to_string(), block.keyword_span);
                let step = Step {
                    keyword,
                    op: Op::Execute(execute),
                };
                plan.steps
                    .push(Spanned::new(step, block.open_span.to(block.close_span)));
            }
        }
    }
    builder.scope = outer_scope;
    plan
}

/// The level's `input` declarations: aliases unique, and required when there are several.
fn build_inputs(
    builder: &mut Builder,
    declarations: &[(usize, &Pair<'_, Rule>)],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Spanned<Input>> {
    let input_pairs: Vec<_> = declarations
        .iter()
        .filter(|(_, pair)| pair.as_rule() == Rule::input_declaration)
        .collect();
    let several = input_pairs.len() > 1;
    let mut inputs: Vec<Spanned<Input>> = Vec::new();
    for (offset, pair) in input_pairs {
        builder.offset = *offset;
        let span = builder.span(pair);
        let mut alias = None;
        let mut path = None;
        for part in significant((*pair).clone()) {
            match part.as_rule() {
                Rule::alias_name => alias = keep(parse_alias_name(builder, part), errors),
                Rule::string => {
                    path = keep(non_empty_input_path(builder, part), errors);
                }
                _ => {}
            }
        }
        let Some(path) = path else { continue };
        if alias.is_none() && several {
            errors.push(diagnostics::input_alias_required(span));
            continue;
        }
        let input = Input { alias, path };
        let name = input.alias_or_default().to_string();
        if let Some(first) = inputs.iter().find(|i| i.alias_or_default() == name) {
            let first_span = first.alias.as_ref().map_or(first.span, |a| a.span);
            let again = input.alias.as_ref().map_or(span, |a| a.span);
            errors.push(shared::duplicate_input_alias(&name, again, first_span));
            continue;
        }
        inputs.push(Spanned::new(input, span));
    }
    inputs
}

fn non_empty_input_path(
    builder: &Builder,
    pair: Pair<'_, Rule>,
) -> super::values::Parsed<Spanned<String>> {
    let span = builder.span(&pair);
    let path = super::values::parse_string(builder, pair)?;
    if path.node.is_empty() {
        return Err(diagnostics::empty_path(span).into());
    }
    Ok(path)
}

/// `output "path" [format=…] [shard=…] [alias=…]`, at most once per plan.
fn build_output(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    output: &mut Option<Spanned<Output>>,
    errors: &mut Vec<Diagnostic>,
) {
    let span = builder.span(&pair);
    if let Some(first) = output {
        errors.push(diagnostics::duplicate_output(span, first.span));
        return;
    }
    // The first part is the `output` keyword, the second the path.
    let mut parts = significant(pair).skip(1);
    let path = parts
        .next()
        .and_then(|path| keep(non_empty_path(builder, path, "output path"), errors));
    let mut seen = SeenArguments::default();
    let (mut format, mut shard, mut alias) = (None, None, None);
    let mut valid = true;
    for option in parts {
        let rule = option.as_rule();
        let (name, value) = argument_parts(option);
        if keep(seen.record(name.as_str(), builder.span(&name)), errors).is_none() {
            valid = false;
            continue;
        }
        let Some(value) = value else { continue };
        let read = match rule {
            Rule::format_option => keep(
                parse_choice(builder, value, "output format", &OUTPUT_FORMATS),
                errors,
            )
            .map(|v| format = Some(v)),
            Rule::shard_option => keep(parse_size(builder, value), errors).map(|v| shard = Some(v)),
            _ => keep(parse_alias_name(builder, value), errors).map(|v| alias = Some(v)),
        };
        valid &= read.is_some();
    }
    if let (Some(path), true) = (path, valid) {
        *output = Some(Spanned::new(
            Output {
                path,
                format,
                shard,
                alias,
            },
            span,
        ));
    }
}
