//! Creators (zeros, ones, fill-constant, fill with broadcast values, seeded random) against naive
//! references: element values decoded by the reference formats, broadcasting by explicit index
//! mapping, random generation compared across chunkings and seeds.

mod kernels_support;

use brainsurgery::exec::kernels::creators::{
    fill_constant, fill_values, nested_shape, ones, random, random_chunk, zeros,
};
use brainsurgery::exec::kernels::random::{splitmix64, RandomDistribution};
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::plan::ast::NestedValues;
use brainsurgery::tensor::{DType, Shape, TensorType};
use kernels_support::*;
use proptest::prelude::*;

fn ty(dtype: DType, dims: &[u64]) -> TensorType {
    TensorType::new(dtype, Shape::new(dims.to_vec()))
}

fn decoded(data: &TensorData) -> Vec<f64> {
    to_bits(data)
        .into_iter()
        .map(|bits| reference_value(data.dtype(), bits))
        .collect()
}

/// Builds the nested list of `dims` whose row-major values are `flat`.
fn nest(dims: &[u64], flat: &[f64]) -> NestedValues {
    match dims.split_first() {
        None => NestedValues::Scalar(flat[0]),
        Some((&length, rest)) => {
            let inner: usize = rest.iter().product::<u64>() as usize;
            NestedValues::List(
                (0..length as usize)
                    .map(|i| nest(rest, &flat[i * inner..(i + 1) * inner]))
                    .collect(),
            )
        }
    }
}

#[test]
fn zeros_and_ones_in_every_dtype() {
    for dtype in castable_dtypes() {
        let zero = zeros(ty(dtype, &[3, 2])).expect("numeric dtype");
        assert!(decoded(&zero).iter().all(|&v| v == 0.0), "{dtype}");
        let one = ones(ty(dtype, &[3, 2])).expect("numeric dtype");
        assert_eq!(decoded(&one), vec![1.0; 6], "{dtype}");
    }
    assert!(matches!(
        ones(ty(DType::C64, &[1])),
        Err(KernelError::UnsupportedDType { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fill_constant_rounds_like_a_cast(value in prop_oneof![-1e5f64..1e5, Just(0.1), Just(1e40)]) {
        for dtype in FLOAT_DTYPES {
            let filled = fill_constant(ty(dtype, &[4]), value).expect("float dtype");
            let expected = if dtype == DType::F64 {
                value.to_bits()
            } else {
                reference_round(dtype, value as f32 as f64).expect("not NaN")
            };
            prop_assert_eq!(to_bits(&filled), vec![expected; 4], "{}", dtype);
        }
    }

    #[test]
    fn values_broadcast_by_torch_rules(
        (target, value_dims) in prop::collection::vec(1u64..4, 0..4).prop_flat_map(|target| {
            let rank = target.len();
            (Just(target.clone()), (0..=rank).prop_flat_map(move |kept| {
                let suffix = target[target.len() - kept..].to_vec();
                prop::collection::vec(any::<bool>(), kept).prop_map(move |ones| {
                    suffix.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect::<Vec<u64>>()
                })
            }))
        }),
        dtype in prop::sample::select(vec![DType::F32, DType::BF16, DType::I16, DType::U8]),
    ) {
        let count: u64 = value_dims.iter().product();
        let flat: Vec<f64> = (0..count).map(|i| (i % 100) as f64).collect();
        let got = fill_values(ty(dtype, &target), &nest(&value_dims, &flat)).expect("broadcastable");
        let leading = target.len() - value_dims.len();
        let mut expected = Vec::new();
        let total: u64 = target.iter().product();
        for flat_index in 0..total {
            // The target multi-index, then the value index with broadcast dimensions at 0.
            let mut rest = flat_index;
            let mut index = vec![0u64; target.len()];
            for axis in (0..target.len()).rev() {
                index[axis] = rest % target[axis];
                rest /= target[axis];
            }
            let mut source = 0u64;
            for (axis, &size) in value_dims.iter().enumerate() {
                let i = if size == 1 { 0 } else { index[leading + axis] };
                source = source * size + i;
            }
            expected.push(flat[source as usize]);
        }
        prop_assert_eq!(decoded(&got), expected);
    }

    #[test]
    fn random_tensors_do_not_depend_on_chunking(
        seed in any::<u64>(),
        length in 1u64..3000,
        cuts in prop::collection::vec(0u64..3000, 0..5),
        normal in any::<bool>(),
        dtype in prop::sample::select(vec![DType::F32, DType::BF16, DType::F64, DType::I32]),
    ) {
        let distribution = if normal {
            RandomDistribution::new_normal(1.0, 3.0).expect("valid")
        } else {
            RandomDistribution::new_uniform(-5.0, 5.0).expect("valid")
        };
        let whole = random(ty(dtype, &[length]), &distribution, seed).expect("numeric");
        let mut points: Vec<u64> = cuts.into_iter().filter(|&c| c < length).collect();
        points.extend([0, length]);
        points.sort_unstable();
        points.dedup();
        let width = dtype.bit_size() / 8;
        let mut pieces = vec![0u8; length as usize * width];
        for window in points.windows(2) {
            let (start, end) = (window[0], window[1]);
            random_chunk(
                dtype,
                &distribution,
                seed,
                start..end,
                &mut pieces[start as usize * width..end as usize * width],
            )
            .expect("valid range");
        }
        prop_assert_eq!(whole.bytes(), &pieces[..]);
        if !normal {
            let values = decoded(&whole);
            prop_assert!(values.iter().all(|v| (-5.0..=5.0).contains(v)));
        }
    }
}

#[test]
fn uniform_samples_follow_the_documented_transform() {
    let distribution = RandomDistribution::new_uniform(2.0, 6.0).expect("valid");
    let got = random(ty(DType::F64, &[3]), &distribution, 42).expect("numeric");
    let expected: Vec<f64> = (0..3)
        .map(|k| 2.0 + 4.0 * ((splitmix64(42, k) >> 11) as f64 / 2f64.powi(53)))
        .collect();
    assert_eq!(decoded(&got), expected);
}

#[test]
fn random_statistics_match_the_distribution() {
    let count = 200_000u64;
    let uniform = RandomDistribution::new_uniform(-1.0, 3.0).expect("valid");
    let values = decoded(&random(ty(DType::F64, &[count]), &uniform, 7).expect("numeric"));
    let mean = values.iter().sum::<f64>() / count as f64;
    assert!((mean - 1.0).abs() < 0.02, "uniform mean {mean}");
    assert!(values.iter().all(|v| (-1.0..3.0).contains(v)));

    let normal = RandomDistribution::new_normal(10.0, 2.0).expect("valid");
    let values = decoded(&random(ty(DType::F64, &[count]), &normal, 7).expect("numeric"));
    let mean = values.iter().sum::<f64>() / count as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count as f64;
    assert!((mean - 10.0).abs() < 0.02, "normal mean {mean}");
    assert!(
        (variance.sqrt() - 2.0).abs() < 0.02,
        "normal std {}",
        variance.sqrt()
    );
    let within_one_std = values.iter().filter(|v| (*v - 10.0).abs() < 2.0).count();
    let fraction = within_one_std as f64 / count as f64;
    assert!(
        (fraction - 0.6827).abs() < 0.01,
        "fraction within 1 std {fraction}"
    );

    let other_seed = random(ty(DType::F64, &[16]), &normal, 8).expect("numeric");
    let same_seed = random(ty(DType::F64, &[16]), &normal, 7).expect("numeric");
    assert_ne!(other_seed, same_seed);
    assert_eq!(decoded(&same_seed), values[..16]);
}

#[test]
fn nested_values_must_be_rectangular_and_broadcastable() {
    let ragged = NestedValues::List(vec![
        NestedValues::List(vec![NestedValues::Scalar(1.0)]),
        NestedValues::List(vec![]),
    ]);
    assert!(nested_shape(&ragged).is_err());
    let mixed = NestedValues::List(vec![
        NestedValues::Scalar(1.0),
        NestedValues::List(vec![NestedValues::Scalar(1.0)]),
    ]);
    assert!(nested_shape(&mixed).is_err());
    let row = nest(&[3], &[1.0, 2.0, 3.0]);
    assert_eq!(
        nested_shape(&row).expect("rectangular").0,
        Shape::new(vec![3])
    );
    assert!(matches!(
        fill_values(ty(DType::F32, &[3, 2]), &row),
        Err(KernelError::Broadcast { .. })
    ));
    assert!(matches!(
        fill_values(ty(DType::I8, &[3]), &nest(&[3], &[1.0, 2.5, 3.0])),
        Err(KernelError::NonIntegralScalar { .. })
    ));
    let scalar = fill_values(ty(DType::F16, &[2, 2]), &NestedValues::Scalar(0.5)).expect("fits");
    assert_eq!(decoded(&scalar), vec![0.5; 4]);
}
