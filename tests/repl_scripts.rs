//! The REPL fed by a pipe: every `tests/repl_scripts/<name>.repl` is piped into the binary, and
//! its exit code, stdout and stderr are compared with `<name>.expected`.
//!
//! A script's first line is `# args: …`, the command line after `brainsurgery`. Each script runs
//! in a fresh temporary directory (so `:save` and `:graph` write nothing into the checkout) that
//! also holds the other files of `tests/repl_scripts/` (plan files); `$MODEL` in the scripts and
//! those files stands for the bundled example checkpoint, and is put back in the outputs.
//! `BLESS=1 cargo test --test repl_scripts` rewrites the expected files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DIRECTORY: &str = "tests/repl_scripts";

fn model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models/gpt2-tiny")
        .display()
        .to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn transcript(&self) -> String {
        format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Pipes a script into the binary, run in a scratch directory holding the fixture files.
fn run_script(script: &Path) -> Run {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let model = model();
    for entry in std::fs::read_dir(DIRECTORY).expect("the scripts directory") {
        let path = entry.expect("a directory entry").path();
        let is_fixture = path
            .extension()
            .is_some_and(|e| e != "repl" && e != "expected");
        if is_fixture {
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            let name = path.file_name().expect("a file name");
            std::fs::write(scratch.path().join(name), text.replace("$MODEL", &model))
                .expect("a writable scratch directory");
        }
    }
    let text = std::fs::read_to_string(script)
        .expect("a readable script")
        .replace("$MODEL", &model);
    let arguments: Vec<&str> = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# args:"))
        .expect("a script starts with `# args: …`")
        .split_whitespace()
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .args(&arguments)
        .current_dir(scratch.path())
        .env("XDG_DATA_HOME", scratch.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Errors are ignored: a script that stops early closes its stdin before reading it all.
    let _ = child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(text.as_bytes());
    let output = child.wait_with_output().expect("the binary ends");
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&model, "$MODEL");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: clean(&output.stdout),
        stderr: clean(&output.stderr),
    }
}

fn scripts() -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(DIRECTORY)
        .expect("the scripts directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "repl"))
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn scripts_match_their_transcripts() {
    let bless = std::env::var_os("BLESS").is_some_and(|value| value == "1");
    let scripts = scripts();
    assert!(scripts.len() >= 5, "too few scripts in {DIRECTORY}");
    let mut failures = Vec::new();
    for script in &scripts {
        let actual = run_script(script).transcript();
        let expected_path = script.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).expect("a writable expected file");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}: transcript differs from {}\n--- expected\n{expected}--- actual\n{actual}",
                script.display(),
                expected_path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_script_stops_at_its_first_rejected_line_with_exit_code_1() {
    let run = run_script(Path::new("tests/repl_scripts/04_error_at_line_7.repl"));
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("--> <stdin>:7:5"),
        "the diagnostic names line 7: {}",
        run.stderr
    );
    assert!(run.stderr.contains("7 | z = ln_f.weight"), "{}", run.stderr);
    // Lines before it were accepted; the line after it was never read.
    assert!(run.stdout.contains("created  y"), "{}", run.stdout);
    assert!(!run.stdout.contains("created  w"), "{}", run.stdout);
    assert_eq!(run.stderr.matches("error[").count(), 1, "{}", run.stderr);
}

#[test]
fn a_failed_command_stops_a_script_too() {
    let run = run_script(Path::new(
        "tests/repl_scripts/07_rejections_keep_state.repl",
    ));
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("--> <stdin>:4:8"), "{}", run.stderr);
    assert!(run
        .stderr
        .contains("did you mean `h.0.attn.c_attn.weight`?"));
}

#[test]
fn exit_ends_a_script_successfully_and_the_rest_is_not_read() {
    let run = run_script(Path::new("tests/repl_scripts/05_help_and_exit.repl"));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run
        .stdout
        .contains("reshape: A new tensor with another shape"));
    assert!(!run.stdout.contains("created  y"), "{}", run.stdout);
}
