//! The optimizer on whole plans: golden text and DOT of the optimized graph for every plan in
//! `tests/golden/optimize/` (`BLESS=1` rewrites them after an intended change; review the diff),
//! and, over every plan of the repository that compiles (golden, conformance, `tests/plans`), the
//! promises that do not depend on one plan: the optimized graph is valid, it writes exactly the
//! same tensors (outputs, names, types) and keeps the same sinks, and optimizing again changes
//! nothing. No tensor byte is read.

mod golden_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::cli::check::{compile_files, CheckpointHeaders, CompiledFiles};
use brainsurgery::cli::graph::{graph, GraphArgs, GraphFormat};
use brainsurgery::diagnostics::Severity;
use brainsurgery::graph::{NodeKind, PlanGraph};
use brainsurgery::optimize::{optimize, Options, Report};
use golden_support::{golden, yaml_files};

/// The graph of a plan that compiles without errors, or `None`.
fn compiled(plan: &Path, headers: &CheckpointHeaders) -> Option<PlanGraph> {
    let CompiledFiles {
        compilation,
        diagnostics,
        ..
    } = compile_files(&[plan.display().to_string()], headers);
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    compilation.filter(|_| !failed).map(|c| c.graph)
}

fn report_line(report: &Report) -> String {
    let passes: Vec<String> = report
        .rewrites
        .iter()
        .map(|(pass, count)| format!("{pass}={count}"))
        .collect();
    format!(
        "# rewrites: {} rounds={}\n",
        passes.join(" "),
        report.rounds
    )
}

#[test]
fn optimized_graphs_match_the_golden_files() {
    let plans = yaml_files("tests/golden/optimize");
    assert!(
        plans.len() >= 3,
        "only {} optimize golden plans",
        plans.len()
    );
    let headers = CheckpointHeaders::new();
    let mut mismatches = Vec::new();
    for plan in &plans {
        let mut graph =
            compiled(plan, &headers).unwrap_or_else(|| panic!("{} compiles", plan.display()));
        let options = Options {
            validate: true,
            ..Options::default()
        };
        let report = optimize(&mut graph, &options)
            .unwrap_or_else(|error| panic!("{}: {error}", plan.display()));
        let text = format!("{}{}", report_line(&report), graph.to_text());
        mismatches.extend(golden(&plan.with_extension("txt"), &text));
        let args = GraphArgs {
            items: vec![plan.display().to_string()],
            optimized: true,
            format: GraphFormat::Dot,
            all: false,
        };
        let dot = graph_report(&args, &headers);
        mismatches.extend(golden(&plan.with_extension("dot"), &dot));
    }
    assert_eq!(headers.read_stats().tensors, 0);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn graph_report(args: &GraphArgs, headers: &CheckpointHeaders) -> String {
    let report = graph(args, headers, true);
    assert_eq!(report.exit_code, 0, "{}", report.stderr);
    report.stdout
}

/// What a graph writes and checks: every store as (output, name) → type, and the sinks' ops.
fn effects(graph: &PlanGraph) -> (BTreeMap<(usize, String), String>, Vec<&'static str>) {
    let mut stores = BTreeMap::new();
    let mut sinks = Vec::new();
    for id in graph.node_ids() {
        let Some(node) = graph.node(id) else {
            continue;
        };
        match &node.kind {
            NodeKind::Store(store) => {
                let ty = node
                    .ty
                    .as_ref()
                    .map(|ty| ty.to_string())
                    .unwrap_or_default();
                stores.insert((store.output.index(), store.name.clone()), ty);
            }
            NodeKind::Sink(sink) => sinks.push(sink.name()),
            _ => {}
        }
    }
    (stores, sinks)
}

#[test]
fn every_plan_keeps_its_outputs_and_reaches_a_fixed_point() {
    let directories = [
        "tests/golden/optimize",
        "tests/golden/graph",
        "tests/golden/check",
        "tests/conformance",
        "tests/plans",
    ];
    let headers = CheckpointHeaders::new();
    let mut optimized = 0;
    let mut fused = 0;
    for directory in directories {
        for plan in yaml_files(directory) {
            let Some(mut graph) = compiled(&plan, &headers) else {
                continue;
            };
            let before = effects(&graph);
            let options = Options {
                validate: true,
                ..Options::default()
            };
            let report = optimize(&mut graph, &options)
                .unwrap_or_else(|error| panic!("{}: {error}", plan.display()));
            assert!(!report.stopped_early);
            assert_eq!(effects(&graph), before, "{}", plan.display());
            let again = optimize(&mut graph, &options).expect("optimizes again");
            assert_eq!(again.total(), 0, "{} is not a fixed point", plan.display());
            optimized += 1;
            fused += report.of("fusion");
        }
    }
    // The sweep must cover many plans, with fusion among them.
    assert!(optimized >= 30, "only {optimized} plans compiled");
    assert!(fused > 0);
    assert_eq!(headers.read_stats().tensors, 0);
}
