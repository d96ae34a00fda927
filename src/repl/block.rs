//! When an entry continues on the next line.
//!
//! Receives the lines of an entry read so far and says whether to read another: while a bracket
//! `(`, `[` or `{` is open (outside quotes and comments), and, for an entry whose first line ends
//! with `:` (a YAML block such as `- copy:`), until an empty line ends it — the prompt cannot
//! know that an indented line is the last one. Commands (`:show …`) are always one line.

/// Whether the entry made of `lines` needs another line.
pub fn needs_more(lines: &[String]) -> bool {
    let Some(first) = lines.first() else {
        return false;
    };
    if first.trim_start().starts_with(':') {
        return false;
    }
    if open_brackets(lines) > 0 {
        return true;
    }
    let last = lines.last().map_or("", |line| line.as_str());
    if ends_with_colon(first) {
        return !last.trim().is_empty();
    }
    ends_with_colon(last)
}

fn ends_with_colon(line: &str) -> bool {
    let code = without_comment(line).trim_end();
    code.ends_with(':') && !code.ends_with("::")
}

/// The line up to a comment: `#` at its start or after whitespace, outside quotes.
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (index, character) in line.char_indices() {
        match (quote, character) {
            (Some(open), c) if c == open && previous != '\\' => quote = None,
            (None, '"' | '\'') => quote = Some(character),
            (None, '#') if previous.is_whitespace() => return &line[..index],
            _ => {}
        }
        previous = if previous == '\\' && character == '\\' {
            ' '
        } else {
            character
        };
    }
    line
}

/// Open brackets minus closed ones over all lines (quotes end at the end of their line).
fn open_brackets(lines: &[String]) -> i64 {
    let mut depth = 0i64;
    for line in lines {
        let mut quote = None;
        let mut escaped = false;
        for character in without_comment(line).chars() {
            if escaped {
                escaped = false;
                continue;
            }
            match (quote, character) {
                (_, '\\') => escaped = true,
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(character),
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') => depth -= 1,
                _ => {}
            }
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn more(lines: &[&str]) -> bool {
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        needs_more(&lines)
    }

    #[test]
    fn single_lines_are_complete() {
        assert!(!more(&["x = a * 0.5"]));
        assert!(!more(&["copy: {from: a, to: b}"]));
        assert!(!more(&["copy: from: a, to: b"]));
        assert!(!more(&["base::x = base::y"]));
        assert!(!more(&[":show h.0.*"]));
        assert!(!more(&[
            "x = reshape(a, [2, -1])  # comment with ( bracket"
        ]));
        assert!(!more(&[r"del /a\(b/"]));
        assert!(!more(&["load \"a(b.safetensors\""]));
    }

    #[test]
    fn open_brackets_continue_until_closed() {
        assert!(more(&["copy: {from: a,"]));
        assert!(!more(&["copy: {from: a,", "  to: b}"]));
        assert!(more(&["execute {", "  x = a"]));
        assert!(!more(&["execute {", "  x = a", "}"]));
    }

    #[test]
    fn a_yaml_block_continues_until_an_empty_line() {
        assert!(more(&["- copy:"]));
        assert!(more(&["- copy:", "    from: a", "    to: b"]));
        assert!(!more(&["- copy:", "    from: a", "    to: b", ""]));
        assert!(more(&["copy: {from: a, to: b}", "x:"]));
    }
}
