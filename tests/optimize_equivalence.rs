//! The optimizer never changes a result: random plans of elementwise ops, casts, constant fills,
//! slices, split pieces and reshapes, over random tensors of every float dtype the kernels
//! compute in, store exactly the same bytes when their graph is evaluated as compiled, optimized
//! without fusion (`run --no-fuse`), and fully optimized. The evaluator is a reference over whole
//! in-memory tensors (`optimize_support`), not the executor, so these tests pin the passes down on
//! their own.

mod optimize_support;

use std::collections::HashMap;

use brainsurgery::compile::{compile_plan, MemoryHeaders};
use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::graph::{NodeKind, PlanGraph};
use brainsurgery::optimize::{optimize, Options};
use brainsurgery::plan::terse::parse_terse;
use brainsurgery::tensor::{Shape, TensorType};
use optimize_support::{evaluate, random_plan, random_tensor, Choice, Stored, FLOAT_DTYPES};
use proptest::prelude::*;

fn compile(plan: &str, input_type: &TensorType) -> PlanGraph {
    let mut sources = SourceMap::new();
    let id = sources.add("random.bs", plan);
    let parsed = parse_terse(&mut sources, id)
        .unwrap_or_else(|errors| panic!("{plan}\n{}", render_all_plain(&errors, &sources)));
    let tensors = ["a", "b", "c"]
        .iter()
        .map(|name| (name.to_string(), input_type.clone()))
        .collect();
    let headers = MemoryHeaders::new().with_file("m", tensors);
    let compilation = compile_plan(&parsed, &headers, None);
    assert!(
        !compilation.has_errors(),
        "{plan}\n{}",
        render_all_plain(&compilation.diagnostics, &sources)
    );
    compilation.graph
}

fn validated(options: Options) -> Options {
    Options {
        validate: true,
        ..options
    }
}

/// The stores of the plan evaluated as compiled, without fusion and fully optimized, with how
/// many fused nodes the last graph has; `None` when the kernels refuse the plan as compiled.
fn three_ways(plan: &str, input_type: &TensorType, seed: u64) -> Option<([Stored; 3], usize)> {
    let inputs: HashMap<String, _> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(index, name)| {
            (
                name.to_string(),
                random_tensor(input_type, seed + index as u64),
            )
        })
        .collect();
    let compiled = compile(plan, input_type);
    let reference = evaluate(&compiled, &inputs).ok()?;
    let mut unfused = compiled.clone();
    let no_fuse = Options {
        fuse: false,
        ..Options::default()
    };
    optimize(&mut unfused, &validated(no_fuse)).expect("optimizes without fusion");
    let mut fused = compiled;
    optimize(&mut fused, &validated(Options::default())).expect("optimizes");
    let fused_nodes = fused
        .node_ids()
        .into_iter()
        .filter(|&id| matches!(fused.node(id).map(|n| &n.kind), Some(NodeKind::Fused(_))))
        .count();
    let unfused_result = evaluate(&unfused, &inputs).expect("the unfused graph evaluates");
    let fused_result = evaluate(&fused, &inputs).expect("the fused graph evaluates");
    Some(([reference, unfused_result, fused_result], fused_nodes))
}

fn choice() -> impl Strategy<Value = Choice> {
    (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn optimizing_never_changes_a_stored_byte(
        dtype in proptest::sample::select(FLOAT_DTYPES.to_vec()),
        rows in 1u64..6,
        columns in 1u64..5,
        choices in proptest::collection::vec(choice(), 1..14),
        seed in any::<u64>(),
    ) {
        let input_type = TensorType::new(dtype, Shape::new(vec![rows, columns]));
        let plan = random_plan(&input_type, &choices);
        if let Some(([reference, unfused, fused], _)) = three_ways(&plan, &input_type, seed) {
            prop_assert_eq!(&unfused, &reference, "without fusion:\n{}", plan);
            prop_assert_eq!(&fused, &reference, "fused:\n{}", plan);
        }
    }

    #[test]
    fn stopping_after_any_number_of_rewrites_changes_no_stored_byte(
        dtype in proptest::sample::select(FLOAT_DTYPES.to_vec()),
        choices in proptest::collection::vec(choice(), 2..14),
        limit in 0usize..40,
        seed in any::<u64>(),
    ) {
        // What makes bisecting by `max_rewrites` sound: every prefix of the rewrites is a valid
        // graph with the same results.
        let input_type = TensorType::new(dtype, Shape::new(vec![4, 3]));
        let plan = random_plan(&input_type, &choices);
        let inputs: HashMap<String, _> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(index, name)| (name.to_string(), random_tensor(&input_type, seed + index as u64)))
            .collect();
        let mut graph = compile(&plan, &input_type);
        if let Ok(reference) = evaluate(&graph, &inputs) {
            let options = Options { max_rewrites: Some(limit), ..Options::default() };
            let report = optimize(&mut graph, &validated(options)).expect("every prefix is valid");
            prop_assert!(report.total() <= limit);
            let partial = evaluate(&graph, &inputs).expect("a prefix evaluates");
            prop_assert_eq!(&partial, &reference, "after {} rewrites:\n{}", report.total(), plan);
        }
    }
}

#[test]
fn fused_chains_match_unfused_ones_in_every_float_dtype() {
    // A four-op chain and a tree with a constant fill, each fused into one node, beside a scale
    // of a byte view.
    let plan = "input \"m\"\noutput \"out\"\n\
                t = a * 0.3\n\
                clamp_(t, min=-0.75, max=2)\n\
                u = t as bfloat16\n\
                z = u as float16\n\
                del t\n\
                del u\n\
                f = fill(b, 1.5)\n\
                b <- b * f\n\
                b <- b - c\n\
                del f\n\
                r = c::[1:3]\n\
                s = r * -1.25\n";
    for dtype in FLOAT_DTYPES {
        let input_type = TensorType::new(dtype, Shape::new(vec![5, 4]));
        let ([reference, unfused, fused], fused_nodes) =
            three_ways(plan, &input_type, 7).unwrap_or_else(|| panic!("{dtype} evaluates"));
        assert_eq!(unfused, reference, "{dtype} without fusion");
        assert_eq!(fused, reference, "{dtype} fused");
        assert_eq!(fused_nodes, 2, "{dtype}");
        assert_eq!(reference.len(), 6, "{dtype}: a, b, c, z, r, s are stored");
    }
}

#[test]
fn random_plans_exercise_every_pass() {
    // The property above is only as strong as its plans: over a fixed sample, the generator must
    // produce plans that fuse, fold views and copy bytes, and every one must agree.
    let mut state = 1u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u8
    };
    let mut fired: HashMap<&'static str, usize> = HashMap::new();
    for case in 0..60 {
        let input_type = TensorType::new(FLOAT_DTYPES[case % 6], Shape::new(vec![4, 3]));
        let choices: Vec<Choice> = (0..10 + case % 2)
            .map(|_| (next(), next(), next(), next()))
            .collect();
        let plan = random_plan(&input_type, &choices);
        let ([reference, unfused, fused], _) =
            three_ways(&plan, &input_type, case as u64).expect("the sample evaluates");
        assert_eq!(unfused, reference, "without fusion:\n{plan}");
        assert_eq!(fused, reference, "fused:\n{plan}");
        let mut graph = compile(&plan, &input_type);
        let report = optimize(&mut graph, &validated(Options::default())).expect("optimizes");
        for (pass, count) in report.rewrites {
            if count > 0 {
                *fired.entry(pass).or_default() += 1;
            }
        }
    }
    for pass in ["dead_tensors", "view_folding", "fusion", "passthrough"] {
        assert!(
            fired.get(pass).copied().unwrap_or(0) >= 10,
            "{pass} fired in too few sample plans: {fired:?}"
        );
    }
}
