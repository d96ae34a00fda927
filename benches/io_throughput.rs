//! Storage throughput against the operating system's own tools, in one run on the same files.
//!
//! Writes a ~1 GiB sharded checkpoint (256 tensors of 4 MiB, 200MB shards) with `CheckpointWriter`
//! (two threads filling tensors in place, then fsync and atomic publish), reads every tensor back
//! through `Checkpoint::read` touching every byte (a checksum, verified), and times
//! `cat <shards> > /dev/null` and `cp -r <dir> <copy> && sync` on the same files. Reads are timed
//! cold (page cache dropped through `/proc/sys/vm/drop_caches`, when the run may write it; the
//! output says whether it could) and warm. `cp` copies from a warm cache, so that it and our writer
//! both measure getting 1 GiB from memory onto the disk.
//!
//! Run with `cargo bench --bench io_throughput`. `BS_BENCH_DIR` chooses the scratch directory
//! (default: the system temporary directory); `BS_BENCH_TENSORS` the number of 4 MiB tensors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brainsurgery::io::{parse_size, Checkpoint, CheckpointWriter, OutputLayout, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};
use rayon::prelude::*;

const TENSOR_BYTES: usize = 4 << 20;
/// Distinct tensor contents, reused round-robin so generating data costs nothing in the timings.
const DISTINCT_BUFFERS: usize = 4;
const ROUNDS: usize = 3;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, and a
    // test run should not write gigabytes.
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("io_throughput: skipped (run it with `cargo bench --bench io_throughput`)");
        return;
    }
    let tensor_count: usize = std::env::var("BS_BENCH_TENSORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let scratch_root = std::env::var_os("BS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("bs-io-bench-")
        .tempdir_in(&scratch_root)
        .expect("scratch directory");
    let checkpoint_directory = scratch.path().join("checkpoint");
    let copy_directory = scratch.path().join("copy");
    let total_bytes = (tensor_count * TENSOR_BYTES) as u64;

    let buffers: Vec<Vec<u8>> = (0..DISTINCT_BUFFERS).map(make_buffer).collect();
    let expected_checksum = (0..tensor_count)
        .map(|i| checksum(&buffers[i % DISTINCT_BUFFERS]))
        .fold(0u64, u64::wrapping_add);

    println!(
        "io_throughput: {tensor_count} tensors x 4 MiB = {:.2} GiB in {}",
        total_bytes as f64 / (1u64 << 30) as f64,
        scratch.path().display()
    );
    sync();

    // Each measurement is repeated, interleaved with its counterpart, and the median kept, so a
    // burst of background I/O on this shared machine does not decide a ratio alone.
    let mut ours_write = Vec::new();
    let mut copy = Vec::new();
    let mut ours_read_cold = Vec::new();
    let mut cat_cold = Vec::new();
    let mut ours_read_warm = Vec::new();
    let mut cat_warm = Vec::new();
    let mut cold = true;
    for round in 0..ROUNDS {
        // Our writer into a fresh destination, as cp gets, then cp -r && sync of the result from a
        // warm cache.
        if checkpoint_directory.exists() {
            let started = Instant::now();
            std::fs::remove_dir_all(&checkpoint_directory).expect("remove the previous checkpoint");
            if std::env::var_os("BS_BENCH_SAMPLES").is_some() {
                println!(
                    "  removing the previous checkpoint took {:?}",
                    started.elapsed()
                );
            }
        }
        sync();
        let started = Instant::now();
        write_checkpoint(&checkpoint_directory, tensor_count, &buffers);
        ours_write.push(started.elapsed());
        let shards = shard_files(&checkpoint_directory);
        if round == 0 {
            println!("  {} shard files", shards.len());
        }
        cat(&shards);
        sync();
        let started = Instant::now();
        copy_and_sync(&checkpoint_directory, &copy_directory);
        copy.push(started.elapsed());
        std::fs::remove_dir_all(&copy_directory).expect("remove the copy");

        // Cold reads, in alternating order.
        let ours_first = round % 2 == 0;
        for ours in [ours_first, !ours_first] {
            cold &= drop_caches();
            let started = Instant::now();
            if ours {
                let sum = read_checkpoint(&checkpoint_directory);
                ours_read_cold.push(started.elapsed());
                assert_eq!(sum, expected_checksum, "the bytes read back differ");
            } else {
                cat(&shards);
                cat_cold.push(started.elapsed());
            }
        }

        // Warm reads (the cache holds every shard after the cold reads).
        cat(&shards);
        let started = Instant::now();
        let sum = read_checkpoint(&checkpoint_directory);
        ours_read_warm.push(started.elapsed());
        assert_eq!(sum, expected_checksum, "the bytes read back differ");
        let started = Instant::now();
        cat(&shards);
        cat_warm.push(started.elapsed());
    }
    if std::env::var_os("BS_BENCH_SAMPLES").is_some() {
        println!("  samples (s): write {ours_write:?} cp {copy:?} cold {ours_read_cold:?} cat {cat_cold:?}");
    }
    let [ours_write, copy, ours_read_cold, cat_cold, ours_read_warm, cat_warm] = [
        ours_write,
        copy,
        ours_read_cold,
        cat_cold,
        ours_read_warm,
        cat_warm,
    ]
    .map(median);

    println!("  medians of {ROUNDS} interleaved rounds");
    println!(
        "  page cache dropped between phases: {}",
        if cold {
            "yes (/proc/sys/vm/drop_caches)"
        } else {
            "NO (not permitted); 'cold' figures are warm"
        }
    );
    let rate = |elapsed: Duration| total_bytes as f64 / elapsed.as_secs_f64() / (1u64 << 20) as f64;
    let line = |label: &str, elapsed: Duration| {
        println!(
            "  {label:<38} {:>8.3} s  {:>8.1} MiB/s",
            elapsed.as_secs_f64(),
            rate(elapsed)
        )
    };
    line("write: CheckpointWriter (+fsync)", ours_write);
    line("write: cp -r && sync", copy);
    line("read cold: Checkpoint::read + checksum", ours_read_cold);
    line("read cold: cat > /dev/null", cat_cold);
    line("read warm: Checkpoint::read + checksum", ours_read_warm);
    line("read warm: cat > /dev/null", cat_warm);
    let ratio = |ours: Duration, theirs: Duration| theirs.as_secs_f64() / ours.as_secs_f64();
    println!(
        "  ratios (>= 0.8 is the target): write vs cp+sync {:.2}x, cold read vs cat {:.2}x, warm read vs cat {:.2}x",
        ratio(ours_write, copy),
        ratio(ours_read_cold, cat_cold),
        ratio(ours_read_warm, cat_warm)
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// 4 MiB of bytes that differ per `seed`.
fn make_buffer(seed: usize) -> Vec<u8> {
    let mut state = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut buffer = Vec::with_capacity(TENSOR_BYTES);
    while buffer.len() < TENSOR_BYTES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        buffer.extend_from_slice(&state.to_le_bytes());
    }
    buffer
}

/// A checksum that must read every byte (sum of little-endian 64-bit words).
fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes")))
        .fold(0u64, u64::wrapping_add)
}

fn write_checkpoint(destination: &Path, tensor_count: usize, buffers: &[Vec<u8>]) {
    let ty = TensorType::new(DType::F32, Shape::new(vec![(TENSOR_BYTES / 4) as u64]));
    let tensors = (0..tensor_count)
        .map(|i| (format!("layers.{i}.weight"), ty.clone()))
        .collect();
    let budget = parse_size("200MB").expect("valid size");
    let layout = OutputLayout::plan(tensors, budget).expect("layout");
    let writer = CheckpointWriter::create(
        destination,
        layout,
        BTreeMap::from([("format".to_string(), "pt".to_string())]),
        WriterOptions::default(),
    )
    .expect("writer");
    (0..tensor_count).into_par_iter().for_each(|i| {
        writer
            .write_tensor(
                &format!("layers.{i}.weight"),
                &buffers[i % DISTINCT_BUFFERS],
            )
            .expect("write");
    });
    writer.finish().expect("publish");
}

/// Reads every tensor in file order, checksums it, and releases its pages as a streaming run would.
fn read_checkpoint(directory: &Path) -> u64 {
    let checkpoint = Checkpoint::open(directory).expect("open");
    let mut tensors: Vec<_> = checkpoint.tensors().iter().collect();
    tensors.sort_by_key(|t| (t.shard, t.data.start));
    let mut sum = 0u64;
    for tensor in tensors {
        let bytes = checkpoint.read(&tensor.name).expect("read");
        sum = sum.wrapping_add(checksum(&bytes));
        checkpoint.release(&tensor.name);
    }
    sum
}

fn shard_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .expect("listable")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    files
}

fn cat(files: &[PathBuf]) {
    let status = Command::new("cat")
        .args(files)
        .stdout(Stdio::null())
        .status()
        .expect("cat runs");
    assert!(status.success());
}

fn copy_and_sync(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success());
    sync();
}

fn sync() {
    let status = Command::new("sync").status().expect("sync runs");
    assert!(status.success());
}

/// Writes back dirty pages and drops the page cache; false when the run may not.
fn drop_caches() -> bool {
    sync();
    std::fs::write("/proc/sys/vm/drop_caches", b"3\n").is_ok()
}
