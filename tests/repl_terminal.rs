//! The REPL in a pseudo-terminal, driven as a person would (through `rexpect`): the line editor,
//! accepted and rejected steps, `:undo`, `:plan` against `fmt`, tab completion of tensor names on
//! the bundled example, the history file, multi-line blocks, Ctrl-C and Ctrl-D, and `-i`.
//!
//! Every session runs in a scratch directory with `XDG_DATA_HOME` inside it, so no history is
//! written outside; escape codes of the line editor are stripped, and `\r\n` read as `\n`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};

const TIMEOUT_MS: u64 = 20_000;

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/models/gpt2-tiny")
}

struct Terminal {
    session: PtySession,
    scratch: tempfile::TempDir,
}

impl Terminal {
    /// `brainsurgery ARGS…` in a terminal, in a fresh scratch directory; waits for the prompt.
    fn start(arguments: &[&str]) -> Terminal {
        let scratch = tempfile::tempdir().expect("a temporary directory");
        Terminal::start_in(scratch, arguments, None)
    }

    fn start_in(
        scratch: tempfile::TempDir,
        arguments: &[&str],
        data_home: Option<&Path>,
    ) -> Terminal {
        let mut command = Command::new(env!("CARGO_BIN_EXE_brainsurgery"));
        command
            .args(arguments)
            .current_dir(scratch.path())
            .env(
                "XDG_DATA_HOME",
                data_home.map_or_else(|| scratch.path().join("data"), Path::to_path_buf),
            )
            .env("TERM", "xterm");
        let options = Options::default()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true);
        let session = spawn_with_options(command, options).expect("the binary starts in a pty");
        let mut terminal = Terminal { session, scratch };
        terminal.prompt();
        terminal
    }

    /// Everything printed up to the next prompt, `\r\n` read as `\n` (the editor's own `\r`
    /// before a prompt is dropped).
    fn prompt(&mut self) -> String {
        let text = self.session.exp_string("bs> ").expect("the prompt");
        text.replace('\r', "")
    }

    /// Types keys without Enter.
    fn keys(&mut self, keys: &str) {
        self.session.send(keys).expect("keys are sent");
        self.session.flush().expect("keys are flushed");
    }

    /// Types a line and returns what was printed before the next prompt, without the echo of
    /// the line itself.
    fn line(&mut self, line: &str) -> String {
        self.session.send_line(line).expect("the line is sent");
        self.session
            .exp_string(&format!("{line}\r\n"))
            .expect("the line is echoed");
        self.prompt()
    }

    fn expect(&mut self, text: &str) -> String {
        self.session
            .exp_string(text)
            .unwrap_or_else(|error| panic!("expected {text:?}: {error}"))
            .replace('\r', "")
    }

    /// Ends the session with Ctrl-D and returns its exit code.
    fn finish(&mut self) -> i32 {
        self.session.send_control('d').expect("Ctrl-D is sent");
        self.session.exp_eof().expect("the session ends");
        match self.session.process_mut().wait() {
            Ok(rexpect::process::WaitStatus::Exited(_, code)) => code,
            other => panic!("the session did not exit normally: {other:?}"),
        }
    }
}

#[test]
fn accepted_and_rejected_steps_then_undo() {
    let model = model();
    let mut terminal = Terminal::start(&["repl", "--input", &model.to_string_lossy()]);
    let accepted = terminal.line("x = ln_f.weight");
    assert_eq!(accepted, "created  x  F32  [8]\n");
    let rejected = terminal.line("y = ln_f.wieght * 2");
    assert!(
        rejected.starts_with("error[E0401]: scale source matched zero tensors"),
        "{rejected}"
    );
    assert!(rejected.contains("--> <repl>:2:5"), "{rejected}");
    assert!(
        rejected.contains("`ln_f.weight`"),
        "suggests the name: {rejected}"
    );
    // The rejected step changed nothing: y does not exist, x does.
    assert_eq!(terminal.line(":show x|y"), "x  F32  [8]\n1 tensor\n");
    assert_eq!(terminal.line(":undo"), "undid: x = ln_f.weight\n");
    assert_eq!(terminal.line(":show x|y"), "0 tensors\n");
    assert_eq!(terminal.finish(), 0);
}

#[test]
fn plan_output_equals_fmt_of_the_same_steps() {
    let model = model();
    let model_text = model.to_string_lossy().to_string();
    let mut terminal = Terminal::start(&["repl", "--input", &model_text]);
    let steps = [
        "- copy: {from: wte.weight, to: wte_copy.weight}",
        "scale_: target: wte_copy.weight, by: 0.5",
        "h.\\1.ln_1.half = h.(\\d+).ln_1.weight as float16",
        "del h\\.1\\.mlp\\..*",
    ];
    for step in steps {
        let printed = terminal.line(step);
        assert!(!printed.contains("error["), "{step}: {printed}");
    }
    let typed_terse = terminal.line(":plan terse");
    let typed_yaml = terminal.line(":plan yaml");
    assert_eq!(terminal.finish(), 0);

    // The same steps in a plan file, formatted by `brainsurgery fmt`.
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let plan = scratch.path().join("same.yaml");
    let text = format!(
        "inputs:\n  - {model_text}\ntransforms:\n  - copy: {{from: wte.weight, to: wte_copy.weight}}\n  - scale_: {{target: wte_copy.weight, by: 0.5}}\n  - cast: {{from: 'h.(\\d+).ln_1.weight', to: 'h.\\1.ln_1.half', dtype: float16}}\n  - delete: {{target: 'h\\.1\\.mlp\\..*'}}\n"
    );
    std::fs::write(&plan, text).expect("a writable plan");
    let fmt = |to: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
            .args(["fmt", &plan.to_string_lossy(), "--to", to])
            .output()
            .expect("fmt runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    assert_eq!(typed_terse, fmt("terse"));
    assert_eq!(typed_yaml, fmt("yaml"));
}

#[test]
fn tab_completes_tensor_names_after_h_0() {
    let model = model();
    let mut terminal = Terminal::start(&["repl", "--input", &model.to_string_lossy()]);
    // Two tabs list the next segments of the names after `h.0.`.
    terminal.keys("x = h.0.");
    terminal.keys("\t");
    terminal.keys("\t");
    let listing = terminal.expect("h.0.mlp.");
    assert!(listing.contains("h.0.attn."), "{listing}");
    assert!(listing.contains("h.0.ln_1."), "{listing}");
    // One more segment at a time, each completed by one tab: `ml` → `h.0.mlp.`, then
    // `c_f` → `h.0.mlp.c_fc.`, then `w` → `h.0.mlp.c_fc.weight`.
    terminal.expect("x = h.0.");
    for part in ["ml", "c_f", "w"] {
        terminal.keys(part);
        terminal.keys("\t");
    }
    terminal.expect("x = h.0.mlp.c_fc.weight");
    terminal.keys("\r");
    terminal.expect("created  x  F32  [8, 32]");
    terminal.prompt();
    assert_eq!(terminal.finish(), 0);
}

#[test]
fn history_is_kept_in_the_data_directory() {
    let model = model();
    let mut terminal = Terminal::start(&["repl", "--input", &model.to_string_lossy()]);
    terminal.line("kept = ln_f.bias");
    let history = terminal.scratch.path().join("data/brainsurgery/history");
    let scratch_path = terminal.scratch.path().to_path_buf();
    assert_eq!(terminal.finish(), 0);
    let text = std::fs::read_to_string(&history).expect("a history file");
    assert!(text.contains("kept = ln_f.bias"), "{text}");
    // A new session recalls it with the up arrow.
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let mut terminal = Terminal::start_in(
        scratch,
        &["repl", "--input", &model.to_string_lossy()],
        Some(&scratch_path.join("data")),
    );
    terminal.keys("\x1b[A");
    terminal.expect("kept = ln_f.bias");
    terminal.keys("\r");
    terminal.expect("created  kept  F32  [8]");
    terminal.prompt();
    assert_eq!(terminal.finish(), 0);
}

#[test]
fn an_unwritable_history_never_stops_the_session() {
    let model = model();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    // The data "directory" is a file, so the history directory cannot be created.
    let blocked = scratch.path().join("not-a-directory");
    std::fs::write(&blocked, b"").expect("a file");
    let mut terminal = Terminal::start_in(
        scratch,
        &["repl", "--input", &model.to_string_lossy()],
        Some(&blocked),
    );
    assert_eq!(
        terminal.line("x = wte.weight"),
        "created  x  F32  [64, 8]\n"
    );
    assert_eq!(terminal.finish(), 0);
}

#[test]
fn yaml_blocks_continue_until_an_empty_line_and_ctrl_c_drops_an_entry() {
    let model = model();
    let mut terminal = Terminal::start(&["repl", "--input", &model.to_string_lossy()]);
    terminal.session.send_line("- copy:").expect("sent");
    terminal.expect("... ");
    terminal
        .session
        .send_line("    from: wpe.weight")
        .expect("sent");
    terminal.expect("... ");
    terminal.session.send_line("    to: p").expect("sent");
    terminal.expect("... ");
    terminal.session.send_line("").expect("sent");
    terminal.expect("created  p  F32  [16, 8]");
    terminal.prompt();
    // Ctrl-C in the middle of a block drops it: nothing is created.
    terminal
        .session
        .send_line("copy: {from: wpe.weight,")
        .expect("sent");
    terminal.expect("... ");
    terminal.session.send_control('c').expect("Ctrl-C");
    terminal.prompt();
    assert_eq!(terminal.line(":show p|q"), "p  F32  [16, 8]\n1 tensor\n");
    assert_eq!(terminal.finish(), 0);
}

#[test]
fn the_interactive_flag_loads_a_plan_then_prompts() {
    let model = model();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let plan = scratch.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "inputs: ['{}']\ntransforms:\n  - copy: {{from: wte.weight, to: t}}\n",
            model.display()
        ),
    )
    .expect("a writable plan");
    let mut terminal = Terminal::start_in(scratch, &["-i", "plan.yaml"], None);
    assert_eq!(terminal.line(":show t"), "t  F32  [64, 8]\n1 tensor\n");
    // `exit` ends the session like `:quit`.
    terminal.session.send_line("exit").expect("sent");
    terminal.session.exp_eof().expect("the session ends");
}

#[test]
fn run_writes_what_run_writes_for_the_saved_plan() {
    let model = model();
    let mut terminal = Terminal::start(&["repl", "--input", &model.to_string_lossy()]);
    for step in [
        "x = wte.weight * 0.5",
        "cast_: target: h.0.mlp.c_fc.weight, to: bfloat16",
        "del h\\.1\\..*",
        "output \"out.safetensors\"",
    ] {
        let printed = terminal.line(step);
        assert!(!printed.contains("error["), "{step}: {printed}");
    }
    let dry = terminal.line(":run --dry-run");
    assert!(dry.contains("dry run: nothing written"), "{dry}");
    let directory = terminal.scratch.path().to_path_buf();
    assert!(!directory.join("out.safetensors").exists());
    let ran = terminal.line(":run");
    assert!(ran.contains("wrote out.safetensors"), "{ran}");
    terminal.line(":save plan.yaml");
    assert_eq!(terminal.finish(), 0);

    let typed = std::fs::read(directory.join("out.safetensors")).expect(":run wrote the output");
    std::fs::rename(
        directory.join("out.safetensors"),
        directory.join("typed.safetensors"),
    )
    .expect("renamed");
    let output = Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .args(["run", "plan.yaml", "--quiet"])
        .current_dir(&directory)
        .output()
        .expect("run runs");
    assert!(output.status.success(), "{output:?}");
    let saved = std::fs::read(directory.join("out.safetensors")).expect("run wrote the output");
    assert!(
        typed == saved,
        "`:run` and `run` on the saved plan wrote different bytes"
    );
    // The output holds what the steps say: 28 tensors, 12 of h.1 deleted, x added.
    let checkpoint = brainsurgery::io::Checkpoint::open(directory.join("typed.safetensors"))
        .expect("a valid checkpoint");
    assert_eq!(checkpoint.tensors().len(), 28 - 12 + 1);
    assert_eq!(
        checkpoint
            .tensor("h.0.mlp.c_fc.weight")
            .map(|t| t.ty.dtype.to_string()),
        Some("BF16".to_string())
    );
}
