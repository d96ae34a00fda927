//! Atomic publication: a failed, abandoned or killed write leaves the destination byte for byte as
//! it was and (except after SIGKILL, which the next writer sweeps up) no temporary behind; a
//! successful one replaces the checkpoint and keeps the directory's other files; destinations that
//! overlap an input are refused.
//!
//! The kill tests re-run this test binary as a child (filtered to the same test, with
//! `BS_IO_CHILD_DESTINATION` set): the child starts a write, says it is ready, and blocks on stdin so
//! the parent's signal always lands mid-write.

mod io_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use brainsurgery::io::{Checkpoint, CheckpointWriter, IoError, OutputLayout, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};
use io_support::{leftovers, pattern, snapshot, write_checkpoint, TensorSpec};

const CHILD_VARIABLE: &str = "BS_IO_CHILD_DESTINATION";
const READY_MARKER: &str = "child-writer-ready";

/// `count` F32 tensors of 256 elements named `t0`, `t1`, …, with bytes varying with `seed`.
fn tensors(count: usize, seed: u64) -> Vec<TensorSpec> {
    (0..count)
        .map(|i| {
            (
                format!("t{i}"),
                TensorType::new(DType::F32, Shape::new(vec![256])),
                pattern(seed * 1000 + i as u64, 1024),
            )
        })
        .collect()
}

fn layout(tensors: &[TensorSpec], budget: Option<u64>) -> OutputLayout {
    OutputLayout::plan(
        tensors
            .iter()
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect(),
        budget,
    )
    .unwrap()
}

/// A directory `out` holding an earlier sharded checkpoint and a sidecar `config.json`.
fn existing_destination() -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("out");
    write_checkpoint(&destination, &tensors(6, 1), Some(2048), BTreeMap::new()).unwrap();
    std::fs::write(
        destination.join("config.json"),
        b"{\"model_type\": \"gpt2\"}",
    )
    .unwrap();
    (directory, destination)
}

#[test]
fn injected_failure_leaves_directory_destination_unchanged() {
    let (directory, destination) = existing_destination();
    let before = snapshot(directory.path());
    let new = tensors(8, 2);
    let options = WriterOptions {
        fail_after_tensors: Some(3),
        ..WriterOptions::default()
    };
    let writer = CheckpointWriter::create(
        &destination,
        layout(&new, Some(3000)),
        BTreeMap::new(),
        options,
    )
    .unwrap();
    let mut failure = None;
    for (name, _, bytes) in &new {
        if let Err(error) = writer.write_tensor(name, bytes) {
            failure = Some(error);
            break;
        }
    }
    assert!(matches!(
        failure,
        Some(IoError::InjectedFailure { after: 3 })
    ));
    assert_eq!(
        leftovers(directory.path()).len(),
        1,
        "the temporary exists while writing"
    );
    drop(writer);
    assert_eq!(snapshot(directory.path()), before);
    assert!(leftovers(directory.path()).is_empty());
}

#[test]
fn injected_failure_leaves_file_destination_unchanged() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("model.safetensors");
    write_checkpoint(&destination, &tensors(2, 1), None, BTreeMap::new()).unwrap();
    let before = snapshot(directory.path());
    let new = tensors(4, 2);
    let options = WriterOptions {
        fail_after_tensors: Some(1),
        ..WriterOptions::default()
    };
    let writer =
        CheckpointWriter::create(&destination, layout(&new, None), BTreeMap::new(), options)
            .unwrap();
    writer.write_tensor("t0", &new[0].2).unwrap();
    let error = writer.write_tensor("t1", &new[1].2).unwrap_err();
    assert_eq!(error.to_diagnostic().code, "E0037");
    drop(writer);
    assert_eq!(snapshot(directory.path()), before);
}

#[test]
fn unfinished_tensors_are_not_published() {
    let (directory, destination) = existing_destination();
    let before = snapshot(directory.path());
    let new = tensors(3, 2);
    let writer = CheckpointWriter::create(
        &destination,
        layout(&new, None),
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .unwrap();
    writer.write_tensor("t0", &new[0].2).unwrap();
    // Half of t2 only.
    writer.write_at("t2", 0, &new[2].2[..512]).unwrap();
    let error = writer.finish().unwrap_err();
    assert_eq!(
        error.to_string(),
        "2 output tensor(s) were not completely written, first `t1`; nothing was published"
    );
    assert_eq!(snapshot(directory.path()), before);
    assert!(leftovers(directory.path()).is_empty());
}

#[test]
fn bad_writes_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let new = tensors(1, 2);
    let writer = CheckpointWriter::create(
        directory.path().join("out"),
        layout(&new, None),
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .unwrap();
    let unknown = writer.write_tensor("nope", &[]).unwrap_err();
    assert_eq!(unknown.to_string(), "the output has no tensor `nope`");
    let short = writer.write_tensor("t0", &[0; 3]).unwrap_err();
    assert_eq!(
        short.to_string(),
        "output tensor `t0` is 1024 bytes, but 3 bytes were given for it"
    );
    let beyond = writer.write_at("t0", 1020, &[0; 8]).unwrap_err();
    assert!(
        matches!(beyond, IoError::WriteOutOfRange { .. }),
        "{beyond}"
    );
    writer.write_tensor("t0", &new[0].2).unwrap();
    let twice = writer.write_at("t0", 0, &[0; 4]).unwrap_err();
    assert!(
        matches!(twice, IoError::TensorOverwritten { .. }),
        "{twice}"
    );
}

#[test]
fn replacing_a_directory_keeps_sidecars_and_drops_stale_shards() {
    let (directory, destination) = existing_destination();
    let new = tensors(2, 3);
    write_checkpoint(&destination, &new, None, BTreeMap::new()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&destination)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "model.safetensors"]);
    assert_eq!(
        std::fs::read(destination.join("config.json")).unwrap(),
        b"{\"model_type\": \"gpt2\"}"
    );
    let checkpoint = Checkpoint::open(&destination).unwrap();
    assert_eq!(checkpoint.read("t1").unwrap(), new[1].2.as_slice());
    assert!(leftovers(directory.path()).is_empty());
}

#[test]
fn replacing_a_file_is_a_rename() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("m.safetensors");
    write_checkpoint(&destination, &tensors(3, 1), None, BTreeMap::new()).unwrap();
    let new = tensors(1, 4);
    write_checkpoint(&destination, &new, None, BTreeMap::new()).unwrap();
    let checkpoint = Checkpoint::open(&destination).unwrap();
    assert_eq!(checkpoint.tensors().len(), 1);
    assert_eq!(checkpoint.read("t0").unwrap(), new[0].2.as_slice());
}

#[test]
fn directories_inside_the_destination_are_not_thrown_away() {
    let (directory, destination) = existing_destination();
    std::fs::create_dir(destination.join("tokenizer")).unwrap();
    let before = snapshot(directory.path());
    let error = write_checkpoint(&destination, &tensors(1, 2), None, BTreeMap::new()).unwrap_err();
    assert!(
        matches!(error, IoError::DestinationConflict { .. }),
        "{error}"
    );
    assert!(error.to_string().ends_with(
        "it contains the directory `tokenizer`, which replacing the checkpoint would lose"
    ));
    assert_eq!(snapshot(directory.path()), before);
}

#[test]
fn kinds_of_destination_must_match() {
    let directory = tempfile::tempdir().unwrap();
    let sharded_file = write_checkpoint(
        &directory.path().join("x.safetensors"),
        &tensors(2, 1),
        Some(1024),
        BTreeMap::new(),
    )
    .unwrap_err();
    assert!(matches!(
        sharded_file,
        IoError::ShardedFileDestination { .. }
    ));
    std::fs::write(directory.path().join("plain"), b"text").unwrap();
    let file_as_directory = write_checkpoint(
        &directory.path().join("plain"),
        &tensors(1, 1),
        None,
        BTreeMap::new(),
    )
    .unwrap_err();
    assert!(matches!(
        file_as_directory,
        IoError::DestinationConflict { .. }
    ));
    assert_eq!(
        std::fs::read(directory.path().join("plain")).unwrap(),
        b"text"
    );
}

#[test]
fn destinations_overlapping_an_input_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let input_directory = directory.path().join("models/base");
    write_checkpoint(
        &input_directory,
        &tensors(2, 1),
        Some(1024),
        BTreeMap::new(),
    )
    .unwrap();
    let input_file = directory.path().join("single.safetensors");
    write_checkpoint(&input_file, &tensors(1, 1), None, BTreeMap::new()).unwrap();
    let before = snapshot(directory.path());

    let refused = |destination: PathBuf, input: &Path| {
        let options = WriterOptions {
            inputs: vec![input.to_path_buf()],
            ..WriterOptions::default()
        };
        let new = tensors(1, 2);
        match CheckpointWriter::create(&destination, layout(&new, None), BTreeMap::new(), options) {
            Err(IoError::DestinationIsInput { .. }) => {}
            Err(other) => panic!("{}: unexpected error {other}", destination.display()),
            Ok(_) => panic!("{}: was accepted", destination.display()),
        }
    };
    // The same path, spelled differently.
    refused(
        directory.path().join("models/./base/../base"),
        &input_directory,
    );
    refused(input_file.clone(), &input_file);
    // A destination containing the input.
    refused(directory.path().join("models"), &input_directory);
    refused(directory.path().to_path_buf(), &input_file);
    // A destination inside the input.
    refused(input_directory.join("merged.safetensors"), &input_directory);
    refused(
        input_directory.join("model-00001-of-00002.safetensors"),
        &input_directory,
    );
    // Through a symbolic link.
    let link = directory.path().join("link");
    std::os::unix::fs::symlink(&input_directory, &link).unwrap();
    refused(link.clone(), &input_directory);
    std::fs::remove_file(&link).unwrap();

    assert_eq!(snapshot(directory.path()), before);

    // A sibling is fine.
    let options = WriterOptions {
        inputs: vec![input_directory.clone(), input_file],
        ..WriterOptions::default()
    };
    let new = tensors(1, 2);
    let writer = CheckpointWriter::create(
        directory.path().join("models/edited"),
        layout(&new, None),
        BTreeMap::new(),
        options,
    )
    .unwrap();
    writer.write_tensor("t0", &new[0].2).unwrap();
    writer.finish().unwrap();
}

/// In the child: start writing 40 tensors to the destination named by the environment, write a
/// few, say so, and block until stdin closes, then write the rest and publish.
fn run_child_writer(destination: &str) {
    let new = tensors(40, 9);
    let writer = CheckpointWriter::create(
        destination,
        layout(&new, Some(8192)),
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .expect("child writer");
    for (name, _, bytes) in &new[..5] {
        writer.write_tensor(name, bytes).expect("child write");
    }
    // libtest prints `test NAME ... ` before this without a newline, so the parent looks for the
    // marker at the end of a line.
    println!("{READY_MARKER}");
    let mut rest = String::new();
    let _ = std::io::stdin().read_to_string(&mut rest);
    for (name, _, bytes) in &new[5..] {
        writer.write_tensor(name, bytes).expect("child write");
    }
    writer.finish().expect("child publish");
}

/// Re-runs test `name` of this binary as a child writing to `destination`; returns once the child
/// has said it is ready, that is, in the middle of its write.
fn spawn_child(name: &str, destination: &Path) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VARIABLE, destination)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let ready = lines.any(|line| line.ends_with(READY_MARKER));
    assert!(ready, "the child never got ready");
    // Keep draining, so the child's test harness can still report (a closed pipe would fail it).
    std::thread::spawn(move || lines.for_each(drop));
    child
}

fn signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Interrupts a child mid-write with `signal_number` and checks that it cleaned up after itself.
fn interrupted_child_cleans_up(test_name: &str, signal_number: i32) {
    if let Ok(destination) = std::env::var(CHILD_VARIABLE) {
        run_child_writer(&destination);
        return;
    }
    let (directory, destination) = existing_destination();
    let before = snapshot(directory.path());
    let mut child = spawn_child(test_name, &destination);
    assert_eq!(leftovers(directory.path()).len(), 1);
    signal(&child, signal_number);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(snapshot(directory.path()), before);
    assert!(leftovers(directory.path()).is_empty());
}

#[test]
fn sigint_mid_write_leaves_destination_and_no_temporary() {
    interrupted_child_cleans_up(
        "sigint_mid_write_leaves_destination_and_no_temporary",
        libc::SIGINT,
    );
}

#[test]
fn sigterm_mid_write_leaves_destination_and_no_temporary() {
    interrupted_child_cleans_up(
        "sigterm_mid_write_leaves_destination_and_no_temporary",
        libc::SIGTERM,
    );
}

#[test]
fn sigkill_mid_write_leaves_destination_and_the_next_writer_sweeps() {
    if let Ok(destination) = std::env::var(CHILD_VARIABLE) {
        run_child_writer(&destination);
        return;
    }
    let (directory, destination) = existing_destination();
    let before = snapshot(&destination);
    let mut child = spawn_child(
        "sigkill_mid_write_leaves_destination_and_the_next_writer_sweeps",
        &destination,
    );
    signal(&child, libc::SIGKILL);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(snapshot(&destination), before);
    let stale = leftovers(directory.path());
    assert_eq!(
        stale.len(),
        1,
        "a killed process cannot remove its temporary"
    );
    assert!(stale[0].contains(&format!(".tmp-bs-{}-", child.id())));

    let new = tensors(2, 5);
    let writer = CheckpointWriter::create(
        &destination,
        layout(&new, None),
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .unwrap();
    let now = leftovers(directory.path());
    assert_eq!(now.len(), 1, "only the new writer's temporary: {now:?}");
    assert!(!now[0].contains(&format!(".tmp-bs-{}-", child.id())));
    for (name, _, bytes) in &new {
        writer.write_tensor(name, bytes).unwrap();
    }
    writer.finish().unwrap();
    assert!(leftovers(directory.path()).is_empty());
    assert_eq!(Checkpoint::open(&destination).unwrap().tensors().len(), 2);
}

#[test]
fn a_child_left_alone_publishes() {
    if let Ok(destination) = std::env::var(CHILD_VARIABLE) {
        run_child_writer(&destination);
        return;
    }
    let (directory, destination) = existing_destination();
    let mut child = spawn_child("a_child_left_alone_publishes", &destination);
    // Closing stdin lets the child finish its write.
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert_eq!(Checkpoint::open(&destination).unwrap().tensors().len(), 40);
    assert!(leftovers(directory.path()).is_empty());
}

#[test]
fn a_directory_moved_aside_by_a_dead_writer_is_put_back() {
    let directory = tempfile::tempdir().unwrap();
    let destination = directory.path().join("out");
    // A process that has certainly exited, whose pid marks the stale directory.
    let mut finished = Command::new("true").spawn().unwrap();
    finished.wait().unwrap();
    let aside = directory
        .path()
        .join(format!(".out.old-bs-{}-0123456789abcdef", finished.id()));
    write_checkpoint(&aside, &tensors(3, 1), None, BTreeMap::new()).unwrap();
    let old = snapshot(&aside);

    let new = tensors(1, 2);
    let writer = CheckpointWriter::create(
        &destination,
        layout(&new, None),
        BTreeMap::new(),
        WriterOptions::default(),
    )
    .unwrap();
    assert_eq!(
        snapshot(&destination),
        old,
        "the old checkpoint is back in place"
    );
    drop(writer);
    assert_eq!(snapshot(&destination), old);
    assert!(leftovers(directory.path()).is_empty());
}

/// A file written "inside" a root is refused, before a byte is written, when its directory leads
/// outside (here a link standing where the root's directory should be, as if swapped in after
/// the path was checked); inside, it is written and replaces the old file whole.
#[test]
fn files_written_inside_a_root_never_land_outside() {
    let root = tempfile::tempdir().expect("root");
    let outside = tempfile::tempdir().expect("outside");
    let root_path = root.path().canonicalize().expect("canonical root");
    std::os::unix::fs::symlink(outside.path(), root_path.join("plans")).expect("symlink");
    let error = brainsurgery::io::write_file_atomically_inside(
        &root_path.join("plans/plan.yaml"),
        b"inputs: []\n",
        Some(&root_path),
    )
    .expect_err("refused");
    assert!(
        matches!(error, IoError::DestinationConflict { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("outside"), "{error}");
    let left: Vec<_> = std::fs::read_dir(outside.path())
        .expect("outside")
        .collect();
    assert!(left.is_empty(), "nothing is left outside: {left:?}");

    let inside = root_path.join("kept/plan.yaml");
    std::fs::create_dir(root_path.join("kept")).expect("mkdir");
    std::fs::write(&inside, b"old").expect("old plan");
    brainsurgery::io::write_file_atomically_inside(&inside, b"new text\n", Some(&root_path))
        .expect("written inside");
    assert_eq!(std::fs::read(&inside).expect("read"), b"new text\n");
    assert!(leftovers(&root_path.join("kept")).is_empty());
}
