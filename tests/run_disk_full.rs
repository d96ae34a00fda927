//! A full disk, as the binary meets it: the run is started with a file-size limit
//! (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so writes past it fail with `EFBIG` as they would with
//! `ENOSPC`) too small for its output. It must stop with a storage error (exit 3) that names the
//! file and the cause, leave the existing destination byte for byte as it was, and leave no
//! temporary behind. A second run without the limit then writes the output in full.

mod run_support;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use run_support::{assert_exit, entries_containing, read, snapshot, stderr, write, Tensor};

/// Runs the binary with every file it writes limited to `limit` bytes (None: no limit).
fn run_limited(plan: &Path, limit: Option<u64>) -> std::process::Output {
    let mut command = Command::new(run_support::binary());
    command.args(["run", "--quiet"]).arg(plan);
    if let Some(limit) = limit {
        // SAFETY: between fork and exec the closure only makes two async-signal-safe calls.
        unsafe {
            command.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let bound = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &bound) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command.output().expect("the binary runs")
}

#[test]
fn a_full_disk_stops_the_run_and_leaves_the_destination_as_it_was() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("input");
    let values: Vec<f32> = (0..16384).map(|i| i as f32 * 0.25).collect();
    let tensors: Vec<(String, Tensor)> = (0..4)
        .map(|i| {
            (
                format!("layers.{i}.weight"),
                Tensor::f32(&[128, 128], &values),
            )
        })
        .collect();
    write(&input, &tensors, None);
    let destination = scratch.path().join("output");
    write(
        &destination,
        &[("old".to_string(), Tensor::f32(&[2], &[1.0, 2.0]))],
        None,
    );
    std::fs::write(destination.join("config.json"), "{\"kept\": true}").expect("sidecar");
    let before = snapshot(&destination);
    let plan = scratch.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "inputs: [{}]\ntransforms:\n  - scale_: {{ target: 'layers\\.0\\.weight', by: 2 }}\noutput: {}\n",
            input.display(),
            destination.display()
        ),
    )
    .expect("plan written");

    // 64 KiB each, 256 KiB in all: a 100 KiB limit refuses the shard when the writer sizes it.
    // (Failures in the middle of writing tensor bytes are injected in tests/io_atomic.rs.)
    let output = run_limited(&plan, Some(100 * 1024));
    assert_exit(&output, 3);
    let message = stderr(&output);
    assert!(message.contains("error[E00"), "a storage error: {message}");
    assert!(
        message.contains("too large") || message.contains("No space"),
        "the cause is named: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(
        snapshot(&destination),
        before,
        "the destination is untouched"
    );
    assert!(
        entries_containing(scratch.path(), ".tmp-bs-").is_empty(),
        "no temporary is left"
    );

    let output = run_limited(&plan, None);
    assert_exit(&output, 0);
    let written = read(&destination);
    assert_eq!(written.len(), 4);
    let doubled: Vec<f32> = values.iter().map(|v| v * 2.0).collect();
    assert_eq!(written["layers.0.weight"].f32_values(), doubled);
    assert_eq!(written["layers.1.weight"].f32_values(), values);
}
