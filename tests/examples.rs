//! Every runnable example under `examples/`: its committed checkpoints are what the generator
//! produces, its terse twin is the same plan as its YAML file, and it runs through the built
//! binary from the repository root (output redirected into a temporary directory) with a result
//! checked by computations made here from the input bytes, never by the code under test.

mod run_support;

#[path = "../examples/support/derived.rs"]
mod derived;
#[path = "../examples/support/gpt2_tiny.rs"]
mod gpt2_tiny;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use run_support::{assert_exit, read, run, stdout, Tensor};

const OLMO: &str = "examples/models/olmo-tiny";

/// Runs `examples/NAME.yaml` into `scratch/NAME` and its terse twin into `scratch/NAME-terse`,
/// checks both wrote the same tensors, and returns them.
fn run_example(scratch: &Path, name: &str) -> BTreeMap<String, Tensor> {
    let yaml = format!("examples/{name}.yaml");
    let destination = scratch.join(name);
    let output = run(&[
        "run",
        "-q",
        &yaml,
        &format!("output.path={}", destination.display()),
    ]);
    assert_exit(&output, 0);
    // A terse plan takes no overrides: run a copy whose output line names the scratch directory.
    let terse_destination = scratch.join(format!("{name}-terse"));
    let text = std::fs::read_to_string(format!("examples/{name}.bs")).expect("terse twin");
    let output_line = text
        .lines()
        .find(|line| line.starts_with("output \""))
        .expect("the terse twin has an output line");
    let path = output_line.split('"').nth(1).expect("a quoted output path");
    let redirected = text.replace(
        &format!("\"{path}\""),
        &format!("\"{}\"", terse_destination.display()),
    );
    let copy = scratch.join(format!("{name}.bs"));
    std::fs::write(&copy, redirected).expect("copy written");
    let output = run(&["run", "-q", copy.to_str().expect("utf-8 path")]);
    assert_exit(&output, 0);
    let tensors = read(&destination);
    assert_eq!(
        read(&terse_destination),
        tensors,
        "{name}: YAML and terse differ"
    );
    tensors
}

fn values(tensors: &BTreeMap<String, Tensor>, name: &str) -> Vec<f32> {
    tensors
        .get(name)
        .unwrap_or_else(|| panic!("{name} is missing"))
        .f32_values()
}

#[test]
fn the_committed_models_are_what_the_generator_writes() {
    let base = gpt2_tiny::build();
    let tuned = derived::build_tuned(&base);
    let expected = [
        (gpt2_tiny::RELATIVE_PATH, base),
        (derived::TUNED_PATH, tuned),
        (derived::OLMO_PATH, derived::build_dense()),
        (derived::MOE_PATH, derived::build_moe()),
    ];
    for (relative, bytes) in expected {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let committed = std::fs::read(&path).expect("committed model");
        assert!(committed.len() <= 1 << 20, "{relative} exceeds 1 MB");
        assert!(
            committed == bytes,
            "{relative} is stale: run `cargo run --example make_models`"
        );
    }
}

#[test]
fn every_yaml_example_has_a_terse_twin_with_the_same_plan() {
    let mut names: Vec<PathBuf> = std::fs::read_dir("examples")
        .expect("examples/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "examples found: {names:?}");
    for yaml in names {
        let terse = yaml.with_extension("bs");
        let load = |path: &Path| {
            let mut sources = brainsurgery::diagnostics::SourceMap::new();
            let text = path.to_str().expect("utf-8 path");
            brainsurgery::plan::yaml::load_plan(&[text], &[], &mut sources)
                .unwrap_or_else(|_| panic!("{text} parses"))
        };
        let (from_yaml, from_terse) = (load(&yaml), load(&terse));
        assert_eq!(from_yaml, from_terse, "{}", yaml.display());
        assert_eq!(
            brainsurgery::cli::run::plan_hash(&from_yaml),
            brainsurgery::cli::run::plan_hash(&from_terse)
        );
    }
}

#[test]
fn gpt2_roundtrip_gives_back_its_input_as_diff_reports() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let tensors = run_example(scratch.path(), "gpt2_roundtrip");
    assert_eq!(tensors, read(run_support::GPT2));
    let destination = scratch.path().join("gpt2_roundtrip");
    let diff = run(&[
        "diff",
        "examples/models/gpt2-tiny",
        destination.to_str().expect("utf-8 path"),
    ]);
    assert_exit(&diff, 0);
    assert!(stdout(&diff).contains("No differences found."));
}

#[test]
fn moe_upcycle_makes_both_experts_the_dense_mlp_with_a_zero_router() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "moe_upcycle");
    let dense = read(OLMO);
    for layer in 0..derived::LAYERS {
        for projection in ["gate", "up", "down"] {
            let source = format!("model.layers.{layer}.mlp.{projection}_proj.weight");
            assert!(!output.contains_key(&source), "{source} was not deleted");
            for expert in 0..2 {
                let name =
                    format!("model.layers.{layer}.mlp.experts.{expert}.{projection}_proj.weight");
                assert_eq!(output.get(&name), dense.get(&source), "{name}");
            }
        }
        let router = &output[&format!("model.layers.{layer}.mlp.gate.weight")];
        assert_eq!(router.shape, vec![2, derived::HIDDEN as u64]);
        assert!(router.f32_values().iter().all(|v| v.to_bits() == 0));
    }
    // Everything outside the MLPs passes through unchanged.
    for (name, tensor) in &dense {
        if !name.contains(".mlp.") {
            assert_eq!(output.get(name), Some(tensor), "{name}");
        }
    }
    assert_eq!(output.len(), dense.len() - 6 + 12 + 2);
}

#[test]
fn bulk_scale_multiplies_every_projection_exactly_and_shards_the_output() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "bulk_scale");
    let input = read(OLMO);
    assert_eq!(
        output.keys().collect::<Vec<_>>(),
        input.keys().collect::<Vec<_>>()
    );
    let mut scaled = 0;
    for (name, tensor) in &input {
        if name.ends_with("_proj.weight") {
            // PyTorch's rule: the factor becomes an f32, one f32 product per value.
            let expected: Vec<f32> = tensor.f32_values().iter().map(|v| v * 0.9f32).collect();
            let got = values(&output, name);
            assert!(
                expected
                    .iter()
                    .zip(&got)
                    .all(|(e, g)| e.to_bits() == g.to_bits()),
                "{name}"
            );
            scaled += 1;
        } else {
            assert_eq!(&output[name], tensor, "{name}");
        }
    }
    assert_eq!(scaled, 14);
    let shards = std::fs::read_dir(scratch.path().join("bulk_scale"))
        .expect("output directory")
        .filter(|entry| {
            let name = entry.as_ref().expect("entry").file_name();
            name.to_string_lossy().ends_with(".safetensors")
        })
        .count();
    assert!(shards >= 3, "{shards} shards");
}

#[test]
fn prefix_rewrite_renames_to_megatron_style_without_changing_bytes() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "prefix_rewrite");
    let input = read(run_support::GPT2);
    // The renaming computed independently: prefix, then the block-level substitutions.
    let rename = |name: &str| {
        let name = format!("transformer.{name}")
            .replace(".attn.", ".self_attention.")
            .replace(".mlp.c_fc.", ".mlp.dense_h_to_4h.")
            .replace(".mlp.c_proj.", ".mlp.dense_4h_to_h.");
        match name.strip_prefix("transformer.h.") {
            Some(rest) => format!("transformer.layers.{rest}"),
            None => name,
        }
    };
    let expected: BTreeMap<String, Tensor> = input
        .iter()
        .map(|(name, tensor)| (rename(name), tensor.clone()))
        .collect();
    assert_eq!(output, expected);
}
