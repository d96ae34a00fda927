//! The randomized SVD against the exact one on matrices with decaying spectra: its error is
//! never below the optimal (Eckart–Young) error and stays within the bound documented in
//! `docs/lowrank.md`, in the Frobenius and the spectral norm; it is reproducible from its seed,
//! depends on it, and falls back to the exact SVD when the sketch would be as wide as the matrix.

mod kernels_lowrank_support;
mod kernels_support;

use brainsurgery::exec::kernels::lowrank::{
    lora_extract, phlora, phlora_reconstruct, RandomizedSvd, RankRule, SvdMethod,
};
use brainsurgery::tensor::DType;
use kernels_lowrank_support::*;

fn randomized(oversampling: usize, power_iterations: usize, seed: u64) -> SvdMethod {
    SvdMethod::Randomized(RandomizedSvd {
        oversampling,
        power_iterations,
        seed,
    })
}

/// ε of `docs/lowrank.md`: the expected spectral error of the sketched subspace (Halko,
/// Martinsson and Tropp 2011, Corollary 10.10), from the exact spectrum `sigma`.
fn subspace_bound(sigma: &[f64], rank: usize, oversampling: usize, power_iterations: usize) -> f64 {
    let power = (2 * power_iterations + 1) as f64;
    let (k, p) = (rank as f64, oversampling as f64);
    let head = (1.0 + (k / (p - 1.0)).sqrt()) * sigma[rank].powf(power);
    let tail: f64 = sigma[rank..].iter().map(|s| s.powf(2.0 * power)).sum();
    let spread = std::f64::consts::E * (k + p).sqrt() / p * tail.sqrt();
    (head + spread).powf(1.0 / power)
}

struct Errors {
    frobenius_squared: f64,
    spectral: f64,
}

/// The errors of B·A as an approximation of `w`, measured by the reference.
fn errors(w: &[f64], rows: usize, columns: usize, product: &[f64]) -> Errors {
    let residual = subtract(w, product);
    Errors {
        frobenius_squared: frobenius_squared(&residual),
        spectral: ReferenceSvd::new(&residual, rows, columns).sigma[0],
    }
}

#[test]
fn randomized_error_is_within_the_documented_bound_of_the_exact_one() {
    let (rows, columns) = (90, 60);
    let spectra = [
        ("geometric", geometric(5.0, 0.85, 60)),
        (
            "harmonic",
            (0..60).map(|i| 5.0 / (i as f64 + 1.0)).collect(),
        ),
    ];
    for (name, sigma) in &spectra {
        let w = with_spectrum(rows, columns, sigma, 71);
        let input = matrix_tensor(DType::F64, rows, columns, &w);
        let reference = ReferenceSvd::new(&values(&input), rows, columns);
        for rank in [5usize, 12] {
            let exact = phlora(&input.view(), rank as u64, &SvdMethod::Exact).expect("exact");
            let optimal = errors(&w, rows, columns, &factor_product(&exact.a, &exact.b));
            assert!(
                (optimal.frobenius_squared - reference.tail_energy(rank)).abs()
                    <= 1e-10 * reference.tail_energy(0)
            );
            for (oversampling, power_iterations) in [(10, 2), (10, 0), (5, 1), (2, 0)] {
                let method = randomized(oversampling, power_iterations, 3);
                let sketch = phlora(&input.view(), rank as u64, &method).expect("randomized");
                assert_eq!(sketch.rank, rank as u64);
                let found = errors(&w, rows, columns, &factor_product(&sketch.a, &sketch.b));
                let epsilon =
                    subspace_bound(&reference.sigma, rank, oversampling, power_iterations);
                let case = format!("{name} k={rank} p={oversampling} q={power_iterations}");
                // Eckart–Young: nothing of rank k does better than the truncated SVD.
                assert!(
                    found.frobenius_squared >= optimal.frobenius_squared * (1.0 - 1e-10),
                    "{case}"
                );
                assert!(
                    found.frobenius_squared
                        <= reference.tail_energy(rank) + rank as f64 * epsilon * epsilon,
                    "{case}: ‖W − Â‖²_F = {}, optimal {}, ε = {epsilon}",
                    found.frobenius_squared,
                    optimal.frobenius_squared
                );
                assert!(
                    found.spectral <= reference.sigma[rank] + epsilon,
                    "{case}: ‖W − Â‖₂ = {}, σ_(k+1) = {}, ε = {epsilon}",
                    found.spectral,
                    reference.sigma[rank]
                );
            }
        }
    }
}

#[test]
fn power_iterations_bring_a_decaying_spectrum_close_to_optimal() {
    let (rows, columns, rank) = (120, 90, 8);
    let w = with_spectrum(rows, columns, &geometric(5.0, 0.85, 90), 72);
    let input = matrix_tensor(DType::F32, rows, columns, &w);
    let stored = values(&input);
    let reference = ReferenceSvd::new(&stored, rows, columns);
    let sketch = phlora(
        &input.view(),
        rank,
        &SvdMethod::Randomized(Default::default()),
    )
    .expect("randomized");
    let found = frobenius_squared(&subtract(&stored, &factor_product(&sketch.a, &sketch.b)));
    let optimal = reference.tail_energy(rank as usize);
    let epsilon = subspace_bound(&reference.sigma, rank as usize, 10, 2);
    assert!(found <= optimal + rank as f64 * epsilon * epsilon);
    // With the defaults (p = 10, q = 2) the sketch is within 1% of the optimal error here.
    assert!(found <= 1.01 * optimal, "found {found}, optimal {optimal}");
}

#[test]
fn the_seed_makes_runs_reproducible_and_matters() {
    let (rows, columns) = (60, 80);
    let w = with_spectrum(rows, columns, &geometric(3.0, 0.9, 60), 73);
    let input = matrix_tensor(DType::F32, rows, columns, &w);
    let first = phlora(&input.view(), 6, &randomized(10, 1, 42)).expect("first");
    let again = phlora(&input.view(), 6, &randomized(10, 1, 42)).expect("again");
    let other = phlora(&input.view(), 6, &randomized(10, 1, 43)).expect("other");
    assert_eq!(first, again);
    assert_ne!(first.a.bytes(), other.a.bytes());
    let exact = phlora(&input.view(), 6, &SvdMethod::Exact).expect("exact");
    assert_ne!(first.a.bytes(), exact.a.bytes());
}

#[test]
fn a_sketch_as_wide_as_the_matrix_falls_back_to_the_exact_svd() {
    let (rows, columns) = (20, 30);
    let w = gaussian(rows, columns, 1.0, 74);
    let input = matrix_tensor(DType::F32, rows, columns, &w);
    // k + p = 10 + 10 reaches min(shape) = 20.
    let sketch = phlora(&input.view(), 10, &randomized(10, 2, 0)).expect("randomized");
    let exact = phlora(&input.view(), 10, &SvdMethod::Exact).expect("exact");
    assert_eq!(sketch, exact);
    let sketch = phlora_reconstruct(&input.view(), 15, &randomized(10, 2, 0)).expect("phlora_");
    let exact = phlora_reconstruct(&input.view(), 15, &SvdMethod::Exact).expect("phlora_");
    assert_eq!(sketch, exact);
}

#[test]
fn randomized_reconstruction_and_extraction_stay_within_the_bound() {
    let (rows, columns, rank) = (100, 70, 6);
    let sigma = geometric(4.0, 0.8, 70);
    let delta = with_spectrum(rows, columns, &sigma, 75);
    let base_values = gaussian(rows, columns, 1.0, 76);
    let base = matrix_tensor(DType::F64, rows, columns, &base_values);
    let tuned_values: Vec<f64> = base_values.iter().zip(&delta).map(|(b, d)| b + d).collect();
    let tuned = matrix_tensor(DType::F64, rows, columns, &tuned_values);
    let stored_delta = subtract(&values(&tuned), &values(&base));
    let reference = ReferenceSvd::new(&stored_delta, rows, columns);
    let epsilon = subspace_bound(&reference.sigma, rank, 10, 2);
    let bound = reference.tail_energy(rank) + rank as f64 * epsilon * epsilon;
    let method = SvdMethod::Randomized(RandomizedSvd::default());

    let delta_tensor = matrix_tensor(DType::F64, rows, columns, &stored_delta);
    let rebuilt = phlora_reconstruct(&delta_tensor.view(), rank as u64, &method).expect("phlora_");
    let error = frobenius_squared(&subtract(&stored_delta, &values(&rebuilt)));
    assert!(error >= reference.tail_energy(rank) * (1.0 - 1e-10) && error <= bound);

    // σ² decays by 0.64 per component; 0.95 of the energy needs 7 components, capped at 6.
    for (fraction, max_rank, expected) in [(0.5, 6, 2), (0.9, 8, 6), (0.95, 6, 6)] {
        let rule = RankRule::Energy {
            fraction,
            max_rank: Some(max_rank),
        };
        let factors = lora_extract(&base.view(), &tuned.view(), &rule, &method).expect("extract");
        assert_eq!(factors.rank, expected, "energy {fraction} max {max_rank}");
        let epsilon = subspace_bound(&reference.sigma, expected as usize, 10, 2);
        let error = frobenius_squared(&subtract(
            &stored_delta,
            &factor_product(&factors.a, &factors.b),
        ));
        assert!(
            error <= reference.tail_energy(expected as usize) + expected as f64 * epsilon * epsilon
        );
    }
}
