//! `brainsurgery run` over PyTorch and NumPy files, through the built binary on checkpoints the
//! tests generate in temporary directories: torch inputs and outputs (plan `output` and `save`),
//! single-tensor `load … to:` from `.npy`/`.npz`/`.pt` and `save … target:` to `.npy`/`.pt`,
//! whole-checkpoint loads of torch files and directories into an alias, and the refusals
//! (`shard` on a torch file, several tensors for one `.npy`). Every comparison is bit for bit.

mod run_support;

use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::io::{write_archive, write_npy, write_torch, ArchiveFormat, WriterOptions};
use brainsurgery::tensor::{DType, Shape, TensorType};
use run_support::{assert_exit, read, run, stderr, write, Numbers, Tensor};

/// Deterministic tensors of several dtypes (bytes drawn at random, so every bit pattern counts).
fn sample_tensors() -> Vec<(String, Tensor)> {
    let mut numbers = Numbers::new(7);
    let mut tensor = |dtype: DType, shape: &[u64]| {
        let count: u64 = shape.iter().product();
        let bytes = (0..count * dtype.bit_size() as u64 / 8)
            .map(|_| numbers.next() as u8)
            .collect();
        Tensor {
            dtype,
            shape: shape.to_vec(),
            bytes,
        }
    };
    vec![
        ("h.0.attn.weight".to_string(), tensor(DType::F32, &[8, 6])),
        ("h.0.mlp.bias".to_string(), tensor(DType::F16, &[10])),
        ("ln_f.weight".to_string(), tensor(DType::BF16, &[3, 4])),
        ("position.ids".to_string(), tensor(DType::I64, &[5])),
    ]
}

fn as_records(tensors: &[(String, Tensor)]) -> Vec<(String, TensorType, Vec<u8>)> {
    tensors
        .iter()
        .map(|(name, t)| (name.clone(), t.ty(), t.bytes.clone()))
        .collect()
}

fn write_pt(path: &Path, tensors: &[(String, Tensor)]) {
    write_torch(path, &as_records(tensors), WriterOptions::default()).expect("torch written");
}

fn plan(directory: &Path, text: &str) -> String {
    let path = directory.join("plan.yaml");
    std::fs::write(&path, text).expect("plan written");
    path.display().to_string()
}

fn run_plan(directory: &Path, text: &str) -> std::process::Output {
    run(&["run", "--quiet", &plan(directory, text)])
}

fn f32_tensor(values: &[f32]) -> Tensor {
    Tensor::f32(&[values.len() as u64], values)
}

#[test]
fn a_torch_input_is_written_as_safetensors_with_identical_bytes() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let source = scratch.path().join("model.pt");
    let tensors = sample_tensors();
    write_pt(&source, &tensors);
    let destination = scratch.path().join("out.safetensors");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - copy: {{ from: ln_f.weight, to: ln_f.copy }}\noutput: {}\n",
            source.display(),
            destination.display()
        ),
    );
    assert_exit(&output, 0);
    let written = read(&destination);
    let mut expected: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    expected.insert("ln_f.copy".to_string(), expected["ln_f.weight"].clone());
    assert_eq!(written, expected);
}

#[test]
fn safetensors_written_as_torch_read_back_identical() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let source = scratch.path().join("model.safetensors");
    let mut tensors = sample_tensors();
    tensors.push(("scale.me".to_string(), f32_tensor(&[1.5, -2.0, 0.25])));
    write(&source, &tensors, None);
    for (path, format) in [
        ("out.pt", ""),
        ("out.bin", ""),
        ("weights.pth", ", format: torch"),
    ] {
        let destination = scratch.path().join(path);
        let output = run_plan(
            scratch.path(),
            &format!(
                "inputs: [{}]\ntransforms:\n  - scale_: {{ target: scale.me, by: 2 }}\n  - move: {{ from: h.0.mlp.bias, to: h.0.mlp.b }}\noutput: {{ path: {}{format} }}\n",
                source.display(),
                destination.display()
            ),
        );
        assert_exit(&output, 0);
        let written = read(&destination);
        let mut expected: BTreeMap<String, Tensor> = tensors.iter().cloned().collect();
        let bias = expected.remove("h.0.mlp.bias").expect("present");
        expected.insert("h.0.mlp.b".to_string(), bias);
        expected.insert("scale.me".to_string(), f32_tensor(&[3.0, -4.0, 0.5]));
        assert_eq!(written, expected, "{path}");
        // The file is a PyTorch archive, not safetensors under another name.
        let bytes = std::fs::read(&destination).expect("readable");
        assert_eq!(&bytes[..4], b"PK\x03\x04", "{path}");
    }
}

#[test]
fn npy_load_and_save_round_trip_bit_identically() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &[("a".to_string(), f32_tensor(&[1.0]))], None);
    let array = Tensor {
        dtype: DType::F16,
        shape: vec![3, 5],
        bytes: (0..30u8).map(|b| b.wrapping_mul(37)).collect(),
    };
    let source = scratch.path().join("array.npy");
    write_npy(
        &source,
        "array",
        &array.ty(),
        &array.bytes,
        &WriterOptions::default(),
    )
    .expect("npy written");
    let saved = scratch.path().join("saved.npy");
    let destination = scratch.path().join("out.safetensors");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - load: {{ path: {}, to: loaded, format: numpy }}\n  - save: {{ path: {}, target: loaded }}\noutput: {}\n",
            base.display(),
            source.display(),
            saved.display(),
            destination.display()
        ),
    );
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        std::fs::read(&source).expect("source"),
        "the saved .npy differs from the loaded one"
    );
    let written = read(&destination);
    assert_eq!(written["loaded"], array);
    assert_eq!(written["a"], f32_tensor(&[1.0]));
}

#[test]
fn single_tensors_load_from_npz_and_torch_and_save_as_torch() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    let kept = f32_tensor(&[0.5, 0.75]);
    write(&base, &[("kept".to_string(), kept.clone())], None);
    let from_npz = Tensor {
        dtype: DType::I32,
        shape: vec![2, 2],
        bytes: (1..=16u8).collect(),
    };
    let npz = scratch.path().join("one.npz");
    write_archive(
        &npz,
        ArchiveFormat::Npz,
        &[(
            "anything".to_string(),
            from_npz.ty(),
            from_npz.bytes.clone(),
        )],
        WriterOptions::default(),
    )
    .expect("npz written");
    let from_torch = f32_tensor(&[9.0, -9.0, 0.0]);
    let pt = scratch.path().join("one.pt");
    write_pt(&pt, &[("state".to_string(), from_torch.clone())]);
    let saved = scratch.path().join("kept.pt");
    let destination = scratch.path().join("out.safetensors");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - load: {{ path: {}, to: from.npz }}\n  - load: {{ path: {}, to: from.torch }}\n  - save: {{ path: {}, target: kept }}\noutput: {}\n",
            base.display(),
            npz.display(),
            pt.display(),
            saved.display(),
            destination.display()
        ),
    );
    assert_exit(&output, 0);
    let written = read(&destination);
    assert_eq!(written["from.npz"], from_npz);
    assert_eq!(written["from.torch"], from_torch);
    assert_eq!(written["kept"], kept);
    let saved = read(&saved);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved["kept"], kept);
}

/// `load`'s `format` is checked against what the file holds (recognised by content): a match or
/// `auto` loads, a mismatch is refused at check time with E0430, pointing at the format and the
/// path, in both syntaxes, and nothing is written.
#[test]
fn a_load_format_that_does_not_match_the_file_is_refused() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &[("kept".to_string(), f32_tensor(&[1.0]))], None);
    let loaded = f32_tensor(&[2.0, 3.0]);
    let pt = scratch.path().join("one.pt");
    write_pt(&pt, &[("state".to_string(), loaded.clone())]);
    let single = scratch.path().join("one.safetensors");
    write(&single, &[("only".to_string(), loaded.clone())], None);
    let destination = scratch.path().join("out.safetensors");
    let yaml = |path: &Path, format: &str| {
        format!(
            "inputs: [{}]\ntransforms:\n  - load: {{ path: {}, to: loaded, format: {format} }}\noutput: {}\n",
            base.display(),
            path.display(),
            destination.display()
        )
    };
    for (path, format) in [(&pt, "torch"), (&pt, "auto"), (&single, "safetensors")] {
        let output = run_plan(scratch.path(), &yaml(path, format));
        assert_exit(&output, 0);
        assert_eq!(read(&destination)["loaded"], loaded, "{format}");
        std::fs::remove_file(&destination).expect("remove the output");
    }
    for (path, format, found) in [
        (&pt, "safetensors", "torch"),
        (&single, "numpy", "safetensors"),
        (&single, "torch", "safetensors"),
    ] {
        let output = run_plan(scratch.path(), &yaml(path, format));
        assert_exit(&output, 1);
        let message = stderr(&output);
        assert!(message.contains("E0430"), "{message}");
        assert!(
            message.contains(&format!("load format is {format}, but")),
            "{message}"
        );
        assert!(
            message.contains(&format!("holds a {found} file")),
            "{message}"
        );
        assert!(!destination.exists(), "nothing is written");
    }
    let terse = scratch.path().join("plan.bs");
    std::fs::write(
        &terse,
        format!(
            "input \"{}\"\nload \"{}\" to=loaded format=numpy\noutput \"{}\"\n",
            base.display(),
            pt.display(),
            destination.display()
        ),
    )
    .expect("terse plan written");
    let output = run(&["run", "--quiet", &terse.display().to_string()]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(message.contains("E0430"), "{message}");
    assert!(message.contains("holds a torch file"), "{message}");
    assert!(!destination.exists(), "nothing is written");
}

#[test]
fn a_torch_checkpoint_loads_into_an_alias_and_an_alias_saves_as_torch() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &[("a".to_string(), f32_tensor(&[1.0, 2.0]))], None);
    // A directory of two torch shards, read in name order.
    let directory = scratch.path().join("torch-shards");
    std::fs::create_dir(&directory).expect("directory");
    let tensors = sample_tensors();
    write_pt(&directory.join("part-1.bin"), &tensors[..2]);
    write_pt(&directory.join("part-2.bin"), &tensors[2..]);
    let saved = scratch.path().join("extra.pt");
    let destination = scratch.path().join("out.safetensors");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - load: {{ path: {}, alias: extra }}\n  - save: {{ path: {}, alias: extra }}\noutput: {{ path: {}, alias: model }}\n",
            base.display(),
            directory.display(),
            saved.display(),
            destination.display()
        ),
    );
    assert_exit(&output, 0);
    let expected: BTreeMap<String, Tensor> = tensors.into_iter().collect();
    assert_eq!(read(&saved), expected);
    assert_eq!(read(&destination).len(), 1);
}

#[test]
fn outputs_that_do_not_fit_their_format_are_refused_and_nothing_is_written() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &sample_tensors(), None);
    let cases = [
        (
            "out.pt",
            "shard: 1KB",
            "E0506",
            "only supported for safetensors",
        ),
        ("out.npy", "", "E0506", "exactly one tensor"),
        ("out.npz", "", "E0052", "bf16"),
        (
            "out.safetensors",
            "format: torch",
            "E0506",
            "format `torch` needs",
        ),
    ];
    for (path, extra, code, words) in cases {
        let destination = scratch.path().join(path);
        let options = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        for dry in [false, true] {
            let text = format!(
                "inputs: [{}]\ntransforms:\n  - delete: {{ target: position.ids }}\noutput: {{ path: {}{options} }}\n",
                base.display(),
                destination.display()
            );
            let plan_path = plan(scratch.path(), &text);
            let mut args = vec!["run", "--quiet", plan_path.as_str()];
            if dry {
                args.push("--dry-run");
            }
            let output = run(&args);
            assert_exit(&output, 1);
            let message = stderr(&output);
            assert!(message.contains(code), "{path}: {message}");
            assert!(
                message.to_lowercase().contains(&words.to_lowercase()),
                "{path}: {message}"
            );
            assert!(!destination.exists(), "{path} was written");
        }
    }
}

#[test]
fn a_failed_run_leaves_an_existing_torch_file_untouched() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &[("a".to_string(), f32_tensor(&[1.0, 2.0]))], None);
    let destination = scratch.path().join("out.pt");
    std::fs::write(&destination, b"previous contents").expect("existing file");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - assert: {{ iszero: a }}\noutput: {}\n",
            base.display(),
            destination.display()
        ),
    );
    assert_exit(&output, 1);
    assert_eq!(
        std::fs::read(&destination).expect("still there"),
        b"previous contents"
    );
    let names: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("listable")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|name| !name.contains("tmp-bs")),
        "a temporary was left behind: {names:?}"
    );
}

#[test]
fn a_bf16_tensor_is_not_silently_converted_for_npy() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &sample_tensors(), None);
    let saved = scratch.path().join("ln.npy");
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - save: {{ path: {}, target: ln_f.weight }}\n",
            base.display(),
            saved.display()
        ),
    );
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("E0052") && message.contains("ln_f.weight"),
        "{message}"
    );
    assert!(!saved.exists());
    // Cast first, as the message advises: bf16 → f32 is exact.
    let output = run_plan(
        scratch.path(),
        &format!(
            "inputs: [{}]\ntransforms:\n  - cast: {{ from: ln_f.weight, to: ln32, dtype: float32 }}\n  - save: {{ path: {}, target: ln32 }}\n",
            base.display(),
            saved.display()
        ),
    );
    assert_exit(&output, 0);
    let written = read(&saved);
    let source = &sample_tensors()[2].1;
    let widened: Vec<u8> = source
        .bytes
        .chunks_exact(2)
        .flat_map(|b| {
            half::bf16::from_le_bytes([b[0], b[1]])
                .to_f32()
                .to_le_bytes()
        })
        .collect();
    assert_eq!(written["ln"].bytes, widened);
    assert_eq!(
        written["ln"].ty(),
        TensorType::new(DType::F32, Shape::new(vec![3, 4]))
    );
}

#[test]
fn check_reports_what_run_would_refuse_about_an_output() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let base = scratch.path().join("base.safetensors");
    write(&base, &sample_tensors(), None);
    let torch = scratch.path().join("out.pt");
    let text = format!(
        "inputs: [{}]\ntransforms:\n  - delete: {{ target: position.ids }}\noutput: {{ path: {}, shard: 1MB }}\n",
        base.display(),
        torch.display()
    );
    let output = run(&["check", &plan(scratch.path(), &text)]);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("E0506"), "{}", stderr(&output));
    // The same plan without `shard` checks clean: a torch output is no longer refused.
    let text = text.replace(", shard: 1MB", "");
    let output = run(&["check", &plan(scratch.path(), &text)]);
    assert_exit(&output, 0);
}
