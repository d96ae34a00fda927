//! PHLoRA through the whole tool: `brainsurgery run` of a plan that factorizes 16 F32 matrices of
//! 2048 × 8192 (1 GiB of input) to rank 64, by the randomized and by the exact SVD, against `cp`
//! of the same input bytes.
//!
//! The benchmark writes the input checkpoint once (the matrices of `support/spectrum.rs`, the same
//! as `benches/phlora.rs`), then, for each round, times `cp` of the input file followed by `sync`
//! (the floor for any tool that reads and writes a checkpoint of this size), and the release
//! binary's `run` of each plan: its wall time, its CPU time (from `getrusage` of the children),
//! and its peak resident set, which the binary prints itself when
//! `BRAINSURGERY_REPORT_PEAK_RSS` is set (the child's own `VmHWM`, so this process's memory does
//! not count). After each run it reads the factors back and measures ‖W − B·A‖_F / ‖W‖_F per
//! matrix. Medians over the rounds are reported, with ratios against `cp`.
//!
//! Run with `cargo bench --bench phlora_run`. `BS_BENCH_MATRICES`, `BS_BENCH_ROWS`,
//! `BS_BENCH_COLUMNS` shrink the problem (defaults 16, 2048, 8192), `BS_BENCH_ROUNDS` sets the
//! rounds (default 2) and `BS_BENCH_DIR` the scratch directory (default: the system temporary
//! directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use brainsurgery::io::{parse_size, Checkpoint, CheckpointWriter, OutputLayout, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};

#[path = "support/spectrum.rs"]
mod spectrum;
use spectrum::{floats, relative_error, setting, synthetic_matrix, RANK};

const BINARY: &str = env!("CARGO_BIN_EXE_brainsurgery");

/// One `brainsurgery run`.
struct Sample {
    wall: Duration,
    cpu: Duration,
    peak_bytes: u64,
    errors: Vec<f64>,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, and a
    // test run should not spend a minute in SVDs.
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("phlora_run: skipped (run it with `cargo bench --bench phlora_run`)");
        return;
    }
    let count = setting("BS_BENCH_MATRICES", 16);
    let rows = setting("BS_BENCH_ROWS", 2048);
    let columns = setting("BS_BENCH_COLUMNS", 8192);
    let rounds = setting("BS_BENCH_ROUNDS", 2).max(1);
    let scratch_root = std::env::var_os("BS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("bs-phlora-run-")
        .tempdir_in(&scratch_root)
        .expect("scratch directory");
    let input = scratch.path().join("input");
    let input_bytes = (count * rows * columns * 4) as u64;
    println!(
        "phlora_run: rank {RANK} on {count} matrices of {rows} x {columns} F32 \
         ({:.0} MiB of input) in {}",
        input_bytes as f64 / (1 << 20) as f64,
        scratch.path().display()
    );
    write_input(&input, count, rows, columns);
    let shard = single_shard(&input);

    let methods = [
        ("randomized", "method: randomized"),
        ("exact", "method: exact"),
    ];
    let plans: Vec<PathBuf> = methods
        .iter()
        .map(|(name, method)| write_plan(scratch.path(), name, &input, method))
        .collect();

    let mut copies = Vec::new();
    let mut samples: Vec<Vec<Sample>> = methods.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let copy = scratch.path().join("copy.safetensors");
        sync();
        let started = Instant::now();
        let status = Command::new("cp")
            .arg(&shard)
            .arg(&copy)
            .status()
            .expect("cp runs");
        assert!(status.success(), "cp failed");
        sync();
        copies.push(started.elapsed());
        std::fs::remove_file(&copy).expect("remove the copy");
        println!(
            "  round {round}: cp + sync {:.2} s",
            copies[round].as_secs_f64()
        );

        for ((name, _), (plan, runs)) in methods.iter().zip(plans.iter().zip(&mut samples)) {
            let output = scratch.path().join(format!("out-{name}"));
            let sample = run(plan, &output);
            let sample = Sample {
                errors: errors(&input, &output, count, rows, columns),
                ..sample
            };
            println!(
                "  round {round}: {name:<10} wall {:.2} s, CPU {:.2} s, peak RSS {} MiB, \
                 mean error {:.6}",
                sample.wall.as_secs_f64(),
                sample.cpu.as_secs_f64(),
                sample.peak_bytes >> 20,
                mean(&sample.errors)
            );
            std::fs::remove_dir_all(&output).expect("remove the output");
            runs.push(sample);
        }
    }

    let copy = median(copies.clone());
    println!("  medians of {rounds} rounds");
    println!(
        "  cp + sync of the input          {:>8.2} s",
        copy.as_secs_f64()
    );
    let mut walls = Vec::new();
    for ((name, _), runs) in methods.iter().zip(&samples) {
        let wall = median(runs.iter().map(|s| s.wall).collect());
        let cpu = median(runs.iter().map(|s| s.cpu).collect());
        let peak = runs.iter().map(|s| s.peak_bytes).max().unwrap_or(0);
        let errors = &runs[0].errors;
        let worst = errors.iter().copied().fold(0.0, f64::max);
        println!(
            "  run, {name:<10}                {:>8.2} s wall ({:.1}x cp), {:.2} s CPU, \
             peak RSS {} MiB, error mean {:.6} worst {:.6}",
            wall.as_secs_f64(),
            wall.as_secs_f64() / copy.as_secs_f64(),
            cpu.as_secs_f64(),
            peak >> 20,
            mean(errors),
            worst
        );
        walls.push(wall);
    }
    let excess: Vec<f64> = samples[0][0]
        .errors
        .iter()
        .zip(&samples[1][0].errors)
        .map(|(randomized, exact)| randomized / exact)
        .collect();
    println!(
        "  exact / randomized time {:.2}x; randomized / exact error: mean {:.4}, worst {:.4}",
        walls[1].as_secs_f64() / walls[0].as_secs_f64(),
        mean(&excess),
        excess.iter().copied().fold(0.0, f64::max)
    );
}

/// Writes the input checkpoint, one matrix at a time, as a single safetensors file.
fn write_input(directory: &Path, count: usize, rows: usize, columns: usize) {
    let ty = TensorType::new(DType::F32, Shape::new(vec![rows as u64, columns as u64]));
    let tensors = (0..count).map(|i| (name(i), ty.clone())).collect();
    let layout =
        OutputLayout::plan(tensors, parse_size("1TB").expect("valid size")).expect("layout");
    let writer = CheckpointWriter::create(
        directory,
        layout,
        BTreeMap::from([("format".to_string(), "pt".to_string())]),
        WriterOptions::default(),
    )
    .expect("writer");
    for index in 0..count {
        let values = synthetic_matrix(index as u64, rows, columns);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_tensor(&name(index), &bytes).expect("write");
    }
    writer.finish().expect("publish");
}

fn name(index: usize) -> String {
    format!("layers.{index}.weight")
}

fn single_shard(directory: &Path) -> PathBuf {
    let checkpoint = Checkpoint::open(directory).expect("open the input");
    assert_eq!(checkpoint.shards().len(), 1, "one shard expected");
    checkpoint.shards()[0].clone()
}

/// The plan: every matrix to rank-64 factors `….a` / `….b`, the matrices themselves deleted.
fn write_plan(scratch: &Path, name: &str, input: &Path, method: &str) -> PathBuf {
    let plan = scratch.join(format!("{name}.yaml"));
    let output = scratch.join(format!("out-{name}"));
    let text = format!(
        "inputs:\n  - '{}'\ntransforms:\n  - phlora:\n      target: 'layers\\.(\\d+)\\.weight'\n      \
         target_a: 'layers.\\1.a'\n      target_b: 'layers.\\1.b'\n      rank: {RANK}\n      \
         {method}\noutput:\n  path: '{}'\n",
        input.display(),
        output.display()
    );
    std::fs::write(&plan, text).expect("write the plan");
    plan
}

/// Runs the release binary on `plan`; times it and reads the peak RSS it reports.
fn run(plan: &Path, output: &Path) -> Sample {
    if output.exists() {
        std::fs::remove_dir_all(output).expect("remove a previous output");
    }
    sync();
    let cpu_before = children_cpu();
    let started = Instant::now();
    let result = Command::new(BINARY)
        .arg("run")
        .arg(plan)
        .env("BRAINSURGERY_REPORT_PEAK_RSS", "1")
        .output()
        .expect("brainsurgery runs");
    let wall = started.elapsed();
    let cpu = children_cpu() - cpu_before;
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "brainsurgery run failed:\n{stderr}"
    );
    let peak_bytes = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_bytes="))
        .and_then(|value| value.trim().parse().ok())
        .expect("the binary reports its peak RSS");
    Sample {
        wall,
        cpu,
        peak_bytes,
        errors: Vec::new(),
    }
}

/// ‖W − B·A‖_F / ‖W‖_F of every matrix, W from the input and A, B from the output.
fn errors(input: &Path, output: &Path, count: usize, rows: usize, columns: usize) -> Vec<f64> {
    let input = Checkpoint::open(input).expect("open the input");
    let output = Checkpoint::open(output).expect("open the output");
    assert!(
        output.tensor(&name(0)).is_none(),
        "the matrices are deleted"
    );
    (0..count)
        .map(|index| {
            let w = floats(&input.read(&name(index)).expect("read W"));
            let a = floats(&output.read(&format!("layers.{index}.a")).expect("read A"));
            let b = floats(&output.read(&format!("layers.{index}.b")).expect("read B"));
            assert_eq!(a.len(), RANK as usize * columns, "A is rank x columns");
            assert_eq!(b.len(), rows * RANK as usize, "B is rows x rank");
            relative_error(&w, rows, columns, &b, &a)
        })
        .collect()
}

/// User plus system CPU time of every child this process has waited for.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn sync() {
    let status = Command::new("sync").status().expect("sync runs");
    assert!(status.success());
}
