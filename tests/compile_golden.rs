//! Golden files for what users read from the compiler: `graph` output (DOT and JSON) for every
//! plan in `tests/golden/graph/`, and `check` output (exit code, rendered diagnostics, summary)
//! for every plan in `tests/golden/check/`. Run with `BLESS=1` to rewrite the expected files
//! after an intended change, then review the diff.

use std::path::{Path, PathBuf};

use brainsurgery::cli::check::{check, CheckArgs, CheckpointHeaders, Rendering};
use brainsurgery::cli::graph::{graph, GraphArgs, GraphFormat};

fn plans(directory: &str) -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|_| panic!("{directory} exists"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    plans.sort();
    plans
}

/// Compares `actual` with the golden file (or rewrites it under `BLESS=1`); returns a mismatch
/// message.
fn golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, actual).expect("golden file is writable");
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{} differs (BLESS=1 to update):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )
    })
}

/// Whether the plan asks for extra `graph` flags: a first comment line `# graph: --all` etc.
fn flags(plan: &Path) -> (bool, bool) {
    let text = std::fs::read_to_string(plan).unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    (first.contains("--all"), first.contains("--optimized"))
}

#[test]
fn graph_output_matches_the_golden_files() {
    let plans = plans("tests/golden/graph");
    assert!(plans.len() >= 5, "only {} graph golden plans", plans.len());
    let headers = CheckpointHeaders::new();
    let mut mismatches = Vec::new();
    for plan in &plans {
        let (all, optimized) = flags(plan);
        for (format, extension) in [(GraphFormat::Dot, "dot"), (GraphFormat::Json, "json")] {
            let args = GraphArgs {
                items: vec![plan.display().to_string()],
                optimized,
                format,
                all,
            };
            let report = graph(&args, &headers, true);
            assert_eq!(report.exit_code, 0, "{}: {}", plan.display(), report.stderr);
            mismatches.extend(golden(&plan.with_extension(extension), &report.stdout));
        }
    }
    assert_eq!(headers.read_stats().tensors, 0);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn check_output_matches_the_golden_files() {
    let plans = plans("tests/golden/check");
    assert!(!plans.is_empty());
    let headers = CheckpointHeaders::new();
    let mut mismatches = Vec::new();
    for plan in &plans {
        let text = std::fs::read_to_string(plan).unwrap_or_default();
        // A first comment line `# check: --memory-budget 1KB` passes a budget.
        let budget = text
            .lines()
            .next()
            .and_then(|line| line.split("--memory-budget ").nth(1))
            .map(|size| size.trim().to_string());
        let args = CheckArgs {
            items: vec![plan.display().to_string()],
            memory_budget: budget,
        };
        let report = check(&args, &headers, Rendering::Plain);
        let actual = format!(
            "exit: {}\n--- stderr\n{}--- stdout\n{}",
            report.exit_code, report.stderr, report.stdout
        );
        mismatches.extend(golden(&plan.with_extension("check"), &actual));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn check_reads_no_tensor_bytes() {
    // A plan with value assertions, a value dump and arithmetic: everything is decided or
    // deferred from headers alone.
    let args = CheckArgs {
        items: vec!["tests/golden/check/valid_plan.yaml".to_string()],
        memory_budget: None,
    };
    let headers = CheckpointHeaders::new();
    let report = check(&args, &headers, Rendering::Plain);
    assert_eq!(report.exit_code, 0, "{}", report.stderr);
    assert_eq!(headers.opened(), 1);
    let stats = headers.read_stats();
    assert_eq!((stats.tensors, stats.bytes), (0, 0));
}
