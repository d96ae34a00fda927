//! Conformance: every plan in `tests/conformance/*.yaml` is checked against the bundled GPT-2
//! example, and its outcome compared with the hand-written `*.expect` next to it.
//!
//! An expectation file lists, one per line (`#` starts a comment):
//! - `diagnostic CODE LINE:COLUMN` — the diagnostics, in order, with the position of their primary
//!   label (none listed: the plan must compile without any diagnostic);
//! - `output ALIAS` — the alias the output writes;
//! - `tensors N` — how many tensors the output holds;
//! - `tensor NAME DTYPE [DIMS]` — one output tensor and its type;
//! - `absent NAME` — a name the output must not hold;
//! - `sinks N` — how many value checks (assert, dump, diff sinks) are left for run time.
//!
//! The runner also proves that checking all of them read no tensor byte, and that the plans
//! together use every op and every assertion kind.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use brainsurgery::cli::check::{compile_files, CheckpointHeaders};
use brainsurgery::diagnostics::SourceMap;
use brainsurgery::graph::{NodeKind, PlanGraph};
use brainsurgery::plan::ast::{AssertExpr, Execute, Op, Step, ASSERT_NAMES, OP_NAMES};

fn plans() -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir("tests/conformance")
        .expect("tests/conformance exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    plans.sort();
    plans
}

/// What the compilation of one plan produced, in the expectation file's terms.
struct Outcome {
    diagnostics: Vec<String>,
    output_alias: Option<String>,
    tensors: Vec<(String, String)>,
    sinks: usize,
}

fn outcome(
    graph: &PlanGraph,
    diagnostics: &[brainsurgery::diagnostics::Diagnostic],
    sources: &SourceMap,
) -> Outcome {
    let diagnostics = diagnostics
        .iter()
        .map(|d| match d.primary_span() {
            Some(span) => {
                let (line, column) = sources.line_col(span.source, span.start as usize);
                format!("{} {line}:{column}", d.code)
            }
            None => format!("{} -", d.code),
        })
        .collect();
    let plan_output = graph
        .outputs()
        .iter()
        .position(|o| o.is_plan_output)
        .map(brainsurgery::graph::OutputId::from_index);
    let tensors = plan_output
        .map(|output| {
            graph
                .stores_of(output)
                .into_iter()
                .filter_map(|id| {
                    let node = graph.node(id)?;
                    match (&node.kind, &node.ty) {
                        (NodeKind::Store(store), Some(ty)) => {
                            Some((store.name.clone(), ty.to_string()))
                        }
                        _ => None,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        diagnostics,
        output_alias: plan_output
            .and_then(|o| graph.output(o))
            .map(|o| o.alias.clone()),
        tensors,
        sinks: graph
            .node_ids()
            .into_iter()
            .filter(|&id| graph.node(id).is_some_and(|n| n.kind.is_sink()))
            .count(),
    }
}

/// Compares one outcome with its expectation file; returns the mismatches.
fn compare(expect: &str, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expected_diagnostics = Vec::new();
    for line in expect.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        match keyword {
            "diagnostic" => expected_diagnostics.push(rest.to_string()),
            "output" => {
                if outcome.output_alias.as_deref() != Some(rest) {
                    problems.push(format!(
                        "output alias {:?}, expected {rest}",
                        outcome.output_alias
                    ));
                }
            }
            "tensors" => {
                if outcome.tensors.len().to_string() != rest {
                    problems.push(format!(
                        "{} output tensors, expected {rest}",
                        outcome.tensors.len()
                    ));
                }
            }
            "tensor" => {
                let (name, ty) = rest.split_once(' ').unwrap_or((rest, ""));
                match outcome.tensors.iter().find(|(n, _)| n == name) {
                    Some((_, actual)) if actual == ty => {}
                    Some((_, actual)) => {
                        problems.push(format!("`{name}` is {actual}, expected {ty}"))
                    }
                    None => problems.push(format!("`{name}` is not in the output")),
                }
            }
            "absent" => {
                if outcome.tensors.iter().any(|(n, _)| n == rest) {
                    problems.push(format!("`{rest}` is in the output"));
                }
            }
            "sinks" => {
                if outcome.sinks.to_string() != rest {
                    problems.push(format!("{} sinks, expected {rest}", outcome.sinks));
                }
            }
            other => problems.push(format!("unknown expectation `{other}`")),
        }
    }
    if expected_diagnostics != outcome.diagnostics {
        problems.push(format!(
            "diagnostics {:?}, expected {:?}",
            outcome.diagnostics, expected_diagnostics
        ));
    }
    problems
}

fn collect_names(
    steps: &[brainsurgery::plan::ast::Spanned<Step>],
    ops: &mut BTreeSet<String>,
    asserts: &mut BTreeSet<String>,
) {
    fn assertion(expression: &AssertExpr, asserts: &mut BTreeSet<String>) {
        asserts.insert(expression.name().to_string());
        match expression {
            AssertExpr::All(children) | AssertExpr::Any(children) => {
                children.iter().for_each(|c| assertion(c, asserts))
            }
            AssertExpr::Not(child) => assertion(child, asserts),
            _ => {}
        }
    }
    for step in steps {
        ops.insert(step.node.op.name().to_string());
        match &step.node.op {
            Op::Assert(expression) => assertion(expression, asserts),
            Op::Execute(Execute::Steps(nested)) => collect_names(nested, ops, asserts),
            _ => {}
        }
    }
}

fn relative(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn every_conformance_plan_has_its_expected_outcome_and_nothing_is_read() {
    let plans = plans();
    assert!(plans.len() >= 25, "only {} conformance plans", plans.len());
    let headers = CheckpointHeaders::new();
    let mut report = String::new();
    let mut ops = BTreeSet::new();
    let mut asserts = BTreeSet::new();
    for plan_path in &plans {
        let expect_path = plan_path.with_extension("expect");
        let expect = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|_| panic!("{} has no expectation file", relative(plan_path)));
        let compiled = compile_files(&[relative(plan_path)], &headers);
        let Some(compilation) = &compiled.compilation else {
            let _ = writeln!(
                report,
                "{}: the plan does not parse:\n{}",
                relative(plan_path),
                brainsurgery::diagnostics::render_all_plain(
                    &compiled.diagnostics,
                    &compiled.sources
                )
            );
            continue;
        };
        if let Some(plan) = &compiled.plan {
            collect_names(&plan.steps, &mut ops, &mut asserts);
        }
        assert!(
            compilation.graph.validate().is_empty(),
            "{}: the graph does not validate",
            relative(plan_path)
        );
        let outcome = outcome(&compilation.graph, &compiled.diagnostics, &compiled.sources);
        for problem in compare(&expect, &outcome) {
            let _ = writeln!(report, "{}: {problem}", relative(plan_path));
        }
    }
    assert!(report.is_empty(), "conformance mismatches:\n{report}");
    assert!(headers.opened() >= 1);
    assert_eq!(headers.read_stats().tensors, 0, "check must read no tensor");
    assert_eq!(headers.read_stats().bytes, 0);
    let missing_ops: Vec<&str> = OP_NAMES
        .iter()
        .copied()
        .filter(|op| !ops.contains(*op))
        .collect();
    assert!(
        missing_ops.is_empty(),
        "ops no conformance plan uses: {missing_ops:?}"
    );
    let missing_asserts: Vec<&str> = ASSERT_NAMES
        .iter()
        .copied()
        .filter(|name| !asserts.contains(*name))
        .collect();
    assert!(
        missing_asserts.is_empty(),
        "assertions no plan uses: {missing_asserts:?}"
    );
}
