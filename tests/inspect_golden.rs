//! Golden tests of `brainsurgery inspect` on the bundled example checkpoint: the built binary's
//! stdout for each view must equal the file under `tests/golden/inspect/`. Run with `BLESS=1` to
//! rewrite the files after an intended change, then review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = "examples/models/gpt2-tiny/model.safetensors";

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `brainsurgery inspect` from the crate root so that printed paths are relative.
fn inspect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .arg("inspect")
        .args(args)
        .current_dir(crate_root())
        .output()
        .expect("the binary runs")
}

fn stdout_of(args: &[&str]) -> String {
    let output = inspect(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "inspect {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

fn golden_path(name: &str) -> PathBuf {
    crate_root().join("tests/golden/inspect").join(name)
}

/// Compares with the golden file, or rewrites it when `BLESS=1`.
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(crate_root().join("tests/golden/inspect")).expect("create dir");
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error} (run with BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output, first at line {}:\nexpected: {:?}\n  actual: {:?}\n\
             (run with BLESS=1 to accept the new output)",
            path.display(),
            first_difference + 1,
            expected.lines().nth(first_difference),
            actual.lines().nth(first_difference),
        );
    }
}

#[test]
fn table() {
    check_golden("table.txt", &stdout_of(&[EXAMPLE]));
}

#[test]
fn tree() {
    check_golden("tree.txt", &stdout_of(&[EXAMPLE, "--tree"]));
}

#[test]
fn stats() {
    check_golden("stats.txt", &stdout_of(&[EXAMPLE, "--stats"]));
}

#[test]
fn json() {
    check_golden("table.json", &stdout_of(&[EXAMPLE, "--json"]));
}

#[test]
fn json_stats() {
    check_golden("stats.json", &stdout_of(&[EXAMPLE, "--json", "--stats"]));
}

#[test]
fn json_tree() {
    check_golden("tree.json", &stdout_of(&[EXAMPLE, "--tree", "--json"]));
}

#[test]
fn a_directory_reads_like_its_single_file() {
    let from_directory = stdout_of(&["examples/models/gpt2-tiny"]);
    assert_eq!(from_directory, stdout_of(&[EXAMPLE]));
}

#[test]
fn json_output_parses_and_agrees_with_the_table() {
    let document: serde_json::Value =
        serde_json::from_str(&stdout_of(&[EXAMPLE, "--json", "--stats"])).expect("valid JSON");
    let tensors = document["tensors"].as_array().expect("a tensor list");
    assert_eq!(tensors.len(), 28);
    assert_eq!(document["totals"]["parameters"], 2400);
    let wte = tensors
        .iter()
        .find(|t| t["name"] == "wte.weight")
        .expect("wte.weight is listed");
    assert_eq!(wte["shape"], serde_json::json!([64, 8]));
    assert_eq!(wte["stats"]["elements"], 512);
    let max = wte["stats"]["max"].as_f64().expect("a number");
    assert!(max > 0.0 && max <= 0.1);
}

#[test]
fn a_missing_checkpoint_is_an_io_error() {
    let output = inspect(&["examples/models/no-such-model.safetensors"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error["), "{stderr}");
    assert!(stderr.contains("no-such-model.safetensors"), "{stderr}");
}

#[test]
fn tree_and_stats_together_are_a_usage_error() {
    let output = inspect(&[EXAMPLE, "--tree", "--stats"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
