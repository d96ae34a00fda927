//! `brainsurgery fmt`: converts a plan between YAML and the terse syntax, through the real binary.

mod terse_support;

use brainsurgery::cli::fmt::{format, Syntax};
use brainsurgery::diagnostics::SourceMap;
use std::path::Path;
use std::process::{Command, Output};
use terse_support::{parse_terse_text, parse_yaml_text};

fn brainsurgery(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .args(arguments)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn yaml_goes_to_terse_and_back_to_the_same_plan() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let original = parse_yaml_text(&std::fs::read_to_string("tests/plans/gpt2.yaml").unwrap())
        .expect("the example parses");

    let to_terse = brainsurgery(&["fmt", "tests/plans/gpt2.yaml"]);
    assert_eq!(
        to_terse.status.code(),
        Some(0),
        "{}",
        text(&to_terse.stderr)
    );
    let terse = text(&to_terse.stdout);
    assert!(terse.contains("move ^h(.*) -> i\\1\n"), "{terse}");
    // The file's header comment comes along, at the top.
    let header = "# BrainSurgery's GPT-2 example (reference §7.1): a round trip whose net effect is the identity.\n";
    assert!(terse.starts_with(header), "{terse}");
    assert_eq!(
        parse_terse_text(&terse).expect("terse output parses"),
        original
    );

    let terse_path = directory.path().join("gpt2.bs");
    std::fs::write(&terse_path, &terse).unwrap();
    let to_yaml = brainsurgery(&["fmt", terse_path.to_str().unwrap()]);
    assert_eq!(to_yaml.status.code(), Some(0), "{}", text(&to_yaml.stderr));
    let yaml = text(&to_yaml.stdout);
    assert!(yaml.starts_with(&format!("{header}inputs:\n")), "{yaml}");
    assert_eq!(
        parse_yaml_text(&yaml).expect("YAML output parses"),
        original
    );
}

#[test]
fn to_chooses_the_syntax_and_overrides_apply_to_yaml_plans() {
    let mut sources = SourceMap::new();
    let items = vec![
        "tests/plans/gpt2.yaml".to_string(),
        "transforms[0].copy.to=backup.weight".to_string(),
    ];
    let terse = format(&items, Some(Syntax::Terse), &mut sources).expect("formats");
    assert!(terse.contains("backup.weight = ln_f.weight\n"), "{terse}");
    let yaml = format(&items, Some(Syntax::Yaml), &mut sources).expect("formats");
    assert!(
        yaml.contains("- copy: {from: ln_f.weight, to: backup.weight}"),
        "{yaml}"
    );
}

#[test]
fn a_malformed_plan_prints_diagnostics_and_exits_with_1() {
    let case = Path::new("tests/ui/terse_unknown_function.bs");
    let output = brainsurgery(&["fmt", case.to_str().unwrap(), "--to", "yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[E0301]"), "{stderr}");
    assert!(
        stderr.contains("tests/ui/terse_unknown_function.bs:3:5"),
        "{stderr}"
    );
}

#[test]
fn a_usage_error_exits_with_2() {
    let output = brainsurgery(&["fmt", "tests/plans/gpt2.yaml", "--to", "json"]);
    assert_eq!(output.status.code(), Some(2));
}
