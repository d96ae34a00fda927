//! Reading typed values out of YAML nodes: strings, numbers, integers, booleans, dtypes, choices
//! and shard sizes, the way BrainSurgery reads them.
//!
//! Receives a [`Node`] and a description of what it is (`"scale \`by\`"`); returns the value with
//! the node's span, or records a diagnostic on the [`Lowerer`] and returns `None`, so that lowering
//! continues and every error of a plan is reported in one run.
//!
//! **Leniency matches the reference.** Numbers accept numeric strings (`"1.5"`, as BrainSurgery's
//! `require_numeric` does) and YAML's `.inf`/`.nan`; integers accept decimal, `0x`, `0o` and `_`
//! separators, quoted or not; booleans accept YAML 1.1's spellings (`true`, `yes`, `on`, `t`, any
//! case), which is what PyYAML hands BrainSurgery; dtype names go through
//! [`DType::from_plan_name`]; sizes are `<int><unit>` with binary units, or `none`.

use super::lower::Lowerer;
use super::node::{Node, Value};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{ShardSize, Spanned};
use crate::plan::diagnostics;
use crate::plan::reference::TextSpan;
use crate::tensor::DType;

/// Parses a float as BrainSurgery does (`float(x)` on a number or numeric string), plus YAML's
/// `.inf`, `-.inf` and `.nan`.
pub fn parse_float(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    match lower.as_str() {
        ".inf" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" => return Some(f64::NEG_INFINITY),
        ".nan" => return Some(f64::NAN),
        _ => {}
    }
    let cleaned = without_separators(trimmed)?;
    cleaned.parse::<f64>().ok()
}

/// Parses an integer: decimal with an optional sign, `0x…`, `0o…`, `0b…`, with `_` separators.
pub fn parse_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let cleaned = without_separators(trimmed)?;
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let (radix, digits) = match digits.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ => (10, digits),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Removes `_` digit separators; `None` when an underscore is not between two digits.
fn without_separators(text: &str) -> Option<String> {
    if !text.contains('_') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'_' {
            let before = index.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(index + 1).copied();
            if !(before.is_some_and(|b| b.is_ascii_hexdigit())
                && after.is_some_and(|b| b.is_ascii_hexdigit()))
            {
                return None;
            }
        }
    }
    Some(text.replace('_', ""))
}

/// YAML 1.1 booleans (what PyYAML produces) and BrainSurgery's `t`/`f`, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "t" => Some(true),
        "false" | "no" | "off" | "f" => Some(false),
        _ => None,
    }
}

/// Why a size string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    Malformed,
    Overflow,
}

/// `<int><unit>` with units b, kb, mb, gb, tb in binary multiples (case-insensitive), or `none`.
pub fn parse_size(text: &str) -> Result<ShardSize, SizeError> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(ShardSize::None);
    }
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or(SizeError::Malformed)?;
    let (digits, unit) = trimmed.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "b" => 0,
        "kb" => 10,
        "mb" => 20,
        "gb" => 30,
        "tb" => 40,
        _ => return Err(SizeError::Malformed),
    };
    if digits.is_empty() {
        return Err(SizeError::Malformed);
    }
    let count: u64 = digits.parse().map_err(|_| SizeError::Overflow)?;
    let bytes = count
        .checked_mul(1u64 << shift)
        .ok_or(SizeError::Overflow)?;
    Ok(ShardSize::Bytes {
        bytes,
        text: trimmed.to_string(),
    })
}

impl Lowerer<'_> {
    /// The text of a scalar (any style: a plain `12` is the text `12`).
    pub(crate) fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<(&'n str, TextSpan)> {
        match &node.value {
            Value::Scalar(scalar) => Some((scalar.text.as_str(), scalar.text_span)),
            _ => {
                self.error(diagnostics::wrong_type(
                    what,
                    "a string",
                    &node.describe(),
                    node.span,
                ));
                None
            }
        }
    }

    pub(crate) fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        let (text, _) = self.text(node, what)?;
        Some(Spanned::new(text.to_string(), node.span))
    }

    /// The scalar text for a typed value, or a "wrong type" diagnostic.
    fn scalar_for<'n>(&mut self, node: &'n Node, what: &str, expected: &str) -> Option<&'n str> {
        match &node.value {
            Value::Scalar(scalar) => Some(scalar.text.as_str()),
            _ => {
                self.error(diagnostics::wrong_type(
                    what,
                    expected,
                    &node.describe(),
                    node.span,
                ));
                None
            }
        }
    }

    /// A scalar that `parse` reads; `refused` builds the diagnostic for one it does not (from
    /// `what`, the text and its span).
    fn parsed<T>(
        &mut self,
        node: &Node,
        what: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        refused: impl FnOnce(&str, &str, Span) -> Diagnostic,
    ) -> Option<Spanned<T>> {
        let text = self.scalar_for(node, what, expected)?;
        match parse(text) {
            Some(value) => Some(Spanned::new(value, node.span)),
            None => {
                self.error(refused(what, text, node.span));
                None
            }
        }
    }

    pub(crate) fn number(&mut self, node: &Node, what: &str) -> Option<Spanned<f64>> {
        self.parsed(
            node,
            what,
            "a number",
            parse_float,
            diagnostics::not_a_number,
        )
    }

    pub(crate) fn integer(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        self.parsed(
            node,
            what,
            "an integer",
            parse_int,
            diagnostics::not_an_integer,
        )
    }

    /// A non-negative integer (`positive`: at least 1).
    pub(crate) fn count(
        &mut self,
        node: &Node,
        what: &str,
        positive: bool,
    ) -> Option<Spanned<u64>> {
        let value = self.integer(node, what)?;
        let minimum = i64::from(positive);
        if value.node < minimum {
            let expected = if positive {
                "a positive integer"
            } else {
                "a non-negative integer"
            };
            self.error(diagnostics::integer_out_of_range(
                what,
                &value.node.to_string(),
                expected,
                node.span,
            ));
            return None;
        }
        Some(Spanned::new(value.node as u64, node.span))
    }

    fn items<'n>(&mut self, node: &'n Node, what: &str, expected: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Sequence(items) => Some(items),
            _ => {
                self.error(diagnostics::wrong_type(
                    what,
                    expected,
                    &node.describe(),
                    node.span,
                ));
                None
            }
        }
    }

    pub(crate) fn integer_list(&mut self, node: &Node, what: &str) -> Option<Spanned<Vec<i64>>> {
        let items = self.items(node, what, "a list of integers")?;
        let values: Vec<Option<i64>> = items
            .iter()
            .map(|item| self.integer(item, what).map(|v| v.node))
            .collect();
        let values: Option<Vec<i64>> = values.into_iter().collect();
        Some(Spanned::new(values?, node.span))
    }

    pub(crate) fn count_list(
        &mut self,
        node: &Node,
        what: &str,
        positive: bool,
    ) -> Option<Spanned<Vec<u64>>> {
        let expected = if positive {
            "a list of positive integers"
        } else {
            "a list of non-negative integers"
        };
        let items = self.items(node, what, expected)?;
        let values: Vec<Option<u64>> = items
            .iter()
            .map(|item| self.count(item, what, positive).map(|v| v.node))
            .collect();
        let values: Option<Vec<u64>> = values.into_iter().collect();
        Some(Spanned::new(values?, node.span))
    }

    pub(crate) fn boolean(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        self.parsed(
            node,
            what,
            "true or false",
            parse_bool,
            diagnostics::not_a_bool,
        )
    }

    pub(crate) fn dtype(&mut self, node: &Node, what: &str) -> Option<Spanned<DType>> {
        let parse = |text: &str| DType::from_plan_name(text.trim());
        let refused = |_: &str, text: &str, span| diagnostics::unknown_dtype(text, span);
        self.parsed(node, what, "a dtype name", parse, refused)
    }

    /// One of a fixed set of words (compared case-sensitively, as BrainSurgery does).
    pub(crate) fn choice<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<Spanned<T>> {
        let parse = |text: &str| {
            let text = text.trim();
            choices
                .iter()
                .find(|(name, _)| *name == text)
                .map(|(_, value)| *value)
        };
        let refused = |what: &str, text: &str, span| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            diagnostics::unknown_choice(what, text, span, &names)
        };
        self.parsed(node, what, "a word", parse, refused)
    }

    pub(crate) fn shard_size(&mut self, node: &Node, what: &str) -> Option<Spanned<ShardSize>> {
        let text = self.scalar_for(node, what, "a size such as `5GB`")?;
        match parse_size(text) {
            Ok(size) => Some(Spanned::new(size, node.span)),
            Err(SizeError::Malformed) => {
                self.error(diagnostics::bad_size(text, node.span));
                None
            }
            Err(SizeError::Overflow) => {
                self.error(diagnostics::size_overflow(text, node.span));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_accept_numeric_strings_and_yaml_specials() {
        assert_eq!(parse_float("1.5"), Some(1.5));
        assert_eq!(parse_float(" -2 "), Some(-2.0));
        assert_eq!(parse_float("1e-3"), Some(1e-3));
        assert_eq!(parse_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_float(".inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-.Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_float(".nan").unwrap().is_nan());
        assert_eq!(parse_float("abc"), None);
        assert_eq!(parse_float("1__0"), None);
        assert_eq!(parse_float(""), None);
    }

    #[test]
    fn integers_accept_yaml_forms() {
        assert_eq!(parse_int("16"), Some(16));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("0o17"), Some(15));
        assert_eq!(parse_int("1_024"), Some(1024));
        assert_eq!(parse_int("2.0"), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn booleans_accept_yaml_1_1_spellings() {
        for yes in ["true", "True", "YES", "on", "T"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["false", "No", "OFF", "f"] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(
            parse_size("5GB"),
            Ok(ShardSize::Bytes {
                bytes: 5 << 30,
                text: "5GB".into()
            })
        );
        assert_eq!(
            parse_size("100mb"),
            Ok(ShardSize::Bytes {
                bytes: 104_857_600,
                text: "100mb".into()
            })
        );
        assert_eq!(parse_size("None"), Ok(ShardSize::None));
        assert_eq!(parse_size("1.5GB"), Err(SizeError::Malformed));
        assert_eq!(parse_size("5 GB"), Err(SizeError::Malformed));
        assert_eq!(parse_size("GB"), Err(SizeError::Malformed));
        assert_eq!(parse_size("1024"), Err(SizeError::Malformed));
        assert_eq!(parse_size("5GiB"), Err(SizeError::Malformed));
        assert_eq!(parse_size("99999999999TB"), Err(SizeError::Overflow));
    }
}
