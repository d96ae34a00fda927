//! Tensor references of the terse syntax: `[alias::]pattern[::[slice]]`.
//!
//! Receives a `reference` pair and the [`Role`] the reference plays in its step (source, template
//! of a source, or the exact name of a new tensor); returns a spanned [`TensorRef`] or the
//! diagnostics of everything wrong with it.
//!
//! **Same checks as the YAML front end**, through the shared functions of
//! [`crate::plan::reference`] and [`crate::plan::rules`]: a source regex must compile, a
//! destination template's escapes and groups must match its source, structured tokens must be
//! legal for their side, a slice must be well formed and allowed for the op's key, an unqualified
//! reference needs a default alias. Only the lexical forms differ: a
//! pattern is written bare (`h.(\d+).weight`), between slashes (`/.*\.attn\.bias/`), or as a
//! quoted string; a structured pattern is a bracketed token list; `alias::` comes first.

use super::diagnostics;
use super::grammar::Rule;
use super::values::{first, parse_string, significant, unescape, Builder, Parsed};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{Pattern, Spanned, TensorRef};
use crate::plan::diagnostics as shared;
use crate::plan::reference::{
    parse_slice, parse_structured_token, parse_template, validate_regex, Side, TextSpan,
};
use crate::plan::rules::{self, Relation};
use pest::iterators::Pair;

/// What a reference is in its step: the op and the YAML key it fills (which name it in messages
/// and decide, through [`rules::slice_allowed`], whether it may be sliced) and its relation to
/// the step's other references.
#[derive(Clone, Copy)]
pub struct Role<'a> {
    pub op: &'static str,
    pub key: &'static str,
    pub relation: Relation<'a>,
}

impl<'a> Role<'a> {
    pub fn source(op: &'static str, key: &'static str) -> Role<'a> {
        Role {
            op,
            key,
            relation: Relation::Source,
        }
    }

    pub fn template(
        op: &'static str,
        key: &'static str,
        source: Option<&'a Spanned<TensorRef>>,
    ) -> Role<'a> {
        Role {
            op,
            key,
            relation: Relation::TemplateOf(source),
        }
    }

    pub fn name(op: &'static str, key: &'static str) -> Role<'a> {
        Role {
            op,
            key,
            relation: Relation::Name,
        }
    }
}

/// Parses a `reference` pair for `role`.
pub fn parse_reference(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    role: Role<'_>,
) -> Parsed<Spanned<TensorRef>> {
    let span = builder.span(&pair);
    let written = pair.as_str();
    let mut alias = None;
    let mut pattern = None;
    let mut slice_pair = None;
    for child in significant(pair) {
        match child.as_rule() {
            Rule::alias_prefix => alias = Some(parse_alias_prefix(builder, child)?),
            Rule::pattern => pattern = Some(first(child)),
            Rule::slice_suffix => slice_pair = Some(first(child)),
            _ => {}
        }
    }
    let Some(pattern_pair) = pattern else {
        return Err(shared::empty_expression(span).into());
    };
    let side = role.relation.side();
    let mut errors = Vec::new();
    let pattern_span = builder.span(&pattern_pair);
    let (pattern, text_span) = match pattern_pair.as_rule() {
        Rule::structured_pattern => (
            parse_structured(builder, pattern_pair, side, &mut errors),
            None,
        ),
        _ => {
            let (text, text_span) = regex_text(builder, pattern_pair)?;
            check_regex_form(&text, text_span, role, &mut errors);
            (Pattern::Regex(text), Some(text_span))
        }
    };
    if alias.is_none() {
        if let Err(error) = builder.scope.require_default(written, span) {
            errors.push(error);
        }
    }
    let slice = match slice_pair {
        None => None,
        Some(slice_pair) => {
            let slice_span = builder.span(&slice_pair);
            if matches!(pattern, Pattern::Structured(_)) {
                errors.push(diagnostics::structured_slice(slice_span));
            } else if let Err(error) = rules::check_slice(role.op, role.key, Some(slice_span)) {
                errors.push(error);
            }
            match parse_slice(slice_pair.as_str(), TextSpan::exact(slice_span)) {
                Ok(slice) => Some(Spanned::new(slice, slice_span)),
                Err(error) => {
                    errors.push(error);
                    None
                }
            }
        }
    };
    let reference = TensorRef {
        alias,
        pattern: Spanned::new(pattern, pattern_span),
        slice,
    };
    if errors.is_empty() {
        let checked = rules::check_relation(
            &reference,
            role.relation,
            span,
            text_span,
            role.op,
            role.key,
        );
        errors.extend(checked.err().into_iter().flatten());
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(Spanned::new(reference, span))
}

/// `name::` or `"quoted name"::` (the grammar keeps the alias and its `::` in one token).
fn parse_alias_prefix(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<String>> {
    let span = builder.span(&pair);
    let text = pair.as_str();
    let name = &text[..text.len().saturating_sub(2)];
    let name_span = Span::new(
        span.source,
        span.start as usize,
        span.start as usize + name.len(),
    );
    let alias = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => {
            let start = name_span.start as usize + 1;
            unescape(quoted, |from, to| {
                Span::new(span.source, start + from, start + to)
            })?
        }
        None => name.to_string(),
    };
    if alias.is_empty() {
        return Err(diagnostics::empty_alias(name_span).into());
    }
    Ok(Spanned::new(alias, name_span))
}

/// The regex text of a bare, slash-delimited or quoted pattern, and where its characters are.
fn regex_text(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<(String, TextSpan)> {
    match pair.as_rule() {
        Rule::slash_regex => {
            let body = pair.into_inner().find(|p| p.as_rule() == Rule::slash_body);
            Ok(match body {
                Some(body) => (
                    body.as_str().to_string(),
                    TextSpan::exact(builder.span(&body)),
                ),
                None => (String::new(), TextSpan::exact(Span::default())),
            })
        }
        Rule::string => {
            let raw_body = pair
                .clone()
                .into_inner()
                .find(|p| p.as_rule() == Rule::string_body)
                .map(|body| (body.as_str().to_string(), builder.span(&body)));
            let string = parse_string(builder, pair)?;
            // Offsets into the text are exact only when no escape changed its length.
            let text_span = match raw_body {
                Some((raw, body_span)) if raw == string.node => TextSpan::exact(body_span),
                _ => TextSpan::approximate(string.span),
            };
            Ok((string.node, text_span))
        }
        _ => Ok((
            pair.as_str().to_string(),
            TextSpan::exact(builder.span(&pair)),
        )),
    }
}

/// The reference's own form: a source regex compiles, a template's escapes parse, and the
/// expression is not empty.
fn check_regex_form(text: &str, text_span: TextSpan, role: Role<'_>, errors: &mut Vec<Diagnostic>) {
    if text.is_empty() {
        errors.push(shared::empty_expression(text_span.whole()));
        return;
    }
    let result = match role.relation {
        Relation::Source => validate_regex(text, text_span),
        Relation::TemplateOf(_) => parse_template(text, text_span).map(|_| ()),
        Relation::Name => Ok(()),
    };
    if let Err(error) = result {
        errors.push(error);
    }
}

/// `[token, …]`: each token through the shared token parser for its side.
fn parse_structured(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    side: Side,
    errors: &mut Vec<Diagnostic>,
) -> Pattern {
    let mut tokens = Vec::new();
    for token in significant(pair) {
        let inner = first(token);
        let token_span = builder.span(&inner);
        let (text, text_span) = match inner.as_rule() {
            Rule::string => match regex_text(builder, inner) {
                Ok(found) => found,
                Err(found) => {
                    errors.extend(found.0);
                    continue;
                }
            },
            _ => (inner.as_str().to_string(), TextSpan::exact(token_span)),
        };
        match parse_structured_token(&text, side, text_span) {
            Ok(parsed) => tokens.push(Spanned::new(parsed, token_span)),
            Err(error) => errors.push(error),
        }
    }
    Pattern::Structured(tokens)
}
