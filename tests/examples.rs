//! Every runnable example under `examples/`: its committed checkpoints are what the generator
//! produces, its terse twin is the same plan as its YAML file (exactly what `brainsurgery fmt`
//! prints for it, comments included), and it runs through the built binary from the repository
//! root (output redirected into a temporary directory) with a result checked by computations
//! made here from the input bytes, never by the code under test.

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

/// Every `examples/*.yaml`, sorted.
fn yaml_examples() -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir("examples")
        .expect("examples/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_yaml_example_has_a_terse_twin_with_the_same_plan() {
    let names = yaml_examples();
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
fn every_terse_twin_is_what_fmt_prints_for_its_yaml_file() {
    let names = yaml_examples();
    for yaml in names {
        let terse = yaml.with_extension("bs");
        let mut sources = brainsurgery::diagnostics::SourceMap::new();
        let items = [yaml.display().to_string()];
        let printed = brainsurgery::cli::fmt::format(
            &items,
            Some(brainsurgery::cli::fmt::Syntax::Terse),
            &mut sources,
        )
        .unwrap_or_else(|_| panic!("{} formats", yaml.display()));
        let committed = std::fs::read_to_string(&terse).expect("terse twin");
        assert!(
            committed == printed,
            "{} is not `brainsurgery fmt --to terse {}`: regenerate it",
            terse.display(),
            yaml.display()
        );
        // The twin carries the YAML file's comments: at least its header.
        let header = std::fs::read_to_string(&yaml).expect("YAML example");
        let first = header.lines().next().expect("a first line");
        assert!(first.starts_with("# "), "{}", yaml.display());
        assert!(committed.starts_with(first), "{}", terse.display());
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

/// `B·A` in f64, for B `rows × rank` and A `rank × columns`.
fn product(b: &Tensor, a: &Tensor) -> Vec<f64> {
    let (rows, rank, columns) = (
        b.shape[0] as usize,
        b.shape[1] as usize,
        a.shape[1] as usize,
    );
    assert_eq!(a.shape[0] as usize, rank, "factor ranks agree");
    let (b, a) = (b.f32_values(), a.f32_values());
    let mut values = vec![0.0f64; rows * columns];
    for row in 0..rows {
        for column in 0..columns {
            values[row * columns + column] = (0..rank)
                .map(|k| f64::from(b[row * rank + k]) * f64::from(a[k * columns + column]))
                .sum();
        }
    }
    values
}

/// `‖left − right‖_F` in f64.
fn frobenius_distance(left: &[f64], right: &[f64]) -> f64 {
    assert_eq!(left.len(), right.len());
    left.iter()
        .zip(right)
        .map(|(l, r)| (l - r) * (l - r))
        .sum::<f64>()
        .sqrt()
}

/// `a − b` in f64.
fn difference(a: &Tensor, b: &Tensor) -> Vec<f64> {
    a.f32_values()
        .iter()
        .zip(b.f32_values())
        .map(|(a, b)| f64::from(*a) - f64::from(b))
        .collect()
}

/// The Eckart–Young bound the generated deltas allow: a delta that is rank r plus noise of at
/// most `noise` per value is within `‖noise‖_F ≤ √(values) · noise` of its best rank-r
/// approximation, plus a little for the f32 rounding of the factors and sums.
fn low_rank_bound(values: usize, noise: f64) -> f64 {
    (values as f64).sqrt() * noise * 1.01 + 1e-5
}

const MOE: &str = "examples/models/olmo-tiny-moe";
const EXPERT_NOISE: f64 = derived::EXPERT_NOISE as f64;

#[test]
fn moe_phlora_expert_factors_each_expert_difference_to_rank_four() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "moe_phlora_expert");
    let moe = read(MOE);
    let rank = derived::EXPERT_DELTA_RANK as u64;
    for layer in 0..derived::LAYERS {
        for projection in ["gate", "up", "down"] {
            let expert =
                |e: usize| format!("model.layers.{layer}.mlp.experts.{e}.{projection}_proj");
            let (zero, one) = (expert(0), expert(1));
            let weight = |prefix: &str| format!("{prefix}.weight");
            let a = &output[&format!("{one}.phlora_a.weight")];
            let b = &output[&format!("{one}.phlora_b.weight")];
            let original = &moe[&weight(&one)];
            assert_eq!(a.shape, vec![rank, original.shape[1]]);
            assert_eq!(b.shape, vec![original.shape[0], rank]);
            let delta = difference(original, &moe[&weight(&zero)]);
            let error = frobenius_distance(&product(b, a), &delta);
            assert!(
                error <= low_rank_bound(delta.len(), EXPERT_NOISE),
                "{one}: {error}"
            );
            // The factors carry the delta: without them the error would be the delta itself.
            assert!(error < 0.1 * frobenius_distance(&delta, &vec![0.0; delta.len()]));
            assert_eq!(output.get(&weight(&zero)), moe.get(&weight(&zero)));
            assert!(!output.contains_key(&weight(&one)));
            assert!(!output.contains_key(&format!("{one}.delta.weight")));
        }
    }
    for (name, tensor) in &moe {
        if !name.contains(".experts.1.") {
            assert_eq!(output.get(name), Some(tensor), "{name}");
        }
    }
}

#[test]
fn moe_lowrank_expert_keeps_expert_one_within_the_rank_four_bound() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "moe_lowrank_expert");
    let moe = read(MOE);
    assert_eq!(
        output.keys().collect::<Vec<_>>(),
        moe.keys().collect::<Vec<_>>()
    );
    let mut changed = 0;
    for (name, tensor) in &moe {
        if name.contains(".experts.1.") {
            let zero = &moe[&name.replace(".experts.1.", ".experts.0.")];
            let error =
                frobenius_distance(&difference(&output[name], zero), &difference(tensor, zero));
            assert!(
                error <= low_rank_bound(tensor.f32_values().len(), EXPERT_NOISE),
                "{name}: {error}"
            );
            assert_eq!(output[name].shape, tensor.shape);
            changed += usize::from(&output[name] != tensor);
        } else {
            assert_eq!(&output[name], tensor, "{name}");
        }
    }
    // The noise is gone, so every expert-1 matrix moved (by less than the bound).
    assert_eq!(changed, 6);
}

#[test]
fn lora_extract_merge_gives_back_the_fine_tune_within_the_noise() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let output = run_example(scratch.path(), "lora_extract_merge");
    let base = read(run_support::GPT2);
    let tuned = read("examples/models/gpt2-tiny-tuned");
    assert_eq!(
        output.keys().collect::<Vec<_>>(),
        base.keys().collect::<Vec<_>>()
    );
    let mut merged = 0;
    for (name, tensor) in &base {
        if tensor.shape.len() == 2 && name.starts_with("h.") {
            let distance = frobenius_distance(
                &difference(&output[name], &tuned[name]),
                &vec![0.0; tensor.f32_values().len()],
            );
            assert!(
                distance
                    <= low_rank_bound(tensor.f32_values().len(), f64::from(derived::TUNED_NOISE)),
                "{name}: {distance}"
            );
            // The documented elementwise tolerance, as the plan's own assertion states it.
            let largest = difference(&output[name], &tuned[name])
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(largest <= 1e-3, "{name}: {largest}");
            merged += 1;
        } else {
            assert_eq!(&output[name], tensor, "{name}");
        }
    }
    assert_eq!(merged, 8);
}
