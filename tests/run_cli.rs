//! `brainsurgery run` and `brainsurgery diff` as a user calls them: the implicit `run`, exit codes,
//! `--dry-run`, failed assertions (nothing published, not even a `save`), `--summarize-path`,
//! sharding defaults, provenance, refusals of what this version cannot do, and the diff report.

mod run_support;

use std::path::Path;

use brainsurgery::tensor::DType;
use run_support::{assert_exit, metadata, read, run, stderr, stdout, write, Tensor, GPT2};

fn plan(directory: &Path, name: &str, text: &str) -> String {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("plan written");
    path.display().to_string()
}

#[test]
fn a_plan_path_as_first_argument_runs_it() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let destination = scratch.path().join("out.safetensors");
    let output = run(&[
        "tests/conformance/36_exit.yaml",
        &format!("output.path={}", destination.display()),
        "--quiet",
    ]);
    assert_exit(&output, 0);
    let written = read(&destination);
    assert_eq!(written.len(), 27);
    assert!(!written.contains_key("wte.weight"));
}

#[test]
fn a_failed_assertion_exits_1_points_at_its_step_and_publishes_nothing() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let destination = scratch.path().join("out");
    let saved = scratch.path().join("saved");
    let text = format!(
        "inputs: [{GPT2}]\ntransforms:\n  - save: {{ path: {} }}\n  - scale: {{ from: ln_f.weight, to: x, by: 1 }}\n  - assert: {{ not: {{ equal: {{ left: ln_f.weight, right: x }} }} }}\n  - dump: {{ target: ln_f.bias }}\noutput: {}\n",
        saved.display(),
        destination.display()
    );
    let plan_path = plan(scratch.path(), "fails.yaml", &text);
    let output = run(&["run", "-q", &plan_path]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("error[E0501]: assertion failed"),
        "{message}"
    );
    assert!(message.contains("fails.yaml:5:5"), "{message}");
    assert!(
        !destination.exists() && !saved.exists(),
        "something was published"
    );
    // The dump after the failed assertion never prints.
    assert!(!stdout(&output).contains("ln_f.bias"));
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("listable")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-bs-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_dry_run_checks_values_but_writes_nothing() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let destination = scratch.path().join("out");
    let summary = scratch.path().join("summary.yaml");
    let passing = format!(
        "inputs: [{GPT2}]\ntransforms:\n  - copy: {{ from: ln_f.weight, to: x }}\n  - assert: {{ equal: {{ left: ln_f.weight, right: x }} }}\n  - dump: {{ target: x, verbosity: stat }}\noutput: {}\n",
        destination.display()
    );
    let plan_path = plan(scratch.path(), "dry.yaml", &passing);
    let summary_arg = summary.display().to_string();
    let output = run(&[
        "run",
        "--dry-run",
        "--summarize-path",
        &summary_arg,
        &plan_path,
    ]);
    assert_exit(&output, 0);
    assert!(!destination.exists());
    assert!(
        !summary.exists(),
        "a dry run writes no summary, as BrainSurgery"
    );
    assert!(
        stdout(&output).contains("model::x  F32 [8]  min="),
        "{}",
        stdout(&output)
    );
    assert!(stderr(&output).contains("dry run: nothing written"));
    let failing = passing
        .replace("equal: {", "not: { equal: {")
        .replace("x } }", "x } } }");
    let plan_path = plan(scratch.path(), "dry_fail.yaml", &failing);
    let output = run(&["run", "--dry-run", &plan_path]);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("E0501"));
}

#[test]
fn the_summary_is_the_resolved_plan_up_to_exit_and_its_hash_is_the_provenance() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let destination = scratch.path().join("out");
    let summary = scratch.path().join("summary.yaml");
    let output = run(&[
        "run",
        "-q",
        "tests/conformance/36_exit.yaml",
        &format!("output.path={}", destination.display()),
        "--summarize-path",
        &summary.display().to_string(),
    ]);
    assert_exit(&output, 0);
    let text = std::fs::read_to_string(&summary).expect("summary written");
    assert!(text.contains("delete"), "{text}");
    assert!(text.contains("exit"), "{text}");
    assert!(
        !text.contains("no.such.tensor"),
        "steps after exit are not in the summary"
    );
    // The summary parses as a plan, and the output's plan hash is its SHA-256.
    let mut sources = brainsurgery::diagnostics::SourceMap::new();
    let id = sources.add("summary.yaml", text.as_str());
    let parsed = brainsurgery::plan::yaml::parse_yaml(&mut sources, id).expect("summary parses");
    let hash = brainsurgery::cli::run::plan_hash(&parsed);
    assert_eq!(
        metadata(destination.join("model-00001-of-00001.safetensors"))
            .get("brainsurgery.plan_hash"),
        Some(&hash)
    );
}

#[test]
fn directory_outputs_shard_at_the_default_and_at_shard_size() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let default = scratch.path().join("default");
    let small = scratch.path().join("small");
    let single = scratch.path().join("single");
    for (destination, extra) in [
        (&default, vec![]),
        (&small, vec!["--shard-size", "4KB"]),
        (&single, vec!["--shard-size", "none"]),
    ] {
        let output_arg = format!("output.path={}", destination.display());
        let mut args = vec![
            "run",
            "-q",
            "tests/conformance/26_static_assertions.yaml",
            &output_arg,
        ];
        args.extend(extra);
        assert_exit(&run(&args), 0);
    }
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("listable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&default),
        [
            "model-00001-of-00001.safetensors",
            "model.safetensors.index.json"
        ]
    );
    // 9.4 KiB of tensors in 4 KiB shards.
    assert_eq!(names(&small).len(), 4);
    assert_eq!(names(&single), ["model.safetensors"]);
    let input = read(GPT2);
    assert_eq!(read(&default), input);
    assert_eq!(read(&small), input);
    assert_eq!(read(&single), input);
}

#[test]
fn usage_and_io_errors_have_their_exit_codes() {
    let output = run(&[
        "run",
        "--memory-budget",
        "lots",
        "tests/conformance/26_static_assertions.yaml",
    ]);
    assert_exit(&output, 2);
    let output = run(&[
        "run",
        "--num-workers",
        "0",
        "tests/conformance/26_static_assertions.yaml",
    ]);
    assert_exit(&output, 2);
    let scratch = tempfile::tempdir().expect("tempdir");
    let missing = plan(
        scratch.path(),
        "missing.yaml",
        "inputs: [does/not/exist.safetensors]\noutput: out/never\n",
    );
    let output = run(&["run", &missing]);
    assert_exit(&output, 3);
    let output = run(&["run", "tests/conformance/07_shape_mismatch.yaml"]);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("E0405"));
}

#[test]
fn what_this_version_cannot_do_is_refused_before_anything_runs() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let refused = |name: &str, output_yaml: &str, steps: &str, code: &str| {
        let text = format!("inputs: [{GPT2}]\ntransforms:\n{steps}output: {output_yaml}\n");
        let output = run(&["run", &plan(scratch.path(), name, &text)]);
        assert_exit(&output, 1);
        assert!(stderr(&output).contains(code), "{}", stderr(&output));
    };
    let torch = scratch.path().join("out.pt");
    let delete = "  - delete: { target: wte.weight }\n";
    // A PyTorch file is one file: BrainSurgery refuses `shard` for it.
    refused(
        "torch_shard.yaml",
        &format!("{{ path: {}, shard: 1MB }}", torch.display()),
        delete,
        "E0506",
    );
    refused(
        "torch_format.yaml",
        &format!(
            "{{ path: {}, format: torch }}",
            scratch.path().join("o").display()
        ),
        delete,
        "E0506",
    );
    refused(
        "dcp.yaml",
        &format!(
            "{{ path: {}, format: dcp }}",
            scratch.path().join("d").display()
        ),
        delete,
        "E0503",
    );
    // NumPy has no bfloat16: the writer's refusal is reported before anything runs.
    let npy = scratch.path().join("w.npy");
    refused(
        "npy_bf16.yaml",
        &torch.display().to_string(),
        &format!(
            "  - cast: {{ from: ln_f.weight, to: half, dtype: bfloat16 }}\n  - save: {{ path: {}, target: half }}\n",
            npy.display()
        ),
        "E0052",
    );
    assert!(!torch.exists() && !npy.exists());
    assert!(!scratch.path().join("o").exists() && !scratch.path().join("d").exists());
}

#[test]
fn no_progress_bar_is_drawn_when_stderr_is_not_a_terminal() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run(&[
        "run",
        "tests/conformance/26_static_assertions.yaml",
        &format!("output.path={}", scratch.path().join("o").display()),
    ]);
    assert_exit(&output, 0);
    let text = stderr(&output);
    assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("28 tensors"), "{text}");
}

#[test]
fn a_single_tensor_load_and_save_round_trip() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let single = scratch.path().join("single.safetensors");
    write(
        &single,
        &[("only".to_string(), Tensor::f32(&[3], &[1.0, -2.0, 0.5]))],
        None,
    );
    let saved = scratch.path().join("saved.safetensors");
    let text = format!(
        "inputs: [{GPT2}]\ntransforms:\n  - load: {{ path: {}, to: extra }}\n  - scale_: {{ target: extra, by: 2 }}\n  - save: {{ path: {}, target: extra }}\noutput: {}\n",
        single.display(),
        saved.display(),
        scratch.path().join("o").display()
    );
    let output = run(&["run", "-q", &plan(scratch.path(), "single.yaml", &text)]);
    assert_exit(&output, 0);
    let written = read(&saved);
    assert_eq!(written.len(), 1);
    assert_eq!(written["extra"].f32_values(), [2.0, -4.0, 1.0]);
    assert_eq!(
        read(scratch.path().join("o"))["extra"].f32_values(),
        [2.0, -4.0, 1.0]
    );
}

#[test]
fn diff_reports_missing_names_and_differences_and_sets_the_exit_code() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let left = scratch.path().join("left.safetensors");
    let right = scratch.path().join("right.safetensors");
    write(
        &left,
        &[
            ("same".to_string(), Tensor::f32(&[2], &[1.0, 2.0])),
            ("close".to_string(), Tensor::f32(&[2], &[1.0, 2.0])),
            ("only_left".to_string(), Tensor::f32(&[1], &[0.0])),
            ("retyped".to_string(), Tensor::f32(&[1], &[0.0])),
        ],
        None,
    );
    write(
        &right,
        &[
            ("same".to_string(), Tensor::f32(&[2], &[1.0, 2.0])),
            ("close".to_string(), Tensor::f32(&[2], &[1.0, 2.25])),
            ("only_right".to_string(), Tensor::f32(&[1], &[0.0])),
            (
                "retyped".to_string(),
                Tensor {
                    dtype: DType::F64,
                    shape: vec![1],
                    bytes: 0f64.to_le_bytes().to_vec(),
                },
            ),
        ],
        None,
    );
    let (l, r) = (left.display().to_string(), right.display().to_string());
    let output = run(&["diff", &l, &r]);
    assert_exit(&output, 1);
    assert_eq!(
        stdout(&output),
        "Missing on left: only_right\nMissing on right: only_left\nDiffering:\n  close: values differ\n  retyped: dtype F32 != F64\n"
    );
    let output = run(&["diff", &l, &r, "--eps", "0.5", "--json"]);
    assert_exit(&output, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(report["equal"], false);
    assert_eq!(report["differing"][0]["name"], "retyped");
    assert_eq!(report["missing_left"][0], "only_right");
    let output = run(&["diff", &l, &l]);
    assert_exit(&output, 0);
    assert!(stdout(&output).ends_with("No differences found.\n"));
    let output = run(&["diff", &l, &r, "--eps", "-1"]);
    assert_exit(&output, 2);
    let output = run(&["diff", &l, "missing.safetensors"]);
    assert_exit(&output, 3);
}
