//! Regex-mode names: full-match compilation of a plan's pattern and back-reference substitution
//! into a destination template.
//!
//! It receives a pattern or template string as the AST holds it and returns a matcher, or the
//! destination name for one match. Matching is a **full match** (Python's `re.fullmatch`); a
//! template is substituted **once** per name (not `re.sub`'s replace-all, which doubles the
//! template when a pattern can also match an empty suffix). Template syntax is Python's: `\1`–`\99`,
//! `\g<1>`, `\g<name>`, `\g<0>`; `\\` is a backslash and other escapes are kept as written.
//! (Being the compiler's only contact with regex syntax, this module is where `plan::reference`'s
//! shared implementation plugs in once it lands.)

use fancy_regex::Regex;

/// A compiled full-match pattern.
#[derive(Debug, Clone)]
pub(crate) struct FullMatch {
    regex: Regex,
    group_names: Vec<(String, usize)>,
}

/// The groups of one match: index 0 is the whole name; `None` for groups that did not take part.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegexCaptures {
    pub groups: Vec<Option<String>>,
    pub names: Vec<(String, usize)>,
}

impl FullMatch {
    pub fn new(pattern: &str) -> Result<FullMatch, String> {
        let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| e.to_string())?;
        let group_names = regex
            .capture_names()
            .enumerate()
            .filter_map(|(index, name)| name.map(|n| (n.to_string(), index)))
            .collect();
        Ok(FullMatch { regex, group_names })
    }

    /// The number of capture groups (without the whole match).
    pub fn group_count(&self) -> usize {
        self.regex.captures_len().saturating_sub(1)
    }

    pub fn captures(&self, name: &str) -> Option<RegexCaptures> {
        let captures = self.regex.captures(name).ok()??;
        let groups = (0..self.regex.captures_len())
            .map(|i| captures.get(i).map(|m| m.as_str().to_string()))
            .collect();
        Some(RegexCaptures {
            groups,
            names: self.group_names.clone(),
        })
    }
}

/// Substitutes the back-references of `template` with `captures`, once.
pub(crate) fn substitute(template: &str, captures: &RegexCaptures) -> Result<String, String> {
    let group = |index: usize| -> Result<&str, String> {
        match captures.groups.get(index) {
            Some(Some(text)) => Ok(text.as_str()),
            Some(None) => Ok(""),
            None => Err(format!("invalid group reference {index}")),
        }
    };
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some((_, digit)) if digit.is_ascii_digit() => {
                chars.next();
                let mut number = digit.to_digit(10).unwrap_or(0) as usize;
                // Python reads up to two digits for a group number.
                if let Some(&(_, next)) = chars.peek() {
                    if next.is_ascii_digit()
                        && number * 10 + (next as usize - '0' as usize) < captures.groups.len()
                    {
                        chars.next();
                        number = number * 10 + (next as usize - '0' as usize);
                    }
                }
                out.push_str(group(number)?);
            }
            Some((start, 'g')) => {
                chars.next();
                let rest = &template[start + 1..];
                let Some(inner) = rest.strip_prefix('<').and_then(|r| r.split_once('>')) else {
                    return Err("missing group name after \\g".into());
                };
                let reference = inner.0;
                let index = match reference.parse::<usize>() {
                    Ok(index) => index,
                    Err(_) => captures
                        .names
                        .iter()
                        .find(|(name, _)| name == reference)
                        .map(|&(_, index)| index)
                        .ok_or_else(|| format!("unknown group name `{reference}`"))?,
                };
                out.push_str(group(index)?);
                for _ in 0..reference.chars().count() + 2 {
                    chars.next();
                }
            }
            Some((_, '\\')) => {
                chars.next();
                out.push('\\');
            }
            _ => out.push('\\'),
        }
    }
    Ok(out)
}

/// Whether a template has no back-references, i.e. names exactly one tensor.
pub(crate) fn is_literal_template(template: &str) -> bool {
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() || *n == 'g')
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names_only() {
        let pattern = FullMatch::new(r"h\.(\d+)\.attn").unwrap();
        assert!(pattern.captures("h.0.attn").is_some());
        assert!(pattern.captures("h.0.attn.weight").is_none());
        assert!(pattern.captures("xh.0.attn").is_none());
        assert_eq!(pattern.group_count(), 1);
    }

    #[test]
    fn templates_substitute_numbered_and_named_groups_once() {
        let pattern = FullMatch::new(r"h\.(?P<layer>\d+)\.(.*)").unwrap();
        let captures = pattern.captures("h.11.mlp.weight").unwrap();
        assert_eq!(
            substitute(r"blocks.\1.\2", &captures).unwrap(),
            "blocks.11.mlp.weight"
        );
        assert_eq!(
            substitute(r"\g<layer>-\g<2>-\g<0>", &captures).unwrap(),
            "11-mlp.weight-h.11.mlp.weight"
        );
        // `(.*)` substituted once: no doubled template as with `re.sub`.
        let everything = FullMatch::new(".*").unwrap();
        let captures = everything.captures("abc").unwrap();
        assert_eq!(substitute("x", &captures).unwrap(), "x");
        assert!(substitute(r"\g<missing>", &captures).is_err());
        assert!(substitute(r"\3", &captures).is_err());
    }

    #[test]
    fn literal_templates_are_recognised() {
        assert!(is_literal_template("ln_f_copy.weight"));
        assert!(!is_literal_template(r"h.\1.w"));
        assert!(!is_literal_template(r"\g<0>_copy"));
    }
}
