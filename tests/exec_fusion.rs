//! Fused versus unfused execution: random elementwise chains (scale, clamp, add, subtract,
//! multiply, casts to another float dtype and back) over random tensors of every float dtype the
//! kernels compute in — F16, BF16, F32, F64, F8_E4M3, F8_E5M2 — are run through the whole
//! pipeline (compile, optimize, execute, publish) once with fusion and once without, and the
//! written bytes must be identical. Each fused run must really contain a fused node, and tensors
//! span several streaming chunks so that chunk boundaries are crossed.

mod run_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::cli::check::{compile_files, CheckpointHeaders};
use brainsurgery::exec::{execute, ExecOptions, OutputOptions};
use brainsurgery::graph::NodeKind;
use brainsurgery::optimize::{optimize, Options};
use brainsurgery::tensor::DType;
use run_support::{read, write, Numbers, Tensor};

const FLOATS: [DType; 6] = [
    DType::F16,
    DType::BF16,
    DType::F32,
    DType::F64,
    DType::F8_E4M3,
    DType::F8_E5M2,
];

/// Elements per tensor: just over two streaming chunks of 256 Ki.
const ELEMENTS: u64 = 2 * 256 * 1024 + 4099;

/// Random values in a dtype's range, with some zeros and values near its limits, encoded.
fn random_tensor(dtype: DType, numbers: &mut Numbers) -> Tensor {
    let bytes = (0..ELEMENTS)
        .flat_map(|_| {
            let value = match numbers.below(16) {
                0 => 0.0,
                1 => numbers.uniform(-1e4, 1e4),
                _ => numbers.uniform(-4.0, 4.0),
            };
            encode(dtype, value)
        })
        .collect();
    Tensor {
        dtype,
        shape: vec![ELEMENTS],
        bytes,
    }
}

/// Encodes with the `half` crate for the 16-bit formats; the 8-bit formats take random bytes
/// that are not NaN in either format.
fn encode(dtype: DType, value: f64) -> Vec<u8> {
    match dtype {
        DType::F16 => half::f16::from_f64(value).to_le_bytes().to_vec(),
        DType::BF16 => half::bf16::from_f64(value).to_le_bytes().to_vec(),
        DType::F32 => (value as f32).to_le_bytes().to_vec(),
        DType::F64 => value.to_le_bytes().to_vec(),
        _ => vec![(value.to_bits() >> 20) as u8 & 0x6F],
    }
}

/// A random chain over `x` (a copy of `a`) and `b`, as YAML steps; binary ops only while `x`
/// has the dtype of `b`.
fn random_chain(dtype: DType, numbers: &mut Numbers) -> String {
    let mut steps = String::from("  - copy: { from: a, to: x }\n");
    let length = 2 + numbers.below(5);
    let mut current = dtype;
    for _ in 0..length {
        let step = match numbers.below(7) {
            0 => format!(
                "  - scale_: {{ target: x, by: {} }}\n",
                numbers.uniform(-3.0, 3.0)
            ),
            1 => {
                let low = numbers.uniform(-3.0, 0.0);
                let high = low + numbers.uniform(0.0, 4.0);
                format!("  - clamp_: {{ target: x, min: {low}, max: {high} }}\n")
            }
            2 if current == dtype => "  - add_: { from: b, to: x }\n".to_string(),
            3 if current == dtype => "  - subtract_: { from: b, to: x }\n".to_string(),
            4 if current == dtype => "  - multiply: { from_a: x, from_b: b, to: x }\n".to_string(),
            5 => {
                let other = FLOATS[numbers.below(FLOATS.len())];
                current = other;
                format!("  - cast_: {{ target: x, to: {} }}\n", other.plan_name())
            }
            _ => {
                current = dtype;
                format!("  - cast_: {{ target: x, to: {} }}\n", dtype.plan_name())
            }
        };
        steps.push_str(&step);
    }
    steps
}

/// Compiles, optimizes (with or without fusion) and executes `plan`; returns the number of fused
/// nodes the optimized graph had.
fn run_plan(plan: &Path, fuse: bool) -> usize {
    let headers = CheckpointHeaders::new();
    let compiled = compile_files(&[plan.display().to_string()], &headers);
    assert!(
        compiled.diagnostics.is_empty(),
        "{}: {:?}",
        plan.display(),
        compiled.diagnostics
    );
    let mut graph = compiled.compilation.expect("compiles").graph;
    let options = Options {
        fuse,
        ..Options::default()
    };
    optimize(&mut graph, &options).expect("optimizes");
    let fused = graph
        .node_ids()
        .into_iter()
        .filter(|&id| matches!(graph.node(id).map(|n| &n.kind), Some(NodeKind::Fused(_))))
        .count();
    let checkpoints = headers.into_checkpoints();
    let options = ExecOptions {
        memory_budget: 1 << 30,
        workers: 2,
        progress: false,
        outputs: OutputOptions {
            input_paths: checkpoints
                .values()
                .map(|c| c.path().to_path_buf())
                .collect(),
            ..OutputOptions::default()
        },
    };
    execute(&graph, &checkpoints, &options)
        .unwrap_or_else(|failure| panic!("{}: {:?}", plan.display(), failure.diagnostics));
    fused
}

#[test]
fn fused_and_unfused_runs_write_identical_bytes_in_every_float_dtype() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut numbers = Numbers::new(2024);
    let mut cases = 0;
    for dtype in FLOATS {
        let input = scratch.path().join(format!("{dtype}.safetensors"));
        let tensors = vec![
            ("a".to_string(), random_tensor(dtype, &mut numbers)),
            ("b".to_string(), random_tensor(dtype, &mut numbers)),
        ];
        write(&input, &tensors, None);
        for chain in 0..3 {
            let steps = random_chain(dtype, &mut numbers);
            let mut outputs = BTreeMap::new();
            for fuse in [true, false] {
                let destination = scratch
                    .path()
                    .join(format!("{dtype}-{chain}-{fuse}.safetensors"));
                let plan = scratch.path().join(format!("{dtype}-{chain}-{fuse}.yaml"));
                std::fs::write(
                    &plan,
                    format!(
                        "inputs: [{}]\ntransforms:\n{steps}output: {}\n",
                        input.display(),
                        destination.display()
                    ),
                )
                .expect("plan written");
                let fused = run_plan(&plan, fuse);
                if fuse {
                    assert!(fused >= 1, "{dtype}: nothing was fused in\n{steps}");
                } else {
                    assert_eq!(fused, 0);
                }
                outputs.insert(fuse, read(&destination));
            }
            let (fused, unfused) = (&outputs[&true], &outputs[&false]);
            assert_eq!(fused.keys().collect::<Vec<_>>(), ["a", "b", "x"]);
            assert!(
                fused == unfused,
                "{dtype}: fused and unfused bytes differ for\n{steps}"
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 18);
}
