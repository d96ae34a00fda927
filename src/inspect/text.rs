//! Plain-text building blocks for the inspect views: aligned columns and number formats.
//!
//! Everything here is a pure function from values to strings with no dependence on the terminal,
//! the locale or the machine, so golden files are stable. Columns are separated by two spaces,
//! padded to the widest cell (counted in characters), and lines carry no trailing spaces.

use std::fmt::Write;

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Lays out a header and rows as aligned columns, one line each, ending with a newline.
/// `align` gives each column's alignment; missing entries are left-aligned.
pub fn columns(header: &[&str], rows: &[Vec<String>], align: &[Align]) -> String {
    let width_of = |text: &str| text.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width_of(h)).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if index == widths.len() {
                widths.push(0);
            }
            widths[index] = widths[index].max(width_of(cell));
        }
    }
    let header_row: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            let padding = widths[index] - width_of(cell);
            match align.get(index).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', padding));
                }
                Align::Right => {
                    line.extend(std::iter::repeat_n(' ', padding));
                    line.push_str(cell);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// An integer with thousands separators: `124439808` → `124,439,808`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A byte count in binary units with one decimal (`9.4 KiB`); plain bytes below 1 KiB.
pub fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A real number with six significant digits, like C's `%.6g`: fixed notation for exponents from
/// −4 to 5, scientific (`1.5e-07`, `3.40282e+38`) outside, trailing zeros removed.
pub fn general(value: f64) -> String {
    const SIGNIFICANT: usize = 6;
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    // Rounding to six digits first decides the exponent (9.999999 becomes 1e1, not 9.99999e0).
    let scientific = format!("{value:.*e}", SIGNIFICANT - 1);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .and_then(|(m, e)| Some((m, e.parse::<i32>().ok()?)))
        .unwrap_or((scientific.as_str(), 0));
    if (-4..SIGNIFICANT as i32).contains(&exponent) {
        let decimals = (SIGNIFICANT as i32 - 1 - exponent).max(0) as usize;
        trim_fraction(&format!("{value:.decimals$}")).to_string()
    } else {
        let mut out = trim_fraction(mantissa).to_string();
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.abs());
        out
    }
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_trim() {
        let rows = vec![
            vec!["a".to_string(), "1".to_string(), "x".to_string()],
            vec!["long".to_string(), "1000".to_string(), String::new()],
        ];
        let text = columns(&["n", "v", "s"], &rows, &[Align::Left, Align::Right]);
        assert_eq!(text, "n        v  s\na        1  x\nlong  1000\n");
    }

    #[test]
    fn grouping_inserts_separators_every_three_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(124439808), "124,439,808");
    }

    #[test]
    fn binary_sizes() {
        assert_eq!(binary_size(1023), "1023 B");
        assert_eq!(binary_size(9600), "9.4 KiB");
        assert_eq!(binary_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn general_matches_printf_g() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (9.9999996, "10"),
            (0.0123456789, "0.0123457"),
            (f64::from(f32::MAX), "3.40282e+38"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(general(value), expected, "{value:e}");
        }
    }
}
