//! The golden runner for plan diagnostics, shared by both syntaxes.
//!
//! Every `tests/ui/<name>.yaml` and `tests/ui/<name>.bs` is a malformed plan. The runner loads it
//! through `load_plan` (with the overrides listed one per line in `<name>.overrides`, when that file
//! exists), renders every diagnostic with `render_all_plain`, and compares the text with
//! `<name>.stderr` beside it. `BLESS=1 cargo test --test ui` rewrites the expected files instead.
//! All mismatches are reported together, each with the expected and actual text.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::yaml::load_plan;
use std::path::{Path, PathBuf};

const DIRECTORY: &str = "tests/ui";

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(DIRECTORY)
        .expect("tests/ui exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml" || extension == "bs")
        })
        // Relative paths keep the file names in the rendered text independent of the checkout.
        .map(|path| Path::new(DIRECTORY).join(path.file_name().expect("a file name")))
        .collect();
    cases.sort();
    cases
}

fn overrides(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.with_extension("overrides"))
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The rendered diagnostics of one case, or a note that it unexpectedly parsed.
fn render(case: &Path) -> String {
    let mut sources = SourceMap::new();
    match load_plan(&[case], &overrides(case), &mut sources) {
        Ok(_) => "(the plan parsed without diagnostics)\n".to_string(),
        Err(diagnostics) => render_all_plain(&diagnostics, &sources),
    }
}

#[test]
fn ui() {
    let bless = std::env::var_os("BLESS").is_some_and(|value| value == "1");
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in {DIRECTORY}");
    let mut stems = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let expected_path = case.with_extension("stderr");
        if let Some(other) = stems.insert(expected_path.clone(), case.clone()) {
            failures.push(format!(
                "{} and {} would share {}; rename one",
                other.display(),
                case.display(),
                expected_path.display()
            ));
            continue;
        }
        let actual = render(case);
        if bless {
            std::fs::write(&expected_path, &actual).expect("writable expected file");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual.starts_with("(the plan parsed") {
            failures.push(format!(
                "{}: a ui case must be a malformed plan",
                case.display()
            ));
        } else if expected != actual {
            failures.push(format!(
                "{}: rendered diagnostics differ from {}\n--- expected\n{expected}--- actual\n{actual}",
                case.display(),
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ui cases failed (BLESS=1 rewrites the expected files):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
