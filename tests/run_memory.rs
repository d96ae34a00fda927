//! Memory: `run --memory-budget 64MB` over a generated checkpoint of several hundred MiB (f32 and
//! bf16 tensors, one of them larger than the budget) keeps the child's peak resident set — as the
//! kernel reports it (`VmHWM`, which counts every touched page of a mapped file) — under the
//! budget plus a fixed baseline, for a cast of every tensor and for a scale+clamp of every tensor.
//! A plan whose single step needs more than the budget is refused before anything runs, with the
//! figure it needs.
//!
//! **The stated baseline is 40 MiB**: the binary and its libraries, the worker threads' stacks, one
//! chunk's buffers per worker thread, and the page-granular rounding of released ranges.

mod run_support;

use std::path::Path;

use brainsurgery::io::Checkpoint;
use brainsurgery::tensor::DType;
use run_support::{assert_exit, run, stderr, write, Numbers, Tensor};

const MIB: u64 = 1024 * 1024;
const BUDGET: u64 = 64 * MIB;
const BASELINE: u64 = 40 * MIB;

/// The little-endian bytes of `count` elements: a block of 64 Ki values in [-2, 2) encoded by
/// `encode` and repeated (encoding hundreds of MiB value by value would dominate the test's time).
fn tiled(seed: u64, count: usize, width: usize, encode: impl Fn(f32) -> Vec<u8>) -> Vec<u8> {
    const BLOCK: usize = 65536;
    let mut numbers = Numbers::new(seed);
    let block: Vec<u8> = (0..BLOCK)
        .flat_map(|_| encode((numbers.next() >> 40) as f32 / (1u64 << 22) as f32 - 2.0))
        .collect();
    let mut bytes = block.repeat(count.div_ceil(BLOCK));
    bytes.truncate(count * width);
    bytes
}

fn f32_tensor(seed: u64, shape: &[u64]) -> Tensor {
    let count = shape.iter().product::<u64>() as usize;
    Tensor {
        dtype: DType::F32,
        shape: shape.to_vec(),
        bytes: tiled(seed, count, 4, |v| v.to_le_bytes().to_vec()),
    }
}

fn bf16_tensor(seed: u64, shape: &[u64]) -> Tensor {
    let count = shape.iter().product::<u64>() as usize;
    Tensor {
        dtype: DType::BF16,
        shape: shape.to_vec(),
        bytes: tiled(seed, count, 2, |v| {
            half::bf16::from_f32(v).to_le_bytes().to_vec()
        }),
    }
}

/// About 336 MiB: eight 16 MiB f32 matrices, eight 16 MiB bf16 matrices and one 80 MiB f32
/// matrix, larger than the budget on its own.
fn generate(directory: &Path) {
    let mut tensors = Vec::new();
    for layer in 0..8u64 {
        tensors.push((
            format!("layers.{layer}.mlp.weight"),
            f32_tensor(layer, &[4096, 1024]),
        ));
        tensors.push((
            format!("layers.{layer}.attn.weight"),
            bf16_tensor(100 + layer, &[4096, 2048]),
        ));
    }
    tensors.push(("embed.weight".to_string(), f32_tensor(999, &[20480, 1024])));
    write(directory, &tensors, Some(128 * MIB));
}

fn peak_rss(output: &std::process::Output) -> u64 {
    stderr(output)
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_bytes="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak report in:\n{}", stderr(output)))
}

fn run_with_report(plan: &Path, destination: &Path) -> std::process::Output {
    std::process::Command::new(run_support::binary())
        .args(["run", "-q", "--memory-budget", "64MB", "--num-workers", "2"])
        .arg(plan)
        .arg(format!("output.path={}", destination.display()))
        .env("BRAINSURGERY_REPORT_PEAK_RSS", "1")
        .output()
        .expect("the binary runs")
}

fn plan_file(directory: &Path, name: &str, input: &Path, steps: &str) -> std::path::PathBuf {
    let path = directory.join(name);
    std::fs::write(
        &path,
        format!(
            "inputs:\n  - {}\ntransforms:\n{steps}output: unused\n",
            input.display()
        ),
    )
    .expect("plan written");
    path
}

#[test]
fn streaming_runs_stay_within_the_budget_plus_the_baseline() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("input");
    generate(&input);
    let source = Checkpoint::open(&input).expect("input opens");
    let total = source.data_bytes();
    assert!(total > 300 * MIB, "the checkpoint holds {total} bytes");

    let cast = plan_file(
        scratch.path(),
        "cast.yaml",
        &input,
        "  - cast_: { target: '.*', to: float16 }\n",
    );
    let cast_out = scratch.path().join("cast-out");
    let output = run_with_report(&cast, &cast_out);
    assert_exit(&output, 0);
    let cast_peak = peak_rss(&output);
    let written = Checkpoint::open(&cast_out).expect("output opens");
    assert_eq!(written.tensors().len(), source.tensors().len());
    for info in source.tensors() {
        let name = &info.name;
        let got = written.tensor(name).expect("every tensor is written");
        assert_eq!(got.ty.dtype, DType::F16, "{name}");
        let (bytes, out) = (
            source.read(name).expect("read"),
            written.read(name).expect("read"),
        );
        // Spot-check the conversion at a few positions against `half`'s own rounding.
        let count = out.len() / 2;
        for index in [0, 1, count / 3, count - 1] {
            let value = match info.ty.dtype {
                DType::F32 => {
                    f32::from_le_bytes(bytes[index * 4..index * 4 + 4].try_into().expect("4 bytes"))
                }
                _ => half::bf16::from_le_bytes(
                    bytes[index * 2..index * 2 + 2].try_into().expect("2 bytes"),
                )
                .to_f32(),
            };
            let expected = half::f16::from_f32(value).to_le_bytes();
            assert_eq!(&out[index * 2..index * 2 + 2], &expected, "{name}[{index}]");
        }
    }
    drop(written);
    std::fs::remove_dir_all(&cast_out).expect("cleanup");

    let scale_clamp = plan_file(
        scratch.path(),
        "scale_clamp.yaml",
        &input,
        "  - scale_: { target: '.*', by: 0.5 }\n  - clamp_: { target: '.*', min: -0.75, max: 0.75 }\n",
    );
    let scaled_out = scratch.path().join("scaled-out");
    let output = run_with_report(&scale_clamp, &scaled_out);
    assert_exit(&output, 0);
    let scale_peak = peak_rss(&output);
    let written = Checkpoint::open(&scaled_out).expect("output opens");
    let as_f32 = |bytes: &[u8], index: usize| {
        f32::from_le_bytes(bytes[index * 4..index * 4 + 4].try_into().expect("4 bytes"))
    };
    let (original, scaled) = (
        source.read("embed.weight").expect("read"),
        written.read("embed.weight").expect("read"),
    );
    let (low, high) = (-0.75f64 as f32, 0.75f64 as f32);
    for index in (0..scaled.len() / 4).step_by(40_009) {
        let expected = (as_f32(&original, index) * 0.5).max(low).min(high);
        assert_eq!(as_f32(&scaled, index), expected, "embed[{index}]");
    }

    for (what, peak) in [("cast", cast_peak), ("scale+clamp", scale_peak)] {
        assert!(
            peak < BUDGET + BASELINE,
            "{what}: peak RSS {} MiB exceeds the 64 MiB budget + 40 MiB baseline",
            peak / MIB
        );
    }
    eprintln!(
        "peak RSS: cast {} MiB, scale+clamp {} MiB (checkpoint {} MiB)",
        cast_peak / MIB,
        scale_peak / MIB,
        total / MIB
    );
}

#[test]
fn a_step_larger_than_the_budget_is_refused_with_the_figure_it_needs() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("big.safetensors");
    // 16 MiB: a transpose must hold the mapped input and its 16 MiB output at once.
    write(
        &input,
        &[("w".to_string(), f32_tensor(1, &[2048, 2048]))],
        None,
    );
    let plan = plan_file(
        scratch.path(),
        "transpose.yaml",
        &input,
        "  - transpose: { from: w, to: w_t, dim0: 0, dim1: 1 }\n",
    );
    let destination = scratch.path().join("out");
    for command in ["check", "run"] {
        let output = run(&[
            command,
            "--memory-budget",
            "16MB",
            plan.to_str().expect("utf-8 path"),
            &format!("output.path={}", destination.display()),
        ]);
        assert_exit(&output, 1);
        let text = stderr(&output);
        assert!(text.contains("E0420"), "{command}: {text}");
        assert!(
            text.contains("needs 32.0 MiB (33554432 bytes)"),
            "{command}: {text}"
        );
        assert!(!destination.exists(), "{command} wrote an output");
    }
    let output = run(&[
        "run",
        "-q",
        "--memory-budget",
        "32MB",
        plan.to_str().expect("utf-8 path"),
        &format!("output.path={}", destination.display()),
    ]);
    assert_exit(&output, 0);
    assert!(destination.exists());
}
