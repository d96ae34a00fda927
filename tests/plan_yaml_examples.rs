//! The example plans of the reference's §7 (GPT-2 round trip, dense → MoE upcycling, the two
//! PHLoRA case studies), written as YAML fixtures under `tests/plans/`, parse into the plans they
//! describe and print back to the same AST.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::ast::*;
use brainsurgery::plan::yaml::{load_plan, parse_yaml, print_yaml};
use brainsurgery::tensor::DType;

fn load(name: &str) -> Plan {
    let path = format!("tests/plans/{name}");
    let mut sources = SourceMap::new();
    load_plan(&[&path], &[], &mut sources)
        .unwrap_or_else(|errors| panic!("{}", render_all_plain(&errors, &sources)))
}

fn keywords(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().map(|s| s.keyword.node.as_str()).collect()
}

fn regex(reference: &Spanned<TensorRef>) -> &str {
    match &reference.pattern.node {
        Pattern::Regex(text) => text,
        Pattern::Structured(_) => panic!("structured: {reference:?}"),
    }
}

fn assert_round_trip(plan: &Plan) {
    let printed = print_yaml(plan);
    let mut sources = SourceMap::new();
    let id = sources.add("printed.yaml", printed.as_str());
    let reparsed = parse_yaml(&mut sources, id)
        .unwrap_or_else(|errors| panic!("{printed}\n{}", render_all_plain(&errors, &sources)));
    assert_eq!(&reparsed, plan, "printed:\n{printed}");
}

#[test]
fn gpt2_round_trip_example_parses() {
    let plan = load("gpt2.yaml");
    assert_eq!(plan.default_alias(), Some("model"));
    assert_eq!(
        keywords(&plan),
        ["copy", "move", "move", "assign", "scale_", "assert", "cast_", "delete"]
    );
    let Op::Move(rename) = &plan.steps[1].op else {
        panic!()
    };
    assert_eq!((regex(&rename.from), regex(&rename.to)), ("^h(.*)", "i\\1"));
    let Op::Move(back) = &plan.steps[2].op else {
        panic!()
    };
    assert!(matches!(&back.from.pattern.node, Pattern::Structured(t) if t.len() == 2));
    let Op::Assert(check) = &plan.steps[5].op else {
        panic!()
    };
    assert!(
        matches!(&check.node, AssertExpr::Not(inner) if matches!(inner.node, AssertExpr::Equal { .. }))
    );
    let Op::CastInPlace(cast) = &plan.steps[6].op else {
        panic!()
    };
    assert_eq!(cast.dtype.node, DType::I64);
    let output = plan.output.as_ref().unwrap();
    assert_eq!(
        output.shard.as_ref().unwrap().node,
        ShardSize::Bytes {
            bytes: 104_857_600,
            text: "100MB".into()
        }
    );
    assert_round_trip(&plan);
}

#[test]
fn moe_upcycling_example_parses() {
    let plan = load("olmo_dense_to_moe.yaml");
    assert_eq!(plan.inputs.len(), 2);
    assert_eq!(plan.default_alias(), None);
    assert_eq!(plan.steps.len(), 11);
    let Op::Assert(preflight) = &plan.steps[0].op else {
        panic!()
    };
    assert!(matches!(&preflight.node, AssertExpr::All(parts) if parts.len() == 6));
    let Op::Copy(expert_one) = &plan.steps[5].op else {
        panic!()
    };
    assert_eq!(expert_one.from.alias.as_ref().unwrap().node, "m1");
    assert_eq!(expert_one.to.alias.as_ref().unwrap().node, "m0");
    let Op::Assert(spot_check) = &plan.steps[6].op else {
        panic!()
    };
    let AssertExpr::Equal { left, .. } = &spot_check.node else {
        panic!()
    };
    assert_eq!(left.slice.as_ref().unwrap().node.0.len(), 2);
    let Op::Zeroes(router) = &plan.steps[8].op else {
        panic!()
    };
    assert_eq!(router.shape.node, vec![2, 2048]);
    assert_round_trip(&plan);
}

#[test]
fn flexmore_phlora_example_parses() {
    let plan = load("moe_to_flexmore_phlora.yaml");
    assert_eq!(
        keywords(&plan)[..4],
        ["copy", "subtract_", "phlora", "delete"]
    );
    let Op::Phlora(phlora) = &plan.steps[2].op else {
        panic!()
    };
    assert_eq!(phlora.rank.node, 64);
    assert!(phlora.delete_original_or_default());
    assert!(regex(&phlora.target_b).ends_with("phlora_b.weight"));
    let Op::Assert(absent) = plan.steps.last().map(|s| &s.op).unwrap() else {
        panic!()
    };
    assert!(matches!(&absent.node, AssertExpr::Not(_)));
    assert_round_trip(&plan);
}

#[test]
fn low_rank_expert_example_parses() {
    let plan = load("moe_to_low_rank_expert.yaml");
    assert_eq!(
        keywords(&plan),
        ["subtract_", "phlora_", "add_", "assert", "assert", "assert"]
    );
    let Op::PhloraInPlace(phlora) = &plan.steps[1].op else {
        panic!()
    };
    assert_eq!(phlora.rank.node, 64);
    assert_eq!(
        plan.output.as_ref().unwrap().path.node,
        "models/olmo_1b_0724_hf_low_rank_expert"
    );
    assert_round_trip(&plan);
}
