//! Structured patterns: matching dot-separated tensor names against segment tokens, and rendering
//! destination names from the bindings a match made (BrainSurgery §2.3).
//!
//! It receives the tokens of the AST and a name; matching returns the bindings or `None`;
//! rendering returns the destination name or an error message. Rules: `literal` equals one
//! segment; `$x` binds one segment; `*xs` binds zero or more segments, **greedy, longest first,
//! with backtracking**; `~REGEX` full-matches one segment, `~x::REGEX` binds the whole segment (no
//! group) or group 1, `~x,y::REGEX` binds one name per group; **re-using a name is a
//! back-reference** (the second occurrence must equal the first binding, scalars and lists alike).
//! The pattern must consume every segment. On the destination side `$x` and `${x}` interpolate
//! scalars and `*xs` splices a list.

use std::collections::BTreeMap;

use super::regex::FullMatch;
use crate::plan::ast::{StructuredToken, TemplatePart};

/// A captured value: one segment or a run of segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    Scalar(String),
    List(Vec<String>),
}

pub(crate) type Bindings = BTreeMap<String, Binding>;

/// A source pattern prepared for matching (its regex tokens compiled once).
#[derive(Debug)]
pub(crate) struct StructuredMatcher<'a> {
    tokens: Vec<Prepared<'a>>,
}

#[derive(Debug)]
enum Prepared<'a> {
    Literal(&'a str),
    Bind(&'a str),
    Splat(&'a str),
    Regex {
        names: &'a [String],
        regex: FullMatch,
    },
}

impl<'a> StructuredMatcher<'a> {
    /// Prepares source-side tokens; fails on a regex that does not compile, a group count that
    /// does not fit the names, or a destination-only token.
    pub fn new(tokens: impl IntoIterator<Item = &'a StructuredToken>) -> Result<Self, String> {
        let mut prepared = Vec::new();
        for token in tokens {
            prepared.push(match token {
                StructuredToken::Literal(text) => Prepared::Literal(text),
                StructuredToken::Bind(name) => Prepared::Bind(name),
                StructuredToken::Splat(name) => Prepared::Splat(name),
                StructuredToken::Regex { names, regex } => {
                    let compiled = FullMatch::new(regex)
                        .map_err(|e| format!("invalid regex `{regex}`: {e}"))?;
                    let groups = compiled.group_count();
                    let fits = match names.len() {
                        0 => true,
                        1 => groups <= 1,
                        n => n == groups,
                    };
                    if !fits {
                        return Err(format!(
                            "`~{}::{regex}` binds {} name(s) but the regex has {groups} group(s)",
                            names.join(","),
                            names.len()
                        ));
                    }
                    Prepared::Regex {
                        names,
                        regex: compiled,
                    }
                }
                StructuredToken::Template(parts) => match parts.as_slice() {
                    [TemplatePart::Text(text)] => Prepared::Literal(text),
                    _ => {
                        return Err(
                            "`${…}` interpolation is only allowed on the destination side".into(),
                        )
                    }
                },
            });
        }
        Ok(StructuredMatcher { tokens: prepared })
    }

    /// The bindings of `name` if the pattern consumes all of its segments.
    pub fn matches(&self, name: &str) -> Option<Bindings> {
        let segments: Vec<&str> = name.split('.').collect();
        let mut bindings = Bindings::new();
        self.match_from(0, &segments, &mut bindings)
            .then_some(bindings)
    }

    fn match_from(&self, token: usize, segments: &[&str], bindings: &mut Bindings) -> bool {
        let Some(current) = self.tokens.get(token) else {
            return segments.is_empty();
        };
        match current {
            Prepared::Literal(text) => {
                segments.first() == Some(text)
                    && self.match_from(token + 1, &segments[1..], bindings)
            }
            Prepared::Bind(name) => {
                let Some(segment) = segments.first() else {
                    return false;
                };
                self.bind_and_continue(
                    name,
                    Binding::Scalar(segment.to_string()),
                    token,
                    &segments[1..],
                    bindings,
                )
            }
            Prepared::Splat(name) => {
                // A list bound before is a back-reference: only its own length can match.
                if let Some(Binding::List(bound)) = bindings.get(*name) {
                    let length = bound.len();
                    return segments.len() >= length
                        && bound.iter().zip(segments).all(|(a, b)| a == b)
                        && self.match_from(token + 1, &segments[length..], bindings);
                }
                if bindings.contains_key(*name) {
                    return false;
                }
                (0..=segments.len()).rev().any(|length| {
                    let list = segments[..length].iter().map(|s| s.to_string()).collect();
                    self.bind_and_continue(
                        name,
                        Binding::List(list),
                        token,
                        &segments[length..],
                        bindings,
                    )
                })
            }
            Prepared::Regex { names, regex } => {
                let Some(segment) = segments.first() else {
                    return false;
                };
                let Some(groups) = regex.groups(segment) else {
                    return false;
                };
                let values: Vec<Option<String>> = match names.len() {
                    0 => Vec::new(),
                    1 if regex.group_count() == 0 => vec![Some(segment.to_string())],
                    _ => groups[1..].to_vec(),
                };
                // A group that did not take part binds nothing usable: no match.
                let Some(values) = values.into_iter().collect::<Option<Vec<String>>>() else {
                    return false;
                };
                let mut added = Vec::new();
                for (name, value) in names.iter().zip(values) {
                    match bindings.get(name.as_str()) {
                        Some(Binding::Scalar(bound)) if *bound == value => {}
                        Some(_) => {
                            for name in added {
                                bindings.remove(name);
                            }
                            return false;
                        }
                        None => {
                            bindings.insert(name.clone(), Binding::Scalar(value));
                            added.push(name.as_str());
                        }
                    }
                }
                let matched = self.match_from(token + 1, &segments[1..], bindings);
                if !matched {
                    for name in added {
                        bindings.remove(name);
                    }
                }
                matched
            }
        }
    }

    /// Binds `name` (or checks it against its earlier binding) and matches the rest; undoes the
    /// binding if the rest fails.
    fn bind_and_continue(
        &self,
        name: &str,
        value: Binding,
        token: usize,
        rest: &[&str],
        bindings: &mut Bindings,
    ) -> bool {
        if let Some(bound) = bindings.get(name) {
            return *bound == value && self.match_from(token + 1, rest, bindings);
        }
        bindings.insert(name.to_string(), value);
        let matched = self.match_from(token + 1, rest, bindings);
        if !matched {
            bindings.remove(name);
        }
        matched
    }
}

/// Renders destination tokens with `bindings` into a dot-separated name.
pub(crate) fn render(tokens: &[&StructuredToken], bindings: &Bindings) -> Result<String, String> {
    let scalar = |name: &str| match bindings.get(name) {
        Some(Binding::Scalar(value)) => Ok(value.clone()),
        Some(Binding::List(_)) => Err(format!(
            "`{name}` holds a list of segments; splice it with `*{name}`"
        )),
        None => Err(format!("unknown variable `{name}`")),
    };
    let mut segments: Vec<String> = Vec::new();
    for token in tokens {
        match token {
            StructuredToken::Literal(text) => segments.push(text.clone()),
            StructuredToken::Bind(name) => segments.push(scalar(name)?),
            StructuredToken::Splat(name) => match bindings.get(name.as_str()) {
                Some(Binding::List(values)) => segments.extend(values.iter().cloned()),
                Some(Binding::Scalar(_)) => {
                    return Err(format!(
                        "`{name}` holds one segment; use `${name}` instead of `*{name}`"
                    ))
                }
                None => return Err(format!("unknown variable `{name}`")),
            },
            StructuredToken::Template(parts) => {
                let mut segment = String::new();
                for part in parts {
                    match part {
                        TemplatePart::Text(text) => segment.push_str(text),
                        TemplatePart::Variable(name) => segment.push_str(&scalar(name)?),
                    }
                }
                segments.push(segment);
            }
            StructuredToken::Regex { .. } => {
                return Err("`~` regex tokens are only allowed on the source side".into())
            }
        }
    }
    Ok(segments.join("."))
}

/// The name a destination-side pattern writes when it uses no variables (`None` otherwise).
pub(crate) fn literal_name(tokens: &[&StructuredToken]) -> Option<String> {
    render(tokens, &Bindings::new()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> StructuredToken {
        StructuredToken::Literal(text.into())
    }
    fn bind(name: &str) -> StructuredToken {
        StructuredToken::Bind(name.into())
    }
    fn splat(name: &str) -> StructuredToken {
        StructuredToken::Splat(name.into())
    }

    #[test]
    fn splats_are_greedy_with_backtracking() {
        let tokens = [lit("h"), bind("i"), splat("rest"), lit("weight")];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        let bindings = matcher.matches("h.0.attn.c_attn.weight").unwrap();
        assert_eq!(bindings["i"], Binding::Scalar("0".into()));
        assert_eq!(
            bindings["rest"],
            Binding::List(vec!["attn".into(), "c_attn".into()])
        );
        assert!(matcher.matches("h.0.attn.bias").is_none());
        // Two splats: the first takes the longest prefix that still lets the rest match.
        let tokens = [splat("a"), lit("x"), splat("b")];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        let bindings = matcher.matches("x.x.y").unwrap();
        assert_eq!(bindings["a"], Binding::List(vec!["x".into()]));
        assert_eq!(bindings["b"], Binding::List(vec!["y".into()]));
    }

    #[test]
    fn a_reused_name_is_a_back_reference() {
        let tokens = [bind("x"), lit("to"), bind("x")];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        assert!(matcher.matches("a.to.a").is_some());
        assert!(matcher.matches("a.to.b").is_none());
        let tokens = [splat("p"), lit("mid"), splat("p")];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        assert!(matcher.matches("a.b.mid.a.b").is_some());
        assert!(matcher.matches("a.b.mid.a").is_none());
    }

    #[test]
    fn regex_tokens_bind_segments_or_groups() {
        let tokens = [
            lit("h"),
            StructuredToken::Regex {
                names: vec!["layer".into()],
                regex: r"\d+".into(),
            },
            StructuredToken::Regex {
                names: vec!["kind".into(), "part".into()],
                regex: r"(c)_(\w+)".into(),
            },
        ];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        let bindings = matcher.matches("h.12.c_fc").unwrap();
        assert_eq!(bindings["layer"], Binding::Scalar("12".into()));
        assert_eq!(bindings["part"], Binding::Scalar("fc".into()));
        assert!(matcher.matches("h.x.c_fc").is_none());
        let too_many = [StructuredToken::Regex {
            names: vec!["a".into()],
            regex: "(a)(b)".into(),
        }];
        assert!(StructuredMatcher::new(&too_many).is_err());
    }

    #[test]
    fn destinations_interpolate_and_splice() {
        let tokens = [lit("h"), bind("i"), splat("rest")];
        let matcher = StructuredMatcher::new(&tokens).unwrap();
        let bindings = matcher.matches("h.3.mlp.c_fc.weight").unwrap();
        let destination = [
            lit("blocks"),
            StructuredToken::Template(vec![
                TemplatePart::Text("layer".into()),
                TemplatePart::Variable("i".into()),
            ]),
            splat("rest"),
        ];
        let refs: Vec<&StructuredToken> = destination.iter().collect();
        assert_eq!(
            render(&refs, &bindings).unwrap(),
            "blocks.layer3.mlp.c_fc.weight"
        );
        let wrong_kind = [splat("i")];
        let refs: Vec<&StructuredToken> = wrong_kind.iter().collect();
        assert!(render(&refs, &bindings).is_err());
        let unknown = [bind("nope")];
        let refs: Vec<&StructuredToken> = unknown.iter().collect();
        assert!(render(&refs, &bindings)
            .unwrap_err()
            .contains("unknown variable"));
    }
}
