//! PHLoRA throughput: rank-64 factors of 16 matrices of 2048 × 8192 F32, by the exact SVD and
//! by the randomized SVD (defaults: p = 10, q = 2), with the time, the peak memory and the
//! relative Frobenius error ‖W − B·A‖_F / ‖W‖_F each reaches.
//!
//! The matrices look like fine-tuning deltas: a spectrum decaying geometrically (σⱼ ∝ 0.97ʲ over
//! 256 components) on top of a Gaussian noise floor, generated deterministically from the
//! kernels' seeded generator. Matrices are built one at a time, outside the timed region, and
//! each factorization runs on the whole rayon pool through faer (one matrix at a time). The randomized pass runs
//! first, so that the peak resident memory (`VmHWM` of `/proc/self/status`, which only grows)
//! read after it is the randomized pass's own; the reading after the exact pass is the larger of
//! the two.
//!
//! Run with `cargo bench --bench phlora`. `BS_BENCH_MATRICES`, `BS_BENCH_ROWS` and
//! `BS_BENCH_COLUMNS` shrink the problem for a quick look (defaults 16, 2048, 8192).

use std::time::{Duration, Instant};

use brainsurgery::exec::kernels::lowrank::{phlora, RandomizedSvd, SvdMethod};
use brainsurgery::exec::TensorData;
use brainsurgery::tensor::{DType, Shape, TensorType};

#[path = "support/spectrum.rs"]
mod spectrum;
use spectrum::{floats, relative_error, setting, synthetic_matrix, RANK};

struct Pass {
    name: &'static str,
    times: Vec<Duration>,
    errors: Vec<f64>,
    peak_kib: Option<u64>,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, and
    // a test run should not spend minutes in SVDs.
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("phlora: skipped (run it with `cargo bench --bench phlora`)");
        return;
    }
    let count = setting("BS_BENCH_MATRICES", 16);
    let rows = setting("BS_BENCH_ROWS", 2048);
    let columns = setting("BS_BENCH_COLUMNS", 8192);
    println!(
        "phlora: rank {RANK} on {count} matrices of {rows} x {columns} F32 ({:.0} MiB each), \
         {} rayon threads; baseline peak RSS {} MiB",
        (rows * columns * 4) as f64 / (1 << 20) as f64,
        rayon::current_num_threads(),
        mebibytes(peak_resident_kib())
    );

    let randomized = run(
        "randomized (p = 10, q = 2)",
        &SvdMethod::Randomized(RandomizedSvd::default()),
        count,
        rows,
        columns,
    );
    let exact = run("exact", &SvdMethod::Exact, count, rows, columns);

    for pass in [&randomized, &exact] {
        let total: Duration = pass.times.iter().sum();
        let mean_error = pass.errors.iter().sum::<f64>() / pass.errors.len() as f64;
        println!(
            "{:<28} total {:>8.2} s, per matrix {:>7.3} s, mean relative error {:.6}, \
             peak RSS after the pass {} MiB",
            pass.name,
            total.as_secs_f64(),
            total.as_secs_f64() / count as f64,
            mean_error,
            mebibytes(pass.peak_kib)
        );
    }
    let exact_total: Duration = exact.times.iter().sum();
    let randomized_total: Duration = randomized.times.iter().sum();
    let worst_excess = randomized
        .errors
        .iter()
        .zip(&exact.errors)
        .map(|(r, e)| r / e)
        .fold(0.0, f64::max);
    println!(
        "exact / randomized time: {:.1}x; randomized error / exact (optimal) error: worst {:.4}",
        exact_total.as_secs_f64() / randomized_total.as_secs_f64(),
        worst_excess
    );
}

fn run(name: &'static str, method: &SvdMethod, count: usize, rows: usize, columns: usize) -> Pass {
    let mut pass = Pass {
        name,
        times: Vec::with_capacity(count),
        errors: Vec::with_capacity(count),
        peak_kib: None,
    };
    for index in 0..count {
        let w = tensor(
            &synthetic_matrix(index as u64, rows, columns),
            rows,
            columns,
        );
        let start = Instant::now();
        let factors = phlora(&w.view(), RANK, method).expect("phlora");
        let elapsed = start.elapsed();
        let values = floats(w.bytes());
        drop(w);
        let (b, a) = (floats(factors.b.bytes()), floats(factors.a.bytes()));
        let error = relative_error(&values, rows, columns, &b, &a);
        println!(
            "  {name} #{index:>2}: {:>7.3} s, relative error {error:.6}",
            elapsed.as_secs_f64()
        );
        pass.times.push(elapsed);
        pass.errors.push(error);
    }
    pass.peak_kib = peak_resident_kib();
    pass
}

fn tensor(values: &[f32], rows: usize, columns: usize) -> TensorData {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ty = TensorType::new(DType::F32, Shape::new(vec![rows as u64, columns as u64]));
    TensorData::new(ty, bytes).expect("bytes match the type")
}

/// This process's peak resident set size so far, in KiB (`VmHWM`), where Linux reports it.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mebibytes(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "unknown".to_string(),
        |kib| format!("{:.0}", kib as f64 / 1024.0),
    )
}
