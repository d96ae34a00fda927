//! Table-driven tests of the YAML front end: every op's required and optional keys parse into the
//! expected AST, defaults are the reference's, every required key is reported when missing, every
//! assertion form parses, and every plan printed back as YAML parses to the same AST.

use brainsurgery::diagnostics::{render_all_plain, SourceMap, Span};
use brainsurgery::plan::ast::*;
use brainsurgery::plan::yaml::{parse_yaml, print_yaml};
use brainsurgery::tensor::DType;

fn s<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

/// An unqualified regex reference.
fn r(expression: &str) -> Spanned<TensorRef> {
    s(TensorRef {
        alias: None,
        pattern: s(Pattern::Regex(expression.into())),
        slice: None,
    })
}

fn qualified(alias: &str, expression: &str) -> Spanned<TensorRef> {
    let mut reference = r(expression);
    reference.node.alias = Some(s(alias.into()));
    reference
}

fn sliced(expression: &str, components: Vec<SliceComponent>) -> Spanned<TensorRef> {
    let mut reference = r(expression);
    reference.node.slice = Some(s(Slice(components)));
    reference
}

fn structured(alias: Option<&str>, tokens: Vec<StructuredToken>) -> Spanned<TensorRef> {
    s(TensorRef {
        alias: alias.map(|a| s(a.into())),
        pattern: s(Pattern::Structured(tokens.into_iter().map(s).collect())),
        slice: None,
    })
}

fn range(start: Option<i64>, stop: Option<i64>) -> SliceComponent {
    SliceComponent::Range {
        start,
        stop,
        step: None,
    }
}

fn parse(text: &str) -> Result<Plan, String> {
    let mut sources = SourceMap::new();
    let id = sources.add("plan.yaml", text);
    parse_yaml(&mut sources, id).map_err(|errors| render_all_plain(&errors, &sources))
}

fn single_input(step: &str) -> String {
    format!("inputs: [models/m]\ntransforms:\n  - {step}\n")
}

/// The op of a one-step, one-input plan.
fn op(step: &str) -> Op {
    let plan = parse(&single_input(step)).unwrap_or_else(|e| panic!("{step}\n{e}"));
    assert_eq!(plan.steps.len(), 1);
    plan.steps.into_iter().next().unwrap().node.op
}

fn error(step: &str) -> String {
    match parse(&single_input(step)) {
        Ok(plan) => panic!("{step} parsed: {plan:?}"),
        Err(rendered) => rendered,
    }
}

fn assert_round_trip(plan: &Plan) {
    let printed = print_yaml(plan);
    let reparsed = parse(&printed).unwrap_or_else(|e| panic!("{printed}\n{e}"));
    assert_eq!(&reparsed, plan, "printed:\n{printed}");
}

fn cases() -> Vec<(&'static str, Op)> {
    let mapping = |from: &str, to: &str| Mapping {
        from: r(from),
        to: r(to),
    };
    let ternary = Ternary {
        from_a: r("a\\.(\\d+)"),
        from_b: r("b.\\1"),
        to: r("c.\\1"),
    };
    vec![
        ("copy: {from: a, to: b}", Op::Copy(mapping("a", "b"))),
        (
            "copy: {from: 'a::[:2]', to: b}",
            Op::Copy(Mapping {
                from: sliced("a", vec![range(None, Some(2))]),
                to: r("b"),
            }),
        ),
        ("move: {from: '^h(.*)', to: 'i\\1'}", Op::Move(mapping("^h(.*)", "i\\1"))),
        (
            "move: {from: [i, '*rest'], to: [h, '*rest']}",
            Op::Move(Mapping {
                from: structured(
                    None,
                    vec![
                        StructuredToken::Literal("i".into()),
                        StructuredToken::Splat("rest".into()),
                    ],
                ),
                to: structured(
                    None,
                    vec![
                        StructuredToken::Literal("h".into()),
                        StructuredToken::Splat("rest".into()),
                    ],
                ),
            }),
        ),
        ("delete: {target: 'x\\..*'}", Op::Delete(Unary { target: r("x\\..*") })),
        (
            "assign: {from: 'a::[0]', to: 'b::[1]'}",
            Op::Assign(Mapping {
                from: sliced("a", vec![SliceComponent::Index(0)]),
                to: sliced("b", vec![SliceComponent::Index(1)]),
            }),
        ),
        ("add: {from_a: 'a\\.(\\d+)', from_b: b.\\1, to: c.\\1}", Op::Add(ternary.clone())),
        (
            "subtract: {from_a: 'a\\.(\\d+)', from_b: b.\\1, to: c.\\1}",
            Op::Subtract(ternary.clone()),
        ),
        (
            "multiply: {from_a: 'a\\.(\\d+)', from_b: b.\\1, to: c.\\1}",
            Op::Multiply(ternary.clone()),
        ),
        (
            "matmul: {from_a: 'a\\.(\\d+)', from_b: b.\\1, to: c.\\1}",
            Op::Matmul(ternary),
        ),
        ("add_: {from: a, to: b}", Op::AddInPlace(mapping("a", "b"))),
        ("subtract_: {from: a, to: b}", Op::SubtractInPlace(mapping("a", "b"))),
        (
            "scale: {from: a, to: b, by: 0.5}",
            Op::Scale(Scale {
                from: r("a"),
                to: r("b"),
                by: s(0.5),
            }),
        ),
        (
            // Numbers may be numeric strings, as in the reference.
            "scale_: {target: a, by: '1.5'}",
            Op::ScaleInPlace(ScaleInPlace {
                target: r("a"),
                by: s(1.5),
            }),
        ),
        (
            "cast: {from: a, to: b, dtype: bf16}",
            Op::Cast(Cast {
                from: r("a"),
                to: r("b"),
                dtype: s(DType::BF16),
            }),
        ),
        (
            "cast_: {target: a, to: int64}",
            Op::CastInPlace(CastInPlace {
                target: r("a"),
                dtype: s(DType::I64),
            }),
        ),
        (
            "clamp: {from: a, to: b, min: -1}",
            Op::Clamp(Clamp {
                from: r("a"),
                to: r("b"),
                min: Some(s(-1.0)),
                max: None,
            }),
        ),
        (
            "clamp_: {target: a, min: -1, max: 1}",
            Op::ClampInPlace(ClampInPlace {
                target: r("a"),
                min: Some(s(-1.0)),
                max: Some(s(1.0)),
            }),
        ),
        (
            "reshape: {from: a, to: b, shape: [2, -1]}",
            Op::Reshape(Reshape {
                from: r("a"),
                to: r("b"),
                shape: s(vec![2, -1]),
            }),
        ),
        (
            "reshape_: {target: a, shape: [6]}",
            Op::ReshapeInPlace(ReshapeInPlace {
                target: r("a"),
                shape: s(vec![6]),
            }),
        ),
        (
            "permute: {from: a, to: b, order: [1, 0, 2]}",
            Op::Permute(Permute {
                from: r("a"),
                to: r("b"),
                order: s(vec![1, 0, 2]),
            }),
        ),
        (
            "transpose: {from: a, to: b, dim0: 0, dim1: -1}",
            Op::Transpose(Transpose {
                from: r("a"),
                to: r("b"),
                dim0: s(0),
                dim1: s(-1),
            }),
        ),
        (
            "fill: {from: a, to: b, mode: constant, value: 3}",
            Op::Fill(Fill {
                from: r("a"),
                to: r("b"),
                fill: s(FillSpec::Constant { value: s(3.0) }),
            }),
        ),
        (
            "fill_: {target: a, mode: rand}",
            Op::FillInPlace(FillInPlace {
                target: r("a"),
                fill: s(FillSpec::Rand {
                    distribution: s(Distribution::Uniform {
                        low: None,
                        high: None,
                    }),
                    seed: None,
                }),
            }),
        ),
        (
            "fill_: {target: a, mode: rand, distribution: normal, mean: 1, std: 2, seed: 7}",
            Op::FillInPlace(FillInPlace {
                target: r("a"),
                fill: s(FillSpec::Rand {
                    distribution: s(Distribution::Normal {
                        mean: Some(s(1.0)),
                        std: Some(s(2.0)),
                    }),
                    seed: Some(s(7)),
                }),
            }),
        ),
        (
            "fill: {from: a, to: b, mode: tensor, values: [[1, 2], [3, 4]]}",
            Op::Fill(Fill {
                from: r("a"),
                to: r("b"),
                fill: s(FillSpec::Tensor {
                    values: s(NestedValues::List(vec![
                        NestedValues::List(vec![
                            NestedValues::Scalar(1.0),
                            NestedValues::Scalar(2.0),
                        ]),
                        NestedValues::List(vec![
                            NestedValues::Scalar(3.0),
                            NestedValues::Scalar(4.0),
                        ]),
                    ])),
                }),
            }),
        ),
        (
            "zeroes: {target: m.gate.weight, shape: [2, 2048]}",
            Op::Zeroes(Create {
                target: r("m.gate.weight"),
                shape: s(vec![2, 2048]),
                dtype: None,
            }),
        ),
        (
            "ones: {target: x, shape: [3], dtype: float16}",
            Op::Ones(Create {
                target: r("x"),
                shape: s(vec![3]),
                dtype: Some(s(DType::F16)),
            }),
        ),
        (
            "rand: {target: x, shape: [3]}",
            Op::Rand(Rand {
                target: r("x"),
                shape: s(vec![3]),
                distribution: None,
                seed: None,
                dtype: None,
            }),
        ),
        (
            "rand: {target: x, shape: [3], distribution: uniform, low: -1, high: 1, seed: 0, dtype: f64}",
            Op::Rand(Rand {
                target: r("x"),
                shape: s(vec![3]),
                distribution: Some(s(Distribution::Uniform {
                    low: Some(s(-1.0)),
                    high: Some(s(1.0)),
                })),
                seed: Some(s(0)),
                dtype: Some(s(DType::F64)),
            }),
        ),
        (
            "split: {from: w, to: [w0, w1], sizes: [2, 3]}",
            Op::Split(Split {
                from: r("w"),
                to: vec![r("w0"), r("w1")],
                sizes: s(vec![2, 3]),
                dim: None,
            }),
        ),
        (
            "split: {from: w, to: [w0, w1, w2], sizes: [1, 1, 1], dim: -1}",
            Op::Split(Split {
                from: r("w"),
                to: vec![r("w0"), r("w1"), r("w2")],
                sizes: s(vec![1, 1, 1]),
                dim: Some(s(-1)),
            }),
        ),
        (
            "concat: {from: [w0, 'w1::[:1]'], to: w, dim: 1}",
            Op::Concat(Concat {
                from: vec![r("w0"), sliced("w1", vec![range(None, Some(1))])],
                to: r("w"),
                dim: Some(s(1)),
            }),
        ),
        (
            "phlora: {target: '(.*)\\.weight', target_a: '\\1.a', target_b: '\\1.b', rank: 16}",
            Op::Phlora(Phlora {
                target: r("(.*)\\.weight"),
                target_a: r("\\1.a"),
                target_b: r("\\1.b"),
                rank: s(16),
                delete_original: None,
                require_missing_dest: None,
                svd: SvdOptions::default(),
            }),
        ),
        (
            "phlora: {target: w, target_a: a, target_b: b, rank: 4, delete_original: false, require_missing_dest: no}",
            Op::Phlora(Phlora {
                target: r("w"),
                target_a: r("a"),
                target_b: r("b"),
                rank: s(4),
                delete_original: Some(s(false)),
                require_missing_dest: Some(s(false)),
                svd: SvdOptions::default(),
            }),
        ),
        (
            "phlora_: {target: w, rank: 8}",
            Op::PhloraInPlace(PhloraInPlace {
                target: r("w"),
                rank: s(8),
                svd: SvdOptions::default(),
            }),
        ),
        (
            "phlora_: {target: w, rank: 8, method: randomized, oversampling: 4, power_iterations: 1, seed: 7}",
            Op::PhloraInPlace(PhloraInPlace {
                target: r("w"),
                rank: s(8),
                svd: SvdOptions {
                    method: Some(s(SvdMethodName::Randomized)),
                    oversampling: Some(s(4)),
                    power_iterations: Some(s(1)),
                    seed: Some(s(7)),
                },
            }),
        ),
        (
            "phlora: {target: w, target_a: a, target_b: b, rank: 4, method: exact}",
            Op::Phlora(Phlora {
                target: r("w"),
                target_a: r("a"),
                target_b: r("b"),
                rank: s(4),
                delete_original: None,
                require_missing_dest: None,
                svd: SvdOptions {
                    method: Some(s(SvdMethodName::Exact)),
                    ..SvdOptions::default()
                },
            }),
        ),
        (
            "lora_extract: {tuned: '(.*)\\.weight', base: 'b.\\1.weight', target_a: '\\1.lora_A.weight', target_b: '\\1.lora_B.weight', rank: 8}",
            Op::LoraExtract(LoraExtract {
                tuned: r("(.*)\\.weight"),
                base: r("b.\\1.weight"),
                factors: Some((r("\\1.lora_A.weight"), r("\\1.lora_B.weight"))),
                rank: s(8),
                energy: None,
                svd: SvdOptions::default(),
            }),
        ),
        (
            "lora_extract: {tuned: '(.*)\\.weight', base: 'b.\\1.weight', rank: 8, method: randomized}",
            Op::LoraExtract(LoraExtract {
                tuned: r("(.*)\\.weight"),
                base: r("b.\\1.weight"),
                factors: None,
                rank: s(8),
                energy: None,
                svd: SvdOptions {
                    method: Some(s(SvdMethodName::Randomized)),
                    ..SvdOptions::default()
                },
            }),
        ),
        (
            "lora_extract: {tuned: w, base: v, target_a: a, target_b: b, rank: 4, energy: 0.9}",
            Op::LoraExtract(LoraExtract {
                tuned: r("w"),
                base: r("v"),
                factors: Some((r("a"), r("b"))),
                rank: s(4),
                energy: Some(s(0.9)),
                svd: SvdOptions::default(),
            }),
        ),
        (
            "lora_merge: {target: w, lora_a: a, lora_b: b, alpha: 16}",
            Op::LoraMerge(LoraMerge {
                target: r("w"),
                lora_a: r("a"),
                lora_b: r("b"),
                alpha: s(16.0),
            }),
        ),
        ("help", Op::Help(Help { topic: None })),
        (
            "help: copy",
            Op::Help(Help {
                topic: Some(s(HelpTopic::Op("copy".into()))),
            }),
        ),
        (
            "help: assert",
            Op::Help(Help {
                topic: Some(s(HelpTopic::Assert(None))),
            }),
        ),
        (
            "help: {assert: equal}",
            Op::Help(Help {
                topic: Some(s(HelpTopic::Assert(Some("equal".into())))),
            }),
        ),
        (
            "dump",
            Op::Dump(Dump {
                target: None,
                format: None,
                verbosity: None,
            }),
        ),
        (
            "dump: {target: 'h.0::[:2]', format: json, verbosity: stat}",
            Op::Dump(Dump {
                target: Some(sliced("h.0", vec![range(None, Some(2))])),
                format: Some(s(DumpFormat::Json)),
                verbosity: Some(s(DumpVerbosity::Stat)),
            }),
        ),
        (
            "diff: {left: a, right: b}",
            Op::Diff(Diff {
                sides: DiffSides::Refs {
                    left: r("a"),
                    right: r("b"),
                },
                eps: None,
            }),
        ),
        (
            "diff: {mode: aliases, left_alias: x, right_alias: y, eps: 0.01}",
            Op::Diff(Diff {
                sides: DiffSides::Aliases {
                    left_alias: s("x".into()),
                    right_alias: s("y".into()),
                },
                eps: Some(s(0.01)),
            }),
        ),
        (
            "load: other/model.safetensors",
            Op::Load(Load {
                path: s("other/model.safetensors".into()),
                alias: None,
                to: None,
                format: None,
            }),
        ),
        (
            "load: {path: t.npy, to: 'extra::bias', format: numpy}",
            Op::Load(Load {
                path: s("t.npy".into()),
                alias: None,
                to: Some(qualified("extra", "bias")),
                format: Some(s(FileFormat::Numpy)),
            }),
        ),
        (
            "load: {path: ckpt, alias: other}",
            Op::Load(Load {
                path: s("ckpt".into()),
                alias: Some(s("other".into())),
                to: None,
                format: None,
            }),
        ),
        (
            "save: out/copy",
            Op::Save(Save {
                path: s("out/copy".into()),
                alias: None,
                target: None,
                format: None,
                shard: None,
            }),
        ),
        (
            "save: {path: out/dir, alias: model, format: safetensors, shard: 1GB}",
            Op::Save(Save {
                path: s("out/dir".into()),
                alias: Some(s("model".into())),
                target: None,
                format: Some(s(FileFormat::Safetensors)),
                shard: Some(s(ShardSize::Bytes {
                    bytes: 1 << 30,
                    text: "1GB".into(),
                })),
            }),
        ),
        (
            "save: {path: w.npy, target: w, format: numpy}",
            Op::Save(Save {
                path: s("w.npy".into()),
                alias: None,
                target: Some(r("w")),
                format: Some(s(FileFormat::Numpy)),
                shard: None,
            }),
        ),
        ("prefixes", Op::Prefixes(Prefixes::List)),
        ("prefixes: {mode: list}", Op::Prefixes(Prefixes::List)),
        (
            "prefixes: {mode: add, alias: fresh}",
            Op::Prefixes(Prefixes::Add {
                alias: s("fresh".into()),
            }),
        ),
        (
            "prefixes: {mode: remove, alias: old}",
            Op::Prefixes(Prefixes::Remove {
                alias: s("old".into()),
            }),
        ),
        (
            "prefixes: {mode: rename, from: a, to: b}",
            Op::Prefixes(Prefixes::Rename {
                from: s("a".into()),
                to: s("b".into()),
            }),
        ),
        ("set", Op::Set(Set::default())),
        (
            "set: {dry-run: true, preview: F, verbose: On}",
            Op::Set(Set {
                dry_run: Some(s(true)),
                preview: Some(s(false)),
                verbose: Some(s(true)),
            }),
        ),
        ("exit", Op::Exit),
        ("exit: {}", Op::Exit),
        (
            "assert: {exists: a}",
            Op::Assert(s(AssertExpr::Exists(r("a")))),
        ),
        (
            "execute: {transforms: [exit, {delete: {target: a}}]}",
            Op::Execute(Execute::Steps(vec![
                s(Step {
                    keyword: s("exit".into()),
                    op: Op::Exit,
                }),
                s(Step {
                    keyword: s("delete".into()),
                    op: Op::Delete(Unary { target: r("a") }),
                }),
            ])),
        ),
        (
            "execute: {transforms: exit}",
            Op::Execute(Execute::Steps(vec![s(Step {
                keyword: s("exit".into()),
                op: Op::Exit,
            })])),
        ),
        (
            "execute: {path: nested.yaml}",
            Op::Execute(Execute::Path(s("nested.yaml".into()))),
        ),
        (
            "execute: {plan: {inputs: ['x::p'], transforms: [{delete: {target: 'x::w'}}], output: out}}",
            Op::Execute(Execute::Plan(Box::new(Plan {
                inputs: vec![s(Input {
                    alias: Some(s("x".into())),
                    path: s("p".into()),
                })],
                steps: vec![s(Step {
                    keyword: s("delete".into()),
                    op: Op::Delete(Unary {
                        target: qualified("x", "w"),
                    }),
                })],
                output: Some(s(Output {
                    path: s("out".into()),
                    format: None,
                    shard: None,
                    alias: None,
                })),
            }))),
        ),
        (
            "execute: {plan-yaml: 'transforms: [exit]'}",
            Op::Execute(Execute::Plan(Box::new(Plan {
                steps: vec![s(Step {
                    keyword: s("exit".into()),
                    op: Op::Exit,
                })],
                ..Plan::default()
            }))),
        ),
    ]
}

#[test]
fn every_op_parses_into_the_expected_ast() {
    for (step, expected) in cases() {
        assert_eq!(op(step), expected, "{step}");
    }
}

#[test]
fn every_op_prints_back_to_the_same_ast() {
    for (step, _) in cases() {
        let plan = parse(&single_input(step)).unwrap();
        assert_round_trip(&plan);
    }
}

#[test]
fn every_op_name_is_covered_by_the_table() {
    let cases = cases();
    for name in OP_NAMES {
        assert!(
            cases.iter().any(|(_, op)| op.name() == name),
            "no case for {name}"
        );
    }
}

#[test]
fn defaults_are_the_references() {
    let Op::Dump(dump) = op("dump") else { panic!() };
    assert_eq!(dump.format_or_default(), DumpFormat::Compact);
    assert_eq!(dump.verbosity_or_default(), DumpVerbosity::Shape);
    let Op::Split(split) = op("split: {from: w, to: [a, b], sizes: [1, 1]}") else {
        panic!()
    };
    assert_eq!(split.dim_or_default(), 0);
    let Op::Concat(concat) = op("concat: {from: [a, b], to: c}") else {
        panic!()
    };
    assert_eq!(concat.dim_or_default(), 0);
    let Op::Phlora(phlora) = op("phlora: {target: w, target_a: a, target_b: b, rank: 2}") else {
        panic!()
    };
    assert!(phlora.delete_original_or_default());
    assert!(phlora.require_missing_dest_or_default());
    let Op::Zeroes(zeroes) = op("zeroes: {target: z, shape: [1]}") else {
        panic!()
    };
    assert_eq!(zeroes.dtype_or_default(), DType::F32);
    let Op::Rand(rand) = op("rand: {target: z, shape: [1]}") else {
        panic!()
    };
    assert_eq!(rand.dtype_or_default(), DType::F32);
    assert_eq!(
        rand.distribution_or_default().parameters_or_default(),
        (0.0, 1.0)
    );
    let Op::Rand(rand) = op("rand: {target: z, shape: [1], distribution: normal, std: 3}") else {
        panic!()
    };
    assert_eq!(
        rand.distribution_or_default().parameters_or_default(),
        (0.0, 3.0)
    );
}

/// Each op with all its required keys; removing any one of them must be reported by name.
const REQUIRED: &[(&str, &str, &[&str])] = &[
    ("copy", "from: a|to: b", &["from", "to"]),
    ("move", "from: a|to: b", &["from", "to"]),
    ("delete", "target: a", &["target"]),
    ("assign", "from: a|to: b", &["from", "to"]),
    (
        "add",
        "from_a: a|from_b: b|to: c",
        &["from_a", "from_b", "to"],
    ),
    (
        "subtract",
        "from_a: a|from_b: b|to: c",
        &["from_a", "from_b", "to"],
    ),
    (
        "multiply",
        "from_a: a|from_b: b|to: c",
        &["from_a", "from_b", "to"],
    ),
    (
        "matmul",
        "from_a: a|from_b: b|to: c",
        &["from_a", "from_b", "to"],
    ),
    ("add_", "from: a|to: b", &["from", "to"]),
    ("subtract_", "from: a|to: b", &["from", "to"]),
    ("scale", "from: a|to: b|by: 2", &["from", "to", "by"]),
    ("scale_", "target: a|by: 2", &["target", "by"]),
    (
        "cast",
        "from: a|to: b|dtype: half",
        &["from", "to", "dtype"],
    ),
    ("cast_", "target: a|to: half", &["target", "to"]),
    ("clamp", "from: a|to: b|min: 0", &["from", "to"]),
    ("clamp_", "target: a|max: 0", &["target"]),
    (
        "reshape",
        "from: a|to: b|shape: [4]",
        &["from", "to", "shape"],
    ),
    ("reshape_", "target: a|shape: [4]", &["target", "shape"]),
    (
        "permute",
        "from: a|to: b|order: [1, 0]",
        &["from", "to", "order"],
    ),
    (
        "transpose",
        "from: a|to: b|dim0: 0|dim1: 1",
        &["from", "to", "dim0", "dim1"],
    ),
    (
        "fill",
        "from: a|to: b|mode: constant|value: 1",
        &["from", "to", "mode", "value"],
    ),
    (
        "fill_",
        "target: a|mode: tensor|values: [1]",
        &["target", "mode", "values"],
    ),
    ("zeroes", "target: a|shape: [1]", &["target", "shape"]),
    ("ones", "target: a|shape: [1]", &["target", "shape"]),
    ("rand", "target: a|shape: [1]", &["target", "shape"]),
    (
        "split",
        "from: a|to: [b, c]|sizes: [1, 1]",
        &["from", "to", "sizes"],
    ),
    ("concat", "from: [a, b]|to: c", &["from", "to"]),
    (
        "phlora",
        "target: w|target_a: a|target_b: b|rank: 1",
        &["target", "target_a", "target_b", "rank"],
    ),
    ("phlora_", "target: w|rank: 1", &["target", "rank"]),
    (
        "lora_extract",
        "tuned: w|base: v|target_a: a|target_b: b|rank: 1",
        &["tuned", "base", "target_a", "target_b", "rank"],
    ),
    (
        "lora_merge",
        "target: w|lora_a: a|lora_b: b|alpha: 1",
        &["target", "lora_a", "lora_b", "alpha"],
    ),
    ("load", "path: p", &["path"]),
    ("save", "path: p", &["path"]),
    ("prefixes", "mode: add|alias: x", &["alias"]),
    ("diff", "left: a|right: b", &["left", "right"]),
    (
        "diff",
        "mode: aliases|left_alias: a|right_alias: b",
        &["left_alias", "right_alias"],
    ),
];

fn without_key(payload: &str, key: &str) -> String {
    payload
        .split('|')
        .filter(|part| !part.starts_with(&format!("{key}:")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn every_required_key_is_reported_when_missing() {
    for (name, payload, required) in REQUIRED {
        op(&format!("{name}: {{{}}}", payload.replace('|', ", ")));
        for key in *required {
            let step = format!("{name}: {{{}}}", without_key(payload, key));
            let rendered = error(&step);
            assert!(
                rendered.contains(&format!("{name} is missing the required key `{key}`")),
                "{step}\n{rendered}"
            );
        }
    }
}

#[test]
fn unknown_keys_are_reported_with_a_suggestion() {
    let rendered = error("copy: {form: a, to: b}");
    assert!(
        rendered.contains("copy received unknown key `form`"),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean `from`?"), "{rendered}");
    // One error per typo: the misspelled `from` is not reported again as missing.
    assert!(
        !rendered.contains("missing the required key `from`"),
        "{rendered}"
    );
    // A key that no unknown key resembles is still reported as missing.
    let rendered = error("copy: {xyzzy: a, to: b}");
    assert!(
        rendered.contains("copy is missing the required key `from`"),
        "{rendered}"
    );
}

fn assertion(text: &str) -> AssertExpr {
    match op(&format!("assert: {text}")) {
        Op::Assert(expression) => expression.node,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_assertion_form_parses() {
    let bounds = |ge: Option<u64>, lt: Option<u64>| Bounds {
        ge: ge.map(s),
        lt: lt.map(s),
        ..Bounds::default()
    };
    let cases: Vec<(&str, AssertExpr)> = vec![
        (
            "{exists: ln_f.weight}",
            AssertExpr::Exists(r("ln_f.weight")),
        ),
        (
            "{exists: [h, $i, '*rest']}",
            AssertExpr::Exists(structured(
                None,
                vec![
                    StructuredToken::Literal("h".into()),
                    StructuredToken::Bind("i".into()),
                    StructuredToken::Splat("rest".into()),
                ],
            )),
        ),
        (
            "{count: {of: 'h\\..*', is: 12}}",
            AssertExpr::Count {
                of: r("h\\..*"),
                is: s(12),
            },
        ),
        (
            "{shape: {of: 'w::[:, 0]', is: [4]}}",
            AssertExpr::Shape {
                of: sliced("w", vec![range(None, None), SliceComponent::Index(0)]),
                is: s(vec![4]),
            },
        ),
        (
            "{dimensions: {of: w, ge: 2, lt: 4}}",
            AssertExpr::Dimensions {
                of: r("w"),
                bounds: bounds(Some(2), Some(4)),
            },
        ),
        (
            "{dtype: {of: w, is: float32}}",
            AssertExpr::Dtype {
                of: r("w"),
                is: s(DType::F32),
            },
        ),
        (
            "{equal: {left: 'a(.*)', right: 'b\\1', eps: 1e-6}}",
            AssertExpr::Equal {
                left: r("a(.*)"),
                right: r("b\\1"),
                eps: Some(s(1e-6)),
            },
        ),
        (
            "{iszero: w}",
            AssertExpr::IsZero {
                of: r("w"),
                eps: None,
            },
        ),
        (
            "{iszero: {of: w, eps: 0.5}}",
            AssertExpr::IsZero {
                of: r("w"),
                eps: Some(s(0.5)),
            },
        ),
        (
            "{reads: {of: w, at_least: 1}}",
            AssertExpr::Reads {
                of: r("w"),
                bounds: bounds(Some(1), None),
            },
        ),
        (
            "{writes: {of: w, ge: 1, at_least: 1, lt: 3}}",
            AssertExpr::Writes {
                of: r("w"),
                bounds: bounds(Some(1), Some(3)),
            },
        ),
        (
            "{all: [{exists: a}, {not: {exists: b}}]}",
            AssertExpr::All(vec![
                s(AssertExpr::Exists(r("a"))),
                s(AssertExpr::Not(Box::new(s(AssertExpr::Exists(r("b")))))),
            ]),
        ),
        (
            "{any: [{exists: a}]}",
            AssertExpr::Any(vec![s(AssertExpr::Exists(r("a")))]),
        ),
        (
            "{not: {equal: {left: a, right: b}}}",
            AssertExpr::Not(Box::new(s(AssertExpr::Equal {
                left: r("a"),
                right: r("b"),
                eps: None,
            }))),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(assertion(text), expected, "{text}");
        assert_round_trip(&parse(&single_input(&format!("assert: {text}"))).unwrap());
    }
}

#[test]
fn assertion_errors_are_specific() {
    for (text, expected) in [
        ("{exist: a}", "did you mean `exists`?"),
        ("{dimensions: {of: w, ge: 3, lt: 2}}", "bounds contradict"),
        (
            "{reads: {of: w, ge: 1, at_least: 2}}",
            "either `ge` or `at_least`",
        ),
        ("{all: []}", "needs at least 1 item"),
        ("{count: {of: w, is: -1}}", "non-negative integer"),
        (
            "{equal: {left: 'a(.*)', right: 'b\\2'}}",
            "names a group the source pattern does not have",
        ),
        ("{iszero: {of: w, eps: -1}}", "must not be negative"),
        ("[exists, a]", "must be a mapping with one assertion"),
    ] {
        let rendered = error(&format!("assert: {text}"));
        assert!(rendered.contains(expected), "{text}\n{rendered}");
    }
}

#[test]
fn inputs_and_output_follow_the_reference() {
    let plan = parse("inputs: [only/path]\noutput: out\n").unwrap();
    assert_eq!(plan.inputs[0].alias, None);
    assert_eq!(plan.inputs[0].alias_or_default(), "model");
    assert_eq!(plan.default_alias(), Some("model"));
    assert_eq!(plan.output.unwrap().path.node, "out");

    let plan = parse(
        "inputs: ['a::x', 'b::y']\noutput: {path: o, format: torch, shard: none, alias: a}\n",
    )
    .unwrap();
    assert_eq!(plan.default_alias(), None);
    let output = plan.output.unwrap().node;
    assert_eq!(output.format.unwrap().node, OutputFormat::Torch);
    assert_eq!(output.shard.unwrap().node, ShardSize::None);
    assert_eq!(output.alias.unwrap().node, "a");

    for empty in ["output: ''\n", "output: {}\n", "output:\n", ""] {
        assert_eq!(parse(empty).unwrap().output, None, "{empty:?}");
    }
    // An empty alias (`::path`) is no alias.
    let plan = parse("inputs: ['::p']\n").unwrap();
    assert_eq!(plan.inputs[0].alias, None);

    let rendered = parse("inputs: ['a::x', y, 'a::z']\n").unwrap_err();
    assert!(rendered.contains("needs an alias"), "{rendered}");
    assert!(rendered.contains("duplicate input alias `a`"), "{rendered}");
    let rendered = parse("inputs: ['a::']\n").unwrap_err();
    assert!(
        rendered.contains("input path must not be empty"),
        "{rendered}"
    );
}

#[test]
fn several_inputs_require_qualified_references_except_for_names_that_say_their_alias() {
    let plan = "inputs: ['a::x', 'b::y']\ntransforms:\n  - copy: {from: 'a::w', to: 'b::w'}\n  - move: {from: ['a::', h, '*r'], to: ['a::', i, '*r']}\n";
    let plan = parse(plan).unwrap();
    assert_eq!(plan.steps.len(), 2);
    let rendered =
        parse("inputs: ['a::x', 'b::y']\ntransforms:\n  - delete: {target: w}\n").unwrap_err();
    assert!(
        rendered.contains("unqualified reference `w` with several inputs"),
        "{rendered}"
    );
    assert!(rendered.contains("`a`, `b`"), "{rendered}");
}

#[test]
fn op_specific_rules_are_checked() {
    for (step, expected) in [
        (
            "move: {from: 'a::[0]', to: b}",
            "move from must not be sliced",
        ),
        (
            "matmul: {from_a: a, from_b: b, to: 'c::[0]'}",
            "matmul to must not be sliced",
        ),
        ("copy: {from: [a, $x], to: b}", "same kind"),
        (
            "copy: {from: [a, $x], to: [b, $y]}",
            "variable `y` is not bound",
        ),
        (
            "copy: {from: '(a)', to: '\\2'}",
            "names a group the source pattern does not have",
        ),
        ("clamp: {from: a, to: b}", "needs at least one bound"),
        (
            "clamp: {from: a, to: b, min: 2, max: 1}",
            "bounds are reversed",
        ),
        (
            "reshape: {from: a, to: b, shape: [-1, -1]}",
            "more than one -1",
        ),
        (
            "reshape: {from: a, to: b, shape: [0]}",
            "dimension 0 is invalid",
        ),
        (
            "permute: {from: a, to: b, order: [0, 0]}",
            "repeats dimension 0",
        ),
        (
            "fill: {from: a, to: b, mode: constant, value: 1, seed: 3}",
            "does not apply to mode `constant`",
        ),
        (
            "fill: {from: a, to: b, mode: rand, low: 2}",
            "needs low < high",
        ),
        (
            "fill: {from: a, to: b, mode: rand, distribution: normal, std: 0}",
            "needs std > 0",
        ),
        (
            "fill: {from: a, to: b, mode: rand, distribution: normal, low: 0}",
            "does not apply to mode `normal`",
        ),
        (
            "fill: {from: a, to: b, mode: tensor, values: [[1], [1, 2]]}",
            "ragged",
        ),
        (
            "zeroes: {target: [a, $x], shape: [1]}",
            "must be a literal tensor name",
        ),
        ("zeroes: {target: a, shape: [0]}", "positive integer"),
        (
            "split: {from: a, to: [b], sizes: [1]}",
            "needs at least 2 items",
        ),
        (
            "split: {from: a, to: [b, c], sizes: [1]}",
            "2 destinations but 1 sizes",
        ),
        ("concat: {from: a, to: b}", "must be a list"),
        (
            "phlora: {target: w, target_a: x, target_b: x, rank: 1}",
            "same names",
        ),
        (
            "phlora: {target: w, target_a: x, target_b: y, rank: 0}",
            "positive integer",
        ),
        (
            "lora_extract: {tuned: w, base: v, target_a: a, target_b: b, rank: 2, energy: 1.5}",
            "energy must be in (0, 1]",
        ),
        (
            "lora_extract: {tuned: w, base: v, target_a: a, target_b: a, rank: 2}",
            "would get the same names",
        ),
        (
            "lora_merge: {target: w, lora_a: a, lora_b: b, alpha: .inf}",
            "alpha must be finite",
        ),
        ("load: {path: p, format: numpy}", "only to a single tensor"),
        ("save: {path: p, format: numpy}", "writes one tensor"),
        (
            "save: {path: p, format: torch, shard: 1GB}",
            "only supported for safetensors",
        ),
        (
            "prefixes: {mode: rename, from: a, to: a}",
            "two different aliases",
        ),
        (
            "prefixes: {mode: add, alias: a, from: b}",
            "does not apply to mode `add`",
        ),
        ("exit: {now: true}", "exit takes no arguments"),
        ("execute: {}", "needs one of"),
        (
            "execute: {path: a, transforms: []}",
            "takes either `transforms` or `path`",
        ),
        ("help: cpy", "unknown op `cpy`"),
        ("dump: {format: xml}", "unknown dump format `xml`"),
        (
            "cast_: {target: a, to: float128}",
            "unknown dtype `float128`",
        ),
        ("save: {path: p, shard: 5GiB}", "invalid size `5GiB`"),
        (
            "scale: {from: a, to: b, by: twice}",
            "must be a number, found `twice`",
        ),
        ("set: {verbose: maybe}", "must be true or false"),
        ("copy: a", "must be a mapping of keys"),
        ("copy: {from: {x: 1}, to: b}", "tensor reference"),
    ] {
        let rendered = error(step);
        assert!(rendered.contains(expected), "{step}\n{rendered}");
    }
}

#[test]
fn nested_plan_yaml_errors_point_into_their_own_source() {
    let rendered = error("execute: {plan-yaml: 'transforms: [cpy]'}");
    assert!(rendered.contains("unknown op `cpy`"), "{rendered}");
    assert!(
        rendered.contains("<plan-yaml at plan.yaml:3:26>:1:14"),
        "{rendered}"
    );
}
