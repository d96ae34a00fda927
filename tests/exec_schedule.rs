//! The scheduler under a tight budget: with the budget set to exactly the largest step `check`
//! reports, a plan whose intermediates would not all fit at once still runs, never reserves more
//! than the budget (no overdraft: a node that does not fit waits while one that frees memory
//! runs), and computes the right values.

mod run_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::cli::check::{compile_files, CheckpointHeaders};
use brainsurgery::compile::memory::{self, MemoryEstimate};
use brainsurgery::exec::{execute, ExecOptions, OutputOptions};
use brainsurgery::graph::PlanGraph;
use brainsurgery::io::Checkpoint;
use brainsurgery::optimize::{optimize, Options};
use run_support::{read, write, Tensor};

const SIDE: usize = 512;

/// Compiles and optimizes a plan file as `run` does: its graph, `check`'s memory estimate, and
/// the opened input checkpoints.
fn compile(plan: &Path) -> (PlanGraph, MemoryEstimate, BTreeMap<String, Checkpoint>) {
    let headers = CheckpointHeaders::new();
    let compiled = compile_files(&[plan.display().to_string()], &headers);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    let mut graph = compiled.compilation.expect("compiles").graph;
    optimize(&mut graph, &Options::default()).expect("optimizes");
    let estimate = memory::estimate(&graph);
    (graph, estimate, headers.into_checkpoints())
}

fn matrix(offset: f32) -> Tensor {
    let values: Vec<f32> = (0..SIDE * SIDE)
        .map(|i| i as f32 * 0.001 + offset)
        .collect();
    Tensor::f32(&[SIDE as u64, SIDE as u64], &values)
}

#[test]
fn a_budget_of_exactly_the_largest_step_runs_without_overdraft() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("input.safetensors");
    write(
        &input,
        &[
            ("x".to_string(), matrix(0.0)),
            ("y".to_string(), matrix(-1.0)),
        ],
        None,
    );
    let destination = scratch.path().join("out.safetensors");
    let plan = scratch.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "inputs: [{}]\ntransforms:\n  - scale: {{ from: x, to: xs, by: 2 }}\n  - scale: {{ from: y, to: ys, by: 3 }}\n  - transpose: {{ from: xs, to: xt, dim0: 0, dim1: 1 }}\n  - transpose: {{ from: ys, to: yt, dim0: 0, dim1: 1 }}\n  - delete: {{ target: '[xy]s' }}\noutput: {}\n",
            input.display(),
            destination.display()
        ),
    )
    .expect("plan written");
    let (graph, estimate, checkpoints) = compile(&plan);
    assert!(
        estimate.peak > estimate.largest_step,
        "the plan must not fit its intermediates at once ({estimate:?})"
    );
    let options = ExecOptions {
        memory_budget: estimate.largest_step,
        workers: 2,
        progress: false,
        outputs: OutputOptions {
            input_paths: vec![input.clone()],
            ..OutputOptions::default()
        },
    };
    let report = execute(&graph, &checkpoints, &options).expect("runs");
    assert_eq!(report.overdrafts, 0);
    assert!(report.peak_reserved <= estimate.largest_step);
    assert!(report.peak_reserved > 0);
    assert_eq!(report.tensors_written, 4);

    let written = read(&destination);
    let (x, y) = (matrix(0.0).f32_values(), matrix(-1.0).f32_values());
    let (xt, yt) = (written["xt"].f32_values(), written["yt"].f32_values());
    for (row, column) in [(0, 0), (1, 7), (SIDE - 1, 3), (200, SIDE - 1)] {
        assert_eq!(xt[column * SIDE + row], x[row * SIDE + column] * 2.0);
        assert_eq!(yt[column * SIDE + row], y[row * SIDE + column] * 3.0);
    }
    assert_eq!(written["x"], matrix(0.0));
}

/// A strided PyTorch tensor is gathered into a copy when read. The compiler's memory model sees
/// only headers (mapped pages, no copy), so the executor reserves the copy itself when it makes
/// it: the run's peak reservation exceeds the estimate by at least the gathered bytes, and a
/// budget that leaves no room for them shows as an overdraft instead of going unseen.
#[test]
fn a_gathered_strided_tensor_is_held_under_a_reservation() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/torch_state_dict.pt");
    let destination = scratch.path().join("out.safetensors");
    let plan = scratch.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "inputs: [{}]\ntransforms:\n  - delete: {{ target: '(?!transposed\\.f32$).*' }}\noutput: {}\n",
            input.display(),
            destination.display()
        ),
    )
    .expect("plan written");
    let run = |budget: u64| {
        let (graph, estimate, checkpoints) = compile(&plan);
        let layout = &checkpoints
            .values()
            .next()
            .expect("one input")
            .tensor("transposed.f32")
            .expect("the tensor")
            .layout;
        assert!(
            matches!(layout, brainsurgery::io::DataLayout::Strided { .. }),
            "the fixture's tensor is strided: {layout:?}"
        );
        let options = ExecOptions {
            memory_budget: budget,
            workers: 1,
            progress: false,
            outputs: OutputOptions {
                input_paths: vec![input.clone()],
                ..OutputOptions::default()
            },
        };
        let report = execute(&graph, &checkpoints, &options).expect("runs");
        (estimate, report)
    };
    let gathered = 24; // 3 x 2 F32
    let (estimate, report) = run(1 << 20);
    assert!(
        report.peak_reserved >= estimate.peak + gathered,
        "peak {} vs estimate {estimate:?}",
        report.peak_reserved
    );
    assert_eq!(report.overdrafts, 0);
    let written = read(&destination);
    assert_eq!(written.len(), 1);
    assert_eq!(written["transposed.f32"].shape, vec![3, 2]);
    // A budget of exactly what the model predicts has no room for the copy.
    let (_, report) = run(estimate.peak.max(1));
    assert!(report.overdrafts >= 1, "{report:?}");
}
