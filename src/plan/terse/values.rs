//! Values of the terse syntax: strings, numbers, integers, lists, booleans, dtypes, sizes and
//! words, read from their pest pairs.
//!
//! Receives pairs of the value rules of `grammar/plan.pest` and the [`Builder`] that knows where
//! the current line starts; returns the typed value with its span, or a diagnostic. The grammar
//! already fixed each value's form, so what is checked here is range (an integer that does not
//! fit), meaning (a dtype or format name that does not exist) and escapes.
//!
//! Also holds the small shared machinery of the parser: [`Builder`] (spans), [`Errors`] (one or
//! more diagnostics, so `?` works on both) and [`significant`] (a pair's children without
//! punctuation).

use super::diagnostics;
use super::grammar::Rule;
use crate::diagnostics::{Diagnostic, SourceId, Span};
use crate::plan::ast::{ShardSize, Spanned};
use crate::plan::diagnostics as shared;
use crate::plan::reference::AliasScope;
use crate::tensor::DType;
use pest::iterators::Pair;

/// One or more diagnostics: what a failed `parse_*` function returns.
#[derive(Debug)]
pub struct Errors(pub Vec<Diagnostic>);

impl From<Diagnostic> for Errors {
    fn from(diagnostic: Diagnostic) -> Errors {
        Errors(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Errors {
    fn from(diagnostics: Vec<Diagnostic>) -> Errors {
        Errors(diagnostics)
    }
}

pub type Parsed<T> = Result<T, Errors>;

/// What every `parse_*` function needs: the source the pairs came from, where the current line
/// starts in it, and the aliases an unqualified reference may mean.
#[derive(Debug, Clone)]
pub struct Builder {
    pub source: SourceId,
    /// Byte offset of the parsed line in the source (pairs are relative to the line).
    pub offset: usize,
    pub scope: AliasScope,
}

impl Builder {
    pub fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(
            self.source,
            self.offset + span.start(),
            self.offset + span.end(),
        )
    }

    /// A span `start..end` (bytes relative to the current line).
    pub fn line_span(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, self.offset + start, self.offset + end)
    }
}

/// Whether a rule is punctuation, which carries no meaning once the line has parsed.
fn is_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::comma
            | Rule::equals
            | Rule::arrow
            | Rule::colon
            | Rule::double_colon
            | Rule::open_paren
            | Rule::close_paren
            | Rule::open_bracket
            | Rule::close_bracket
            | Rule::open_brace
            | Rule::close_brace
            | Rule::closing_quote
            | Rule::closing_slash
            | Rule::EOI
    )
}

/// The children of `pair` that carry meaning (no punctuation).
pub fn significant<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| !is_punctuation(p.as_rule()))
}

/// The first meaningful child of `pair` (the grammar guarantees it for the rules that call this).
pub fn first<'i>(pair: Pair<'i, Rule>) -> Pair<'i, Rule> {
    let fallback = pair.clone();
    significant(pair).next().unwrap_or(fallback)
}

/// The text of a `string` pair with its escapes resolved.
pub fn parse_string(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<String>> {
    let span = builder.span(&pair);
    let body = pair.into_inner().find(|p| p.as_rule() == Rule::string_body);
    let Some(body) = body else {
        return Ok(Spanned::new(String::new(), span));
    };
    let start = body.as_span().start();
    let text = unescape(body.as_str(), |from, to| {
        builder.line_span(start + from, start + to)
    })?;
    Ok(Spanned::new(text, span))
}

/// Resolves `\\`, `\"`, `\n`, `\t`, `\r`, `\0` and `\u{…}`; `span_of` maps a byte range of `raw`
/// to a span for the error label.
pub fn unescape(raw: &str, span_of: impl Fn(usize, usize) -> Span) -> Result<String, Diagnostic> {
    let mut out = String::with_capacity(raw.len());
    let mut characters = raw.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        let Some((_, escaped)) = characters.next() else {
            return Err(diagnostics::bad_escape(
                "a trailing `\\` escapes nothing",
                span_of(index, raw.len()),
            ));
        };
        match escaped {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            'u' => {
                let rest = &raw[index + 2..];
                let code = rest
                    .strip_prefix('{')
                    .and_then(|r| r.find('}').map(|close| &r[..close]));
                let value = code
                    .and_then(|digits| u32::from_str_radix(digits, 16).ok())
                    .and_then(char::from_u32);
                let (Some(code), Some(value)) = (code, value) else {
                    let end = (index + 2 + rest.find('}').map_or(0, |c| c + 1)).min(raw.len());
                    return Err(diagnostics::bad_escape(
                        "`\\u` needs a hexadecimal code point in braces, e.g. `\\u{e9}`",
                        span_of(index, end.max(index + 2)),
                    ));
                };
                out.push(value);
                // Skip `{`, the digits and `}`.
                for _ in 0..code.len() + 2 {
                    characters.next();
                }
            }
            other => {
                return Err(diagnostics::bad_escape(
                    &format!("unknown escape `\\{other}`"),
                    span_of(index, index + 1 + other.len_utf8()),
                ));
            }
        }
    }
    Ok(out)
}

/// A `number` pair as `f64` (`inf` and `nan` included).
pub fn parse_number(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<f64>> {
    let span = builder.span(&pair);
    match pair.as_str().parse::<f64>() {
        Ok(value) => Ok(Spanned::new(value, span)),
        Err(_) => Err(shared::not_a_number("a value", pair.as_str(), span).into()),
    }
}

/// An `integer` pair as `i64`.
pub fn parse_integer(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<i64>> {
    let span = builder.span(&pair);
    match pair.as_str().parse::<i64>() {
        Ok(value) => Ok(Spanned::new(value, span)),
        Err(_) => {
            Err(
                shared::integer_out_of_range("an integer", pair.as_str(), "a 64-bit integer", span)
                    .into(),
            )
        }
    }
}

/// An `unsigned` pair as `u64`; `positive` also refuses 0.
pub fn parse_unsigned(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    what: &str,
    positive: bool,
) -> Parsed<Spanned<u64>> {
    let span = builder.span(&pair);
    let expected = if positive {
        "a positive integer"
    } else {
        "a non-negative integer"
    };
    match pair.as_str().parse::<u64>() {
        Ok(value) if !positive || value > 0 => Ok(Spanned::new(value, span)),
        _ => Err(shared::integer_out_of_range(what, pair.as_str(), expected, span).into()),
    }
}

/// An `integer_list` pair.
pub fn parse_integer_list(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<Vec<i64>>> {
    let span = builder.span(&pair);
    let values = significant(pair)
        .map(|item| parse_integer(builder, item).map(|v| v.node))
        .collect::<Parsed<Vec<i64>>>()?;
    Ok(Spanned::new(values, span))
}

/// An `unsigned_list` pair.
pub fn parse_unsigned_list(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    what: &str,
    positive: bool,
) -> Parsed<Spanned<Vec<u64>>> {
    let span = builder.span(&pair);
    let values = significant(pair)
        .map(|item| parse_unsigned(builder, item, what, positive).map(|v| v.node))
        .collect::<Parsed<Vec<u64>>>()?;
    Ok(Spanned::new(values, span))
}

/// A `boolean` pair.
pub fn parse_boolean(builder: &Builder, pair: Pair<'_, Rule>) -> Spanned<bool> {
    Spanned::new(pair.as_str() == "true", builder.span(&pair))
}

/// A `dtype` pair, by its plan name (`float16`, `bf16`, `F8_E4M3`, …).
pub fn parse_dtype(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<DType>> {
    let span = builder.span(&pair);
    match DType::from_plan_name(pair.as_str()) {
        Some(dtype) => Ok(Spanned::new(dtype, span)),
        None => Err(shared::unknown_dtype(pair.as_str(), span).into()),
    }
}

/// A `size` or `string` pair as a shard size (`2GB`, `none`).
pub fn parse_size(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<ShardSize>> {
    let span = builder.span(&pair);
    let text = match pair.as_rule() {
        Rule::string => parse_string(builder, pair)?.node,
        _ => pair.as_str().to_string(),
    };
    match crate::plan::yaml::parse_size(&text) {
        Ok(size) => Ok(Spanned::new(size, span)),
        Err(crate::plan::yaml::SizeError::Overflow) => {
            Err(shared::size_overflow(&text, span).into())
        }
        Err(crate::plan::yaml::SizeError::Malformed) => Err(shared::bad_size(&text, span).into()),
    }
}

/// A `word` pair that must be one of `choices`.
pub fn parse_choice<T: Copy>(
    builder: &Builder,
    pair: Pair<'_, Rule>,
    what: &str,
    choices: &[(&str, T)],
) -> Parsed<Spanned<T>> {
    let span = builder.span(&pair);
    match choices.iter().find(|(name, _)| *name == pair.as_str()) {
        Some((_, value)) => Ok(Spanned::new(*value, span)),
        None => {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            Err(shared::unknown_choice(what, pair.as_str(), span, &names).into())
        }
    }
}

/// An `alias_name` pair (a bare name or a quoted string), which must not be empty.
pub fn parse_alias_name(builder: &Builder, pair: Pair<'_, Rule>) -> Parsed<Spanned<String>> {
    let inner = first(pair);
    let alias = match inner.as_rule() {
        Rule::string => parse_string(builder, inner)?,
        _ => Spanned::new(inner.as_str().to_string(), builder.span(&inner)),
    };
    if alias.node.is_empty() {
        return Err(diagnostics::empty_alias(alias.span).into());
    }
    Ok(alias)
}

/// Remembers which named arguments a call or statement has seen, to refuse duplicates.
#[derive(Default)]
pub struct SeenArguments {
    seen: Vec<(String, Span)>,
}

impl SeenArguments {
    /// Records `name` at `span`; an error when it was given before.
    pub fn record(&mut self, name: &str, span: Span) -> Parsed<()> {
        if let Some((_, first)) = self.seen.iter().find(|(seen, _)| seen == name) {
            return Err(diagnostics::duplicate_argument(name, span, *first).into());
        }
        self.seen.push((name.to_string(), span));
        Ok(())
    }
}

/// The keyword pair of a `name = value` argument and its value pair.
pub fn argument_parts<'i>(pair: Pair<'i, Rule>) -> (Pair<'i, Rule>, Option<Pair<'i, Rule>>) {
    let fallback = pair.clone();
    let mut children = significant(pair);
    let name = children.next().unwrap_or(fallback);
    (name, children.next())
}

/// The value of `result`, or `None` after moving its diagnostics into `errors` (so that one
/// statement reports every problem of its arguments, not only the first).
pub fn keep<T>(result: Result<T, impl Into<Errors>>, errors: &mut Vec<Diagnostic>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(found) => {
            errors.extend(found.into().0);
            None
        }
    }
}

/// `Ok(value)` when `errors` is empty, else all of them.
pub fn finish<T>(value: Option<T>, errors: Vec<Diagnostic>) -> Parsed<T> {
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(errors.into()),
    }
}

/// An integer list and the span of each item (for labels on one bad entry).
pub fn parse_integer_items(
    builder: &Builder,
    pair: Pair<'_, Rule>,
) -> Parsed<(Spanned<Vec<i64>>, Vec<Span>)> {
    let items: Vec<Span> = significant(pair.clone())
        .map(|item| builder.span(&item))
        .collect();
    Ok((parse_integer_list(builder, pair)?, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(from: usize, to: usize) -> Span {
        Span::new(SourceId(0), from, to)
    }

    #[test]
    fn escapes_resolve_and_unknown_ones_point_at_themselves() {
        assert_eq!(
            unescape(r#"a\\b\"c\n\t\u{e9}\0"#, span).unwrap(),
            "a\\b\"c\n\t\u{e9}\0"
        );
        let error = unescape(r"C:\weights", span).unwrap_err();
        assert_eq!(error.code, "E0306");
        assert_eq!(error.primary_span().unwrap().range(), 2..4);
        assert!(unescape(r"\u{zz}", span).is_err());
        assert!(unescape(r"\u{110000}", span).is_err());
        assert!(unescape("trailing\\", span).is_err());
    }

    #[test]
    fn repeated_arguments_are_refused_with_both_places() {
        let mut seen = SeenArguments::default();
        assert!(seen.record("min", span(0, 3)).is_ok());
        assert!(seen.record("max", span(5, 8)).is_ok());
        let error = seen.record("min", span(10, 13)).unwrap_err();
        assert_eq!(error.0[0].code, "E0307");
        assert_eq!(error.0[0].labels.len(), 2);
    }
}
