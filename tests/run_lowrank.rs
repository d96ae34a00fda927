//! Low-rank surgery through `brainsurgery run` on small checkpoints generated here: `phlora`
//! (factor shapes, B·A against an independent `f64` Jacobi SVD, Eckart–Young, rank clamping, the
//! source deleted), `phlora_` in place, and half-precision inputs. Expectations come from the
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

/// A rank-0 request is a plan error, reported before anything runs.
#[test]
fn a_zero_rank_is_refused() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (w, _) = matrix(DType::F32, 3, 3, 8);
    let input = scratch.path().join("in.safetensors");
    write(&input, &[("w".to_string(), w)], None);
    let output = scratch.path().join("out.safetensors");
    let plan = format!(
        "inputs: [{}]\ntransforms:\n  - phlora_: {{ target: w, rank: 0 }}\noutput: {}\n",
        input.display(),
        output.display()
    );
    let plan_path = scratch.path().join("plan.yaml");
    std::fs::write(&plan_path, plan).expect("plan written");
    let result = run(&["run", "-q", &plan_path.display().to_string()]);
    assert_exit(&result, 1);
    assert!(!output.exists());
}
