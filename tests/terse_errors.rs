//! Terse syntax errors: every bad line of a file is reported (also inside blocks), in file
//! order, at the right line and column, in the user's words — never a grammar rule's name.

mod terse_support;

use brainsurgery::diagnostics::{line_col, SourceMap};
use brainsurgery::plan::terse::parse_terse;

/// The diagnostics of `text` as (code, line, column, message).
fn errors(text: &str) -> Vec<(&'static str, usize, usize, String)> {
    let mut sources = SourceMap::new();
    let id = sources.add("bad.bs", text);
    let errors = parse_terse(&mut sources, id).expect_err("the plan is malformed");
    errors
        .into_iter()
        .map(|error| {
            let span = error.primary_span().expect("a label");
            let (line, column) = line_col(text, span.start as usize);
            (error.code, line, column, error.message)
        })
        .collect()
}

#[test]
fn every_bad_line_is_reported_in_file_order() {
    let found = errors(
        "input \"m\"\nx = a * 0.5 + b\nmove a b\nexecute {\n  y = clamp(a)\n  z = zeros([2])\n}\nc = a as f17\n",
    );
    let positions: Vec<(&str, usize, usize)> = found
        .iter()
        .map(|(code, line, column, _)| (*code, *line, *column))
        .collect();
    assert_eq!(
        positions,
        [
            ("E0302", 2, 5),
            ("E0301", 3, 8),
            ("E0119", 5, 7),
            ("E0301", 6, 7),
            ("E0106", 8, 10),
        ]
    );
}

#[test]
fn a_broken_block_opener_still_matches_its_close() {
    // The opener is misspelled; its `}` must not be reported as unexpected.
    let found = errors("input \"m\"\nexecute plan x {\n  x = y\n}\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, 2);
}

/// Rule names of `grammar/plan.pest` that could not be mistaken for English (they hold a `_`).
fn rule_names() -> Vec<String> {
    let grammar = std::fs::read_to_string("grammar/plan.pest").expect("the grammar exists");
    grammar
        .lines()
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let rest = line[name.len()..].trim_start();
            (rest.starts_with('=') && name.contains('_')).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn syntax_errors_never_name_grammar_rules() {
    let names = rule_names();
    assert!(names.len() > 100, "found {} rule names", names.len());
    let lines = [
        "x = ",
        "x += ",
        "x y",
        "del",
        "move a",
        "move a ->",
        "x = clamp(a, min=)",
        "x = clamp(a min=1)",
        "x = reshape(a, [2, 3)",
        "a, b = split(x [1, 2])",
        "x = a::[1:2, b]",
        "y = a::b::c",
        "assert",
        "assert shape(x) == [1, a]",
        "assert dimensions(x) >=",
        "execute",
        "output \"x\" shard=2GB format",
        "output \"x\" foo=3",
        "set dry-run=yes",
        "help assert equal extra",
        "dump x format",
        "load \"x\" to=",
        "x = \"abc",
        "x = /abc",
        "x = fill(a, )",
        "x = rand([2], seed=)",
        "prefixes rename a b",
        "?? what",
        "x = a @",
        "x = [h, ",
        "cast_(x)",
        "phlora_(x, 3)",
        "input base =",
        "x = a as",
    ];
    for line in lines {
        for (_, _, _, message) in errors(&format!("input \"m\"\n{line}\n")) {
            for name in &names {
                assert!(
                    !message.contains(name.as_str()),
                    "`{line}`: the message names rule `{name}`: {message}"
                );
            }
        }
    }
}
