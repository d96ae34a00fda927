//! The fusion promise: a random chain of elementwise ops evaluated as one fused program (chunked,
//! in parallel or not, any chunk size) gives exactly the bytes of evaluating it op by op with
//! every intermediate tensor materialized — in every float dtype, NaN payloads included.

mod kernels_support;

use brainsurgery::exec::kernels::elementwise::ElementwiseOp;
use brainsurgery::exec::kernels::program::{ElementwiseProgram, RunOptions, ValueId};
use brainsurgery::exec::TensorData;
use brainsurgery::tensor::{DType, Shape, TensorType};
use kernels_support::*;
use proptest::prelude::*;

/// One step of a random chain; operand choices are indices reduced modulo what exists.
#[derive(Debug, Clone)]
enum Step {
    Scale(f64),
    Add(usize, usize),
    Subtract(usize, usize),
    Multiply(usize, usize),
    Clamp(Option<f64>, Option<f64>),
    Cast(DType),
    Fill(f64, DType),
}

fn float_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(FLOAT_DTYPES.to_vec())
}

fn scalar() -> impl Strategy<Value = f64> {
    prop_oneof![
        -3.0f64..3.0,
        Just(0.3),
        Just(1e5),
        Just(-0.0),
        Just(f64::NAN)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        scalar().prop_map(Step::Scale),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Step::Add(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Step::Subtract(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Step::Multiply(a, b)),
        (prop::option::of(scalar()), prop::option::of(scalar()))
            .prop_map(|(min, max)| Step::Clamp(min, max)),
        float_dtype().prop_map(Step::Cast),
        (scalar(), float_dtype()).prop_map(|(value, dtype)| Step::Fill(value, dtype)),
    ]
}

/// Builds the program: unary steps apply to the latest value, binary steps pair the latest value
/// with an earlier value of the same dtype (there is always one: the latest itself).
fn build(inputs: &[TensorData], steps: &[Step]) -> ElementwiseProgram {
    let types: Vec<TensorType> = inputs.iter().map(|data| data.ty().clone()).collect();
    let mut program = ElementwiseProgram::new(types).expect("same-shaped inputs");
    let mut values: Vec<ValueId> = (0..inputs.len())
        .map(|index| program.input(index).expect("declared input"))
        .collect();
    let dtype =
        |program: &ElementwiseProgram, value: ValueId| program.dtype(value).expect("known value");
    for step in steps {
        let latest = *values.last().expect("at least one input");
        let partner = |choice: usize| {
            let same: Vec<ValueId> = values
                .iter()
                .copied()
                .filter(|&v| dtype(&program, v) == dtype(&program, latest))
                .collect();
            same[choice % same.len()]
        };
        let (op, operands) = match *step {
            Step::Scale(by) => (ElementwiseOp::Scale { by }, vec![latest]),
            Step::Add(a, b) => (ElementwiseOp::Add, order(partner(a), latest, b)),
            Step::Subtract(a, b) => (ElementwiseOp::Subtract, order(partner(a), latest, b)),
            Step::Multiply(a, b) => (ElementwiseOp::Multiply, order(partner(a), latest, b)),
            Step::Clamp(min, max) => (ElementwiseOp::Clamp { min, max }, vec![latest]),
            Step::Cast(dtype) => (ElementwiseOp::Cast { dtype }, vec![latest]),
            Step::Fill(value, dtype) => (ElementwiseOp::FillConstant { value, dtype }, vec![]),
        };
        values.push(program.push(op, &operands).expect("well-typed step"));
    }
    program
}

fn order(first: ValueId, second: ValueId, flip: usize) -> Vec<ValueId> {
    if flip.is_multiple_of(2) {
        vec![first, second]
    } else {
        vec![second, first]
    }
}

fn inputs() -> impl Strategy<Value = Vec<TensorData>> {
    (prop::collection::vec(float_dtype(), 1..4), 0usize..300).prop_flat_map(|(dtypes, length)| {
        let tensors: Vec<_> = dtypes
            .into_iter()
            .map(|dtype| {
                prop::collection::vec(any::<u64>(), length).prop_map(move |bits| {
                    let masked: Vec<u64> = bits
                        .iter()
                        .map(|b| {
                            if dtype.bit_size() == 64 {
                                *b
                            } else {
                                b & ((1 << dtype.bit_size()) - 1)
                            }
                        })
                        .collect();
                    from_bits(dtype, &masked)
                })
            })
            .collect();
        tensors
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fused_and_unfused_chains_give_identical_bytes(
        inputs in inputs(),
        steps in prop::collection::vec(step(), 1..8),
        chunk_elements in 1usize..70,
        parallel in any::<bool>(),
    ) {
        let program = build(&inputs, &steps);
        let unfused = program.run_unfused(&views(&inputs)).expect("unfused run");
        let mut fused = TensorData::zeroed(program.output_type().expect("typed")).expect("fits");
        let options = RunOptions { chunk_elements, parallel };
        program.run_into(&views(&inputs), fused.bytes_mut(), &options).expect("fused run");
        prop_assert_eq!(fused.bytes(), unfused.bytes());
        prop_assert_eq!(program.run(&views(&inputs)).expect("default run"), unfused);
    }
}

#[test]
fn a_fused_chain_over_many_chunks_matches_op_by_op() {
    // 200 000 elements: several default-sized chunks, run in parallel.
    let length = 200_000u64;
    let bits: Vec<u64> = (0..length).map(|i| (i * 2_654_435_761) & 0xFFFF).collect();
    let input = from_bits(DType::BF16, &bits);
    let steps = [
        Step::Scale(0.5),
        Step::Clamp(Some(-1.0), Some(1.0)),
        Step::Add(0, 0),
        Step::Cast(DType::F16),
        Step::Multiply(0, 1),
    ];
    let program = build(std::slice::from_ref(&input), &steps);
    let fused = program.run(&[input.view()]).expect("fused");
    let unfused = program.run_unfused(&[input.view()]).expect("unfused");
    assert_eq!(fused.shape(), &Shape::new(vec![length]));
    assert_eq!(fused.dtype(), DType::F16);
    assert!(fused == unfused, "fused and unfused bytes differ");
}

#[test]
fn a_fused_chain_rounds_after_every_op() {
    // bf16 1.0 × 1.003 rounds back to 1.0, twice. Keeping the f32 intermediate would give
    // 1.006009, which rounds to the next bf16 (1.0078125, 0x3F81).
    let input = from_bits(DType::BF16, &[0x3F80]);
    let program = build(
        std::slice::from_ref(&input),
        &[Step::Scale(1.003), Step::Scale(1.003)],
    );
    let fused = program.run(&[input.view()]).expect("fused");
    assert_eq!(to_bits(&fused), [0x3F80]);
}
