//! Regex-mode names, on top of the plan front end's shared implementation
//! (`plan::reference`): full-match compilation of a pattern, and destination templates.
//!
//! It receives a pattern or template string as the AST holds it and returns a matcher, or the
//! destination name for one matched name. Matching is a **full match** (Python's
//! `re.fullmatch`); a template is substituted **once** per name, with Python's escapes (see
//! `plan::reference::template`). A match keeps only its regex: the captures are re-derived from
//! the name when a destination is rendered, which keeps matches cheap to hold and to clone.

use std::sync::Arc;

use fancy_regex::Regex;

use crate::diagnostics::Span;
use crate::plan::reference::template::TemplatePiece;
use crate::plan::reference::{compile_full_match, parse_template};

/// A compiled full-match pattern.
#[derive(Debug, Clone)]
pub(crate) struct FullMatch {
    regex: Arc<Regex>,
}

impl FullMatch {
    pub fn new(pattern: &str) -> Result<FullMatch, String> {
        let regex = compile_full_match(pattern).map_err(|e| e.to_string())?;
        Ok(FullMatch {
            regex: Arc::new(regex),
        })
    }

    /// The number of capture groups (without the whole match).
    pub fn group_count(&self) -> usize {
        self.regex.captures_len().saturating_sub(1)
    }

    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name).unwrap_or(false)
    }

    /// The groups of a match (index 0 is the whole name; `None` for groups that did not take
    /// part), or `None` when `name` does not match.
    pub fn groups(&self, name: &str) -> Option<Vec<Option<String>>> {
        let captures = self.regex.captures(name).ok()??;
        Some(
            (0..self.regex.captures_len())
                .map(|i| captures.get(i).map(|m| m.as_str().to_string()))
                .collect(),
        )
    }

    pub fn regex(&self) -> Arc<Regex> {
        Arc::clone(&self.regex)
    }
}

/// The destination `template` names for `name`, which `regex` matched.
pub(crate) fn substitute(template: &str, regex: &Regex, name: &str) -> Result<String, String> {
    let template = parse_template(template, Span::default()).map_err(|d| d.message)?;
    let captures = regex
        .captures(name)
        .ok()
        .flatten()
        .ok_or_else(|| format!("`{name}` does not match the source pattern"))?;
    Ok(template.expand(&captures))
}

/// The name a template without back-references writes (its escapes resolved), or `None` when it
/// refers to a group.
pub(crate) fn literal_name(template: &str) -> Option<String> {
    let template = parse_template(template, Span::default()).ok()?;
    let mut name = String::new();
    for piece in template.pieces() {
        match piece {
            TemplatePiece::Text(text) => name.push_str(text),
            TemplatePiece::Group(_) | TemplatePiece::Named(_) => return None,
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names_only() {
        let pattern = FullMatch::new(r"h\.(\d+)\.attn").unwrap();
        assert!(pattern.matches("h.0.attn"));
        assert!(!pattern.matches("h.0.attn.weight"));
        assert!(!pattern.matches("xh.0.attn"));
        assert_eq!(pattern.group_count(), 1);
        assert_eq!(
            pattern.groups("h.12.attn"),
            Some(vec![Some("h.12.attn".to_string()), Some("12".to_string())])
        );
    }

    #[test]
    fn templates_substitute_numbered_and_named_groups_once() {
        let pattern = FullMatch::new(r"h\.(?P<layer>\d+)\.(.*)").unwrap();
        let regex = pattern.regex();
        assert_eq!(
            substitute(r"blocks.\1.\2", &regex, "h.11.mlp.weight").unwrap(),
            "blocks.11.mlp.weight"
        );
        assert_eq!(
            substitute(r"\g<layer>-\g<2>-\g<0>", &regex, "h.11.mlp.weight").unwrap(),
            "11-mlp.weight-h.11.mlp.weight"
        );
        // `.*` substituted once: no doubled template as with `re.sub`.
        let everything = FullMatch::new(".*").unwrap();
        assert_eq!(substitute("x", &everything.regex(), "abc").unwrap(), "x");
    }

    #[test]
    fn literal_templates_have_a_name() {
        assert_eq!(
            literal_name("ln_f_copy.weight").as_deref(),
            Some("ln_f_copy.weight")
        );
        assert_eq!(literal_name(r"h.\1.w"), None);
        assert_eq!(literal_name(r"\g<0>_copy"), None);
    }
}
