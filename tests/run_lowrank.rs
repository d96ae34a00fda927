//! Low-rank surgery through `brainsurgery run` on small checkpoints generated here: `phlora`
//! (factor shapes, B·A against an independent `f64` Jacobi SVD, Eckart–Young, rank clamping, the
//! source deleted), `phlora_` in place, half-precision inputs, and `lora_extract` followed by
//! `lora_merge` giving back tuned weights whose delta has a low rank by construction. Expectations come from the
//! reference SVD of the test support, never from the kernels under test.

mod kernels_lowrank_support;
mod kernels_support;
mod run_support;

use std::path::Path;

use brainsurgery::exec::TensorData;
use brainsurgery::tensor::DType;
use kernels_lowrank_support::{
    factor_product, frobenius_squared, gaussian, matrix_tensor, subtract, unit_roundoff, values,
    ReferenceSvd,
};
use run_support::{assert_exit, read, run, write, Tensor};

/// A rows × columns Gaussian matrix stored in `dtype`, and the values it holds after rounding.
fn matrix(dtype: DType, rows: usize, columns: usize, seed: u64) -> (Tensor, Vec<f64>) {
    let data = matrix_tensor(dtype, rows, columns, &gaussian(rows, columns, 1.0, seed));
    let stored = values(&data);
    let tensor = Tensor {
        dtype,
        shape: vec![rows as u64, columns as u64],
        bytes: data.bytes().to_vec(),
    };
    (tensor, stored)
}

fn data(tensor: &Tensor) -> TensorData {
    kernels_support::tensor(tensor.dtype, tensor.shape.clone(), tensor.bytes.clone())
}

/// Runs `transforms` (YAML lines) on the checkpoint `tensors`, returning the output tensors.
fn run_plan(
    directory: &Path,
    tensors: &[(String, Tensor)],
    transforms: &str,
) -> std::collections::BTreeMap<String, Tensor> {
    let input = directory.join("in.safetensors");
    let output = directory.join("out.safetensors");
    write(&input, tensors, None);
    let plan = format!(
        "inputs: [{}]\ntransforms:\n{transforms}output: {}\n",
        input.display(),
        output.display()
    );
    let plan_path = directory.join("plan.yaml");
    std::fs::write(&plan_path, plan).expect("plan written");
    let result = run(&["run", "-q", &plan_path.display().to_string()]);
    assert_exit(&result, 0);
    read(&output)
}

fn largest_difference(left: &[f64], right: &[f64]) -> f64 {
    assert_eq!(left.len(), right.len());
    left.iter()
        .zip(right)
        .map(|(l, r)| (l - r).abs())
        .fold(0.0, f64::max)
}

#[test]
fn phlora_factors_every_match_into_the_truncated_svd_and_deletes_the_sources() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (first, first_values) = matrix(DType::F32, 12, 8, 1);
    let (second, second_values) = matrix(DType::F32, 6, 10, 2);
    let (kept, _) = matrix(DType::F32, 3, 3, 3);
    let tensors = vec![
        ("layer.0.weight".to_string(), first),
        ("layer.1.weight".to_string(), second),
        ("other".to_string(), kept.clone()),
    ];
    let written = run_plan(
        scratch.path(),
        &tensors,
        "  - phlora: { target: 'layer\\.(\\d+)\\.weight', target_a: 'layer.\\1.lora_A', target_b: 'layer.\\1.lora_B', rank: 3 }\n",
    );
    let names: Vec<_> = written.keys().cloned().collect();
    assert_eq!(
        names,
        [
            "layer.0.lora_A",
            "layer.0.lora_B",
            "layer.1.lora_A",
            "layer.1.lora_B",
            "other"
        ]
    );
    assert_eq!(written["other"], kept);
    for (layer, (rows, columns), stored) in
        [(0, (12, 8), &first_values), (1, (6, 10), &second_values)]
    {
        let a = &written[&format!("layer.{layer}.lora_A")];
        let b = &written[&format!("layer.{layer}.lora_B")];
        assert_eq!(a.shape, [3, columns as u64]);
        assert_eq!(b.shape, [rows as u64, 3]);
        assert_eq!((a.dtype, b.dtype), (DType::F32, DType::F32));
        let product = factor_product(&data(a), &data(b));
        let reference = ReferenceSvd::new(stored, rows, columns);
        let scale = reference.sigma[0];
        assert!(
            largest_difference(&product, &reference.truncated(3)) < 1e-5 * scale,
            "layer {layer}: B·A is not the rank-3 truncated SVD"
        );
        // Eckart–Young: the squared error is exactly the discarded energy.
        let error = frobenius_squared(&subtract(stored, &product));
        let tail = reference.tail_energy(3);
        assert!(
            (error - tail).abs() < 1e-4 * tail,
            "error² {error} against tail {tail}"
        );
    }
}

#[test]
fn phlora_clamps_the_rank_and_can_keep_the_source() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (w, stored) = matrix(DType::F64, 4, 7, 4);
    let written = run_plan(
        scratch.path(),
        &[("w".to_string(), w.clone())],
        "  - phlora: { target: w, target_a: a, target_b: b, rank: 100, delete_original: false }\n",
    );
    assert_eq!(written["w"], w);
    assert_eq!(written["a"].shape, [4, 7]);
    assert_eq!(written["b"].shape, [4, 4]);
    // Full rank: B·A gives W back to f64 precision.
    let product = factor_product(&data(&written["a"]), &data(&written["b"]));
    assert!(largest_difference(&product, &stored) < 1e-12);
}

#[test]
fn phlora_in_place_replaces_the_weight_by_its_truncated_svd() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (w, stored) = matrix(DType::F64, 9, 5, 5);
    let written = run_plan(
        scratch.path(),
        &[("w".to_string(), w)],
        "  - phlora_: { target: w, rank: 2 }\n",
    );
    let result = &written["w"];
    assert_eq!(
        (result.dtype, result.shape.as_slice()),
        (DType::F64, &[9, 5][..])
    );
    let reference = ReferenceSvd::new(&stored, 9, 5).truncated(2);
    assert!(largest_difference(&values(&data(result)), &reference) < 1e-12);
}

#[test]
fn half_precision_weights_factorize_in_single_precision() {
    for dtype in [DType::F16, DType::BF16] {
        let scratch = tempfile::tempdir().expect("tempdir");
        let (w, stored) = matrix(dtype, 10, 6, 6);
        let (v, v_stored) = matrix(dtype, 8, 8, 7);
        let written = run_plan(
            scratch.path(),
            &[("w".to_string(), w), ("v".to_string(), v)],
            "  - phlora: { target: w, target_a: w_a, target_b: w_b, rank: 4 }\n  - phlora_: { target: v, rank: 3 }\n",
        );
        let (a, b) = (&written["w_a"], &written["w_b"]);
        assert_eq!((a.dtype, b.dtype), (dtype, dtype));
        assert_eq!(
            (a.shape.as_slice(), b.shape.as_slice()),
            (&[4, 6][..], &[10, 4][..])
        );
        let reference = ReferenceSvd::new(&stored, 10, 6);
        // Each factor is rounded once; B·A then carries about 2·r·u·σ₁ of rounding.
        let tolerance = 8.0 * 4.0 * unit_roundoff(dtype) * reference.sigma[0];
        let product = factor_product(&data(a), &data(b));
        assert!(
            largest_difference(&product, &reference.truncated(4)) < tolerance,
            "{dtype}: B·A too far from the truncated SVD"
        );
        let in_place = &written["v"];
        assert_eq!(in_place.dtype, dtype);
        let reference = ReferenceSvd::new(&v_stored, 8, 8);
        assert!(
            largest_difference(&values(&data(in_place)), &reference.truncated(3))
                < 2.0 * unit_roundoff(dtype) * reference.sigma[0],
            "{dtype}: phlora_ too far from the truncated SVD"
        );
    }
}

/// Runs a plan over a 6 × 6 matrix `w` that must be refused before anything runs: exit 1, no
/// output. `plan` gets the input and output paths; returns the diagnostics printed.
fn refused(name: &str, plan: impl Fn(&Path, &Path) -> String) -> String {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (w, _) = matrix(DType::F32, 6, 6, 8);
    let input = scratch.path().join("in.safetensors");
    write(&input, &[("w".to_string(), w)], None);
    let output = scratch.path().join("out.safetensors");
    let result = run_text(scratch.path(), name, &plan(&input, &output), 1);
    assert!(!output.exists());
    String::from_utf8_lossy(&result.stderr).into_owned()
}

/// A rank-0 request is a plan error, reported before anything runs.
#[test]
fn a_zero_rank_is_refused() {
    let message = refused("plan.yaml", |input, output| {
        format!(
            "inputs: [{}]\ntransforms:\n  - phlora_: {{ target: w, rank: 0 }}\noutput: {}\n",
            input.display(),
            output.display()
        )
    });
    assert!(message.contains("rank"), "{message}");
}

/// Writes `plan` next to the checkpoints and runs it, expecting `code`.
fn run_text(directory: &Path, name: &str, plan: &str, code: i32) -> std::process::Output {
    let plan_path = directory.join(name);
    std::fs::write(&plan_path, plan).expect("plan written");
    let result = run(&["run", "-q", &plan_path.display().to_string()]);
    assert_exit(&result, code);
    result
}

/// A base checkpoint and a tuned one whose deltas have rank `delta_rank` by construction, in
/// `dtype`: (base tensors, tuned tensors, tuned values as stored).
type Pair = (Vec<(String, Tensor)>, Vec<(String, Tensor)>, Vec<Vec<f64>>);

fn base_and_tuned(dtype: DType, delta_rank: usize) -> Pair {
    let shapes = [(12usize, 8usize), (6, 10)];
    let (mut base, mut tuned, mut tuned_values) = (Vec::new(), Vec::new(), Vec::new());
    for (layer, &(rows, columns)) in shapes.iter().enumerate() {
        let name = format!("layer.{layer}.weight");
        let seed = 10 * layer as u64;
        let (base_tensor, base_values) = matrix(dtype, rows, columns, seed + 1);
        let left = gaussian(rows, delta_rank, 0.3, seed + 2);
        let right = gaussian(delta_rank, columns, 0.3, seed + 3);
        let delta = kernels_lowrank_support::multiply(&left, &right, rows, delta_rank, columns);
        let wanted: Vec<f64> = base_values.iter().zip(&delta).map(|(b, d)| b + d).collect();
        let data = matrix_tensor(dtype, rows, columns, &wanted);
        tuned_values.push(values(&data));
        let shape = vec![rows as u64, columns as u64];
        base.push((name.clone(), base_tensor));
        tuned.push((
            name,
            Tensor {
                dtype,
                shape,
                bytes: data.bytes().to_vec(),
            },
        ));
    }
    (base, tuned, tuned_values)
}

/// [`base_and_tuned`] written as `base.safetensors` and `tuned.safetensors` in a new scratch
/// directory; returns it and the tuned values as stored.
fn written_pair(dtype: DType, delta_rank: usize) -> (tempfile::TempDir, Vec<Vec<f64>>) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (base, tuned, tuned_values) = base_and_tuned(dtype, delta_rank);
    write(&scratch.path().join("base.safetensors"), &base, None);
    write(&scratch.path().join("tuned.safetensors"), &tuned, None);
    (scratch, tuned_values)
}

/// The adapter of [`base_and_tuned`]'s two layers (12 × 8 and 6 × 10) at `rank`: exactly PEFT's
/// four keys, A `rank × in` and B `out × rank`.
fn assert_adapter(adapter: &std::collections::BTreeMap<String, Tensor>, rank: u64) {
    let names: Vec<_> = adapter.keys().cloned().collect();
    assert_eq!(
        names,
        [
            "layer.0.lora_A.weight",
            "layer.0.lora_B.weight",
            "layer.1.lora_A.weight",
            "layer.1.lora_B.weight"
        ]
    );
    assert_eq!(adapter["layer.0.lora_A.weight"].shape, [rank, 8]);
    assert_eq!(adapter["layer.0.lora_B.weight"].shape, [12, rank]);
    assert_eq!(adapter["layer.1.lora_A.weight"].shape, [rank, 10]);
    assert_eq!(adapter["layer.1.lora_B.weight"].shape, [6, rank]);
}

/// The factor templates the extraction tests name explicitly (PEFT's names, written out).
const NAMED_FACTORS: &str =
    "target_a: 'tuned::layer.\\1.lora_A.weight', target_b: 'tuned::layer.\\1.lora_B.weight'";

/// Extracts an adapter from tuned − base into `adapter`, keeping only the factors; `arguments`
/// are the `lora_extract` keys after `tuned` and `base` (rank, names, energy, SVD options).
fn extract(directory: &Path, arguments: &str) -> std::path::PathBuf {
    let adapter = directory.join("adapter.safetensors");
    let plan = format!(
        "inputs:\n  - base::{}\n  - tuned::{}\ntransforms:\n  - lora_extract: {{ tuned: 'tuned::layer\\.(\\d+)\\.weight', base: 'base::layer.\\1.weight', {arguments} }}\n  - delete: {{ target: 'tuned::layer\\.\\d+\\.weight' }}\noutput: {}\n",
        directory.join("base.safetensors").display(),
        directory.join("tuned.safetensors").display(),
        adapter.display()
    );
    run_text(directory, "extract.yaml", &plan, 0);
    adapter
}

/// Merges `adapter` onto the base with `alpha`, returning the merged checkpoint.
fn merge(directory: &Path, alpha: f64) -> std::collections::BTreeMap<String, Tensor> {
    let merged = directory.join("merged.safetensors");
    let plan = format!(
        "inputs:\n  - base::{}\n  - adapter::{}\ntransforms:\n  - lora_merge: {{ target: 'base::layer\\.(\\d+)\\.weight', lora_a: 'adapter::layer.\\1.lora_A.weight', lora_b: 'adapter::layer.\\1.lora_B.weight', alpha: {alpha} }}\noutput: {}\n",
        directory.join("base.safetensors").display(),
        directory.join("adapter.safetensors").display(),
        merged.display()
    );
    run_text(directory, "merge.yaml", &plan, 0);
    read(&merged)
}

#[test]
fn lora_extract_then_merge_gives_back_the_tuned_weights() {
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        let (scratch, tuned_values) = written_pair(dtype, 3);
        let adapter = read(extract(
            scratch.path(),
            &format!("{NAMED_FACTORS}, rank: 4"),
        ));
        assert_adapter(&adapter, 4);
        // PEFT's scale alpha / r is 1 when alpha equals the rank.
        let merged = merge(scratch.path(), 4.0);
        for (layer, expected) in tuned_values.iter().enumerate() {
            let got = &merged[&format!("layer.{layer}.weight")];
            assert_eq!(got.dtype, dtype);
            let got = values(&data(got));
            let largest = expected.iter().map(|v| v.abs()).fold(0.0, f64::max);
            // The merge rounds once; the factors were rounded once too, so a few ulps of the
            // largest value separate the merged weights from the tuned ones.
            let tolerance = match dtype {
                DType::F32 => 1e-5 * largest,
                _ => 8.0 * unit_roundoff(dtype) * largest,
            };
            let difference = largest_difference(&got, expected);
            assert!(
                difference <= tolerance,
                "{dtype} layer {layer}: merged weights miss the tuned ones by {difference}"
            );
        }
    }
}

#[test]
fn an_energy_rule_keeps_fewer_components_and_zero_pads_the_factors() {
    let (scratch, tuned_values) = written_pair(DType::F64, 2);
    let adapter = read(extract(
        scratch.path(),
        &format!("{NAMED_FACTORS}, rank: 5, energy: 0.999"),
    ));
    let a = &adapter["layer.0.lora_A.weight"];
    let b = &adapter["layer.0.lora_B.weight"];
    assert_eq!(
        (a.shape.as_slice(), b.shape.as_slice()),
        (&[5, 8][..], &[12, 5][..])
    );
    // The delta has rank 2, so two components hold all its energy: the rule keeps them, and
    // the remaining rows of A and columns of B are zero.
    let a_values = values(&data(a));
    assert!(a_values[..2 * 8].iter().any(|&v| v != 0.0));
    assert!(
        a_values[2 * 8..].iter().all(|&v| v == 0.0),
        "A is not zero-padded"
    );
    let b_values = values(&data(b));
    assert!(
        (0..12).all(|row| b_values[row * 5 + 2..row * 5 + 5].iter().all(|&v| v == 0.0)),
        "B is not zero-padded"
    );
    let merged = merge(scratch.path(), 5.0);
    let got = values(&data(&merged["layer.0.weight"]));
    assert!(largest_difference(&got, &tuned_values[0]) < 1e-10);
}

#[test]
fn lora_merge_refuses_mismatched_adapter_shapes_before_running() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (w, _) = matrix(DType::F32, 4, 6, 20);
    let (a, _) = matrix(DType::F32, 2, 5, 21);
    let (b, _) = matrix(DType::F32, 4, 2, 22);
    let input = scratch.path().join("in.safetensors");
    write(
        &input,
        &[
            ("w".to_string(), w),
            ("a".to_string(), a),
            ("b".to_string(), b),
        ],
        None,
    );
    let output = scratch.path().join("out.safetensors");
    let plan = format!(
        "inputs: [{}]\ntransforms:\n  - lora_merge: {{ target: w, lora_a: a, lora_b: b, alpha: 2 }}\noutput: {}\n",
        input.display(),
        output.display()
    );
    let result = run_text(scratch.path(), "bad.yaml", &plan, 1);
    let message = run_support::stderr(&result);
    assert!(message.contains("E0412"), "{message}");
    assert!(message.contains("A must be r × 6"), "{message}");
    assert!(!output.exists());
}

/// `method: randomized` in a plan reaches the kernel with the plan's settings: the written
/// factors are bit-identical to the randomized kernel's with those settings, differ with another
/// seed, and approximate W close to the optimum (a decaying spectrum, measured by the reference).
#[test]
fn a_plan_chooses_the_randomized_svd_and_its_settings() {
    use brainsurgery::exec::kernels::lowrank::{
        phlora, phlora_reconstruct, RandomizedSvd, SvdMethod,
    };
    let (rows, columns, rank) = (48usize, 36usize, 4usize);
    let sigma = kernels_lowrank_support::geometric(4.0, 0.7, columns);
    let stored = kernels_lowrank_support::with_spectrum(rows, columns, &sigma, 31);
    let input = matrix_tensor(DType::F64, rows, columns, &stored);
    let tensor = Tensor {
        dtype: DType::F64,
        shape: vec![rows as u64, columns as u64],
        bytes: input.bytes().to_vec(),
    };
    let tensors = [("w".to_string(), tensor.clone()), ("v".to_string(), tensor)];
    let run_seed = |seed: u64| {
        let scratch = tempfile::tempdir().expect("tempdir");
        run_plan(
            scratch.path(),
            &tensors,
            &format!(
                "  - phlora: {{ target: w, target_a: a, target_b: b, rank: {rank}, method: randomized, oversampling: 3, power_iterations: 1, seed: {seed} }}\n  - phlora_: {{ target: v, rank: {rank}, method: randomized, oversampling: 3, power_iterations: 1, seed: {seed} }}\n"
            ),
        )
    };
    let method = |seed| {
        SvdMethod::Randomized(RandomizedSvd {
            oversampling: 3,
            power_iterations: 1,
            seed,
        })
    };
    let written = run_seed(5);
    let kernel = phlora(&input.view(), rank as u64, &method(5)).expect("kernel");
    assert_eq!(written["a"].bytes, kernel.a.bytes());
    assert_eq!(written["b"].bytes, kernel.b.bytes());
    let reconstructed = phlora_reconstruct(&input.view(), rank as u64, &method(5)).expect("kernel");
    assert_eq!(written["v"].bytes, reconstructed.bytes());
    let exact = phlora(&input.view(), rank as u64, &SvdMethod::Exact).expect("kernel");
    assert_ne!(written["a"].bytes, exact.a.bytes(), "the exact SVD ran");
    let other_seed = run_seed(6);
    assert_ne!(
        other_seed["a"].bytes, written["a"].bytes,
        "the seed is ignored"
    );
    // Close to optimal: the squared error is at most 5 % above the discarded energy.
    let reference = ReferenceSvd::new(&stored, rows, columns);
    let product = factor_product(&data(&written["a"]), &data(&written["b"]));
    let error = frobenius_squared(&subtract(&stored, &product));
    let tail = reference.tail_energy(rank);
    assert!(
        error >= tail * (1.0 - 1e-9) && error <= 1.05 * tail,
        "error² {error} against the optimal {tail}"
    );
}

/// Without `target_a`/`target_b`, `lora_extract` names the factors as PEFT does; the
/// randomized SVD recovers a delta of rank 3 exactly once its sketch is wider than 3.
#[test]
fn lora_extract_names_factors_like_peft_and_can_sketch() {
    let (scratch, tuned_values) = written_pair(DType::F64, 3);
    let adapter = extract(
        scratch.path(),
        "rank: 3, method: randomized, oversampling: 2, seed: 1",
    );
    assert_adapter(&read(&adapter), 3);
    let merged = merge(scratch.path(), 3.0);
    for (layer, expected) in tuned_values.iter().enumerate() {
        let got = values(&data(&merged[&format!("layer.{layer}.weight")]));
        assert!(
            largest_difference(&got, expected) < 1e-10,
            "layer {layer}: the sketched adapter does not give the tuned weights back"
        );
    }
}

/// Randomized settings without `method: randomized` are refused before anything runs, in
/// both syntaxes.
#[test]
fn randomized_settings_without_the_randomized_method_are_refused() {
    let message = refused("plan.yaml", |input, output| {
        format!(
            "inputs: [{}]\ntransforms:\n  - phlora_: {{ target: w, rank: 2, seed: 4 }}\noutput: {}\n",
            input.display(),
            output.display()
        )
    });
    assert!(
        message.contains("applies only to the randomized SVD")
            && message.contains("method: randomized"),
        "{message}"
    );
    let message = refused("plan.bs", |input, output| {
        format!(
            "input \"{}\"\noutput \"{}\"\nphlora_(w, rank=2, method=exact, oversampling=4)\n",
            input.display(),
            output.display()
        )
    });
    assert!(
        message.contains("applies only to the randomized SVD")
            && message.contains("method=randomized"),
        "{message}"
    );
}
