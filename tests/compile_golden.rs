//! Golden files for what users read from the compiler: `graph` output (DOT and JSON) for every
//! plan in `tests/golden/graph/`, and `check` output (exit code, rendered diagnostics, summary)
//! for every plan in `tests/golden/check/`. Run with `BLESS=1` to rewrite the expected files
//! after an intended change, then review the diff.

mod golden_support;

use std::path::Path;

use brainsurgery::cli::check::{check, CheckArgs, CheckpointHeaders, Rendering};
use brainsurgery::cli::graph::{graph, GraphArgs, GraphFormat};
use golden_support::{golden, yaml_files};

/// Whether the plan asks for extra `graph` flags: a first comment line `# graph: --all` etc.
fn flags(plan: &Path) -> (bool, bool) {
    let text = std::fs::read_to_string(plan).unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    (first.contains("--all"), first.contains("--optimized"))
}

#[test]
fn graph_output_matches_the_golden_files() {
    let plans = yaml_files("tests/golden/graph");
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
    let plans = yaml_files("tests/golden/check");
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
