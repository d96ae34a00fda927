//! Interruption: a run killed mid-way (SIGINT, then SIGKILL) leaves an existing destination
//! exactly as it was. After SIGINT no temporary is left behind; after SIGKILL (which no handler
//! sees) the next run into the same destination sweeps the dead run's temporary.

mod run_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brainsurgery::tensor::DType;
use run_support::{assert_exit, entries_containing, run, snapshot, write, Tensor};

const TEMPORARY: &str = ".tmp-bs-";

/// An input of 192 MiB (twelve 16 MiB f32 tensors), so a debug-build run takes long enough to
/// be interrupted while it writes.
fn large_input(path: &Path) {
    let block: Vec<u8> = (0..65536u32)
        .flat_map(|i| (i as f32 / 65536.0 - 0.5).to_le_bytes())
        .collect();
    let tensors: Vec<(String, Tensor)> = (0..12)
        .map(|i| {
            (
                format!("layers.{i}.weight"),
                Tensor {
                    dtype: DType::F32,
                    shape: vec![4096, 1024],
                    bytes: block.repeat(64),
                },
            )
        })
        .collect();
    write(path, &tensors, None);
}

fn existing_destination(path: &Path) {
    write(
        path,
        &[("old".to_string(), Tensor::f32(&[2], &[1.0, 2.0]))],
        None,
    );
    std::fs::write(path.join("config.json"), "{\"kept\": true}").expect("sidecar");
}

fn start(plan: &Path) -> Child {
    Command::new(run_support::binary())
        .args(["run", "-q", "--num-workers", "1"])
        .arg(plan)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits until the run's temporary exists (the outputs are laid out and writing begins).
fn wait_for_temporary(parent: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while entries_containing(parent, TEMPORARY).is_empty() {
        assert!(
            child.try_wait().expect("waitable").is_none(),
            "the run ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no temporary appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Let it write for a moment, then check it is still running.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        child.try_wait().expect("waitable").is_none(),
        "the run finished before it could be interrupted"
    );
}

#[test]
fn killed_runs_leave_the_destination_unchanged_and_no_temporary() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("input.safetensors");
    large_input(&input);
    let outputs = scratch.path().join("outputs");
    std::fs::create_dir(&outputs).expect("outputs directory");
    let destination = outputs.join("model");
    existing_destination(&destination);
    let before = snapshot(&destination);
    let plan = scratch.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "inputs: [{}]\ntransforms:\n  - scale_: {{ target: '.*', by: 0.5 }}\n  - clamp_: {{ target: '.*', min: -0.1, max: 0.1 }}\noutput: {}\n",
            input.display(),
            destination.display()
        ),
    )
    .expect("plan");

    // SIGINT: the handler removes the temporary and exits with 130.
    let mut child = start(&plan);
    wait_for_temporary(&outputs, &mut child);
    // SAFETY: kill(2) with a pid of our own child and a valid signal number.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(130), "SIGINT exit status");
    assert_eq!(
        snapshot(&destination),
        before,
        "SIGINT changed the destination"
    );
    assert_eq!(
        entries_containing(&outputs, TEMPORARY),
        Vec::<String>::new()
    );

    // SIGKILL: nothing runs in the process any more; the temporary stays until the next run.
    let mut child = start(&plan);
    wait_for_temporary(&outputs, &mut child);
    child.kill().expect("SIGKILL");
    child.wait().expect("waits");
    assert_eq!(
        snapshot(&destination),
        before,
        "SIGKILL changed the destination"
    );
    let left_behind = entries_containing(&outputs, TEMPORARY);
    assert_eq!(left_behind.len(), 1, "a killed run leaves its temporary");

    // The next run into the same destination sweeps the dead run's temporary and publishes.
    let small = scratch.path().join("small.yaml");
    std::fs::write(
        &small,
        format!(
            "inputs: [{}]\ntransforms:\n  - delete: {{ target: 'layers\\.[1-9].*' }}\noutput: {}\n",
            input.display(),
            destination.display()
        ),
    )
    .expect("plan");
    let output = run(&["run", "-q", small.to_str().expect("utf-8")]);
    assert_exit(&output, 0);
    assert_eq!(
        entries_containing(&outputs, TEMPORARY),
        Vec::<String>::new(),
        "left behind: {left_behind:?}"
    );
    let after = snapshot(&destination);
    assert!(after.contains_key("config.json"), "sidecar files are kept");
    let published = run_support::read(&destination);
    assert_eq!(published.keys().collect::<Vec<_>>(), ["layers.0.weight"]);
}
