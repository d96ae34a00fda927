//! `docs/ops.md` documents every op, and its examples are right: each op name of the AST has a
//! section, and in each section of an op the AST has, the YAML example and the terse example parse
//! to the same steps. (A section may be written before its op lands; it is checked from then on.)

mod terse_support;

use brainsurgery::plan::ast::OP_NAMES;
use terse_support::{parse_terse_text, parse_yaml_text};

/// The `### …` sections: their heading (op names separated by commas) and their text.
fn sections() -> Vec<(Vec<String>, String)> {
    let text = std::fs::read_to_string("docs/ops.md").expect("docs/ops.md exists");
    text.split("\n### ")
        .skip(1)
        .map(|section| {
            let (heading, body) = section.split_once('\n').expect("a section body");
            let names = heading.split(", ").map(str::to_string).collect();
            (names, body.to_string())
        })
        .collect()
}

/// The fenced blocks of a section, with their language tag.
fn blocks(body: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        if let Some(tag) = line.strip_prefix("```") {
            let content: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            found.push((tag.to_string(), content.join("\n")));
        }
    }
    found
}

#[test]
fn every_op_has_a_section() {
    let documented: Vec<String> = sections()
        .into_iter()
        .flat_map(|(names, _)| names)
        .collect();
    for op in OP_NAMES {
        assert!(
            documented.iter().any(|name| name == op),
            "docs/ops.md lacks `{op}`"
        );
    }
}

/// Each section shows its example in both syntaxes; when it shows several, the n-th YAML block
/// pairs with the n-th terse block.
#[test]
fn each_section_shows_its_examples_in_both_syntaxes() {
    let mut checked = 0;
    for (names, body) in sections() {
        if !names.iter().all(|name| OP_NAMES.contains(&name.as_str())) {
            continue;
        }
        let blocks = blocks(&body);
        let yaml: Vec<&String> = blocks
            .iter()
            .filter(|(tag, _)| tag == "yaml")
            .map(|(_, text)| text)
            .collect();
        let terse: Vec<&String> = blocks
            .iter()
            .filter(|(tag, _)| tag.is_empty())
            .map(|(_, text)| text)
            .collect();
        assert!(
            !yaml.is_empty() && yaml.len() == terse.len(),
            "section {names:?} needs as many yaml blocks as terse blocks, at least one"
        );
        for (yaml, terse) in yaml.into_iter().zip(terse) {
            let indented: String = yaml.lines().map(|line| format!("  {line}\n")).collect();
            let from_yaml = parse_yaml_text(&format!("inputs: [m]\ntransforms:\n{indented}"))
                .unwrap_or_else(|errors| panic!("{names:?} YAML:\n{yaml}\n{errors}"));
            let from_terse = parse_terse_text(&format!("input \"m\"\n{terse}\n"))
                .unwrap_or_else(|errors| panic!("{names:?} terse:\n{terse}\n{errors}"));
            assert_eq!(from_yaml.steps, from_terse.steps, "{names:?}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} examples checked");
}
