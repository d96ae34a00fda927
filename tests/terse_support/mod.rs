//! Strategies for the terse property tests: random **valid** plans across every op, as both
//! front ends produce them (a destination template only uses groups its source has, a structured
//! destination only variables its source binds, bounds that can hold, slices only where the op
//! allows them, …), and helpers to parse terse and YAML text.
//!
//! Spans are all `Span::default()`: AST equality ignores them.

#![allow(dead_code)]

use brainsurgery::diagnostics::{render_all_plain, Diagnostic, SourceMap, Span};
use brainsurgery::plan::ast::*;
use brainsurgery::plan::terse::parse_terse;
use brainsurgery::plan::yaml::parse_yaml;
use brainsurgery::tensor::DType;
use proptest::prelude::*;
use proptest::sample::select;

/// Parses terse text; the error is the rendered diagnostics.
pub fn parse_terse_text(text: &str) -> Result<Plan, String> {
    let mut sources = SourceMap::new();
    let id = sources.add("plan.bs", text);
    parse_terse(&mut sources, id).map_err(|errors| render(&errors, &sources))
}

/// Parses YAML text; the error is the rendered diagnostics.
pub fn parse_yaml_text(text: &str) -> Result<Plan, String> {
    let mut sources = SourceMap::new();
    let id = sources.add("plan.yaml", text);
    parse_yaml(&mut sources, id).map_err(|errors| render(&errors, &sources))
}

fn render(errors: &[Diagnostic], sources: &SourceMap) -> String {
    render_all_plain(errors, sources)
}

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

/// Whether references must name their alias (several inputs) or may omit it (one input).
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    pub qualified: bool,
    /// Leave out what BrainSurgery's string references cannot say (an alias followed by a regex
    /// that starts with `[` reads as a slice in YAML).
    pub yaml_safe: bool,
}

// ---------------------------------------------------------------------------------------------
// Leaves
// ---------------------------------------------------------------------------------------------

fn alias_text() -> impl Strategy<Value = String> {
    select(vec![
        "base",
        "tuned",
        "m0",
        "a-b",
        "x.y",
        "with space",
        "0",
        "del",
    ])
    .prop_map(str::to_string)
}

fn alias(scope: Scope) -> BoxedStrategy<Option<Spanned<String>>> {
    if scope.qualified {
        alias_text().prop_map(|a| Some(sp(a))).boxed()
    } else {
        prop::option::of(alias_text().prop_map(sp)).boxed()
    }
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "models/gpt2",
            "a b/c.safetensors",
            "C:\\weights\\x.bin",
            "quote\"d",
            "ünïcode/模型",
            "#hash",
        ])
        .prop_map(str::to_string),
        "[a-z][a-z0-9_/.-]{0,12}",
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        select(vec![0.5, -1.0, 2.0, 1e-7, 1e300, 1.0 / 3.0, -0.0]),
        (-1000i32..1000i32).prop_map(f64::from),
    ]
}

fn non_negative() -> impl Strategy<Value = f64> {
    number().prop_map(f64::abs)
}

fn dtype() -> impl Strategy<Value = DType> {
    select(DType::ALL.to_vec())
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..20, 0u64..=(i64::MAX as u64)]
}

/// SVD options the rules accept: none, `method: exact`, or the randomized method with any of
/// its settings.
fn svd_options() -> impl Strategy<Value = SvdOptions> {
    prop_oneof![
        Just(SvdOptions::default()),
        Just(SvdOptions {
            method: Some(sp(SvdMethodName::Exact)),
            ..SvdOptions::default()
        }),
        (
            prop::option::of(0u64..64),
            prop::option::of(0u64..=32),
            prop::option::of(0u64..=i64::MAX as u64)
        )
            .prop_map(|(oversampling, power_iterations, seed)| SvdOptions {
                method: Some(sp(SvdMethodName::Randomized)),
                oversampling: oversampling.map(sp),
                power_iterations: power_iterations.map(sp),
                seed: seed.map(sp),
            }),
    ]
}

fn positive() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..20, 1u64..=(i64::MAX as u64)]
}

fn small_int() -> impl Strategy<Value = i64> {
    prop_oneof![-4i64..4, any::<i64>()]
}

fn size() -> impl Strategy<Value = ShardSize> {
    prop_oneof![
        Just(ShardSize::None),
        select(vec![
            ("2GB", 2u64 << 30),
            ("100mb", 100 << 20),
            ("1b", 1),
            ("5TB", 5u64 << 40)
        ])
        .prop_map(|(text, bytes)| ShardSize::Bytes {
            bytes,
            text: text.to_string()
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Patterns and references
// ---------------------------------------------------------------------------------------------

/// Source regexes, each with destination templates valid against it.
fn regex_with_templates(scope: Scope) -> impl Strategy<Value = (String, Vec<String>)> {
    let named: Vec<(&str, Vec<&str>)> = vec![
        ("ln_f.weight", vec!["ln_f_copy.weight", "\\g<0>.copy"]),
        (
            "h.(\\d+).mlp.c_fc.weight",
            vec!["h.\\1.mlp.c_proj.weight", "x\\g<1>"],
        ),
        ("^h(.*)", vec!["i\\1"]),
        (
            "model\\.layers\\.(\\d+)\\.mlp",
            vec!["model.layers.\\1.moe"],
        ),
        ("h.(?P<layer>\\d+).w", vec!["l\\g<layer>.w", "\\g<layer>"]),
        ("layer(\\d+)", vec!["block\\1"]),
        ("(a|b)_proj", vec!["\\1_proj.delta"]),
        ("w{2,3}", vec!["w"]),
        ("[ab].w", vec!["c.w"]),
        ("a b", vec!["a_b"]),
        ("exit", vec!["del"]),
        ("0", vec!["0.5"]),
        ("as", vec!["not"]),
        ("a/b", vec!["a\\\\b"]),
        ("x#y", vec!["x,y"]),
        ("α.weight", vec!["β.weight"]),
        ("inf", vec!["nan"]),
        (".*\\.attn\\.bias", vec!["\\g<0>_old"]),
    ];
    let named: Vec<(String, Vec<String>)> = named
        .into_iter()
        .filter(|(regex, _)| !(scope.yaml_safe && regex.starts_with('[')))
        .map(|(regex, templates)| {
            (
                regex.to_string(),
                templates.into_iter().map(str::to_string).collect(),
            )
        })
        .collect();
    prop_oneof![
        select(named),
        "[a-z_][a-z0-9_.]{0,10}".prop_map(|name| (name.clone(), vec![name, "copy_\\g<0>".into()])),
    ]
}

fn slice() -> impl Strategy<Value = Slice> {
    let component = prop_oneof![
        (-5i64..5).prop_map(SliceComponent::Index),
        (
            prop::option::of(-5i64..5),
            prop::option::of(-5i64..5),
            prop::option::of(1i64..4)
        )
            .prop_map(|(start, stop, step)| SliceComponent::Range { start, stop, step }),
    ];
    prop::collection::vec(component, 0..3).prop_map(Slice)
}

fn maybe_slice(allowed: bool) -> BoxedStrategy<Option<Spanned<Slice>>> {
    if allowed {
        prop::option::of(slice().prop_map(sp)).boxed()
    } else {
        Just(None).boxed()
    }
}

fn regex_reference(
    scope: Scope,
    text: String,
    slice_allowed: bool,
) -> BoxedStrategy<Spanned<TensorRef>> {
    (alias(scope), maybe_slice(slice_allowed))
        .prop_map(move |(alias, slice)| {
            sp(TensorRef {
                alias,
                pattern: sp(Pattern::Regex(text.clone())),
                slice,
            })
        })
        .boxed()
}

fn literal_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "h", "mlp", "0", "weight", "1", "x-y", "a,b", "[x]", "12"
        ])
        .prop_map(str::to_string),
        "[a-z][a-z0-9_]{0,6}",
    ]
}

/// Source-side structured tokens; scalars are named `x…`, lists `r…`, so kinds never clash.
fn source_tokens() -> impl Strategy<Value = Vec<StructuredToken>> {
    let token = prop_oneof![
        literal_segment().prop_map(StructuredToken::Literal),
        select(vec!["x0", "x1"]).prop_map(|n| StructuredToken::Bind(n.to_string())),
        select(vec!["r0", "r1"]).prop_map(|n| StructuredToken::Splat(n.to_string())),
        Just(StructuredToken::Regex {
            names: vec![],
            regex: "\\d+".into()
        }),
        Just(StructuredToken::Regex {
            names: vec!["x2".into()],
            regex: "(\\d+)".into()
        }),
        Just(StructuredToken::Regex {
            names: vec!["x3".into(), "x4".into()],
            regex: "(a|b)(\\d)".into()
        }),
        Just(StructuredToken::Regex {
            names: vec!["x5".into()],
            regex: "[ab]+".into()
        }),
    ];
    prop::collection::vec(token, 1..4)
}

fn bindings(tokens: &[StructuredToken]) -> (Vec<String>, Vec<String>) {
    let mut scalars = Vec::new();
    let mut lists = Vec::new();
    for token in tokens {
        match token {
            StructuredToken::Bind(name) => scalars.push(name.clone()),
            StructuredToken::Splat(name) => lists.push(name.clone()),
            StructuredToken::Regex { names, .. } => scalars.extend(names.iter().cloned()),
            _ => {}
        }
    }
    (scalars, lists)
}

/// Destination tokens that use only the variables `source` binds.
fn destination_tokens(source: &[StructuredToken]) -> BoxedStrategy<Vec<StructuredToken>> {
    let (scalars, lists) = bindings(source);
    let mut choices: Vec<BoxedStrategy<StructuredToken>> =
        vec![literal_segment().prop_map(StructuredToken::Literal).boxed()];
    if !scalars.is_empty() {
        choices.push(
            select(scalars.clone())
                .prop_map(StructuredToken::Bind)
                .boxed(),
        );
        choices.push(
            (select(scalars), "[a-z]{1,3}", any::<bool>())
                .prop_map(|(name, text, before)| {
                    let parts = if before {
                        vec![TemplatePart::Text(text), TemplatePart::Variable(name)]
                    } else {
                        vec![TemplatePart::Variable(name), TemplatePart::Text(text)]
                    };
                    StructuredToken::Template(parts)
                })
                .boxed(),
        );
    }
    if !lists.is_empty() {
        choices.push(select(lists).prop_map(StructuredToken::Splat).boxed());
    }
    prop::collection::vec(proptest::strategy::Union::new(choices), 1..4).boxed()
}

fn structured(scope: Scope, tokens: Vec<StructuredToken>) -> BoxedStrategy<Spanned<TensorRef>> {
    alias(scope)
        .prop_map(move |alias| {
            sp(TensorRef {
                alias,
                pattern: sp(Pattern::Structured(
                    tokens.iter().cloned().map(sp).collect(),
                )),
                slice: None,
            })
        })
        .boxed()
}

/// A source reference on its own.
pub fn source(scope: Scope, slice_allowed: bool) -> BoxedStrategy<Spanned<TensorRef>> {
    prop_oneof![
        3 => regex_with_templates(scope)
            .prop_flat_map(move |(regex, _)| regex_reference(scope, regex, slice_allowed)),
        1 => source_tokens().prop_flat_map(move |tokens| structured(scope, tokens)),
    ]
    .boxed()
}

/// A source and `count` destinations that are templates of it.
pub fn source_with_templates(
    scope: Scope,
    source_slice: bool,
    destination_slice: bool,
    count: usize,
) -> BoxedStrategy<(Spanned<TensorRef>, Vec<Spanned<TensorRef>>)> {
    let regex_case = regex_with_templates(scope).prop_flat_map(move |(regex, templates)| {
        let destinations: Vec<_> = (0..count)
            .map(|_| {
                select(templates.clone()).prop_flat_map(move |template| {
                    regex_reference(scope, template, destination_slice)
                })
            })
            .collect();
        (regex_reference(scope, regex, source_slice), destinations)
    });
    let structured_case = source_tokens().prop_flat_map(move |tokens| {
        let destinations: Vec<_> = (0..count)
            .map(|_| destination_tokens(&tokens).prop_flat_map(move |to| structured(scope, to)))
            .collect();
        (structured(scope, tokens), destinations)
    });
    prop_oneof![3 => regex_case, 1 => structured_case].boxed()
}

/// The exact name of a new tensor.
pub fn name(scope: Scope) -> BoxedStrategy<Spanned<TensorRef>> {
    let regex_name = prop_oneof![
        "[a-z_][a-z0-9_.]{0,10}",
        select(if scope.yaml_safe {
            vec!["a b", "exit", "0", "x/y", "h.(0)"]
        } else {
            vec!["a b", "exit", "0", "x/y", "h.(0)", "[ab]"]
        })
        .prop_map(str::to_string),
    ]
    .prop_flat_map(move |text| regex_reference(scope, text, false));
    let literal_list =
        prop::collection::vec(literal_segment().prop_map(StructuredToken::Literal), 1..3)
            .prop_flat_map(move |tokens| structured(scope, tokens));
    prop_oneof![4 => regex_name, 1 => literal_list].boxed()
}

// ---------------------------------------------------------------------------------------------
// Ops
// ---------------------------------------------------------------------------------------------

fn mapping(scope: Scope, from_slice: bool, to_slice: bool) -> BoxedStrategy<Mapping> {
    source_with_templates(scope, from_slice, to_slice, 1)
        .prop_map(|(from, mut to)| Mapping {
            from,
            to: to.remove(0),
        })
        .boxed()
}

fn ternary(scope: Scope, to_slice: bool) -> BoxedStrategy<Ternary> {
    (
        source_with_templates(scope, true, true, 2),
        maybe_slice(to_slice),
    )
        .prop_map(|((from_a, mut destinations), slice)| {
            let from_b = destinations.remove(0);
            let mut to = destinations.remove(0);
            // The destination's slice follows the op's rule; structured patterns are never sliced.
            to.node.slice = match to.pattern.node {
                Pattern::Regex(_) => slice,
                Pattern::Structured(_) => None,
            };
            Ternary { from_a, from_b, to }
        })
        .boxed()
}

fn reshape_shape() -> impl Strategy<Value = Vec<i64>> {
    (
        prop::collection::vec(1i64..5000, 1..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut shape, index, infer)| {
            if infer {
                let at = index.index(shape.len());
                shape[at] = -1;
            }
            shape
        })
}

fn permutation() -> impl Strategy<Value = Vec<i64>> {
    (1usize..5).prop_flat_map(|rank| Just((0..rank as i64).collect::<Vec<i64>>()).prop_shuffle())
}

fn distribution() -> impl Strategy<Value = Distribution> {
    prop_oneof![
        (
            prop::option::of(-10.0f64..0.9),
            prop::option::of(1.1f64..10.0)
        )
            .prop_map(|(low, high)| Distribution::Uniform {
                low: low.map(sp),
                high: high.map(sp)
            }),
        (prop::option::of(number()), prop::option::of(0.001f64..10.0)).prop_map(|(mean, std)| {
            Distribution::Normal {
                mean: mean.map(sp),
                std: std.map(sp),
            }
        }),
    ]
}

fn nested_values() -> impl Strategy<Value = NestedValues> {
    prop_oneof![
        number().prop_map(NestedValues::Scalar),
        (prop::collection::vec(1usize..3, 1..3)).prop_flat_map(|shape| {
            let total: usize = shape.iter().product();
            prop::collection::vec(number(), total)
                .prop_map(move |values| build_nested(&shape, &mut values.into_iter()))
        }),
    ]
}

fn build_nested(shape: &[usize], values: &mut impl Iterator<Item = f64>) -> NestedValues {
    match shape.split_first() {
        None => NestedValues::Scalar(values.next().unwrap_or(0.0)),
        Some((length, rest)) => {
            NestedValues::List((0..*length).map(|_| build_nested(rest, values)).collect())
        }
    }
}

fn fill_spec() -> impl Strategy<Value = FillSpec> {
    prop_oneof![
        number().prop_map(|value| FillSpec::Constant { value: sp(value) }),
        (distribution(), prop::option::of(small_int())).prop_map(|(distribution, seed)| {
            FillSpec::Rand {
                distribution: sp(distribution),
                seed: seed.map(sp),
            }
        }),
        nested_values().prop_map(|values| FillSpec::Tensor { values: sp(values) }),
    ]
}

fn bounds() -> impl Strategy<Value = Bounds> {
    (0u64..10, any::<[bool; 5]>(), 0u64..3).prop_map(|(value, present, margin)| {
        let pick = |index: usize, bound: u64| present[index].then(|| sp(bound));
        Bounds {
            is: pick(0, value),
            ge: pick(1, value.saturating_sub(margin)),
            gt: if value > margin {
                pick(2, value - margin - 1)
            } else {
                None
            },
            le: pick(3, value + margin),
            lt: pick(4, value + margin + 1),
        }
    })
}

fn assertion(scope: Scope) -> BoxedStrategy<AssertExpr> {
    let of = move || source(scope, true);
    let leaf = prop_oneof![
        of().prop_map(AssertExpr::Exists),
        (of(), count()).prop_map(|(of, is)| AssertExpr::Count { of, is: sp(is) }),
        (of(), prop::collection::vec(count(), 0..3))
            .prop_map(|(of, is)| AssertExpr::Shape { of, is: sp(is) }),
        (of(), bounds()).prop_map(|(of, bounds)| AssertExpr::Dimensions { of, bounds }),
        (of(), dtype()).prop_map(|(of, is)| AssertExpr::Dtype { of, is: sp(is) }),
        (
            source_with_templates(scope, true, true, 1),
            prop::option::of(non_negative())
        )
            .prop_map(|((left, mut right), eps)| AssertExpr::Equal {
                left,
                right: right.remove(0),
                eps: eps.map(sp),
            }),
        (of(), prop::option::of(non_negative())).prop_map(|(of, eps)| AssertExpr::IsZero {
            of,
            eps: eps.map(sp)
        }),
        (of(), bounds()).prop_map(|(of, bounds)| AssertExpr::Reads { of, bounds }),
        (of(), bounds()).prop_map(|(of, bounds)| AssertExpr::Writes { of, bounds }),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone().prop_map(sp), 1..3).prop_map(AssertExpr::All),
            prop::collection::vec(inner.clone().prop_map(sp), 1..3).prop_map(AssertExpr::Any),
            inner.prop_map(|e| AssertExpr::Not(Box::new(sp(e)))),
        ]
    })
    .boxed()
}

fn help() -> impl Strategy<Value = Help> {
    let ops: Vec<&str> = OP_NAMES
        .iter()
        .copied()
        .filter(|n| *n != "assert")
        .collect();
    prop_oneof![
        Just(None),
        select(ops).prop_map(|n| Some(HelpTopic::Op(n.to_string()))),
        Just(Some(HelpTopic::Assert(None))),
        select(ASSERT_NAMES.to_vec()).prop_map(|n| Some(HelpTopic::Assert(Some(n.to_string())))),
    ]
    .prop_map(|topic| Help {
        topic: topic.map(sp),
    })
}

fn load(scope: Scope) -> BoxedStrategy<Load> {
    (
        path(),
        prop::option::of(alias_text()),
        prop::option::of(name(scope)),
    )
        .prop_flat_map(|(path, alias, to)| {
            let formats = if to.is_some() {
                prop::option::of(select(vec![
                    FileFormat::Auto,
                    FileFormat::Safetensors,
                    FileFormat::Torch,
                    FileFormat::Numpy,
                ]))
                .boxed()
            } else {
                Just(None).boxed()
            };
            formats.prop_map(move |format| Load {
                path: sp(path.clone()),
                alias: alias.clone().map(sp),
                to: to.clone(),
                format: format.map(sp),
            })
        })
        .boxed()
}

fn save(scope: Scope) -> BoxedStrategy<Save> {
    let whole = (
        path(),
        prop::option::of(alias_text()),
        prop::option::of(select(vec![
            FileFormat::Safetensors,
            FileFormat::Torch,
            FileFormat::Dcp,
        ])),
        prop::option::of(size()),
    )
        .prop_map(|(path, alias, format, shard)| {
            let shard = match format {
                None | Some(FileFormat::Safetensors) => shard,
                _ => None,
            };
            Save {
                path: sp(path),
                alias: alias.map(sp),
                target: None,
                format: format.map(sp),
                shard: shard.map(sp),
            }
        });
    let one = (
        path(),
        prop::option::of(alias_text()),
        name(scope),
        prop::option::of(select(vec![
            FileFormat::Safetensors,
            FileFormat::Torch,
            FileFormat::Numpy,
        ])),
    )
        .prop_map(|(path, alias, target, format)| Save {
            path: sp(path),
            alias: alias.map(sp),
            target: Some(target),
            format: format.map(sp),
            shard: None,
        });
    prop_oneof![whole, one].boxed()
}

fn prefixes() -> impl Strategy<Value = Prefixes> {
    prop_oneof![
        Just(Prefixes::List),
        alias_text().prop_map(|a| Prefixes::Add { alias: sp(a) }),
        alias_text().prop_map(|a| Prefixes::Remove { alias: sp(a) }),
        (alias_text(), alias_text())
            .prop_filter("rename needs two aliases", |(a, b)| a != b)
            .prop_map(|(from, to)| Prefixes::Rename {
                from: sp(from),
                to: sp(to)
            }),
    ]
}

fn set() -> impl Strategy<Value = Set> {
    (
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(dry_run, preview, verbose)| Set {
            dry_run: dry_run.map(sp),
            preview: preview.map(sp),
            verbose: verbose.map(sp),
        })
}

fn create(scope: Scope) -> impl Strategy<Value = Create> {
    (
        name(scope),
        prop::collection::vec(positive(), 0..3),
        prop::option::of(dtype()),
    )
        .prop_map(|(target, shape, dtype)| Create {
            target,
            shape: sp(shape),
            dtype: dtype.map(sp),
        })
}

/// Every op but `execute` (which nests steps, see [`step`]).
fn simple_op(scope: Scope) -> BoxedStrategy<Op> {
    prop_oneof![
        help().prop_map(Op::Help),
        (
            prop::option::of(source(scope, true)),
            prop::option::of(select(vec![
                DumpFormat::Compact,
                DumpFormat::Tree,
                DumpFormat::Json
            ])),
            prop::option::of(select(vec![
                DumpVerbosity::Shape,
                DumpVerbosity::Stat,
                DumpVerbosity::Full
            ]))
        )
            .prop_map(|(target, format, verbosity)| Op::Dump(Dump {
                target,
                format: format.map(sp),
                verbosity: verbosity.map(sp)
            })),
        (
            prop_oneof![
                (source(scope, true), source(scope, true))
                    .prop_map(|(left, right)| DiffSides::Refs { left, right }),
                (alias_text(), alias_text()).prop_map(|(l, r)| DiffSides::Aliases {
                    left_alias: sp(l),
                    right_alias: sp(r)
                }),
            ],
            prop::option::of(non_negative())
        )
            .prop_map(|(sides, eps)| Op::Diff(Diff {
                sides,
                eps: eps.map(sp)
            })),
        assertion(scope).prop_map(|e| Op::Assert(sp(e))),
        load(scope).prop_map(Op::Load),
        save(scope).prop_map(Op::Save),
        mapping(scope, true, false).prop_map(Op::Copy),
        mapping(scope, false, false).prop_map(Op::Move),
        source(scope, false).prop_map(|target| Op::Delete(Unary { target })),
        mapping(scope, true, true).prop_map(Op::Assign),
        ternary(scope, true).prop_map(Op::Add),
        ternary(scope, true).prop_map(Op::Subtract),
        ternary(scope, true).prop_map(Op::Multiply),
        ternary(scope, false).prop_map(Op::Matmul),
        mapping(scope, true, true).prop_map(Op::AddInPlace),
        mapping(scope, true, true).prop_map(Op::SubtractInPlace),
        (mapping(scope, true, false), number()).prop_map(|(m, by)| Op::Scale(Scale {
            from: m.from,
            to: m.to,
            by: sp(by)
        })),
        (source(scope, true), number())
            .prop_map(|(target, by)| Op::ScaleInPlace(ScaleInPlace { target, by: sp(by) })),
        (mapping(scope, true, false), dtype()).prop_map(|(m, dtype)| Op::Cast(Cast {
            from: m.from,
            to: m.to,
            dtype: sp(dtype)
        })),
        (source(scope, false), dtype()).prop_map(|(target, dtype)| Op::CastInPlace(CastInPlace {
            target,
            dtype: sp(dtype)
        })),
        (mapping(scope, true, false), clamp_bounds()).prop_map(|(m, (min, max))| Op::Clamp(
            Clamp {
                from: m.from,
                to: m.to,
                min,
                max
            }
        )),
        (source(scope, true), clamp_bounds())
            .prop_map(|(target, (min, max))| Op::ClampInPlace(ClampInPlace { target, min, max })),
        (mapping(scope, true, false), reshape_shape()).prop_map(|(m, shape)| Op::Reshape(
            Reshape {
                from: m.from,
                to: m.to,
                shape: sp(shape)
            }
        )),
        (source(scope, false), reshape_shape()).prop_map(|(target, shape)| Op::ReshapeInPlace(
            ReshapeInPlace {
                target,
                shape: sp(shape)
            }
        )),
        (mapping(scope, true, false), permutation()).prop_map(|(m, order)| Op::Permute(Permute {
            from: m.from,
            to: m.to,
            order: sp(order)
        })),
        (mapping(scope, true, false), small_int(), small_int()).prop_map(|(m, dim0, dim1)| {
            Op::Transpose(Transpose {
                from: m.from,
                to: m.to,
                dim0: sp(dim0),
                dim1: sp(dim1),
            })
        }),
        (mapping(scope, true, false), fill_spec()).prop_map(|(m, fill)| Op::Fill(Fill {
            from: m.from,
            to: m.to,
            fill: sp(fill)
        })),
        (source(scope, true), fill_spec()).prop_map(|(target, fill)| Op::FillInPlace(
            FillInPlace {
                target,
                fill: sp(fill)
            }
        )),
        create(scope).prop_map(Op::Zeroes),
        create(scope).prop_map(Op::Ones),
        (
            name(scope),
            prop::collection::vec(positive(), 0..3),
            prop::option::of(distribution()),
            prop::option::of(small_int()),
            prop::option::of(dtype())
        )
            .prop_map(|(target, shape, distribution, seed, dtype)| Op::Rand(Rand {
                target,
                shape: sp(shape),
                distribution: distribution.map(sp),
                seed: seed.map(sp),
                dtype: dtype.map(sp)
            })),
        (
            source(scope, true),
            prop::collection::vec((name(scope), positive()), 2..4),
            prop::option::of(small_int())
        )
            .prop_map(|(from, pieces, dim)| {
                let (to, sizes): (Vec<_>, Vec<_>) = pieces.into_iter().unzip();
                Op::Split(Split {
                    from,
                    to,
                    sizes: sp(sizes),
                    dim: dim.map(sp),
                })
            }),
        (
            prop::collection::vec(source(scope, true), 2..4),
            name(scope),
            prop::option::of(small_int())
        )
            .prop_map(|(from, to, dim)| Op::Concat(Concat {
                from,
                to,
                dim: dim.map(sp)
            })),
        (
            source_with_templates(scope, false, false, 2),
            positive(),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            svd_options()
        )
            .prop_filter("factor names differ", |((_, factors), _, _, _, _)| factors
                [0]
                != factors[1])
            .prop_map(
                |((target, factors), rank, delete_original, require_missing_dest, svd)| Op::Phlora(
                    Phlora {
                        target,
                        target_a: factors[0].clone(),
                        target_b: factors[1].clone(),
                        rank: sp(rank),
                        delete_original: delete_original.map(sp),
                        require_missing_dest: require_missing_dest.map(sp),
                        svd,
                    }
                )
            ),
        (source(scope, false), positive(), svd_options()).prop_map(|(target, rank, svd)| {
            Op::PhloraInPlace(PhloraInPlace {
                target,
                rank: sp(rank),
                svd,
            })
        }),
        (
            source_with_templates(scope, false, false, 3),
            positive(),
            prop::option::of((1u32..=1000).prop_map(|n| f64::from(n) / 1000.0)),
            any::<bool>(),
            svd_options()
        )
            .prop_filter("factor names differ", |((_, templates), _, _, _, _)| {
                templates[1] != templates[2]
            })
            .prop_map(|((tuned, templates), rank, energy, named, svd)| {
                Op::LoraExtract(LoraExtract {
                    tuned,
                    base: templates[0].clone(),
                    factors: named.then(|| (templates[1].clone(), templates[2].clone())),
                    rank: sp(rank),
                    energy: energy.map(sp),
                    svd,
                })
            }),
        (source_with_templates(scope, false, false, 2), number()).prop_map(
            |((target, templates), alpha)| Op::LoraMerge(LoraMerge {
                target,
                lora_a: templates[0].clone(),
                lora_b: templates[1].clone(),
                alpha: sp(alpha),
            })
        ),
        prefixes().prop_map(Op::Prefixes),
        set().prop_map(Op::Set),
        Just(Op::Exit),
        path().prop_map(|p| Op::Execute(Execute::Path(sp(p)))),
    ]
    .boxed()
}

fn clamp_bounds() -> impl Strategy<Value = (Option<Spanned<f64>>, Option<Spanned<f64>>)> {
    (prop::option::of(number()), prop::option::of(number()))
        .prop_filter("at least one bound", |(min, max)| {
            min.is_some() || max.is_some()
        })
        .prop_map(|(min, max)| match (min, max) {
            (Some(a), Some(b)) if a > b => (Some(sp(b)), Some(sp(a))),
            (min, max) => (min.map(sp), max.map(sp)),
        })
}

fn to_step(op: Op) -> Spanned<Step> {
    sp(Step {
        keyword: sp(op.name().to_string()),
        op,
    })
}

/// A step: any op, or an `execute` block of simple steps (or a nested plan without inputs).
pub fn step(scope: Scope) -> BoxedStrategy<Spanned<Step>> {
    let simple = simple_op(scope);
    let nested_steps = prop::collection::vec(simple_op(scope).prop_map(to_step), 0..3);
    prop_oneof![
        8 => simple.prop_map(to_step),
        1 => nested_steps.clone().prop_map(|steps| to_step(Op::Execute(Execute::Steps(steps)))),
        1 => (nested_steps, prop::option::of(output())).prop_map(|(steps, output)| {
            to_step(Op::Execute(Execute::Plan(Box::new(Plan { inputs: vec![], steps, output }))))
        }),
    ]
    .boxed()
}

fn output() -> impl Strategy<Value = Spanned<Output>> {
    (
        path(),
        prop::option::of(select(vec![
            OutputFormat::Safetensors,
            OutputFormat::Torch,
            OutputFormat::Dcp,
        ])),
        prop::option::of(size()),
        prop::option::of(alias_text()),
    )
        .prop_map(|(path, format, shard, alias)| {
            sp(Output {
                path: sp(path),
                format: format.map(sp),
                shard: shard.map(sp),
                alias: alias.map(sp),
            })
        })
}

/// A whole valid plan: one input (references may omit the alias) or two (they must not).
/// `yaml_safe` leaves out what YAML string references cannot express.
pub fn plan(yaml_safe: bool) -> impl Strategy<Value = Plan> {
    let single = (
        prop::option::of(alias_text()),
        path(),
        prop::collection::vec(
            step(Scope {
                qualified: false,
                yaml_safe,
            }),
            0..6,
        ),
        prop::option::of(output()),
    )
        .prop_map(|(alias, path, steps, output)| Plan {
            inputs: vec![sp(Input {
                alias: alias.map(sp),
                path: sp(path),
            })],
            steps,
            output,
        });
    let several = (
        path(),
        path(),
        prop::collection::vec(
            step(Scope {
                qualified: true,
                yaml_safe,
            }),
            0..6,
        ),
        prop::option::of(output()),
    )
        .prop_map(|(first, second, steps, output)| Plan {
            inputs: vec![
                sp(Input {
                    alias: Some(sp("base".to_string())),
                    path: sp(first),
                }),
                sp(Input {
                    alias: Some(sp("tuned".to_string())),
                    path: sp(second),
                }),
            ],
            steps,
            output,
        });
    prop_oneof![single, several]
}
