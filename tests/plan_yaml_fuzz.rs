//! The YAML front end never panics: property tests over random bytes, over token soups of
//! YAML-ish fragments, over generated YAML trees built from plan vocabulary (which reach deep into
//! op lowering), and over random overrides. Every plan that parses also prints back to itself.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::ast::{ASSERT_NAMES, OP_NAMES};
use brainsurgery::plan::yaml::merge::parse_override;
use brainsurgery::plan::yaml::{parse_yaml, print_yaml};
use proptest::prelude::*;

/// Parses `text`; when it parses, the printed plan must parse back to the same plan. Rendering the
/// diagnostics is part of the check (it must not panic on any span either).
fn check(text: &str) {
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.yaml", text);
    match parse_yaml(&mut sources, id) {
        Ok(plan) => {
            let printed = print_yaml(&plan);
            let mut again = SourceMap::new();
            let id = again.add("printed.yaml", printed.as_str());
            let reparsed = parse_yaml(&mut again, id).unwrap_or_else(|errors| {
                panic!(
                    "printed plan does not parse:\n{printed}\n{}",
                    render_all_plain(&errors, &again)
                )
            });
            assert_eq!(reparsed, plan, "input:\n{text}\nprinted:\n{printed}");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let _ = render_all_plain(&errors, &sources);
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "inputs:",
    "transforms:",
    "output:",
    "- ",
    "  ",
    "    ",
    "\n",
    "\n  - ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ":",
    ", ",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "<<: ",
    "---\n",
    "~",
    "null",
    "true",
    "1.5",
    "-1",
    "0x1F",
    "5GB",
    "none",
    "a::b",
    "m::",
    "::",
    "[:2]",
    "[::-1]",
    "w::[0, 1:]",
    "\\1",
    "\\g<1>",
    "\\g<name>",
    "(",
    ")",
    "(\\d+)",
    "~x::",
    "~x,y::(a)(b)",
    "$x",
    "${x}",
    "*rest",
    "from",
    "to",
    "target",
    "by",
    "mode",
    "shape",
    "dtype",
    "float16",
    "copy",
    "assert",
    "exists",
    "not",
    "all",
    "é",
    "\t",
    "\\",
    "!!str ",
    "|\n  text",
    ">\n  folded",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.concat())
}

const KEYS: &[&str] = &[
    "from",
    "to",
    "target",
    "from_a",
    "from_b",
    "by",
    "dtype",
    "min",
    "max",
    "shape",
    "order",
    "dim0",
    "dim1",
    "mode",
    "value",
    "values",
    "distribution",
    "low",
    "high",
    "mean",
    "std",
    "seed",
    "sizes",
    "dim",
    "rank",
    "target_a",
    "target_b",
    "delete_original",
    "path",
    "alias",
    "format",
    "shard",
    "verbosity",
    "left",
    "right",
    "left_alias",
    "right_alias",
    "eps",
    "of",
    "is",
    "ge",
    "gt",
    "le",
    "lt",
    "at_least",
    "at_most",
    "dry-run",
    "transforms",
    "plan",
];

const SCALARS: &[&str] = &[
    "a",
    "b",
    "'h\\.(\\d+)'",
    "'i\\1'",
    "'m::w'",
    "'w::[:2]'",
    "'w::[::0]'",
    "'a::b::[0]::c'",
    "'(?P<n>x)'",
    "'\\g<n>'",
    "'\\g<2>'",
    "'$x'",
    "'*xs'",
    "'~x::(a)'",
    "'l${x}'",
    "'base::'",
    "0",
    "1",
    "-1",
    "2.5",
    "'1.5'",
    "true",
    "no",
    "float32",
    "bf16",
    "int",
    "constant",
    "rand",
    "tensor",
    "normal",
    "uniform",
    "5GB",
    "none",
    "json",
    "tree",
    "stat",
    "aliases",
    "add",
    "rename",
    "list",
    "null",
    "''",
    "'('",
    "'['",
];

/// A random YAML value in flow style, built from plan vocabulary.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(SCALARS).prop_map(str::to_string);
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                let entries: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", entries.join(", "))
            }),
        ]
    })
}

fn op_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&OP_NAMES[..])
}

/// Each op with its keys, the required ones first (`required` of them).
const OP_KEYS: &[(&str, usize, &[&str])] = &[
    ("copy", 2, &["from", "to"]),
    ("move", 2, &["from", "to"]),
    ("assign", 2, &["from", "to"]),
    ("add_", 2, &["from", "to"]),
    ("delete", 1, &["target"]),
    ("add", 3, &["from_a", "from_b", "to"]),
    ("matmul", 3, &["from_a", "from_b", "to"]),
    ("scale", 3, &["from", "to", "by"]),
    ("scale_", 2, &["target", "by"]),
    ("cast", 3, &["from", "to", "dtype"]),
    ("clamp_", 1, &["target", "min", "max"]),
    ("reshape_", 2, &["target", "shape"]),
    ("permute", 3, &["from", "to", "order"]),
    ("transpose", 4, &["from", "to", "dim0", "dim1"]),
    (
        "fill_",
        2,
        &["target", "mode", "value", "distribution", "seed"],
    ),
    ("zeroes", 2, &["target", "shape", "dtype"]),
    (
        "rand",
        2,
        &[
            "target",
            "shape",
            "distribution",
            "mean",
            "std",
            "seed",
            "dtype",
        ],
    ),
    ("split", 3, &["from", "to", "sizes", "dim"]),
    ("concat", 2, &["from", "to", "dim"]),
    (
        "phlora",
        4,
        &["target", "target_a", "target_b", "rank", "delete_original"],
    ),
    ("dump", 0, &["target", "format", "verbosity"]),
    ("diff", 2, &["left", "right", "eps"]),
    ("load", 1, &["path", "alias", "to", "format"]),
    ("save", 1, &["path", "alias", "format", "shard"]),
    ("set", 0, &["dry-run", "preview", "verbose"]),
];

/// Plausible values for a key (mostly valid, some not).
fn values_for(key: &str) -> &'static [&'static str] {
    match key {
        "from" | "target" | "from_a" | "left" | "of" => &[
            "a",
            "'h\\.(\\d+)\\.w'",
            "'w::[:2, 1]'",
            "[h, $i, '*r']",
            "'m::x'",
        ],
        "to" | "from_b" | "right" | "target_a" | "target_b" => &[
            "b",
            "'x.\\1'",
            "'y.\\g<1>'",
            "[g, $i, '*r']",
            "[g, 'l${i}']",
            "'\\2'",
        ],
        "by" | "min" | "max" | "value" | "eps" | "mean" => &["0.5", "-1", "'2'", "1e-3", "x"],
        "std" => &["1", "0.5", "0"],
        "dtype" => &["float16", "bf16", "F8_E4M3", "float128"],
        "shape" | "sizes" => &["[2, 3]", "[4]", "[2, -1]", "[]", "[0]"],
        "order" => &["[1, 0]", "[0, 0]", "[-1, 0]"],
        "dim" | "dim0" | "dim1" | "seed" => &["0", "-1", "2", "x"],
        "rank" => &["1", "16", "0"],
        "mode" => &["constant", "rand", "tensor"],
        "distribution" => &["uniform", "normal"],
        "format" => &["json", "tree", "safetensors", "numpy", "torch"],
        "verbosity" => &["shape", "stat"],
        "shard" => &["5GB", "none", "1.5GB"],
        "path" => &["out/x", "''", "p.npy"],
        "alias" => &["model", "other"],
        "delete_original" | "dry-run" | "preview" | "verbose" => &["true", "no", "maybe"],
        _ => &["a"],
    }
}

/// A step of a known op with its required keys and some optional ones, from plausible values.
fn plausible_step() -> impl Strategy<Value = String> {
    (prop::sample::select(OP_KEYS), any::<u64>()).prop_map(|((op, required, keys), seed)| {
        let mut bits = seed;
        let mut entries = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let take = index < required || bits & 1 == 1;
            bits >>= 1;
            let pool = values_for(key);
            let choice = (bits % pool.len() as u64) as usize;
            bits /= pool.len() as u64;
            if take {
                // Split destinations and concat sources are lists of references.
                let value = match (op, *key) {
                    ("split", "to") => "[p0, p1]",
                    ("concat", "from") => "[p0, 'p1::[:1]']",
                    _ => pool[choice],
                };
                entries.push(format!("{key}: {value}"));
            }
        }
        format!("  - {op}: {{{}}}\n", entries.join(", "))
    })
}

/// A plan whose steps are real op names with random payloads.
fn plan() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        4 => plausible_step(),
        1 => (op_name(), value()).prop_map(|(op, payload)| format!("  - {op}: {payload}\n")),
        1 => op_name().prop_map(|op| format!("  - {op}\n")),
        1 => (prop::sample::select(&ASSERT_NAMES[..]), value())
            .prop_map(|(name, payload)| format!("  - assert: {{{name}: {payload}}}\n")),
    ];
    let inputs = prop::sample::select(
        &[
            "",
            "inputs: [models/m]\n",
            "inputs: ['a::x', 'b::y']\n",
            "inputs: ['a::x', y]\n",
        ][..],
    );
    (
        inputs,
        prop::collection::vec(step, 0..6),
        prop::option::of(value()),
    )
        .prop_map(|(inputs, steps, output)| {
            let mut text = inputs.to_string();
            if !steps.is_empty() {
                text.push_str("transforms:\n");
                text.push_str(&steps.concat());
            }
            if let Some(output) = output {
                text.push_str(&format!("output: {output}\n"));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soups_never_panic(text in token_soup()) {
        check(&text);
    }

    #[test]
    fn generated_plans_never_panic_and_round_trip(text in plan()) {
        check(&text);
    }

    #[test]
    fn plausible_steps_round_trip_when_they_parse(step in plausible_step()) {
        check(&format!("inputs: [models/m]\ntransforms:\n{step}"));
    }

    #[test]
    fn random_overrides_never_panic(text in "[a-z_\\[\\]0-9.=:' {}-]{0,40}") {
        let mut sources = SourceMap::new();
        let id = sources.add("<override 1>", text.as_str());
        if let Err(error) = parse_override(&text, id) {
            let _ = render_all_plain(&[error], &sources);
        }
    }
}
