//! Byte-size strings as BrainSurgery spells them: `5GB`, `100mb`, `512 KB`, `none`.
//!
//! [`parse_size`] receives the text and returns `Some(bytes)`, or `None` for `none` (no sharding).
//! Units are `B`, `KB`, `MB`, `GB`, `TB`, case-insensitive and binary (1 KB = 1024 B), exactly as the
//! reference tool multiplies them; the number is a whole, positive integer (no decimals, no sign),
//! and a unit is required so that `5` cannot silently mean five bytes.

use super::IoError;

const UNITS: [(&str, u64); 5] = [
    ("b", 1),
    ("kb", 1 << 10),
    ("mb", 1 << 20),
    ("gb", 1 << 30),
    ("tb", 1 << 40),
];

/// Parses a size string; `Ok(None)` means "no limit" (`none`).
pub fn parse_size(text: &str) -> Result<Option<u64>, IoError> {
    let invalid = |problem: &str| IoError::InvalidSize {
        text: text.to_string(),
        problem: problem.to_string(),
    };
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(invalid("it must start with a whole number"));
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    if unit.starts_with(['.', ',']) {
        return Err(invalid("the number must be whole (no decimals)"));
    }
    if unit.is_empty() {
        return Err(invalid("it has no unit"));
    }
    let Some(&(_, multiplier)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(invalid(&format!("unknown unit `{unit}`")));
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| invalid("the number is too large"))?;
    if count == 0 {
        return Err(invalid("a size must be positive"));
    }
    count
        .checked_mul(multiplier)
        .map(Some)
        .ok_or_else(|| invalid("the size is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_binary_and_case_insensitive() {
        assert_eq!(parse_size("5GB").unwrap(), Some(5 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("100mb").unwrap(), Some(104_857_600));
        assert_eq!(parse_size("1Kb").unwrap(), Some(1024));
        assert_eq!(parse_size("7b").unwrap(), Some(7));
        assert_eq!(parse_size("2TB").unwrap(), Some(2 << 40));
        assert_eq!(parse_size(" 512 KB ").unwrap(), Some(512 * 1024));
    }

    #[test]
    fn none_means_no_sharding() {
        assert_eq!(parse_size("none").unwrap(), None);
        assert_eq!(parse_size("NONE").unwrap(), None);
    }

    #[test]
    fn malformed_sizes_are_refused_with_a_reason() {
        let problem = |text: &str| match parse_size(text) {
            Err(IoError::InvalidSize { problem, .. }) => problem,
            other => panic!("{text}: expected InvalidSize, got {other:?}"),
        };
        assert_eq!(problem("1.5GB"), "the number must be whole (no decimals)");
        assert_eq!(problem("GB"), "it must start with a whole number");
        assert_eq!(problem("-1GB"), "it must start with a whole number");
        assert_eq!(problem("100"), "it has no unit");
        assert_eq!(problem("5XB"), "unknown unit `xb`");
        assert_eq!(problem("0MB"), "a size must be positive");
        assert_eq!(problem("99999999999999999999B"), "the number is too large");
        assert_eq!(problem("99999999TB"), "the size is too large");
        assert_eq!(problem(""), "it must start with a whole number");
    }
}
