//! Layout kernels (slice, write-into-slice, reshape, permute, transpose, concat, split) against a
//! naive reference that walks multi-indices one element at a time. Layout is pure data movement,
//! so every comparison is exact.

mod kernels_support;

use brainsurgery::exec::kernels::layout::{
    concat, permute, reshape, reshape_view, split, transpose,
};
use brainsurgery::exec::kernels::slicing::{slice, write_into_slice, SliceGeometry};
use brainsurgery::exec::{KernelError, TensorData};
use brainsurgery::plan::ast::{Slice, SliceComponent};
use brainsurgery::tensor::{DType, Shape};
use kernels_support::*;
use proptest::prelude::*;

/// A tensor whose elements are their own flat index (+ `tag`), as I32, so every move is visible.
fn numbered(dims: &[u64], tag: i32) -> TensorData {
    let count: u64 = dims.iter().product();
    let bytes = (0..count as i32)
        .flat_map(|i| (i + tag).to_le_bytes())
        .collect();
    tensor(DType::I32, dims.to_vec(), bytes)
}

fn values(data: &TensorData) -> Vec<i32> {
    data.bytes()
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// All multi-indices of `dims` in row-major order.
fn indices(dims: &[u64]) -> Vec<Vec<u64>> {
    let mut all = vec![vec![]];
    for &dim in dims {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                (0..dim).map(move |i| {
                    let mut next = prefix.clone();
                    next.push(i);
                    next
                })
            })
            .collect();
    }
    all
}

fn flat(index: &[u64], dims: &[u64]) -> usize {
    index.iter().zip(dims).fold(0u64, |acc, (i, d)| acc * d + i) as usize
}

/// Python's selection for one component: the list of chosen positions, or `None` when invalid.
fn python_positions(component: Option<&SliceComponent>, size: u64) -> Option<(Vec<u64>, bool)> {
    let n = size as i64;
    match component {
        None => Some(((0..size).collect(), true)),
        Some(SliceComponent::Index(i)) => {
            let position = if *i < 0 { i + n } else { *i };
            (0..n)
                .contains(&position)
                .then(|| (vec![position as u64], false))
        }
        Some(SliceComponent::Range { start, stop, step }) => {
            let step = step.unwrap_or(1);
            if step <= 0 {
                return None;
            }
            let normalize = |b: i64| if b < 0 { (b + n).max(0) } else { b.min(n) };
            let low = start.map_or(0, normalize);
            let high = stop.map_or(n, normalize);
            Some((
                (low..high)
                    .step_by(step as usize)
                    .map(|p| p as u64)
                    .collect(),
                true,
            ))
        }
    }
}

/// The reference slice: the flat source positions in output order, and the output shape.
fn reference_slice(dims: &[u64], slice: &Slice) -> Option<(Vec<usize>, Vec<u64>)> {
    if slice.0.len() > dims.len() {
        return None;
    }
    let mut per_dim = Vec::new();
    for (axis, &size) in dims.iter().enumerate() {
        per_dim.push(python_positions(slice.0.get(axis), size)?);
    }
    let lengths: Vec<u64> = per_dim.iter().map(|(p, _)| p.len() as u64).collect();
    let positions = indices(&lengths)
        .into_iter()
        .map(|index| {
            let source: Vec<u64> = index
                .iter()
                .zip(&per_dim)
                .map(|(&i, (chosen, _))| chosen[i as usize])
                .collect();
            flat(&source, dims)
        })
        .collect();
    let shape = per_dim
        .iter()
        .filter(|(_, kept)| *kept)
        .map(|(p, _)| p.len() as u64)
        .collect();
    Some((positions, shape))
}

fn dims() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0u64..5, 0..5)
}

fn component() -> impl Strategy<Value = SliceComponent> {
    let bound = prop::option::of(-7i64..7);
    prop_oneof![
        (-6i64..6).prop_map(SliceComponent::Index),
        (
            bound.clone(),
            bound,
            prop::option::of(prop_oneof![1i64..4, Just(0), Just(-1)])
        )
            .prop_map(|(start, stop, step)| SliceComponent::Range { start, stop, step }),
    ]
}

fn sliced_case() -> impl Strategy<Value = (Vec<u64>, Slice)> {
    dims().prop_flat_map(|dims| {
        let rank = dims.len();
        (
            Just(dims),
            prop::collection::vec(component(), 0..=rank + 1).prop_map(Slice),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn slices_follow_python_basic_indexing((dims, selection) in sliced_case()) {
        let input = numbered(&dims, 0);
        let got = slice(&input.view(), &selection);
        match reference_slice(&dims, &selection) {
            None => prop_assert!(got.is_err()),
            Some((positions, shape)) => {
                let got = got.expect("valid slice");
                prop_assert_eq!(got.shape(), &Shape::new(shape));
                let expected: Vec<i32> = positions.iter().map(|&p| p as i32).collect();
                prop_assert_eq!(values(&got), expected);
                let geometry = SliceGeometry::new(input.shape(), &selection).expect("valid");
                if let Some(range) = geometry.contiguous_byte_range(4) {
                    let start = range.start as usize;
                    let end = range.end as usize;
                    prop_assert_eq!(&input.bytes()[start..end], got.bytes());
                }
            }
        }
    }

    #[test]
    fn writing_into_a_slice_changes_exactly_the_slice((dims, selection) in sliced_case()) {
        let base = numbered(&dims, 0);
        let Some((positions, shape)) = reference_slice(&dims, &selection) else {
            return Ok(());
        };
        let value = numbered(&shape, 10_000);
        let got = write_into_slice(&base.view(), &selection, &value.view()).expect("fits");
        let mut expected = values(&base);
        for (k, &p) in positions.iter().enumerate() {
            expected[p] = 10_000 + k as i32;
        }
        prop_assert_eq!(values(&got), expected);
        prop_assert_eq!(got.shape(), base.shape());
    }

    #[test]
    fn permute_moves_every_element_to_its_permuted_index(
        (dims, order) in dims().prop_flat_map(|dims| {
            let rank = dims.len();
            (Just(dims), Just((0..rank as i64).collect::<Vec<_>>()).prop_shuffle())
        }),
        negative in any::<bool>(),
    ) {
        let input = numbered(&dims, 0);
        let written: Vec<i64> = order
            .iter()
            .map(|&axis| if negative { axis - dims.len() as i64 } else { axis })
            .collect();
        let got = permute(&input.view(), &written).expect("a permutation");
        let out_dims: Vec<u64> = order.iter().map(|&axis| dims[axis as usize]).collect();
        prop_assert_eq!(got.shape(), &Shape::new(out_dims.clone()));
        let expected: Vec<i32> = indices(&out_dims)
            .iter()
            .map(|index| {
                let mut source = vec![0; dims.len()];
                for (k, &axis) in order.iter().enumerate() {
                    source[axis as usize] = index[k];
                }
                flat(&source, &dims) as i32
            })
            .collect();
        prop_assert_eq!(values(&got), expected);
    }

    #[test]
    fn split_then_concat_is_the_identity(
        (dims, axis, cuts) in prop::collection::vec(1u64..5, 1..4).prop_flat_map(|dims| {
            let rank = dims.len();
            (Just(dims), 0..rank, prop::collection::vec(any::<bool>(), 0..4))
        }),
    ) {
        let input = numbered(&dims, 0);
        // Cut the chosen dimension into pieces: a `true` ends a piece after each position.
        let size = dims[axis];
        let mut sizes = vec![];
        let mut current = 0;
        for position in 0..size {
            current += 1;
            if cuts.get(position as usize).copied().unwrap_or(false) || position + 1 == size {
                sizes.push(current);
                current = 0;
            }
        }
        let negative_axis = axis as i64 - dims.len() as i64;
        let pieces = split(&input.view(), &sizes, negative_axis).expect("sizes add up");
        prop_assert_eq!(pieces.len(), sizes.len());
        let mut offset = 0;
        for (piece, &length) in pieces.iter().zip(&sizes) {
            let mut components = vec![SliceComponent::Range { start: None, stop: None, step: None }; axis];
            components.push(SliceComponent::Range {
                start: Some(offset as i64),
                stop: Some((offset + length) as i64),
                step: None,
            });
            let expected = slice(&input.view(), &Slice(components)).expect("valid slice");
            prop_assert_eq!(piece, &expected);
            offset += length;
        }
        let joined = concat(&views(&pieces), axis as i64).expect("compatible pieces");
        prop_assert_eq!(joined, input);
    }

    #[test]
    fn reshape_keeps_the_bytes(dims in prop::collection::vec(1u64..5, 0..4), infer in any::<bool>()) {
        let input = numbered(&dims, 0);
        let count: u64 = dims.iter().product();
        let target: Vec<i64> = if infer { vec![-1] } else { vec![count as i64, 1] };
        let got = reshape(&input.view(), &target).expect("same count");
        prop_assert_eq!(got.bytes(), input.bytes());
        let view = reshape_view(&input.view(), &target).expect("same count");
        prop_assert_eq!(view.bytes().as_ptr(), input.bytes().as_ptr());
        prop_assert_eq!(view.shape().element_count(), Some(count));
    }
}

#[test]
fn transpose_swaps_two_dimensions_with_negative_indices() {
    let input = numbered(&[2, 3], 0);
    let got = transpose(&input.view(), 0, -1).expect("valid dims");
    assert_eq!(got.shape(), &Shape::new(vec![3, 2]));
    assert_eq!(values(&got), [0, 3, 1, 4, 2, 5]);
    assert!(matches!(
        transpose(&input.view(), 0, 2),
        Err(KernelError::DimensionOutOfRange { dim: 2, rank: 2 })
    ));
}

#[test]
fn bad_layout_arguments_are_errors() {
    let input = numbered(&[2, 3], 0);
    assert!(reshape(&input.view(), &[4, -1]).is_err());
    assert!(reshape(&input.view(), &[-1, -1]).is_err());
    assert!(reshape(&input.view(), &[5]).is_err());
    assert!(permute(&input.view(), &[0, 0]).is_err());
    assert!(permute(&input.view(), &[0]).is_err());
    assert!(split(&input.view(), &[1, 1], 1).is_err());
    let other = numbered(&[2, 2], 0);
    assert!(concat(&[input.view(), other.view()], 0).is_err());
    assert_eq!(
        concat(&[input.view(), other.view()], 1)
            .expect("equal rows")
            .shape(),
        &Shape::new(vec![2, 5])
    );
    let bad_value = numbered(&[2], 0);
    let selection = Slice(vec![SliceComponent::Index(0)]);
    assert!(matches!(
        write_into_slice(&input.view(), &selection, &bad_value.view()),
        Err(KernelError::ShapeMismatch { .. })
    ));
    let packed = tensor(DType::F4, vec![2], vec![0]);
    assert!(matches!(
        slice(&packed.view(), &Slice::default()),
        Err(KernelError::UnsupportedDType { .. })
    ));
}

#[test]
fn large_strided_copies_run_in_parallel_tasks() {
    // 1024 × 1024 I32 (4 MiB): several parallel gather tasks; the transpose of the transpose
    // must give the input back, and a spot check pins the mapping.
    let input = numbered(&[1024, 1024], 0);
    let once = transpose(&input.view(), 0, 1).expect("valid dims");
    assert_eq!(values(&once)[1], 1024);
    assert_eq!(values(&once)[1024 * 5 + 7], 7 * 1024 + 5);
    let twice = transpose(&once.view(), 0, 1).expect("valid dims");
    assert!(twice == input);
}
