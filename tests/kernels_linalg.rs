//! Matmul against a naive f64 triple loop, over random `torch.matmul` shapes (vectors, matrices,
//! broadcast batches). Integer-valued inputs make every sum exact, so those products must match
//! bit for bit; random real inputs are held to the standard error bound of a length-k dot product
//! in the compute precision, plus one rounding to the storage dtype for F16/BF16.

mod kernels_support;

use brainsurgery::exec::kernels::linalg::{matmul, matmul_type};
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::tensor::{DType, Shape, TensorType};
use kernels_support::*;
use proptest::prelude::*;

/// Operand shapes: optional batch dimensions (some broadcast), m, k, n, and whether each side is
/// a plain vector.
#[derive(Debug, Clone)]
struct Case {
    left: Vec<u64>,
    right: Vec<u64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((1u64..4, any::<bool>(), any::<bool>()), 0..3),
        0u64..6,
        0u64..6,
        0u64..6,
        any::<bool>(),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(batch, m, k, n, left_vector, right_vector, drop)| {
            let mut left: Vec<u64> = batch
                .iter()
                .map(|&(d, one, _)| if one { 1 } else { d })
                .collect();
            let mut right: Vec<u64> = batch
                .iter()
                .map(|&(d, _, one)| if one { 1 } else { d })
                .collect();
            // Broadcasting also lets one side have fewer batch dimensions.
            right.drain(..drop.min(right.len()));
            if left_vector {
                left = vec![k];
            } else {
                left.extend([m, k]);
            }
            if right_vector {
                right = vec![k];
            } else {
                right.extend([k, n]);
            }
            Case { left, right }
        })
}

fn values_tensor(dtype: DType, dims: &[u64], values: &[f64]) -> TensorData {
    let bits: Vec<u64> = values
        .iter()
        .map(|&v| reference_round(dtype, v as f32 as f64).expect("finite"))
        .collect();
    let data = from_bits(dtype, &bits);
    data.with_type(TensorType::new(dtype, Shape::new(dims.to_vec())))
        .expect("same byte count")
}

fn decoded(data: &TensorData) -> Vec<f64> {
    to_bits(data)
        .into_iter()
        .map(|b| reference_value(data.dtype(), b))
        .collect()
}

/// The naive product: the result shape, each element's exact-ish f64 value and Σ|a||b|.
fn reference(
    left: &[u64],
    a: &[f64],
    right: &[u64],
    b: &[f64],
) -> (Vec<u64>, Vec<(f64, f64, usize)>) {
    let left_vector = left.len() == 1;
    let right_vector = right.len() == 1;
    let l: Vec<u64> = if left_vector {
        vec![1, left[0]]
    } else {
        left.to_vec()
    };
    let r: Vec<u64> = if right_vector {
        vec![right[0], 1]
    } else {
        right.to_vec()
    };
    let (lb, rb) = (&l[..l.len() - 2], &r[..r.len() - 2]);
    let (m, k, n) = (l[l.len() - 2], l[l.len() - 1], r[r.len() - 1]);
    let rank = lb.len().max(rb.len());
    let padded = |dims: &[u64]| {
        let mut p = vec![1; rank - dims.len()];
        p.extend_from_slice(dims);
        p
    };
    let (lb, rb) = (padded(lb), padded(rb));
    let batch: Vec<u64> = lb.iter().zip(&rb).map(|(&x, &y)| x.max(y)).collect();
    let batch_count: u64 = batch.iter().product();
    let mut out = Vec::new();
    for flat in 0..batch_count {
        let mut rest = flat;
        let mut index = vec![0; rank];
        for axis in (0..rank).rev() {
            index[axis] = rest % batch[axis];
            rest /= batch[axis];
        }
        let offset = |dims: &[u64]| {
            index
                .iter()
                .zip(dims)
                .fold(0, |acc, (&i, &d)| acc * d + if d == 1 { 0 } else { i })
        };
        let (la, rbo) = (offset(&lb) * m * k, offset(&rb) * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut sum = 0.0;
                let mut magnitude = 0.0;
                for p in 0..k {
                    let x = a[(la + i * k + p) as usize];
                    let y = b[(rbo + p * n + j) as usize];
                    sum += x * y;
                    magnitude += (x * y).abs();
                }
                out.push((sum, magnitude, k as usize));
            }
        }
    }
    let mut shape = batch;
    if !left_vector {
        shape.push(m);
    }
    if !right_vector {
        shape.push(n);
    }
    (shape, out)
}

fn random_values(count: u64, integers: bool, seed: u64) -> Vec<f64> {
    (0..count)
        .map(|i| {
            let bits = brainsurgery::exec::kernels::random::splitmix64(seed, i);
            if integers {
                ((bits % 9) as f64) - 4.0
            } else {
                (bits >> 11) as f64 / 2f64.powi(52) - 1.0
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matmul_matches_the_naive_triple_loop(
        case in case(),
        dtype in prop::sample::select(vec![DType::F32, DType::F64, DType::F16, DType::BF16]),
        integers in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let a_values = random_values(case.left.iter().product(), integers, seed);
        let b_values = random_values(case.right.iter().product(), integers, seed ^ 1);
        let a = values_tensor(dtype, &case.left, &a_values);
        let b = values_tensor(dtype, &case.right, &b_values);
        let got = matmul(&a.view(), &b.view()).expect("compatible shapes");
        let (shape, expected) = reference(&case.left, &decoded(&a), &case.right, &decoded(&b));
        prop_assert_eq!(got.shape(), &Shape::new(shape));
        let (precision, compute_precision) = match dtype {
            DType::F64 => (52, 52),
            DType::F32 => (23, 23),
            DType::F16 => (10, 23),
            _ => (7, 23),
        };
        for (value, (exact, magnitude, k)) in decoded(&got).iter().zip(expected) {
            if integers && dtype != DType::BF16 {
                // Sums of small integers are exact in every compute type (and in F16 storage).
                prop_assert_eq!(*value, exact);
            } else {
                let accumulation = 2.0 * k as f64 * 2f64.powi(-compute_precision) * magnitude;
                let storage = exact.abs() * 2f64.powi(-precision) + 2f64.powi(-24);
                prop_assert!((value - exact).abs() <= accumulation + storage,
                    "{} got {} expected {} (k = {})", dtype, value, exact, k);
            }
        }
    }
}

#[test]
fn shapes_follow_torch_matmul() {
    let cases: [(&[u64], &[u64], &[u64]); 5] = [
        (&[3], &[3], &[]),
        (&[3], &[3, 4], &[4]),
        (&[2, 3], &[3], &[2]),
        (&[2, 1, 3, 4], &[5, 4, 2], &[2, 5, 3, 2]),
        (&[4], &[2, 4, 3], &[2, 3]),
    ];
    for (left, right, expected) in cases {
        let ty = matmul_type(
            &TensorType::new(DType::F32, Shape::new(left.to_vec())),
            &TensorType::new(DType::F32, Shape::new(right.to_vec())),
        )
        .expect("compatible");
        assert_eq!(
            ty.shape,
            Shape::new(expected.to_vec()),
            "{left:?} @ {right:?}"
        );
    }
}

#[test]
fn incompatible_operands_are_errors() {
    let f32_type = |dims: &[u64]| TensorType::new(DType::F32, Shape::new(dims.to_vec()));
    assert!(matches!(
        matmul_type(&f32_type(&[]), &f32_type(&[3])),
        Err(KernelError::Matmul { .. })
    ));
    assert!(matches!(
        matmul_type(&f32_type(&[2, 3]), &f32_type(&[4, 2])),
        Err(KernelError::Matmul { .. })
    ));
    assert!(matches!(
        matmul_type(&f32_type(&[2, 2, 3]), &f32_type(&[3, 3, 2])),
        Err(KernelError::Matmul { .. })
    ));
    assert!(matches!(
        matmul_type(
            &f32_type(&[2]),
            &TensorType::new(DType::F64, Shape::new(vec![2]))
        ),
        Err(KernelError::DTypeMismatch { .. })
    ));
    assert!(matches!(
        matmul_type(
            &TensorType::new(DType::I32, Shape::new(vec![2])),
            &TensorType::new(DType::I32, Shape::new(vec![2]))
        ),
        Err(KernelError::UnsupportedDType { .. })
    ));
}

#[test]
fn a_large_product_is_deterministic_and_matches_the_batched_path() {
    // 160³ is past the threshold where one product is parallelized inside faer; the batched
    // form multiplies each matrix sequentially. Both must give the same bits.
    let size = 160u64;
    let a_values = random_values(size * size, false, 3);
    let b_values = random_values(size * size, false, 4);
    let a = values_tensor(DType::F32, &[size, size], &a_values);
    let b = values_tensor(DType::F32, &[size, size], &b_values);
    let once = matmul(&a.view(), &b.view()).expect("square");
    let again = matmul(&a.view(), &b.view()).expect("square");
    assert!(once == again, "two runs differ");
    let batched_a = values_tensor(
        DType::F32,
        &[2, size, size],
        &[a_values.clone(), a_values].concat(),
    );
    let batched = matmul(&batched_a.view(), &b.view()).expect("broadcast batch");
    let half = once.bytes().len();
    assert!(batched.bytes()[..half] == *once.bytes());
    assert!(batched.bytes()[half..] == *once.bytes());
}
