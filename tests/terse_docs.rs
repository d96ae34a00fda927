//! The terse examples of `docs/language.md` parse, and the table of ops there agrees with YAML:
//! every code block without a language tag (except the grammar summary) is a terse plan, and
//! every row of the "Every op, terse and YAML" table lowers to the same step in both syntaxes.

mod terse_support;

use terse_support::{parse_terse_text, parse_yaml_text};

fn documentation() -> String {
    std::fs::read_to_string("docs/language.md").expect("docs/language.md exists")
}

/// The untagged fenced code blocks.
fn terse_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.starts_with("```")) {
            (None, true) => {
                current = (line.trim() == "```").then(String::new);
                if current.is_none() {
                    // A tagged block: skip it by remembering a marker.
                    current = Some("\u{0}".to_string());
                }
            }
            (Some(block), true) => {
                if !block.starts_with('\u{0}') && !block.starts_with("line ") {
                    blocks.push(block.clone());
                }
                current = None;
            }
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// Prepends an input when the example has none, so unqualified references have an alias.
fn as_plan(block: &str) -> String {
    if block.lines().any(|line| line.starts_with("input ")) {
        block.to_string()
    } else {
        format!("input \"model.safetensors\"\n{block}")
    }
}

#[test]
fn every_terse_example_parses() {
    let blocks = terse_blocks(&documentation());
    assert!(blocks.len() >= 4, "found {} blocks", blocks.len());
    for block in blocks {
        let plan = as_plan(&block);
        if let Err(errors) = parse_terse_text(&plan) {
            panic!("documented example does not parse:\n{plan}\n{errors}");
        }
    }
}

/// The cells of a table row, with their backticks removed.
fn code_cells(row: &str) -> Vec<String> {
    row.split(" | ")
        .map(|cell| cell.trim().trim_matches('|').trim().to_string())
        .collect()
}

#[test]
fn the_op_table_agrees_with_yaml() {
    let text = documentation();
    let table = text
        .split("## Every op, terse and YAML")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").find(|chunk| chunk.starts_with("| Op |")))
        .expect("the op table");
    let mut checked = 0;
    for row in table.lines().skip(2) {
        let cells = code_cells(row);
        let (Some(terse), Some(yaml)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        // Compare the first example of each cell, when both are single statements.
        let first = |cell: &str| -> Option<String> {
            let start = cell.find('`')? + 1;
            let end = start + cell[start..].find('`')?;
            Some(cell[start..end].to_string())
        };
        let (Some(terse), Some(yaml)) = (first(terse), first(yaml)) else {
            continue;
        };
        if terse.ends_with('{') || yaml.contains('…') {
            continue;
        }
        let from_terse = parse_terse_text(&format!("input \"m\"\n{terse}\n"))
            .unwrap_or_else(|errors| panic!("{terse}\n{errors}"));
        let from_yaml = parse_yaml_text(&format!("inputs: [m]\ntransforms:\n  - {yaml}\n"))
            .unwrap_or_else(|errors| panic!("{yaml}\n{errors}"));
        assert_eq!(from_terse.steps, from_yaml.steps, "{terse}  vs  {yaml}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} rows checked");
}
