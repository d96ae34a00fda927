//! Whole-plan compilation over hand-built ASTs: assertions (static and value), output alias
//! resolution, exit, execute, dry-run, load and save, and "all errors in one run".

mod compile_support;

use brainsurgery::compile::{compile_plan, Compilation, PlanSource};
use brainsurgery::diagnostics::Diagnostic;
use brainsurgery::graph::ops::{Check, NodeKind, Sink};
use brainsurgery::plan::ast::*;
use brainsurgery::tensor::DType;
use compile_support::*;

fn input(alias: Option<&str>, path: &str) -> Spanned<Input> {
    sp(Input {
        alias: alias.map(|a| sp(a.to_string())),
        path: sp(path.to_string()),
    })
}

fn output(alias: Option<&str>) -> Spanned<Output> {
    sp(Output {
        path: sp("out".to_string()),
        format: None,
        shard: None,
        alias: alias.map(|a| sp(a.to_string())),
    })
}

fn plan(
    inputs: Vec<Spanned<Input>>,
    steps: Vec<Spanned<Step>>,
    out: Option<Spanned<Output>>,
) -> Plan {
    Plan {
        inputs,
        steps,
        output: out,
    }
}

fn single(steps: Vec<Spanned<Step>>) -> Plan {
    plan(vec![input(None, MODEL_PATH)], steps, Some(output(None)))
}

fn compile(plan: &Plan) -> Compilation {
    let headers = headers();
    let compilation = compile_plan(plan, &headers, None);
    assert!(compilation.graph.validate().is_empty());
    compilation
}

fn errors(compilation: &Compilation) -> Vec<&'static str> {
    codes(&compilation.diagnostics)
}

fn stored_names(compilation: &Compilation) -> Vec<String> {
    let graph = &compilation.graph;
    let Some(output) = compilation.output else {
        return Vec::new();
    };
    graph
        .stores_of(output)
        .into_iter()
        .filter_map(|id| match &graph.node(id)?.kind {
            NodeKind::Store(store) => Some(store.name.clone()),
            _ => None,
        })
        .collect()
}

fn sinks(compilation: &Compilation) -> Vec<Sink> {
    let graph = &compilation.graph;
    graph
        .node_ids()
        .into_iter()
        .filter_map(|id| match &graph.node(id)?.kind {
            NodeKind::Sink(sink) => Some(sink.clone()),
            _ => None,
        })
        .collect()
}

fn exists(text: &str) -> AssertExpr {
    AssertExpr::Exists(r(text))
}

#[test]
fn static_assertions_are_decided_from_headers() {
    let shape_ok = assert_step(AssertExpr::Shape {
        of: r(r"h\.\d\.attn\.c_attn\.weight"),
        is: sp(vec![8, 24]),
    });
    let dtype_ok = assert_step(AssertExpr::Dtype {
        of: r(".*"),
        is: sp(DType::F32),
    });
    let dims_ok = assert_step(AssertExpr::Dimensions {
        of: r(r".*\.bias"),
        bounds: Bounds {
            is: Some(sp(1)),
            ..Bounds::default()
        },
    });
    let count_ok = assert_step(AssertExpr::Count {
        of: r(r"h\.\d+\.ln_1\.weight"),
        is: sp(2),
    });
    let compilation = compile(&single(vec![shape_ok, dtype_ok, dims_ok, count_ok]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    assert!(sinks(&compilation).is_empty());

    let wrong_shape = AssertExpr::Shape {
        of: r("wte.weight"),
        is: sp(vec![50257, 768]),
    };
    let is_span = match &wrong_shape {
        AssertExpr::Shape { is, .. } => is.span,
        _ => unreachable!(),
    };
    let compilation = compile(&single(vec![assert_step(wrong_shape)]));
    assert_eq!(errors(&compilation), vec!["E0415"]);
    assert_eq!(compilation.diagnostics[0].labels[0].span, is_span);
    assert!(compilation.diagnostics[0].message.contains("[64, 8]"));
}

#[test]
fn count_is_zero_holds_when_nothing_matches() {
    let compilation = compile(&single(vec![assert_step(AssertExpr::Count {
        of: r(r".*\.lora_A"),
        is: sp(0),
    })]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
}

#[test]
fn not_negates_only_a_failed_assertion() {
    // `not exists` of a name that is absent: the inner assertion fails, so `not` holds.
    let absent = assert_step(AssertExpr::Not(Box::new(sp(exists("ln_f_copy.weight")))));
    // `not equal` with a typo'd name: a reference error, never a vacuous pass.
    let typo = assert_step(AssertExpr::Not(Box::new(sp(AssertExpr::Equal {
        left: r("ln_f.wieght"),
        right: r("ln_f.bias"),
        eps: None,
    }))));
    // `not exists` of a present name fails.
    let present = assert_step(AssertExpr::Not(Box::new(sp(exists("ln_f.weight")))));
    let compilation = compile(&single(vec![absent, typo, present]));
    assert_eq!(errors(&compilation), vec!["E0401", "E0415"]);
}

#[test]
fn value_assertions_become_sinks_and_mixed_combinators_carry_known_parts() {
    let equal = assert_step(AssertExpr::Equal {
        left: r(r"h\.0\.(ln_\d)\.weight"),
        right: r(r"h.1.\1.weight"),
        eps: Some(sp(1e-6)),
    });
    let mixed = assert_step(AssertExpr::Any(vec![
        sp(exists("nothing.here")),
        sp(AssertExpr::IsZero {
            of: r("ln_f.bias"),
            eps: None,
        }),
    ]));
    let compilation = compile(&single(vec![equal, mixed]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    let sinks = sinks(&compilation);
    assert_eq!(sinks.len(), 2);
    match &sinks[0] {
        Sink::Assert { check, operands } => {
            assert_eq!(
                operands,
                &vec![
                    "model::h.0.ln_1.weight".to_string(),
                    "model::h.1.ln_1.weight".to_string(),
                    "model::h.0.ln_2.weight".to_string(),
                    "model::h.1.ln_2.weight".to_string(),
                ]
            );
            assert_eq!(check.to_text(), "all(equal(0, 1), equal(2, 3))");
        }
        other => panic!("expected an assertion sink, got {other:?}"),
    }
    match &sinks[1] {
        Sink::Assert { check, .. } => {
            assert!(
                matches!(check, Check::Any(parts) if matches!(parts[0], Check::Known { holds: false, .. }))
            );
        }
        other => panic!("expected an assertion sink, got {other:?}"),
    }
}

#[test]
fn equal_of_different_types_is_an_error_not_an_inequality() {
    let compilation = compile(&single(vec![assert_step(AssertExpr::Equal {
        left: r("wte.weight"),
        right: r("wpe.weight"),
        eps: None,
    })]));
    assert_eq!(errors(&compilation), vec!["E0405"]);
}

#[test]
fn access_counters_are_refused_with_an_explanation() {
    let compilation = compile(&single(vec![assert_step(AssertExpr::Reads {
        of: r("wte.weight"),
        bounds: Bounds {
            ge: Some(sp(1)),
            ..Bounds::default()
        },
    })]));
    assert_eq!(errors(&compilation), vec!["E0419"]);
    assert!(!compilation.diagnostics[0].notes.is_empty());
}

#[test]
fn every_error_of_a_plan_is_reported_in_one_run() {
    let steps = vec![
        delete(r("no.such.tensor")),
        copy(r("wte.weight"), r("wpe.weight")),
        copy(r("ln_f.weight"), r("kept.weight")),
        assert_step(AssertExpr::Shape {
            of: r("kept.weight"),
            is: sp(vec![9]),
        }),
    ];
    let compilation = compile(&single(steps));
    assert_eq!(errors(&compilation), vec!["E0401", "E0402", "E0415"]);
    // The accepted steps still shaped the output.
    assert!(stored_names(&compilation).contains(&"kept.weight".to_string()));
}

#[test]
fn the_output_alias_is_the_only_input_even_when_the_plan_only_asserts() {
    let compilation = compile(&single(vec![assert_step(exists("wte.weight"))]));
    assert!(compilation.diagnostics.is_empty());
    assert_eq!(stored_names(&compilation).len(), 28);
    // Untouched tensors are Load → Store passthroughs.
    assert_eq!(compilation.graph.passthrough_loads().len(), 28);
}

#[test]
fn with_several_inputs_the_output_is_the_only_alias_written_or_an_error() {
    let two = vec![
        input(Some("base"), MODEL_PATH),
        input(Some("tuned"), MODEL_PATH),
    ];
    let write_tuned = step(Op::ScaleInPlace(ScaleInPlace {
        target: r("tuned::ln_f.weight"),
        by: sp(2.0),
    }));
    let compilation = compile(&plan(
        two.clone(),
        vec![write_tuned.clone()],
        Some(output(None)),
    ));
    assert!(compilation.diagnostics.is_empty());
    let spec = &compilation.graph.outputs()[0];
    assert_eq!(spec.alias, "tuned");

    let write_both = step(Op::ScaleInPlace(ScaleInPlace {
        target: r("base::ln_f.weight"),
        by: sp(2.0),
    }));
    let ambiguous = compile(&plan(
        two.clone(),
        vec![write_tuned.clone(), write_both.clone()],
        Some(output(None)),
    ));
    assert_eq!(errors(&ambiguous), vec!["E0416"]);
    assert!(ambiguous.diagnostics[0].message.contains("`base`"));
    assert!(ambiguous.diagnostics[0].message.contains("`tuned`"));

    let named = compile(&plan(
        two,
        vec![write_tuned, write_both],
        Some(output(Some("base"))),
    ));
    assert!(named.diagnostics.is_empty());
    assert_eq!(named.graph.outputs()[0].alias, "base");
}

#[test]
fn exit_stops_the_plan_and_warns_about_the_rest() {
    let compilation = compile(&single(vec![
        delete(r("wte.weight")),
        step(Op::Exit),
        delete(r("no.such.tensor")),
    ]));
    assert_eq!(errors(&compilation), vec!["W0427"]);
    assert_eq!(stored_names(&compilation).len(), 27);
}

#[test]
fn dry_run_discards_writes_until_it_is_switched_off() {
    let on = step(Op::Set(Set {
        dry_run: Some(sp(true)),
        ..Set::default()
    }));
    let off = step(Op::Set(Set {
        dry_run: Some(sp(false)),
        ..Set::default()
    }));
    let compilation = compile(&single(vec![
        on,
        delete(r(".*")),
        assert_step(AssertExpr::Count {
            of: r(".*"),
            is: sp(0),
        }),
        off,
        assert_step(AssertExpr::Count {
            of: r(".*"),
            is: sp(28),
        }),
    ]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    assert_eq!(stored_names(&compilation).len(), 28);
}

#[test]
fn load_and_save_use_headers_only() {
    let load_one = step(Op::Load(Load {
        path: sp("single.safetensors".to_string()),
        alias: None,
        to: Some(r("extra::imported")),
        format: None,
    }));
    let load_all = step(Op::Load(Load {
        path: sp(MODEL_PATH.to_string()),
        alias: Some(sp("second".to_string())),
        to: None,
        format: None,
    }));
    let save = step(Op::Save(Save {
        path: sp("snapshot".to_string()),
        alias: Some(sp("extra".to_string())),
        target: None,
        format: None,
        shard: None,
    }));
    let compilation = compile(&single(vec![load_one, load_all, save]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    let outputs = compilation.graph.outputs();
    assert_eq!(outputs.len(), 2);
    assert!(!outputs[0].is_plan_output);
    assert_eq!(outputs[0].alias, "extra");
    assert_eq!(outputs[1].alias, "model");

    let missing = compile(&single(vec![step(Op::Load(Load {
        path: sp("missing.safetensors".to_string()),
        alias: None,
        to: None,
        format: None,
    }))]));
    assert_eq!(errors(&missing), vec!["E0426"]);
    let taken = compile(&single(vec![step(Op::Load(Load {
        path: sp(MODEL_PATH.to_string()),
        alias: Some(sp("model".to_string())),
        to: None,
        format: None,
    }))]));
    assert_eq!(errors(&taken), vec!["E0418"]);
}

struct NestedPlans;

impl PlanSource for NestedPlans {
    fn load_plan(&self, path: &str) -> Result<Plan, Vec<Diagnostic>> {
        match path {
            "nested.yaml" => Ok(Plan {
                inputs: Vec::new(),
                steps: vec![delete(r(r".*\.bias"))],
                output: None,
            }),
            _ => Err(vec![Diagnostic::error("E0100", "no such plan")]),
        }
    }
}

#[test]
fn execute_inlines_nested_steps_one_level_deep() {
    let inline = step(Op::Execute(Execute::Steps(vec![
        copy(r("ln_f.weight"), r("a")),
        copy(r("a"), r("b")),
    ])));
    let by_path = step(Op::Execute(Execute::Path(sp("nested.yaml".to_string()))));
    let the_plan = single(vec![inline, by_path]);
    let headers = headers();
    let compilation = compile_plan(&the_plan, &headers, Some(&NestedPlans));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    let names = stored_names(&compilation);
    assert!(names.contains(&"b".to_string()));
    assert!(!names.iter().any(|n| n.ends_with(".bias")));

    let nested = step(Op::Execute(Execute::Steps(vec![step(Op::Execute(
        Execute::Steps(Vec::new()),
    ))])));
    assert_eq!(errors(&compile(&single(vec![nested]))), vec!["E0425"]);
}

#[test]
fn dump_and_diff_become_sinks() {
    let dump_shapes = step(Op::Dump(Dump {
        target: Some(r(r"h\.0\..*")),
        format: None,
        verbosity: None,
    }));
    let dump_values = step(Op::Dump(Dump {
        target: Some(r("ln_f.weight")),
        format: None,
        verbosity: Some(sp(DumpVerbosity::Stat)),
    }));
    let diff = step(Op::Diff(Diff {
        sides: DiffSides::Refs {
            left: r(r"h\.0\..*"),
            right: r("nothing"),
        },
        eps: None,
    }));
    let compilation = compile(&single(vec![dump_shapes, dump_values, diff]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    let graph = &compilation.graph;
    let sink_ids: Vec<_> = graph
        .node_ids()
        .into_iter()
        .filter(|&id| graph.node(id).is_some_and(|n| n.kind.is_sink()))
        .collect();
    assert_eq!(sink_ids.len(), 3);
    // A shape dump reads nothing; a stat dump reads its tensor; the diff found no common names.
    assert_eq!(graph.inputs(sink_ids[0]).len(), 0);
    assert_eq!(graph.inputs(sink_ids[1]).len(), 1);
    match &graph.node(sink_ids[2]).unwrap().kind {
        NodeKind::Sink(Sink::Diff {
            missing_right,
            pairs,
            ..
        }) => {
            assert_eq!(missing_right.len(), 12);
            assert!(pairs.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_nested_plan_with_one_input_resolves_unqualified_names_to_it() {
    let nested = Plan {
        inputs: vec![input(Some("inner"), MODEL_PATH)],
        steps: vec![delete(r("ln_f.bias"))],
        output: None,
    };
    let compilation = compile(&single(vec![
        step(Op::Execute(Execute::Plan(Box::new(nested)))),
        assert_step(AssertExpr::Count {
            of: r("inner::.*"),
            is: sp(27),
        }),
        assert_step(exists("ln_f.bias")),
    ]));
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    assert_eq!(stored_names(&compilation).len(), 28);
}

/// The factorization nodes of a compiled plan: (op name, parameters as `key=value`).
fn factorizations(compilation: &Compilation) -> Vec<(String, Vec<String>)> {
    let graph = &compilation.graph;
    graph
        .node_ids()
        .into_iter()
        .filter_map(|id| match &graph.node(id)?.kind {
            NodeKind::Linalg(linalg) if linalg.name().ends_with("_factors") => Some((
                linalg.name().to_string(),
                linalg
                    .parameters()
                    .into_iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn each_matrix_is_factorized_once_with_the_plan_svd_settings() {
    let phlora = step(Op::Phlora(Phlora {
        target: r(r"h\.(\d+)\.mlp\.c_fc\.weight"),
        target_a: r(r"h.\1.mlp.c_fc.lora_A"),
        target_b: r(r"h.\1.mlp.c_fc.lora_B"),
        rank: sp(4),
        delete_original: None,
        require_missing_dest: None,
        svd: SvdOptions {
            method: Some(sp(SvdMethodName::Randomized)),
            oversampling: Some(sp(3)),
            power_iterations: None,
            seed: Some(sp(11)),
        },
    }));
    let compilation = compile(&single(vec![phlora]));
    assert!(errors(&compilation).is_empty());
    // Two matrices matched: two factorizations (A and B are views of each), not four SVDs.
    let expected = vec![
        "rank=4".to_string(),
        "method=\"randomized\"".to_string(),
        "oversampling=3".to_string(),
        "power_iterations=2".to_string(),
        "seed=11".to_string(),
    ];
    assert_eq!(
        factorizations(&compilation),
        vec![
            ("phlora_factors".to_string(), expected.clone()),
            ("phlora_factors".to_string(), expected)
        ]
    );
    let names = stored_names(&compilation);
    for name in ["h.0.mlp.c_fc.lora_A", "h.1.mlp.c_fc.lora_B"] {
        assert!(names.iter().any(|n| n == name), "{name} not stored");
    }
}

#[test]
fn lora_extract_without_factor_names_uses_peft_names() {
    let extract = step(Op::LoraExtract(LoraExtract {
        tuned: r(r"h\.0\.mlp\.c_(fc|proj)\.weight"),
        base: r(r"h.1.mlp.c_\1.weight"),
        factors: None,
        rank: sp(2),
        energy: None,
        svd: SvdOptions::default(),
    }));
    let compilation = compile(&single(vec![extract]));
    assert!(errors(&compilation).is_empty());
    let names = stored_names(&compilation);
    for name in [
        "h.0.mlp.c_fc.lora_A.weight",
        "h.0.mlp.c_fc.lora_B.weight",
        "h.0.mlp.c_proj.lora_A.weight",
        "h.0.mlp.c_proj.lora_B.weight",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not stored");
    }
    assert_eq!(factorizations(&compilation).len(), 2);
    // A PEFT name that already exists is refused like any destination that exists.
    let extract_fc = || {
        step(Op::LoraExtract(LoraExtract {
            tuned: r(r"h\.0\.mlp\.c_fc\.weight"),
            base: r("h.1.mlp.c_fc.weight"),
            factors: None,
            rank: sp(2),
            energy: None,
            svd: SvdOptions::default(),
        }))
    };
    let compilation = compile(&single(vec![extract_fc(), extract_fc()]));
    assert_eq!(errors(&compilation), vec!["E0402", "E0402"]);
}
