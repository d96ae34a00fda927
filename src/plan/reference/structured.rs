//! Structured references: a list of segment tokens matched against names split on `.`.
//!
//! Receives the list's elements as text with their spans; returns [`StructuredToken`]s (or a
//! whole [`TensorRef`]) and diagnostics for illegal tokens. Source-side tokens: `literal`, `$x`,
//! `*xs`, `~REGEX`, `~x::REGEX`, `~x,y::REGEX`. Destination-side tokens: literal text with `${x}`
//! interpolation, `$x`, `*xs`; `~` is forbidden there. [`validate_structured_pair`] checks that the
//! destination uses only variables the source binds, each with the right kind.
//!
//! **Extension** (documented in `docs/differences.md`): the first element may be `alias::`,
//! naming the alias the pattern applies to, which BrainSurgery's structured references cannot do.

use super::regex::{group_info, validate_regex};
use super::{AliasScope, TextSpan};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{Pattern, Spanned, StructuredToken, TemplatePart, TensorRef};
use crate::plan::diagnostics;
use std::collections::BTreeMap;

/// Which side of a mapping a pattern is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Matched against existing names; binds variables.
    Source,
    /// Built from the source's bindings.
    Destination,
}

/// Parses one token for `side`.
pub fn parse_structured_token(
    text: &str,
    side: Side,
    span: impl Into<TextSpan>,
) -> Result<StructuredToken, Diagnostic> {
    let span: TextSpan = span.into();
    if let Some(name) = text.strip_prefix('*') {
        check_identifier(text, name, span.narrow(1..text.len()))?;
        return Ok(StructuredToken::Splat(name.to_string()));
    }
    if let Some(name) = text.strip_prefix('$').filter(|rest| !rest.starts_with('{')) {
        check_identifier(text, name, span.narrow(1..text.len()))?;
        return Ok(StructuredToken::Bind(name.to_string()));
    }
    if let Some(body) = text.strip_prefix('~') {
        return match side {
            Side::Source => parse_regex_token(text, body, span),
            Side::Destination => Err(diagnostics::regex_token_on_destination(text, span.whole())),
        };
    }
    match side {
        Side::Source => {
            if let Some(position) = text.find("${") {
                return Err(diagnostics::bad_interpolation(
                    text,
                    "interpolation belongs on the destination side",
                    span.part(position..text.len()),
                ));
            }
            if let Some(position) = text.find('.') {
                return Err(diagnostics::bad_structured_token(
                    text,
                    "a segment cannot contain `.` (names are split on it)",
                    span.part(position..position + 1),
                ));
            }
            Ok(StructuredToken::Literal(text.to_string()))
        }
        Side::Destination => parse_interpolated(text, span),
    }
}

/// `~REGEX`, `~x::REGEX`, `~x,y::REGEX` (`body` is the text after `~`).
fn parse_regex_token(
    text: &str,
    body: &str,
    span: TextSpan,
) -> Result<StructuredToken, Diagnostic> {
    // A prefix of identifiers before the first `::` names the bindings; anything else is regex.
    let (names, regex_start) = match body.find("::") {
        Some(split) if is_name_list(&body[..split]) => (
            body[..split]
                .split(',')
                .map(|n| n.trim().to_string())
                .collect::<Vec<_>>(),
            1 + split + 2,
        ),
        _ => (Vec::new(), 1),
    };
    let regex = &text[regex_start..];
    let regex_span = span.narrow(regex_start..text.len());
    if regex.is_empty() {
        return Err(diagnostics::bad_structured_token(
            text,
            "empty regex",
            span.whole(),
        ));
    }
    validate_regex(regex, regex_span)?;
    let (groups, group_names) = group_info(regex).unwrap_or_default();
    if !group_names.is_empty() {
        let position = regex
            .find("(?P<")
            .or_else(|| regex.find("(?<"))
            .unwrap_or(0);
        return Err(diagnostics::named_group_in_token(
            regex_span.part(position..regex.len()),
        ));
    }
    let counts_match = match names.len() {
        0 => true,
        1 => groups <= 1,
        count => count == groups,
    };
    if !counts_match {
        return Err(diagnostics::regex_token_group_count(
            names.len(),
            groups,
            span.whole(),
        ));
    }
    Ok(StructuredToken::Regex {
        names,
        regex: regex.to_string(),
    })
}

fn is_name_list(text: &str) -> bool {
    !text.is_empty() && text.split(',').all(|name| is_identifier(name.trim()))
}

/// Destination literal text with `${x}` interpolations.
fn parse_interpolated(text: &str, span: TextSpan) -> Result<StructuredToken, Diagnostic> {
    let mut parts = Vec::new();
    let mut rest_start = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("${") {
        let open = search + found;
        let Some(close) = text[open..].find('}') else {
            return Err(diagnostics::bad_interpolation(
                text,
                "unterminated `${`",
                span.part(open..text.len()),
            ));
        };
        let name = &text[open + 2..open + close];
        if !is_identifier(name) {
            return Err(diagnostics::bad_interpolation(
                text,
                "`${…}` must hold a variable name",
                span.part(open..open + close + 1),
            ));
        }
        if open > rest_start {
            parts.push(TemplatePart::Text(text[rest_start..open].to_string()));
        }
        parts.push(TemplatePart::Variable(name.to_string()));
        rest_start = open + close + 1;
        search = rest_start;
    }
    if parts.is_empty() {
        return Ok(StructuredToken::Literal(text.to_string()));
    }
    if rest_start < text.len() {
        parts.push(TemplatePart::Text(text[rest_start..].to_string()));
    }
    Ok(StructuredToken::Template(parts))
}

fn check_identifier(token: &str, name: &str, span: TextSpan) -> Result<(), Diagnostic> {
    if is_identifier(name) {
        return Ok(());
    }
    let problem = if name.is_empty() {
        "missing variable name".to_string()
    } else {
        format!("`{name}` is not an identifier")
    };
    let label_span = if name.is_empty() {
        span.whole()
    } else {
        span.part(0..name.len())
    };
    Err(diagnostics::bad_structured_token(
        token, &problem, label_span,
    ))
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_identifier(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// Parses a structured reference from its elements. An optional first element `alias::` names
/// the alias; without it the scope's default alias applies (and must exist).
pub fn parse_structured_reference(
    items: &[(&str, TextSpan)],
    span: Span,
    scope: &AliasScope,
    side: Side,
) -> Result<TensorRef, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut alias = None;
    let mut tokens = Vec::new();
    for (index, (text, text_span)) in items.iter().enumerate() {
        if is_alias_token(text) {
            if index == 0 {
                let name = &text[..text.len() - 2];
                if !name.is_empty() {
                    alias = Some(Spanned::new(
                        name.to_string(),
                        text_span.part(0..name.len()),
                    ));
                }
            } else {
                errors.push(diagnostics::misplaced_alias_token(text_span.whole()));
            }
            continue;
        }
        match parse_structured_token(text, side, *text_span) {
            Ok(token) => tokens.push(Spanned::new(token, text_span.whole())),
            Err(error) => errors.push(error),
        }
    }
    if alias.is_none() {
        let shown = items
            .iter()
            .map(|(text, _)| *text)
            .collect::<Vec<_>>()
            .join(", ");
        if let Err(error) = scope.require_default(&format!("[{shown}]"), span) {
            errors.push(error);
        }
    }
    if tokens.is_empty() && errors.is_empty() {
        errors.push(diagnostics::empty_structured_reference(span));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let pattern_span = tokens
        .iter()
        .map(|t| t.span)
        .reduce(Span::to)
        .unwrap_or(span);
    Ok(TensorRef {
        alias,
        pattern: Spanned::new(Pattern::Structured(tokens), pattern_span),
        slice: None,
    })
}

/// `alias::` (ends with `::`, is not a `~x::REGEX` token, holds no other `::`).
fn is_alias_token(text: &str) -> bool {
    text.ends_with("::")
        && !text.starts_with(['~', '$', '*'])
        && !text[..text.len() - 2].contains("::")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    List,
}

impl Kind {
    fn described(self) -> &'static str {
        match self {
            Kind::Scalar => "a segment",
            Kind::List => "a list",
        }
    }
}

/// Checks that every variable the destination uses is bound by the source with the right kind:
/// a segment (`$x`, regex-token names) for `$x` and `${x}`, a list (`*xs`) for `*xs`. A name bound
/// twice on the source side is a back-reference and must keep its kind.
pub fn validate_structured_pair(
    from: &[Spanned<StructuredToken>],
    to: &[Spanned<StructuredToken>],
) -> Result<(), Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut bound: BTreeMap<String, (Kind, Span)> = BTreeMap::new();
    let mut bind = |name: &str, kind: Kind, span: Span| match bound.get(name) {
        Some((first_kind, first_span)) if *first_kind != kind => errors.push(
            diagnostics::variable_bound_twice_differently(name, span, *first_span),
        ),
        Some(_) => {}
        None => {
            bound.insert(name.to_string(), (kind, span));
        }
    };
    for token in from {
        match &token.node {
            StructuredToken::Bind(name) => bind(name, Kind::Scalar, token.span),
            StructuredToken::Splat(name) => bind(name, Kind::List, token.span),
            StructuredToken::Regex { names, .. } => {
                for name in names {
                    bind(name, Kind::Scalar, token.span);
                }
            }
            StructuredToken::Literal(_) | StructuredToken::Template(_) => {}
        }
    }
    let bound_names: Vec<&str> = bound.keys().map(String::as_str).collect();
    let mut check = |name: &str, wanted: Kind, span: Span| match bound.get(name) {
        None => errors.push(diagnostics::unbound_variable(name, span, &bound_names)),
        Some((kind, _)) if *kind != wanted => {
            let used_as = match wanted {
                Kind::Scalar => "a segment",
                Kind::List => "a list",
            };
            errors.push(diagnostics::variable_kind_mismatch(
                name,
                used_as,
                kind.described(),
                span,
            ));
        }
        Some(_) => {}
    };
    for token in to {
        match &token.node {
            StructuredToken::Bind(name) => check(name, Kind::Scalar, token.span),
            StructuredToken::Splat(name) => check(name, Kind::List, token.span),
            StructuredToken::Template(parts) => {
                for part in parts {
                    if let TemplatePart::Variable(name) = part {
                        check(name, Kind::Scalar, token.span);
                    }
                }
            }
            StructuredToken::Literal(_) | StructuredToken::Regex { .. } => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The text of a token as [`parse_structured_token`] reads it back. Both front ends print
/// structured patterns with it (each quoting the text as its syntax needs).
pub fn token_text(token: &StructuredToken) -> String {
    match token {
        StructuredToken::Literal(text) => text.clone(),
        StructuredToken::Bind(name) => format!("${name}"),
        StructuredToken::Splat(name) => format!("*{name}"),
        StructuredToken::Regex { names, regex } if names.is_empty() => format!("~{regex}"),
        StructuredToken::Regex { names, regex } => format!("~{}::{regex}", names.join(",")),
        StructuredToken::Template(parts) => parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => text.clone(),
                TemplatePart::Variable(name) => format!("${{{name}}}"),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceId;

    fn span_of(text: &str) -> Span {
        Span::new(SourceId(0), 0, text.len())
    }

    fn source(text: &str) -> Result<StructuredToken, Diagnostic> {
        parse_structured_token(text, Side::Source, span_of(text))
    }

    fn destination(text: &str) -> Result<StructuredToken, Diagnostic> {
        parse_structured_token(text, Side::Destination, span_of(text))
    }

    fn tokens(texts: &[&str], side: Side) -> Vec<Spanned<StructuredToken>> {
        texts
            .iter()
            .map(|t| {
                Spanned::new(
                    parse_structured_token(t, side, span_of(t)).unwrap(),
                    span_of(t),
                )
            })
            .collect()
    }

    #[test]
    fn source_tokens_parse() {
        assert_eq!(source("h").unwrap(), StructuredToken::Literal("h".into()));
        assert_eq!(source("$i").unwrap(), StructuredToken::Bind("i".into()));
        assert_eq!(
            source("*rest").unwrap(),
            StructuredToken::Splat("rest".into())
        );
        assert_eq!(
            source("~\\d+").unwrap(),
            StructuredToken::Regex {
                names: vec![],
                regex: "\\d+".into()
            }
        );
        assert_eq!(
            source("~i::\\d+").unwrap(),
            StructuredToken::Regex {
                names: vec!["i".into()],
                regex: "\\d+".into()
            }
        );
        assert_eq!(
            source("~kind,n::(w|b)(\\d)").unwrap(),
            StructuredToken::Regex {
                names: vec!["kind".into(), "n".into()],
                regex: "(w|b)(\\d)".into()
            }
        );
        // A prefix that is not a name list belongs to the regex.
        assert_eq!(
            source("~a b::c").unwrap(),
            StructuredToken::Regex {
                names: vec![],
                regex: "a b::c".into()
            }
        );
    }

    #[test]
    fn bad_source_tokens_are_rejected_with_codes() {
        assert_eq!(source("$1x").unwrap_err().code, "E0208");
        assert_eq!(source("*").unwrap_err().code, "E0208");
        assert_eq!(source("~x::(").unwrap_err().code, "E0205");
        assert_eq!(source("~x,y::(a)").unwrap_err().code, "E0210");
        assert_eq!(source("~x::(a)(b)").unwrap_err().code, "E0210");
        assert_eq!(source("~x::(?P<n>a)").unwrap_err().code, "E0211");
        assert_eq!(source("a.b").unwrap_err().code, "E0208");
        assert_eq!(source("l${i}").unwrap_err().code, "E0217");
        let text = "~x::(a";
        let error = source(text).unwrap_err();
        assert!(error.primary_span().unwrap().start >= 4);
    }

    #[test]
    fn destination_tokens_parse() {
        assert_eq!(
            destination("$i").unwrap(),
            StructuredToken::Bind("i".into())
        );
        assert_eq!(
            destination("*rest").unwrap(),
            StructuredToken::Splat("rest".into())
        );
        assert_eq!(
            destination("layer_${i}_x").unwrap(),
            StructuredToken::Template(vec![
                TemplatePart::Text("layer_".into()),
                TemplatePart::Variable("i".into()),
                TemplatePart::Text("_x".into()),
            ])
        );
        assert_eq!(
            destination("plain$").unwrap(),
            StructuredToken::Literal("plain$".into())
        );
        assert_eq!(destination("~x").unwrap_err().code, "E0209");
        assert_eq!(destination("a${i").unwrap_err().code, "E0217");
        assert_eq!(destination("a${}").unwrap_err().code, "E0217");
    }

    #[test]
    fn pairs_check_binding_and_kinds() {
        let from = tokens(&["h", "$i", "*rest"], Side::Source);
        let to = tokens(&["x", "l${i}", "*rest"], Side::Destination);
        assert!(validate_structured_pair(&from, &to).is_ok());

        let to = tokens(&["$j", "*i", "${rest}"], Side::Destination);
        let errors = validate_structured_pair(&from, &to).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["E0212", "E0213", "E0213"]);

        // A repeated source name is a back-reference; a change of kind is an error.
        let from = tokens(&["$a", "$a"], Side::Source);
        assert!(validate_structured_pair(&from, &tokens(&["$a"], Side::Destination)).is_ok());
        let from = tokens(&["$a", "*a"], Side::Source);
        assert_eq!(
            validate_structured_pair(&from, &[]).unwrap_err()[0].code,
            "E0218"
        );
    }

    #[test]
    fn references_may_name_an_alias_first() {
        let scope = AliasScope::from_inputs(vec!["a".into(), "b".into()]);
        let items: Vec<(&str, TextSpan)> = ["b::", "h", "*rest"]
            .iter()
            .map(|t| (*t, TextSpan::exact(span_of(t))))
            .collect();
        let reference =
            parse_structured_reference(&items, span_of("x"), &scope, Side::Source).unwrap();
        assert_eq!(reference.alias.unwrap().node, "b");
        assert!(matches!(reference.pattern.node, Pattern::Structured(ref t) if t.len() == 2));

        let unqualified: Vec<(&str, TextSpan)> = vec![("h", TextSpan::exact(span_of("h")))];
        let errors = parse_structured_reference(&unqualified, span_of("h"), &scope, Side::Source)
            .unwrap_err();
        assert_eq!(errors[0].code, "E0202");

        let misplaced: Vec<(&str, TextSpan)> = ["h", "b::"]
            .iter()
            .map(|t| (*t, TextSpan::exact(span_of(t))))
            .collect();
        let errors =
            parse_structured_reference(&misplaced, span_of("x"), &scope, Side::Source).unwrap_err();
        assert_eq!(errors[0].code, "E0220");

        let alias_only: Vec<(&str, TextSpan)> = vec![("b::", TextSpan::exact(span_of("b::")))];
        let errors = parse_structured_reference(&alias_only, span_of("x"), &scope, Side::Source)
            .unwrap_err();
        assert_eq!(errors[0].code, "E0219");
    }

    #[test]
    fn tokens_print_as_they_read_back() {
        for text in ["h", "$i", "*rest", "~\\d+", "~a,b::(x)(y)"] {
            let token = source(text).unwrap();
            assert_eq!(token_text(&token), text);
        }
        for text in ["l${i}", "$i", "*rest"] {
            let token = destination(text).unwrap();
            assert_eq!(token_text(&token), text);
            assert_eq!(destination(&token_text(&token)).unwrap(), token);
        }
    }
}
