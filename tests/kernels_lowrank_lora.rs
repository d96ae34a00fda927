//! LoRA extraction and merging: extract-then-merge gives back the tuned weights to dtype
//! rounding when the delta has rank ≤ r, and misses them by exactly the spectrum's tail
//! otherwise; the energy rule picks the rank the reference spectrum says; merging is
//! W + (alpha / r)·B·A; and bad input is an error value.

mod kernels_lowrank_support;
mod kernels_support;

use brainsurgery::exec::kernels::lowrank::{
    lora_extract, lora_extract_types, lora_merge, lora_merge_type, RankRule, SvdMethod,
};
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::tensor::{DType, Shape, TensorType};
use kernels_lowrank_support::*;
use kernels_support::tensor;

const EXACT: SvdMethod = SvdMethod::Exact;

/// `|B|·|A|` elementwise: the scale of the rounding error of a product of rounded factors.
fn absolute_product(a: &TensorData, b: &TensorData) -> Vec<f64> {
    let (rank, columns) = dims(a);
    let (rows, _) = dims(b);
    let a: Vec<f64> = values(a).iter().map(|v| v.abs()).collect();
    let b: Vec<f64> = values(b).iter().map(|v| v.abs()).collect();
    multiply(&b, &a, rows, rank, columns)
}

#[test]
fn extract_then_merge_recovers_a_low_rank_fine_tune() {
    let (rows, columns, inner, rank) = (24, 40, 3, 4);
    for dtype in [DType::F64, DType::F32, DType::F16, DType::BF16] {
        let base = matrix_tensor(dtype, rows, columns, &gaussian(rows, columns, 1.0, 11));
        let delta = multiply(
            &gaussian(rows, inner, 0.5, 12),
            &gaussian(inner, columns, 0.5, 13),
            rows,
            inner,
            columns,
        );
        let tuned_values: Vec<f64> = values(&base)
            .iter()
            .zip(&delta)
            .map(|(b, d)| b + d)
            .collect();
        let tuned = matrix_tensor(dtype, rows, columns, &tuned_values);

        let factors = lora_extract(
            &base.view(),
            &tuned.view(),
            &RankRule::Fixed(rank as u64),
            &EXACT,
        )
        .expect("extract");
        assert_eq!(factors.rank, rank as u64);
        assert_eq!(
            factors.a.ty(),
            &TensorType::new(dtype, Shape::new(vec![4, 40]))
        );
        assert_eq!(
            factors.b.ty(),
            &TensorType::new(dtype, Shape::new(vec![24, 4]))
        );

        // alpha = r makes the PEFT scale alpha / r equal to 1.
        let merged = lora_merge(
            &base.view(),
            &factors.a.view(),
            &factors.b.view(),
            rank as f64,
        )
        .expect("merge");
        assert_eq!(merged.ty(), base.ty());

        // The SVD is backward stable: its factors are exact for a matrix within a few units of
        // the compute type's roundoff times ‖ΔW‖. Rounding the factors to the dtype perturbs
        // B·A by about 2u·|B|·|A|, and the sum is rounded once more (u·|tuned|); tuned's own
        // rounding is a perturbation of ΔW of size u·rms(tuned) that the truncation may drop.
        let u = unit_roundoff(dtype);
        let compute_u = unit_roundoff(if dtype == DType::F64 {
            DType::F64
        } else {
            DType::F32
        });
        let delta_norm = frobenius_squared(&delta).sqrt();
        let magnitude = absolute_product(&factors.a, &factors.b);
        let expected = values(&tuned);
        let rms = (frobenius_squared(&expected) / expected.len() as f64).sqrt();
        for (index, (got, want)) in values(&merged).iter().zip(&expected).enumerate() {
            let tolerance = 2.0 * u * (want.abs() + magnitude[index])
                + 4.0 * u * rms
                + 32.0 * compute_u * delta_norm;
            assert!(
                (got - want).abs() <= tolerance,
                "{dtype} element {index}: merged {got}, tuned {want}, tolerance {tolerance}"
            );
        }
    }
}

#[test]
fn a_full_rank_delta_is_missed_by_exactly_the_spectrum_tail() {
    let (rows, columns, rank) = (30, 20, 5);
    for (dtype, relative) in [(DType::F64, 1e-10), (DType::F32, 1e-4)] {
        let base = matrix_tensor(dtype, rows, columns, &gaussian(rows, columns, 1.0, 21));
        let delta = with_spectrum(rows, columns, &geometric(3.0, 0.7, 20), 22);
        let tuned_values: Vec<f64> = values(&base)
            .iter()
            .zip(&delta)
            .map(|(b, d)| b + d)
            .collect();
        let tuned = matrix_tensor(dtype, rows, columns, &tuned_values);
        // The reference sees the delta of the stored values.
        let stored_delta = subtract(&values(&tuned), &values(&base));
        let reference = ReferenceSvd::new(&stored_delta, rows, columns);
        let tail = reference.tail_energy(rank);

        let factors = lora_extract(
            &base.view(),
            &tuned.view(),
            &RankRule::Fixed(rank as u64),
            &EXACT,
        )
        .expect("extract");
        let residual = subtract(&stored_delta, &factor_product(&factors.a, &factors.b));
        let error = frobenius_squared(&residual);
        assert!(
            (error - tail).abs() <= relative * tail,
            "{dtype}: ‖ΔW − B·A‖² = {error}, tail = {tail}"
        );

        let merged = lora_merge(
            &base.view(),
            &factors.a.view(),
            &factors.b.view(),
            rank as f64,
        )
        .expect("merge");
        let miss = frobenius_squared(&subtract(&values(&merged), &values(&tuned)));
        assert!(
            (miss - tail).abs() <= 10.0 * relative * tail,
            "{dtype}: ‖merged − tuned‖² = {miss}, tail = {tail}"
        );
    }
}

/// The rank the energy rule should pick, from the reference spectrum.
fn reference_energy_rank(sigma: &[f64], fraction: f64) -> usize {
    let total: f64 = sigma.iter().map(|s| s * s).sum();
    let mut kept = 0.0;
    for (index, s) in sigma.iter().enumerate() {
        kept += s * s;
        if kept >= fraction * total {
            return index + 1;
        }
    }
    sigma.len()
}

#[test]
fn energy_picks_the_smallest_rank_holding_the_fraction() {
    let (rows, columns) = (18, 26);
    let base = matrix_tensor(DType::F64, rows, columns, &gaussian(rows, columns, 1.0, 31));
    // σ² decays by 4 per component, so the kept fractions are 0.75, 0.9375, 0.984, …: every
    // threshold below lies far from a boundary.
    let delta = with_spectrum(rows, columns, &geometric(8.0, 0.5, 18), 32);
    let tuned_values: Vec<f64> = values(&base)
        .iter()
        .zip(&delta)
        .map(|(b, d)| b + d)
        .collect();
    let tuned = matrix_tensor(DType::F64, rows, columns, &tuned_values);
    let reference = ReferenceSvd::new(&subtract(&values(&tuned), &values(&base)), rows, columns);
    for (fraction, expected) in [(0.5, 1), (0.9, 2), (0.95, 3), (0.99, 4), (1.0, 18)] {
        assert_eq!(reference_energy_rank(&reference.sigma, fraction), expected);
        let rule = RankRule::Energy {
            fraction,
            max_rank: None,
        };
        let factors = lora_extract(&base.view(), &tuned.view(), &rule, &EXACT).expect("extract");
        assert_eq!(factors.rank, expected as u64, "energy {fraction}");
        assert_eq!(dims(&factors.a), (expected, columns));
        assert_eq!(dims(&factors.b), (rows, expected));
        let error = frobenius_squared(&subtract(
            &values(&tuned),
            &values(
                &lora_merge(
                    &base.view(),
                    &factors.a.view(),
                    &factors.b.view(),
                    expected as f64,
                )
                .expect("merge"),
            ),
        ));
        let tail = reference.tail_energy(expected);
        assert!(error <= (1.0 - fraction) * reference.tail_energy(0) + 1e-9);
        assert!((error - tail).abs() <= 1e-9 * reference.tail_energy(0));
    }
    let capped = RankRule::Energy {
        fraction: 0.999,
        max_rank: Some(2),
    };
    let factors = lora_extract(&base.view(), &tuned.view(), &capped, &EXACT).expect("extract");
    assert_eq!(factors.rank, 2);
}

#[test]
fn a_zero_delta_gives_a_rank_one_zero_adapter() {
    let base = matrix_tensor(DType::BF16, 5, 7, &gaussian(5, 7, 1.0, 41));
    let rule = RankRule::Energy {
        fraction: 0.9,
        max_rank: None,
    };
    let factors = lora_extract(&base.view(), &base.view(), &rule, &EXACT).expect("extract");
    assert_eq!(factors.rank, 1);
    assert!(values(&factors.a).iter().all(|&v| v == 0.0));
    assert!(values(&factors.b).iter().all(|&v| v == 0.0));
    let merged =
        lora_merge(&base.view(), &factors.a.view(), &factors.b.view(), 8.0).expect("merge");
    assert_eq!(merged, base);
}

#[test]
fn merge_adds_the_scaled_product() {
    for dtype in [DType::F32, DType::BF16, DType::F64] {
        let w = matrix_tensor(dtype, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let a = matrix_tensor(dtype, 2, 3, &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        let b = matrix_tensor(dtype, 2, 2, &[1.0, 0.0, 0.0, 2.0]);
        // r = 2 and alpha = 4: the scale is 2, and B·A = [[1, 0, 1], [0, 2, 0]].
        let merged = lora_merge(&w.view(), &a.view(), &b.view(), 4.0).expect("merge");
        assert_eq!(
            values(&merged),
            vec![3.0, 2.0, 5.0, 4.0, 9.0, 6.0],
            "{dtype}"
        );
        let merged = lora_merge(&w.view(), &a.view(), &b.view(), -1.0).expect("merge");
        assert_eq!(
            values(&merged),
            vec![0.5, 2.0, 2.5, 4.0, 4.0, 6.0],
            "{dtype}"
        );
    }
}

#[test]
fn merge_rounds_once_to_the_weight_dtype() {
    // B·A = 2⁻⁸ + 2⁻¹⁶ is exact in f32, and 1 + 2⁻⁸ + 2⁻¹⁶ lies just above the BF16 tie
    // between 1 and 1 + 2⁻⁷, so one rounding gives 1 + 2⁻⁷. Rounding B·A to BF16 first (a tie,
    // to even: 2⁻⁸) and then the sum (again a tie, to even: 1) would give 1.
    let w = matrix_tensor(DType::BF16, 1, 1, &[1.0]);
    let a = matrix_tensor(DType::BF16, 2, 1, &[2f64.powi(-8), 2f64.powi(-16)]);
    let b = matrix_tensor(DType::BF16, 1, 2, &[1.0, 1.0]);
    let merged = lora_merge(&w.view(), &a.view(), &b.view(), 2.0).expect("merge");
    assert_eq!(values(&merged), vec![1.0 + 2f64.powi(-7)]);
}

#[test]
fn extract_types_are_known_for_a_fixed_rank_only() {
    let ty = TensorType::new(DType::F16, Shape::new(vec![8, 5]));
    assert_eq!(
        lora_extract_types(&ty, &ty, &RankRule::Fixed(3)),
        Ok(Some((
            TensorType::new(DType::F16, Shape::new(vec![3, 5])),
            TensorType::new(DType::F16, Shape::new(vec![8, 3])),
        )))
    );
    assert_eq!(
        lora_extract_types(&ty, &ty, &RankRule::Fixed(64)),
        Ok(Some((
            TensorType::new(DType::F16, Shape::new(vec![5, 5])),
            TensorType::new(DType::F16, Shape::new(vec![8, 5])),
        )))
    );
    let energy = RankRule::Energy {
        fraction: 0.5,
        max_rank: Some(2),
    };
    assert_eq!(lora_extract_types(&ty, &ty, &energy), Ok(None));
}

#[test]
fn extract_refuses_bad_input() {
    let base = matrix_tensor(DType::F32, 3, 4, &gaussian(3, 4, 1.0, 51));
    let other_shape = matrix_tensor(DType::F32, 4, 3, &gaussian(4, 3, 1.0, 52));
    let other_dtype = matrix_tensor(DType::F64, 3, 4, &gaussian(3, 4, 1.0, 53));
    let fixed = RankRule::Fixed(2);
    assert!(matches!(
        lora_extract(&base.view(), &other_shape.view(), &fixed, &EXACT),
        Err(KernelError::ShapeMismatch {
            op: "lora_extract",
            ..
        })
    ));
    assert!(matches!(
        lora_extract(&base.view(), &other_dtype.view(), &fixed, &EXACT),
        Err(KernelError::DTypeMismatch {
            op: "lora_extract",
            ..
        })
    ));
    for rule in [
        RankRule::Fixed(0),
        RankRule::Energy {
            fraction: 0.0,
            max_rank: None,
        },
        RankRule::Energy {
            fraction: 1.5,
            max_rank: None,
        },
        RankRule::Energy {
            fraction: f64::NAN,
            max_rank: None,
        },
        RankRule::Energy {
            fraction: 0.5,
            max_rank: Some(0),
        },
    ] {
        assert!(
            matches!(
                lora_extract(&base.view(), &base.view(), &rule, &EXACT),
                Err(KernelError::InvalidArgument {
                    op: "lora_extract",
                    ..
                })
            ),
            "{rule:?}"
        );
    }
    let infinite: Vec<u8> = [f32::INFINITY, 0.0, 0.0, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let infinite = tensor(DType::F32, vec![2, 2], infinite);
    // ∞ − ∞ is NaN: the delta has no SVD.
    assert!(matches!(
        lora_extract(&infinite.view(), &infinite.view(), &fixed, &EXACT),
        Err(KernelError::InvalidArgument { reason, .. }) if reason.contains("NaN")
    ));
    let vector = tensor(DType::F32, vec![4], vec![0; 16]);
    assert!(lora_extract(&vector.view(), &vector.view(), &fixed, &EXACT).is_err());
    let integers = tensor(DType::I64, vec![2, 2], vec![0; 32]);
    assert!(matches!(
        lora_extract(&integers.view(), &integers.view(), &fixed, &EXACT),
        Err(KernelError::UnsupportedDType { .. })
    ));
}

#[test]
fn merge_refuses_bad_input() {
    let w = matrix_tensor(DType::F32, 3, 4, &gaussian(3, 4, 1.0, 61));
    let a = matrix_tensor(DType::F32, 2, 4, &gaussian(2, 4, 1.0, 62));
    let b = matrix_tensor(DType::F32, 3, 2, &gaussian(3, 2, 1.0, 63));
    assert_eq!(lora_merge_type(w.ty(), a.ty(), b.ty()), Ok(w.ty().clone()));

    let a_half = matrix_tensor(DType::F16, 2, 4, &gaussian(2, 4, 1.0, 62));
    assert!(matches!(
        lora_merge(&w.view(), &a_half.view(), &b.view(), 1.0),
        Err(KernelError::DTypeMismatch {
            op: "lora_merge",
            ..
        })
    ));
    let wrong_columns = matrix_tensor(DType::F32, 2, 5, &gaussian(2, 5, 1.0, 64));
    let wrong_rows = matrix_tensor(DType::F32, 4, 2, &gaussian(4, 2, 1.0, 65));
    let wrong_rank = matrix_tensor(DType::F32, 3, 3, &gaussian(3, 3, 1.0, 66));
    for (a, b) in [(&wrong_columns, &b), (&a, &wrong_rows), (&a, &wrong_rank)] {
        assert!(matches!(
            lora_merge(&w.view(), &a.view(), &b.view(), 1.0),
            Err(KernelError::InvalidArgument { op: "lora_merge", reason }) if reason.contains("r ×")
        ));
    }
    for alpha in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            lora_merge(&w.view(), &a.view(), &b.view(), alpha),
            Err(KernelError::InvalidArgument { reason, .. }) if reason.contains("alpha")
        ));
    }
    let empty_a = tensor(DType::F32, vec![0, 4], Vec::new());
    let empty_b = tensor(DType::F32, vec![3, 0], Vec::new());
    assert!(matches!(
        lora_merge(&w.view(), &empty_a.view(), &empty_b.view(), 1.0),
        Err(KernelError::InvalidArgument { reason, .. }) if reason.contains("rank 0")
    ));
    let integers = tensor(DType::I32, vec![3, 4], vec![0; 48]);
    let integer_a = tensor(DType::I32, vec![2, 4], vec![0; 32]);
    let integer_b = tensor(DType::I32, vec![3, 2], vec![0; 24]);
    assert!(matches!(
        lora_merge(&integers.view(), &integer_a.view(), &integer_b.view(), 1.0),
        Err(KernelError::UnsupportedDType { .. })
    ));
}
