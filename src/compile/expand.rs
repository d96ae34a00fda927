//! Pattern expansion against the names that exist at the current step, destination naming, and
//! operand slicing.
//!
//! It receives references from the AST and returns matched tensors (sorted by name, with their
//! captures), destination names (a regex template substituted once, or a structured template
//! rendered from the source's bindings) and operands (a matched tensor, viewed through the
//! reference's slice when it has one). Zero matches is an error naming the three nearest existing
//! names — never the whole list — unless the caller accepts an empty result (`count`, `exists`,
//! `diff`). A reference naming an alias checks that the alias exists; an unqualified one uses the
//! plan's default alias.

use super::diagnostics;
use super::draft::{Draft, Operand};
use super::regex::{self, FullMatch};
use super::structured::{self, Bindings, StructuredMatcher};
use crate::diagnostics::{nearest, Diagnostic};
use crate::graph::ops::layout::resolve_slice;
use crate::graph::ops::{Layout, NodeKind};
use crate::graph::NodeId;
use crate::plan::ast::{Pattern, Spanned, StructuredToken, TensorRef};

/// One tensor a source pattern matched.
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub alias: String,
    pub name: String,
    pub node: NodeId,
    pub captures: Captures,
}

impl Matched {
    pub fn label(&self) -> String {
        format!("{}::{}", self.alias, self.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Captures {
    /// The regex that matched; the groups are re-derived from the name when needed.
    Regex(std::sync::Arc<fancy_regex::Regex>),
    Structured(Bindings),
}

/// Whether an alias written in a reference must already exist (sources) or may be created by the
/// step (destinations: writing into a new alias needs no `prefixes add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasUse {
    Read,
    Write,
}

impl Draft<'_> {
    /// The alias a reference means.
    pub fn alias_of(
        &self,
        reference: &Spanned<TensorRef>,
        usage: AliasUse,
    ) -> Result<String, Diagnostic> {
        let alias = match &reference.alias {
            Some(alias) => {
                if usage == AliasUse::Read && !self.env.has_alias(&alias.node) {
                    return Err(diagnostics::unknown_alias(
                        &alias.node,
                        alias.span,
                        &self.env.alias_names(),
                    ));
                }
                return Ok(alias.node.clone());
            }
            None => self.default_alias(),
        };
        alias.ok_or_else(|| diagnostics::missing_alias(reference.span, &self.env.alias_names()))
    }

    /// The plan's default alias; inside `execute`, the nested plan's only input's alias, else the
    /// only alias present when there is one.
    pub fn default_alias(&self) -> Option<String> {
        if let Some(alias) = &self.nested_default_alias {
            return Some(alias.clone());
        }
        if let Some(alias) = self.context.default_alias {
            return Some(alias.to_string());
        }
        match self.env.alias_names().as_slice() {
            [only] if self.execute_depth > 0 => Some(only.to_string()),
            _ => None,
        }
    }

    /// The tensors a source reference matches at this step, sorted by name.
    pub fn expand(
        &self,
        op: &str,
        role: &str,
        reference: &Spanned<TensorRef>,
        allow_empty: bool,
    ) -> Result<Vec<Matched>, Diagnostic> {
        let alias = self.alias_of(reference, AliasUse::Read)?;
        let table = self.env.alias(&alias);
        let names = table.into_iter().flat_map(|t| t.iter());
        let pattern = &reference.pattern;
        let mut matches = Vec::new();
        match &pattern.node {
            Pattern::Regex(text) => {
                let matcher = FullMatch::new(text)
                    .map_err(|e| diagnostics::regex_error(text, &e, pattern.span))?;
                let regex = matcher.regex();
                for (name, &node) in names {
                    if matcher.matches(name) {
                        matches.push(Matched {
                            alias: alias.clone(),
                            name: name.clone(),
                            node,
                            captures: Captures::Regex(regex.clone()),
                        });
                    }
                }
            }
            Pattern::Structured(tokens) => {
                let matcher = StructuredMatcher::new(tokens.iter().map(|t| &t.node))
                    .map_err(|e| diagnostics::structured_error(e, pattern.span))?;
                for (name, &node) in names {
                    if let Some(bindings) = matcher.matches(name) {
                        matches.push(Matched {
                            alias: alias.clone(),
                            name: name.clone(),
                            node,
                            captures: Captures::Structured(bindings),
                        });
                    }
                }
            }
        }
        if matches.is_empty() && !allow_empty {
            let shown = pattern_text(&pattern.node);
            let candidates = self.env.alias(&alias).into_iter().flat_map(|t| t.keys());
            let near = nearest(&suggestion_key(&shown), candidates.map(String::as_str), 3);
            return Err(diagnostics::zero_matches(
                op,
                role,
                &alias,
                &shown,
                pattern.span,
                &near,
            ));
        }
        Ok(matches)
    }

    /// Like [`Draft::expand`], requiring exactly one match.
    pub fn expand_one(
        &self,
        op: &str,
        role: &str,
        reference: &Spanned<TensorRef>,
    ) -> Result<Matched, Diagnostic> {
        let mut matches = self.expand(op, role, reference, false)?;
        if matches.len() != 1 {
            return Err(diagnostics::exactly_one_required(
                op,
                role,
                matches.len(),
                reference.span,
            ));
        }
        Ok(matches.remove(0))
    }

    /// The destination `template` names for `source`, matched by `from`: both sides must be the
    /// same kind of pattern.
    pub fn destination(
        &self,
        op: &str,
        source: &Matched,
        template: &Spanned<TensorRef>,
    ) -> Result<(String, String), Diagnostic> {
        let alias = self.alias_of(template, AliasUse::Write)?;
        let pattern = &template.pattern;
        let name = match (&source.captures, &pattern.node) {
            (Captures::Regex(regex), Pattern::Regex(text)) => {
                regex::substitute(text, regex, &source.name)
                    .map_err(|e| diagnostics::regex_error(text, &e, pattern.span))?
            }
            (Captures::Structured(bindings), Pattern::Structured(tokens)) => {
                let tokens: Vec<&StructuredToken> = tokens.iter().map(|t| &t.node).collect();
                structured::render(&tokens, bindings)
                    .map_err(|e| diagnostics::structured_error(e, pattern.span))?
            }
            _ => return Err(diagnostics::mixed_pattern_kinds(op, pattern.span)),
        };
        Ok((alias, name))
    }

    /// A destination that must be one literal name (creators, `split`, `concat`, `load … to`).
    pub fn literal_destination(
        &self,
        op: &str,
        role: &str,
        reference: &Spanned<TensorRef>,
    ) -> Result<(String, String), Diagnostic> {
        let alias = self.alias_of(reference, AliasUse::Write)?;
        let name = match &reference.pattern.node {
            // The name is taken as written (escapes resolved), as BrainSurgery takes it.
            Pattern::Regex(text) => regex::literal_name(text).ok_or_else(|| {
                diagnostics::literal_name_required(op, role, reference.pattern.span)
            })?,
            Pattern::Structured(tokens) => {
                let tokens: Vec<&StructuredToken> = tokens.iter().map(|t| &t.node).collect();
                structured::literal_name(&tokens).ok_or_else(|| {
                    diagnostics::literal_name_required(op, role, reference.pattern.span)
                })?
            }
        };
        Ok((alias, name))
    }

    /// The operand a matched tensor supplies through `reference`: the tensor itself, or a view of
    /// it when the reference carries a slice (refused where the op does not allow one).
    pub fn operand(
        &mut self,
        op: &str,
        role: &str,
        matched: &Matched,
        reference: &Spanned<TensorRef>,
        slice_allowed: bool,
    ) -> Result<Operand, Diagnostic> {
        let whole = Operand {
            node: matched.node,
            name: matched.label(),
            used_at: reference.span,
        };
        let Some(slice) = &reference.slice else {
            return Ok(whole);
        };
        if !slice_allowed {
            return Err(diagnostics::slice_not_allowed(op, role, slice.span));
        }
        if slice.node.0.is_empty() {
            return Ok(whole);
        }
        let shape = self
            .type_of(matched.node)
            .map(|ty| ty.shape.clone())
            .unwrap_or_default();
        let spec = resolve_slice(&slice.node.0, &shape)
            .map_err(|error| self.type_diagnostic(op, &error, std::slice::from_ref(&whole)))?;
        let node = self.add(op, NodeKind::Layout(Layout::Slice(spec)), &[whole])?;
        Ok(Operand {
            node,
            name: format!("{}[…]", matched.label()),
            used_at: slice.span,
        })
    }

    /// The names of `alias` nearest to `name`, for "missing" diagnostics.
    pub fn nearest_names(&self, alias: &str, name: &str) -> Vec<String> {
        let candidates = self.env.alias(alias).into_iter().flat_map(|t| t.keys());
        nearest(name, candidates.map(String::as_str), 3)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

/// A pattern read as a name, for "nearest names" suggestions: anchors dropped and escaped dots
/// read as dots, so `^h\.0\.atn$` is compared with names as `h.0.atn`.
fn suggestion_key(pattern: &str) -> String {
    let trimmed = pattern
        .trim_start_matches("\\A")
        .trim_start_matches('^')
        .trim_end_matches("\\z")
        .trim_end_matches('$');
    trimmed.replace("\\.", ".")
}

/// A pattern as the user would recognise it in a message.
pub(crate) fn pattern_text(pattern: &Pattern) -> String {
    match pattern {
        Pattern::Regex(text) => text.clone(),
        Pattern::Structured(tokens) => {
            let parts: Vec<String> = tokens
                .iter()
                .map(|token| match &token.node {
                    StructuredToken::Literal(text) => text.clone(),
                    StructuredToken::Bind(name) => format!("${name}"),
                    StructuredToken::Splat(name) => format!("*{name}"),
                    StructuredToken::Regex { names, regex } if names.is_empty() => {
                        format!("~{regex}")
                    }
                    StructuredToken::Regex { names, regex } => {
                        format!("~{}::{regex}", names.join(","))
                    }
                    StructuredToken::Template(parts) => parts
                        .iter()
                        .map(|part| match part {
                            crate::plan::ast::TemplatePart::Text(text) => text.clone(),
                            crate::plan::ast::TemplatePart::Variable(name) => {
                                format!("${{{name}}}")
                            }
                        })
                        .collect(),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_compare_a_regex_as_the_name_it_spells() {
        assert_eq!(suggestion_key(r"^h\.0\.atn$"), "h.0.atn");
        assert_eq!(suggestion_key(r"\Aln_f\.weight\z"), "ln_f.weight");
        assert_eq!(suggestion_key("wte.weight"), "wte.weight");
    }
}
