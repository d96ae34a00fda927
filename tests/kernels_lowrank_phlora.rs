//! PHLoRA (`phlora`, `phlora_`) against an independent `f64` Jacobi SVD: factor shapes and
//! types, B·A equal to the reference truncated SVD, the Eckart–Young error (‖W − B·A‖²_F equals
//! the discarded σ²), rank clamping, the √S split, half-precision and F8 inputs (equal to the
//! `f32` computation rounded once), and the errors for bad input.

mod kernels_lowrank_support;
mod kernels_support;

use brainsurgery::exec::kernels::lowrank::{
    phlora, phlora_reconstruct, phlora_shapes, phlora_types, SvdMethod,
};
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::tensor::{DType, Shape, TensorType};
use kernels_lowrank_support::*;
use kernels_support::{reference_round, tensor, to_bits};

const EXACT: SvdMethod = SvdMethod::Exact;

/// A 30 × 50 matrix whose spectrum decays geometrically, so consecutive singular values are
/// well separated and the truncated SVD is unique at every rank.
fn decaying_matrix(seed: u64) -> (usize, usize, Vec<f64>) {
    let (rows, columns) = (30, 50);
    (
        rows,
        columns,
        with_spectrum(rows, columns, &geometric(10.0, 0.75, 30), seed),
    )
}

/// Relative Frobenius tolerance of B·A against the reference, per storage dtype.
fn product_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => 1e-11,
        DType::F32 => 1e-5,
        other => 4.0 * unit_roundoff(other),
    }
}

#[test]
fn factor_shapes_follow_the_rank_and_clamp_to_the_smaller_dimension() {
    let shape = Shape::new(vec![6, 10]);
    assert_eq!(
        phlora_shapes(&shape, 4),
        Ok((Shape::new(vec![4, 10]), Shape::new(vec![6, 4])))
    );
    assert_eq!(
        phlora_shapes(&shape, 100),
        Ok((Shape::new(vec![6, 10]), Shape::new(vec![6, 6])))
    );
    assert_eq!(
        phlora_shapes(&Shape::new(vec![10, 6]), 7),
        Ok((Shape::new(vec![6, 6]), Shape::new(vec![10, 6])))
    );
    let ty = TensorType::new(DType::BF16, shape);
    let (a, b) = phlora_types(&ty, 3).expect("valid");
    assert_eq!(a, TensorType::new(DType::BF16, Shape::new(vec![3, 10])));
    assert_eq!(b, TensorType::new(DType::BF16, Shape::new(vec![6, 3])));
}

#[test]
fn factors_have_the_promised_types() {
    let (rows, columns, w) = decaying_matrix(1);
    for (rank, expected) in [(5u64, 5u64), (30, 30), (64, 30)] {
        let input = matrix_tensor(DType::F32, rows, columns, &w);
        let factors = phlora(&input.view(), rank, &EXACT).expect("phlora");
        assert_eq!(factors.rank, expected);
        let (a_type, b_type) = phlora_types(input.ty(), rank).expect("types");
        assert_eq!(factors.a.ty(), &a_type);
        assert_eq!(factors.b.ty(), &b_type);
        assert_eq!(a_type.shape, Shape::new(vec![expected, columns as u64]));
        assert_eq!(b_type.shape, Shape::new(vec![rows as u64, expected]));
    }
}

#[test]
fn product_of_factors_equals_the_reference_truncated_svd() {
    for dtype in [DType::F64, DType::F32] {
        for (seed, rank) in [(2u64, 1u64), (3, 6), (4, 17)] {
            let (rows, columns, w) = decaying_matrix(seed);
            let input = matrix_tensor(dtype, rows, columns, &w);
            // The reference sees exactly the stored values.
            let stored = values(&input);
            let reference = ReferenceSvd::new(&stored, rows, columns);
            let factors = phlora(&input.view(), rank, &EXACT).expect("phlora");
            let product = factor_product(&factors.a, &factors.b);
            let expected = reference.truncated(rank as usize);
            let error = frobenius_squared(&subtract(&product, &expected)).sqrt();
            let scale = frobenius_squared(&stored).sqrt();
            assert!(
                error <= product_tolerance(dtype) * scale,
                "{dtype} rank {rank}: ‖B·A − reference‖ = {error}, ‖W‖ = {scale}"
            );
        }
    }
}

#[test]
fn squared_error_equals_the_discarded_energy() {
    for (dtype, relative) in [(DType::F64, 1e-12), (DType::F32, 1e-5)] {
        let (rows, columns, w) = decaying_matrix(5);
        let input = matrix_tensor(dtype, rows, columns, &w);
        let stored = values(&input);
        let reference = ReferenceSvd::new(&stored, rows, columns);
        for rank in [1usize, 4, 9, 20] {
            let factors = phlora(&input.view(), rank as u64, &EXACT).expect("phlora");
            let residual = subtract(&stored, &factor_product(&factors.a, &factors.b));
            let error = frobenius_squared(&residual);
            let tail = reference.tail_energy(rank);
            assert!(
                (error - tail).abs() <= relative * tail,
                "{dtype} rank {rank}: ‖W − B·A‖² = {error}, Σ discarded σ² = {tail}"
            );
        }
    }
}

#[test]
fn a_rank_above_the_smaller_dimension_keeps_everything() {
    let (rows, columns) = (6, 10);
    let w = gaussian(rows, columns, 1.0, 6);
    let input = matrix_tensor(DType::F64, rows, columns, &w);
    let factors = phlora(&input.view(), 1000, &EXACT).expect("phlora");
    assert_eq!(factors.rank, 6);
    assert_eq!(factors.a.shape(), &Shape::new(vec![6, 10]));
    assert_eq!(factors.b.shape(), &Shape::new(vec![6, 6]));
    let error = frobenius_squared(&subtract(&factor_product(&factors.a, &factors.b), &w));
    assert!(error.sqrt() <= 1e-12 * frobenius_squared(&w).sqrt());
}

#[test]
fn the_square_root_split_balances_the_factors() {
    let (rows, columns, w) = decaying_matrix(7);
    let input = matrix_tensor(DType::F64, rows, columns, &w);
    let reference = ReferenceSvd::new(&values(&input), rows, columns);
    let rank = 8;
    let factors = phlora(&input.view(), rank as u64, &EXACT).expect("phlora");
    let (a, b) = (values(&factors.a), values(&factors.b));
    for component in 0..rank {
        let row_norm: f64 = a[component * columns..(component + 1) * columns]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        let column_norm: f64 = (0..rows)
            .map(|row| b[row * rank + component].powi(2))
            .sum::<f64>()
            .sqrt();
        let root = reference.sigma[component].sqrt();
        assert!((row_norm - root).abs() <= 1e-12 * root, "A row {component}");
        assert!(
            (column_norm - root).abs() <= 1e-12 * root,
            "B column {component}"
        );
    }
}

/// The `f32` tensor holding exactly the values of a narrower float tensor.
fn widened_to_f32(input: &TensorData) -> TensorData {
    let (rows, columns) = dims(input);
    matrix_tensor(DType::F32, rows, columns, &values(input))
}

/// The bits of an `f32` tensor's values rounded to `dtype` by the reference.
fn rounded_bits(data: &TensorData, dtype: DType) -> Vec<u64> {
    values(data)
        .into_iter()
        .map(|value| reference_round(dtype, value).expect("finite"))
        .collect()
}

#[test]
fn narrow_floats_give_the_f32_result_rounded_once() {
    let (rows, columns, w) = decaying_matrix(8);
    for dtype in [DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2] {
        let input = matrix_tensor(dtype, rows, columns, &w);
        let wide = widened_to_f32(&input);
        for rank in [3u64, 12] {
            let narrow = phlora(&input.view(), rank, &EXACT).expect("phlora narrow");
            let expected = phlora(&wide.view(), rank, &EXACT).expect("phlora f32");
            assert_eq!(narrow.a.dtype(), dtype);
            assert_eq!(narrow.b.dtype(), dtype);
            assert_eq!(
                to_bits(&narrow.a),
                rounded_bits(&expected.a, dtype),
                "{dtype} A"
            );
            assert_eq!(
                to_bits(&narrow.b),
                rounded_bits(&expected.b, dtype),
                "{dtype} B"
            );

            let narrow = phlora_reconstruct(&input.view(), rank, &EXACT).expect("phlora_");
            let expected = phlora_reconstruct(&wide.view(), rank, &EXACT).expect("phlora_");
            assert_eq!(
                to_bits(&narrow),
                rounded_bits(&expected, dtype),
                "{dtype} W'"
            );
        }
    }
}

#[test]
fn half_precision_factors_approximate_the_reference() {
    let (rows, columns, w) = decaying_matrix(9);
    for dtype in [DType::F16, DType::BF16] {
        let input = matrix_tensor(dtype, rows, columns, &w);
        let stored = values(&input);
        let reference = ReferenceSvd::new(&stored, rows, columns);
        let factors = phlora(&input.view(), 6, &EXACT).expect("phlora");
        let error = frobenius_squared(&subtract(
            &factor_product(&factors.a, &factors.b),
            &reference.truncated(6),
        ))
        .sqrt();
        let scale = frobenius_squared(&stored).sqrt();
        assert!(
            error <= product_tolerance(dtype) * scale,
            "{dtype}: error {error}, scale {scale}"
        );
    }
}

#[test]
fn reconstruction_equals_the_reference_truncated_svd() {
    for dtype in [DType::F64, DType::F32] {
        let (rows, columns, w) = decaying_matrix(10);
        let input = matrix_tensor(dtype, rows, columns, &w);
        let stored = values(&input);
        let reference = ReferenceSvd::new(&stored, rows, columns);
        for rank in [2u64, 11, 30, 99] {
            let output = phlora_reconstruct(&input.view(), rank, &EXACT).expect("phlora_");
            assert_eq!(output.ty(), input.ty());
            let error = frobenius_squared(&subtract(
                &values(&output),
                &reference.truncated(rank as usize),
            ))
            .sqrt();
            let scale = frobenius_squared(&stored).sqrt();
            assert!(
                error <= product_tolerance(dtype) * scale,
                "{dtype} rank {rank}: error {error}"
            );
        }
    }
}

#[test]
fn empty_matrices_give_rank_zero_factors() {
    let input = tensor(DType::F32, vec![0, 5], Vec::new());
    let factors = phlora(&input.view(), 3, &EXACT).expect("phlora");
    assert_eq!(factors.rank, 0);
    assert_eq!(factors.a.shape(), &Shape::new(vec![0, 5]));
    assert_eq!(factors.b.shape(), &Shape::new(vec![0, 0]));
}

#[test]
fn bad_input_is_an_error_value() {
    let cube = tensor(DType::F32, vec![2, 2, 2], vec![0; 32]);
    assert!(matches!(
        phlora(&cube.view(), 1, &EXACT),
        Err(KernelError::InvalidArgument { op: "phlora", reason }) if reason.contains("2-D")
    ));
    assert!(matches!(
        phlora_reconstruct(&cube.view(), 1, &EXACT),
        Err(KernelError::InvalidArgument { op: "phlora_", .. })
    ));
    assert!(matches!(
        phlora_shapes(&Shape::new(vec![4]), 1),
        Err(KernelError::InvalidArgument { .. })
    ));

    let integers = tensor(DType::I32, vec![2, 2], vec![0; 16]);
    assert_eq!(
        phlora(&integers.view(), 1, &EXACT),
        Err(KernelError::UnsupportedDType {
            op: "phlora",
            dtype: DType::I32
        })
    );

    let w = matrix_tensor(DType::F32, 2, 2, &[1.0, 2.0, 3.0, 4.0]);
    assert!(matches!(
        phlora(&w.view(), 0, &EXACT),
        Err(KernelError::InvalidArgument { reason, .. }) if reason.contains("positive")
    ));
    assert!(phlora_reconstruct(&w.view(), 0, &EXACT).is_err());

    for poison in [f64::NAN, f64::INFINITY] {
        let bytes = [1.0f32, poison as f32, 3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bad = tensor(DType::F32, vec![2, 2], bytes);
        assert!(matches!(
            phlora(&bad.view(), 1, &EXACT),
            Err(KernelError::InvalidArgument { reason, .. }) if reason.contains("NaN")
        ));
        assert!(phlora_reconstruct(&bad.view(), 1, &EXACT).is_err());
    }
}
