//! The incremental compiler over hand-built ASTs: bindings, destination policies, rejection
//! without side effects, type errors with their labels, slices as views.

mod compile_support;

use brainsurgery::compile::CompileSession;
use brainsurgery::graph::ops::{Elementwise, Layout, NodeKind};
use brainsurgery::plan::ast::*;
use compile_support::*;

fn ops_of(session: &CompileSession) -> Vec<&'static str> {
    let graph = session.graph();
    graph
        .node_ids()
        .into_iter()
        .filter_map(|id| graph.node(id))
        .filter(|node| !matches!(node.kind, NodeKind::Load(_)))
        .map(|node| node.kind.name())
        .collect()
}

#[test]
fn copy_binds_new_names_through_back_references_without_new_nodes() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let before = session.graph().node_count();
    let effect = session
        .apply(&copy(
            r(r"h\.(\d+)\.ln_1\.weight"),
            r(r"h.\1.ln_1_copy.weight"),
        ))
        .unwrap();
    let created: Vec<&str> = effect.created.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        created,
        vec!["h.0.ln_1_copy.weight", "h.1.ln_1_copy.weight"]
    );
    assert!(effect.changed.is_empty() && effect.deleted.is_empty());
    assert_eq!(
        type_in(&session, "model", "h.1.ln_1_copy.weight"),
        Some(f32(&[8]))
    );
    assert_eq!(session.graph().node_count(), before);
}

#[test]
fn move_rebinds_and_delete_unbinds() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let effect = session
        .apply(&move_(r(r"h\.(\d+)\.(.*)"), r(r"blocks.\1.\2")))
        .unwrap();
    assert_eq!(effect.created.len(), 24);
    assert_eq!(effect.deleted.len(), 24);
    assert!(type_in(&session, "model", "h.0.ln_1.weight").is_none());
    assert_eq!(
        type_in(&session, "model", "blocks.1.mlp.c_fc.weight"),
        Some(f32(&[8, 32]))
    );
    let effect = session.apply(&delete(r(r"blocks\..*\.bias"))).unwrap();
    assert_eq!(effect.deleted.len(), 12);
    assert_eq!(session.tensors("model").len(), 28 - 12);
}

#[test]
fn a_rejected_step_leaves_the_session_exactly_unchanged() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let mut control = session.clone();
    // The first match scales fine, the second has a bad slice for its shape: the whole step is
    // rejected even though its first item created nodes.
    let bad = step(Op::ScaleInPlace(ScaleInPlace {
        target: sliced(
            r"h\.0\.(ln_1\.weight|attn\.c_attn\.weight)",
            vec![all(), all()],
        ),
        by: sp(2.0),
    }));
    let errors = session.apply(&bad).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0407"]);
    let names = |s: &CompileSession| {
        s.tensors("model")
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&session), names(&control));
    assert_eq!(session.graph().node_count(), control.graph().node_count());
    // The next accepted step gives the same graph, node ids included, as if the bad step had
    // never been tried.
    let good = copy(r("ln_f.weight"), r("ln_f_copy.weight"));
    let scale = step(Op::ScaleInPlace(ScaleInPlace {
        target: r("ln_f_copy.weight"),
        by: sp(0.5),
    }));
    for s in [&mut session, &mut control] {
        s.apply(&good).unwrap();
        s.apply(&scale).unwrap();
    }
    assert_eq!(session.graph().to_json(None), control.graph().to_json(None));
}

#[test]
fn zero_matches_suggest_the_three_nearest_names() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let errors = session
        .apply(&delete(r(r"h\.0\.atn\.c_proj\.weight")))
        .unwrap_err();
    assert_eq!(codes(&errors), vec!["E0401"]);
    let help = errors[0].help.clone().unwrap();
    assert!(help.contains("h.0.attn.c_proj.weight"), "{help}");
    assert_eq!(help.matches('`').count(), 6, "three names: {help}");
}

#[test]
fn destination_policies_and_collisions_are_checked_before_any_write() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let errors = session
        .apply(&copy(r(r"h\.\d+\.ln_1\.weight"), r("same.weight")))
        .unwrap_err();
    assert_eq!(codes(&errors), vec!["E0404"]);
    let errors = session
        .apply(&copy(r("wte.weight"), r("wpe.weight")))
        .unwrap_err();
    assert_eq!(codes(&errors), vec!["E0402"]);
    let assign = step(Op::Assign(Mapping {
        from: r("ln_f.weight"),
        to: r("ln_f.wieght"),
    }));
    let errors = session.apply(&assign).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0403"]);
    assert!(errors[0].help.as_ref().unwrap().contains("ln_f.weight"));
}

#[test]
fn a_shape_mismatch_names_both_types_and_where_they_came_from() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let make_copy = copy(r("h.0.mlp.c_fc.bias"), r("fc_bias_copy"));
    session.apply(&make_copy).unwrap();
    let add = step(Op::AddInPlace(Mapping {
        from: r("fc_bias_copy"),
        to: r("ln_f.bias"),
    }));
    let to_span = match &add.node.op {
        Op::AddInPlace(mapping) => mapping.to.span,
        _ => unreachable!(),
    };
    let errors = session.apply(&add).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0405"]);
    let diagnostic = &errors[0];
    assert!(
        diagnostic.message.contains("F32 [8]"),
        "{}",
        diagnostic.message
    );
    assert!(
        diagnostic.message.contains("F32 [32]"),
        "{}",
        diagnostic.message
    );
    let spans: Vec<_> = diagnostic.labels.iter().map(|l| l.span).collect();
    assert_eq!(spans[0], add.node.keyword.span);
    assert!(spans.contains(&to_span));
    // A copy binds a name to the same value, so `fc_bias_copy` got its type where the input
    // was declared: a third label points there.
    assert!(diagnostic.labels.len() >= 3, "{diagnostic:?}");
}

#[test]
fn no_implicit_promotion_between_dtypes() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let cast = step(Op::Cast(Cast {
        from: r("ln_f.weight"),
        to: r("ln_f.half"),
        dtype: sp(brainsurgery::tensor::DType::F16),
    }));
    session.apply(&cast).unwrap();
    let add = step(Op::Add(Ternary {
        from_a: r("ln_f.half"),
        from_b: r("ln_f.bias"),
        to: r("ln_f.weight"),
    }));
    let errors = session.apply(&add).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0406"]);
    assert!(errors[0].help.as_ref().unwrap().contains("cast"));
    // The label of the half-precision operand points at the cast step that produced it.
    assert!(errors[0]
        .labels
        .iter()
        .any(|l| l.span == cast.node.keyword.span));
}

#[test]
fn an_in_place_op_on_a_slice_yields_a_new_version_of_the_whole_tensor() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let scale = step(Op::ScaleInPlace(ScaleInPlace {
        target: sliced("h.0.attn.c_attn.weight", vec![all(), range(None, Some(10))]),
        by: sp(2.0),
    }));
    let effect = session.apply(&scale).unwrap();
    assert_eq!(effect.changed.len(), 1);
    assert_eq!(effect.changed[0].ty, f32(&[8, 24]));
    assert_eq!(ops_of(&session), vec!["slice", "scale", "update"]);
    let graph = session.graph();
    let update = *graph.node_ids().last().unwrap();
    let scale_node = graph.inputs(update)[1];
    assert_eq!(graph.type_of(scale_node), Some(&f32(&[8, 10])));
    assert!(graph.validate().is_empty());
}

#[test]
fn assign_into_a_slice_needs_the_region_type() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let ok = step(Op::Assign(Mapping {
        from: r("ln_f.weight"),
        to: sliced(
            "h.0.attn.c_attn.weight",
            vec![all(), range(Some(0), Some(1))],
        ),
    }));
    // [8] into an [8, 1] region: shapes differ, no broadcasting.
    let errors = session.apply(&ok).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0405"]);
    let fits = step(Op::Assign(Mapping {
        from: r("ln_f.weight"),
        to: sliced(
            "h.0.attn.c_attn.weight",
            vec![all(), SliceComponent::Index(3)],
        ),
    }));
    session.apply(&fits).unwrap();
    assert_eq!(ops_of(&session), vec!["update"]);
}

#[test]
fn ternary_templates_follow_the_first_source_across_aliases() {
    let headers = headers();
    let mut session = session_with(&headers, &["base", "tuned"]);
    let subtract = step(Op::Subtract(Ternary {
        from_a: r(r"tuned::h\.(\d+)\.mlp\.c_fc\.weight"),
        from_b: r(r"base::h.\1.mlp.c_fc.weight"),
        to: r(r"tuned::h.\1.mlp.c_fc.weight"),
    }));
    let effect = session.apply(&subtract).unwrap();
    assert_eq!(effect.changed.len(), 2);
    assert!(effect.changed.iter().all(|e| e.alias == "tuned"));
    let graph = session.graph();
    let subtractions: Vec<_> = graph
        .node_ids()
        .into_iter()
        .filter(|&id| {
            matches!(
                graph.node(id).map(|n| &n.kind),
                Some(NodeKind::Elementwise(Elementwise::Subtract))
            )
        })
        .collect();
    assert_eq!(subtractions.len(), 2);
    // A missing `from_b` is reported with the nearest names of its alias.
    let missing = step(Op::Add(Ternary {
        from_a: r(r"tuned::h\.(\d+)\.mlp\.c_fc\.weight"),
        from_b: r(r"base::h.\1.mlp.fc.weight"),
        to: r(r"tuned::h.\1.mlp.c_fc.weight"),
    }));
    let errors = session.apply(&missing).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0401", "E0401"]);
}

#[test]
fn matmul_creates_a_new_tensor_with_torch_shapes() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let matmul = step(Op::Matmul(Ternary {
        from_a: r(r"h\.(\d)\.attn\.c_proj\.weight"),
        from_b: r(r"h.\1.attn.c_attn.weight"),
        to: r(r"h.\1.product"),
    }));
    session.apply(&matmul).unwrap();
    assert_eq!(
        type_in(&session, "model", "h.1.product"),
        Some(f32(&[8, 24]))
    );
    let wrong = step(Op::Matmul(Ternary {
        from_a: r("h.0.mlp.c_fc.weight"),
        from_b: r("h.0.mlp.c_fc.weight"),
        to: r("square"),
    }));
    assert_eq!(codes(&session.apply(&wrong).unwrap_err()), vec!["E0411"]);
}

#[test]
fn phlora_factors_are_shaped_by_the_clamped_rank_and_the_source_is_deleted() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let phlora = step(Op::Phlora(Phlora {
        target: r(r"h\.(\d+)\.mlp\.c_fc\.weight"),
        target_a: r(r"h.\1.mlp.c_fc.lora_A"),
        target_b: r(r"h.\1.mlp.c_fc.lora_B"),
        rank: sp(4),
        delete_original: None,
        require_missing_dest: None,
        svd: SvdOptions::default(),
    }));
    let effect = session.apply(&phlora).unwrap();
    assert_eq!(effect.created.len(), 4);
    assert_eq!(effect.deleted.len(), 2);
    assert_eq!(
        type_in(&session, "model", "h.0.mlp.c_fc.lora_A"),
        Some(f32(&[4, 32]))
    );
    assert_eq!(
        type_in(&session, "model", "h.0.mlp.c_fc.lora_B"),
        Some(f32(&[8, 4]))
    );
    let one_d = step(Op::PhloraInPlace(PhloraInPlace {
        target: r("ln_f.weight"),
        rank: sp(2),
        svd: SvdOptions::default(),
    }));
    assert_eq!(codes(&session.apply(&one_d).unwrap_err()), vec!["E0412"]);
}

#[test]
fn split_pieces_must_sum_and_concat_must_agree() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let split = |sizes: Vec<u64>| {
        step(Op::Split(Split {
            from: r("h.0.attn.c_attn.weight"),
            to: vec![r("q"), r("k"), r("v")],
            sizes: sp(sizes),
            dim: Some(sp(-1)),
        }))
    };
    assert_eq!(
        codes(&session.apply(&split(vec![8, 8, 4])).unwrap_err()),
        vec!["E0410"]
    );
    session.apply(&split(vec![8, 8, 8])).unwrap();
    assert_eq!(type_in(&session, "model", "k"), Some(f32(&[8, 8])));
    let concat = step(Op::Concat(Concat {
        from: vec![r("q"), r("k"), r("v")],
        to: r("qkv"),
        dim: Some(sp(1)),
    }));
    session.apply(&concat).unwrap();
    assert_eq!(type_in(&session, "model", "qkv"), Some(f32(&[8, 24])));
    let mismatched = step(Op::Concat(Concat {
        from: vec![r("q"), r("ln_f.weight")],
        to: r("bad"),
        dim: None,
    }));
    assert_eq!(
        codes(&session.apply(&mismatched).unwrap_err()),
        vec!["E0410"]
    );
}

#[test]
fn structured_patterns_splice_and_back_reference() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let rename = move_(
        structured(&["h", "$i", "*rest"]),
        structured(&["blocks", "layer${i}", "*rest"]),
    );
    session.apply(&rename).unwrap();
    assert!(type_in(&session, "model", "blocks.layer0.attn.c_attn.weight").is_some());
    let duplicate = copy(
        structured(&["blocks", "$layer", "*rest"]),
        structured(&["copies", "$layer", "*rest"]),
    );
    session.apply(&duplicate).unwrap();
    let back_reference = delete(structured(&["*p", "~kind::ln_(\\d)", "*p"]));
    // `*p` twice: the prefix must equal the suffix, which no name satisfies.
    let errors = session.apply(&back_reference).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0401"]);
    let unknown = copy(structured(&["ln_f", "$x"]), structured(&["ln_f", "$y"]));
    assert_eq!(
        codes(&session.apply(&unknown).unwrap_err()),
        vec!["E0421", "E0421"]
    );
    let mixed = copy(structured(&["ln_f", "$x"]), r("x"));
    assert_eq!(
        codes(&session.apply(&mixed).unwrap_err()),
        vec!["E0421", "E0421"]
    );
}

#[test]
fn slices_are_refused_where_the_op_does_not_allow_them() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let moved = move_(sliced("wte.weight", vec![all()]), r("x"));
    assert_eq!(codes(&session.apply(&moved).unwrap_err()), vec!["E0423"]);
    let cast = step(Op::CastInPlace(CastInPlace {
        target: sliced("wte.weight", vec![all()]),
        dtype: sp(brainsurgery::tensor::DType::F16),
    }));
    assert_eq!(codes(&session.apply(&cast).unwrap_err()), vec!["E0423"]);
    let copy_into_slice = copy(r("ln_f.weight"), sliced("new", vec![all()]));
    assert_eq!(
        codes(&session.apply(&copy_into_slice).unwrap_err()),
        vec!["E0423"]
    );
}

#[test]
fn reshape_permute_and_transpose_follow_their_rules() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let reshape = step(Op::Reshape(Reshape {
        from: r("h.0.mlp.c_fc.weight"),
        to: r("flat"),
        shape: sp(vec![-1, 16]),
    }));
    session.apply(&reshape).unwrap();
    assert_eq!(type_in(&session, "model", "flat"), Some(f32(&[16, 16])));
    let bad = step(Op::ReshapeInPlace(ReshapeInPlace {
        target: r("flat"),
        shape: sp(vec![3, -1]),
    }));
    assert_eq!(codes(&session.apply(&bad).unwrap_err()), vec!["E0408"]);
    let permute = step(Op::Permute(Permute {
        from: r("wte.weight"),
        to: r("wte.t"),
        order: sp(vec![1, 0]),
    }));
    session.apply(&permute).unwrap();
    assert_eq!(type_in(&session, "model", "wte.t"), Some(f32(&[8, 64])));
    let not_permutation = step(Op::Permute(Permute {
        from: r("wte.weight"),
        to: r("wte.p"),
        order: sp(vec![0, 0]),
    }));
    assert_eq!(
        codes(&session.apply(&not_permutation).unwrap_err()),
        vec!["E0409"]
    );
    let transpose = step(Op::Transpose(Transpose {
        from: r("wpe.weight"),
        to: r("wpe.t"),
        dim0: sp(0),
        dim1: sp(-1),
    }));
    session.apply(&transpose).unwrap();
    assert_eq!(type_in(&session, "model", "wpe.t"), Some(f32(&[8, 16])));
    let graph = session.graph();
    assert!(graph.node_ids().into_iter().any(|id| matches!(
        graph.node(id).map(|n| &n.kind),
        Some(NodeKind::Layout(Layout::Transpose { dim0: 0, dim1: 1 }))
    )));
}

#[test]
fn creators_need_new_literal_names_and_fill_follows_its_template() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let zeros = step(Op::Zeroes(Create {
        target: r("router.weight"),
        shape: sp(vec![2, 8]),
        dtype: None,
    }));
    session.apply(&zeros).unwrap();
    assert_eq!(
        type_in(&session, "model", "router.weight"),
        Some(f32(&[2, 8]))
    );
    assert_eq!(
        codes(&session.apply(&zeros).unwrap_err()),
        vec!["E0402"],
        "a creator's destination must not exist"
    );
    // A creator's target is a name, not a pattern: a back-reference or a regex escape is refused.
    for target in [r"h.\1.weight", r"h\.\d"] {
        let pattern = step(Op::Ones(Create {
            target: r(target),
            shape: sp(vec![2]),
            dtype: None,
        }));
        assert_eq!(codes(&session.apply(&pattern).unwrap_err()), vec!["E0424"]);
    }
    let fill = step(Op::Fill(Fill {
        from: r("wpe.weight"),
        to: r("wpe.rows"),
        fill: sp(FillSpec::Tensor {
            values: sp(NestedValues::List(
                (0..8).map(|v| NestedValues::Scalar(v as f64)).collect(),
            )),
        }),
    }));
    session.apply(&fill).unwrap();
    assert_eq!(type_in(&session, "model", "wpe.rows"), Some(f32(&[16, 8])));
    let not_broadcast = step(Op::FillInPlace(FillInPlace {
        target: r("wpe.weight"),
        fill: sp(FillSpec::Tensor {
            values: sp(NestedValues::List(vec![
                NestedValues::Scalar(1.0),
                NestedValues::Scalar(2.0),
            ])),
        }),
    }));
    assert_eq!(
        codes(&session.apply(&not_broadcast).unwrap_err()),
        vec!["E0414"]
    );
}

#[test]
fn writing_into_a_new_alias_needs_no_prefixes_add() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    session
        .apply(&copy(r(r"h\.0\.(.*)"), r(r"layer0::\1")))
        .unwrap();
    assert_eq!(session.aliases(), vec!["layer0", "model"]);
    assert_eq!(session.tensors("layer0").len(), 12);
    // Reading from an alias that does not exist is still an error.
    let errors = session.apply(&delete(r("nowhere::x"))).unwrap_err();
    assert_eq!(codes(&errors), vec!["E0417"]);
}

#[test]
fn the_graph_of_every_accepted_step_validates() {
    let headers = headers();
    let mut session = session_with(&headers, &["model"]);
    let steps = vec![
        copy(r("ln_f.weight"), r("ln_f_copy.weight")),
        step(Op::ScaleInPlace(ScaleInPlace {
            target: r("ln_f_copy.weight"),
            by: sp(0.5),
        })),
        step(Op::ClampInPlace(ClampInPlace {
            target: sliced("wte.weight", vec![range(Some(0), Some(4))]),
            min: Some(sp(-1.0)),
            max: Some(sp(1.0)),
        })),
        step(Op::CastInPlace(CastInPlace {
            target: r("ln_f_copy.weight"),
            dtype: sp(brainsurgery::tensor::DType::I64),
        })),
        step(Op::SubtractInPlace(Mapping {
            from: r("h.0.mlp.c_fc.weight"),
            to: r("h.1.mlp.c_fc.weight"),
        })),
    ];
    for s in &steps {
        session.apply(s).unwrap();
        assert!(session.graph().validate().is_empty());
    }
}
