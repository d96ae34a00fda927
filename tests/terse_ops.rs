//! Every op of the plan language, written in the terse syntax and in YAML, lowers to the same
//! AST: a table of (terse statement, YAML step) pairs, each parsed by both front ends inside a
//! plan with one input, and compared (AST equality ignores spans). The table is also the proof
//! that the forms documented in `docs/language.md` mean what the YAML reference means.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::ast::{Op, Plan, Spanned, Step};
use brainsurgery::plan::terse::parse_terse;
use brainsurgery::plan::yaml::parse_yaml;

fn terse(text: &str) -> Plan {
    let mut sources = SourceMap::new();
    let id = sources.add("case.bs", text);
    parse_terse(&mut sources, id).unwrap_or_else(|errors| {
        panic!(
            "terse text failed to parse:\n{text}\n{}",
            render_all_plain(&errors, &sources)
        )
    })
}

fn yaml(text: &str) -> Plan {
    let mut sources = SourceMap::new();
    let id = sources.add("case.yaml", text);
    parse_yaml(&mut sources, id).unwrap_or_else(|errors| {
        panic!(
            "YAML text failed to parse:\n{text}\n{}",
            render_all_plain(&errors, &sources)
        )
    })
}

/// (terse statement, YAML step) for one input `model`.
const SINGLE_INPUT: &[(&str, &str)] = &[
    ("help", "help"),
    ("help copy", "help: copy"),
    ("help assert", "help: assert"),
    ("help assert equal", "help: {assert: equal}"),
    ("dump", "dump"),
    ("dump h.0.attn.w::[0]", "dump: {target: 'h.0.attn.w::[0]'}"),
    ("dump format=tree verbosity=stat", "dump: {format: tree, verbosity: stat}"),
    ("dump [h, *rest] format=json", "dump: {target: [h, '*rest'], format: json}"),
    ("diff a b", "diff: {left: a, right: b}"),
    ("diff a::[0] b eps=0.001", "diff: {left: 'a::[0]', right: b, eps: 0.001}"),
    ("diff aliases m0 m1", "diff: {mode: aliases, left_alias: m0, right_alias: m1}"),
    ("load \"other.safetensors\"", "load: other.safetensors"),
    ("load \"other\" alias=o", "load: {path: other, alias: o}"),
    (
        "load \"x.npy\" to=x format=numpy",
        "load: {path: x.npy, to: x, format: numpy}",
    ),
    ("save \"out.safetensors\"", "save: out.safetensors"),
    (
        "save \"out\" alias=model format=safetensors shard=2GB",
        "save: {path: out, alias: model, format: safetensors, shard: 2GB}",
    ),
    (
        "save \"w.npy\" target=wte.weight format=numpy",
        "save: {path: w.npy, target: wte.weight, format: numpy}",
    ),
    ("ln_f_copy.weight = ln_f.weight", "copy: {from: ln_f.weight, to: ln_f_copy.weight}"),
    ("x = w::[:, :10]", "copy: {from: 'w::[:, :10]', to: x}"),
    ("move ^h(.*) -> i\\1", "move: {from: '^h(.*)', to: 'i\\1'}"),
    (
        "move [i, *rest] -> [h, *rest]",
        "move: {from: [i, '*rest'], to: [h, '*rest']}",
    ),
    ("del /.*\\.attn\\.bias/", "delete: {target: '.*\\.attn\\.bias'}"),
    ("delete a", "delete: {target: a}"),
    ("ln_f.weight <- ln_f_copy.weight", "assign: {from: ln_f_copy.weight, to: ln_f.weight}"),
    ("c <- a + b", "add: {from_a: a, from_b: b, to: c}"),
    ("c::[0] <- a::[0] - b::[1]", "subtract: {from_a: 'a::[0]', from_b: 'b::[1]', to: 'c::[0]'}"),
    ("c <- a * b", "multiply: {from_a: a, from_b: b, to: c}"),
    ("c = a @ b", "matmul: {from_a: a, from_b: b, to: c}"),
    ("h.\\1.w += h.(\\d+).v", "add_: {from: 'h.(\\d+).v', to: 'h.\\1.w'}"),
    ("x -= y", "subtract_: {from: y, to: x}"),
    ("x = a * 0.5", "scale: {from: a, to: x, by: 0.5}"),
    ("x = 2 * a", "scale: {from: a, to: x, by: 2}"),
    ("x = a * -1e-3", "scale: {from: a, to: x, by: -0.001}"),
    ("w::[:, :10] *= 2", "scale_: {target: 'w::[:, :10]', by: 2}"),
    ("x = a as f16", "cast: {from: a, to: x, dtype: float16}"),
    ("cast_(x, bf16)", "cast_: {target: x, to: bfloat16}"),
    ("x = clamp(a, min=-1, max=1)", "clamp: {from: a, to: x, min: -1, max: 1}"),
    ("x = clamp(a, max=1)", "clamp: {from: a, to: x, max: 1}"),
    ("clamp_(a::[0], min=0)", "clamp_: {target: 'a::[0]', min: 0}"),
    ("x = reshape(a, [2, -1])", "reshape: {from: a, to: x, shape: [2, -1]}"),
    ("reshape_(a, [6])", "reshape_: {target: a, shape: [6]}"),
    ("x = permute(a, [1, 0, 2])", "permute: {from: a, to: x, order: [1, 0, 2]}"),
    ("x = transpose(a, 0, -1)", "transpose: {from: a, to: x, dim0: 0, dim1: -1}"),
    ("x = fill(a, 0.5)", "fill: {from: a, to: x, mode: constant, value: 0.5}"),
    (
        "x = fill(a, [[1, 2], [3, 4]])",
        "fill: {from: a, to: x, mode: tensor, values: [[1, 2], [3, 4]]}",
    ),
    ("x = fill(a, tensor(3))", "fill: {from: a, to: x, mode: tensor, values: 3}"),
    ("x = fill(a, uniform())", "fill: {from: a, to: x, mode: rand}"),
    (
        "x = fill(a, normal(mean=0, std=0.02), seed=7)",
        "fill: {from: a, to: x, mode: rand, distribution: normal, mean: 0, std: 0.02, seed: 7}",
    ),
    (
        "fill_(a, uniform(low=-1, high=1))",
        "fill_: {target: a, mode: rand, distribution: uniform, low: -1, high: 1}",
    ),
    ("fill_(a, 0)", "fill_: {target: a, mode: constant, value: 0}"),
    ("z = zeroes([2, 3])", "zeroes: {target: z, shape: [2, 3]}"),
    ("o = ones([4], dtype=float16)", "ones: {target: o, shape: [4], dtype: float16}"),
    ("r = rand([2, 2])", "rand: {target: r, shape: [2, 2]}"),
    (
        "r = rand([2], normal(std=2), seed=1, dtype=bf16)",
        "rand: {target: r, shape: [2], distribution: normal, std: 2, seed: 1, dtype: bfloat16}",
    ),
    (
        "a, b = split(w, [1, 2], dim=1)",
        "split: {from: w, to: [a, b], sizes: [1, 2], dim: 1}",
    ),
    ("c = concat(a, b::[0], d)", "concat: {from: [a, 'b::[0]', d], to: c}"),
    ("c = concat(a, b, dim=-1)", "concat: {from: [a, b], to: c, dim: -1}"),
    (
        "h.\\1.a, h.\\1.b = phlora(h.(\\d+).w, rank=16)",
        "phlora: {target: 'h.(\\d+).w', target_a: 'h.\\1.a', target_b: 'h.\\1.b', rank: 16}",
    ),
    (
        "a, b = phlora(w, rank=2, delete_original=false, require_missing_dest=true)",
        "phlora: {target: w, target_a: a, target_b: b, rank: 2, delete_original: false, require_missing_dest: true}",
    ),
    ("phlora_(w, rank=64)", "phlora_: {target: w, rank: 64}"),
    (
        "phlora_(w, rank=64, method=randomized, oversampling=5, power_iterations=1, seed=9)",
        "phlora_: {target: w, rank: 64, method: randomized, oversampling: 5, power_iterations: 1, seed: 9}",
    ),
    (
        "a, b = phlora(w, rank=2, method=exact)",
        "phlora: {target: w, target_a: a, target_b: b, rank: 2, method: exact}",
    ),
    (
        "h.\\1.lora_A, h.\\1.lora_B = lora_extract(h.(\\d+).w, base::h.\\1.w, rank=8)",
        "lora_extract: {tuned: 'h.(\\d+).w', base: 'base::h.\\1.w', target_a: 'h.\\1.lora_A', target_b: 'h.\\1.lora_B', rank: 8}",
    ),
    (
        "a, b = lora_extract(w, v, rank=4, energy=0.5)",
        "lora_extract: {tuned: w, base: v, target_a: a, target_b: b, rank: 4, energy: 0.5}",
    ),
    (
        "lora_extract(w, v, rank=4, method=randomized, seed=2)",
        "lora_extract: {tuned: w, base: v, rank: 4, method: randomized, seed: 2}",
    ),
    (
        "lora_merge_(w, a, b, alpha=16)",
        "lora_merge: {target: w, lora_a: a, lora_b: b, alpha: 16}",
    ),
    ("prefixes", "prefixes"),
    ("prefixes add extra", "prefixes: {mode: add, alias: extra}"),
    ("prefixes remove extra", "prefixes: {mode: remove, alias: extra}"),
    ("prefixes rename a -> b", "prefixes: {mode: rename, from: a, to: b}"),
    ("set", "set"),
    ("set dry-run=true verbose=false", "set: {dry-run: true, verbose: false}"),
    ("exit", "exit"),
    ("execute \"nested.yaml\"", "execute: {path: nested.yaml}"),
    ("assert exists(a)", "assert: {exists: a}"),
    ("assert count(h.*) == 12", "assert: {count: {of: 'h.*', is: 12}}"),
    ("assert shape(wte::[0]) == [768]", "assert: {shape: {of: 'wte::[0]', is: [768]}}"),
    ("assert dimensions(a) >= 1, < 4", "assert: {dimensions: {of: a, ge: 1, lt: 4}}"),
    ("assert dimensions(a)", "assert: {dimensions: {of: a}}"),
    ("assert dtype(a) == half", "assert: {dtype: {of: a, is: float16}}"),
    ("assert equal(a, b, eps=0.01)", "assert: {equal: {left: a, right: b, eps: 0.01}}"),
    ("assert iszero(a)", "assert: {iszero: a}"),
    ("assert iszero(a, eps=0)", "assert: {iszero: {of: a, eps: 0}}"),
    ("assert reads(a) == 1", "assert: {reads: {of: a, is: 1}}"),
    ("assert writes(a) <= 2, > 0", "assert: {writes: {of: a, le: 2, gt: 0}}"),
    (
        "assert all(exists(a), not exists(b))",
        "assert: {all: [{exists: a}, {not: {exists: b}}]}",
    ),
    (
        "assert any(iszero(a), shape(a) == [2, 3])",
        "assert: {any: [{iszero: a}, {shape: {of: a, is: [2, 3]}}]}",
    ),
];

fn single_input_steps(plan: &Plan) -> &[Spanned<Step>] {
    &plan.steps
}

#[test]
fn every_op_lowers_like_its_yaml_form() {
    let mut failures = Vec::new();
    for (terse_statement, yaml_step) in SINGLE_INPUT {
        let from_terse = terse(&format!("input \"model.safetensors\"\n{terse_statement}\n"));
        let from_yaml = yaml(&format!(
            "inputs: [model.safetensors]\ntransforms:\n  - {yaml_step}\n"
        ));
        if single_input_steps(&from_terse) != single_input_steps(&from_yaml) {
            failures.push(format!(
                "{terse_statement}\n  terse: {:?}\n  yaml:  {:?}",
                from_terse.steps, from_yaml.steps
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_table_covers_every_op() {
    let mut seen = std::collections::BTreeSet::new();
    for (terse_statement, _) in SINGLE_INPUT {
        let plan = terse(&format!("input \"model.safetensors\"\n{terse_statement}\n"));
        for step in &plan.steps {
            seen.insert(step.op.name());
            assert_eq!(step.keyword.node, step.op.name());
        }
    }
    let missing: Vec<&str> = brainsurgery::plan::ast::OP_NAMES
        .iter()
        .copied()
        .filter(|name| !seen.contains(name) && *name != "execute")
        .collect();
    assert!(missing.is_empty(), "ops without a terse case: {missing:?}");
}

#[test]
fn declarations_lower_like_yaml_inputs_and_output() {
    let from_terse = terse(
        "input base = \"models/base\"\ninput tuned = \"models/tuned\"\noutput \"out/merged\" format=safetensors shard=2GB alias=tuned\n\ntuned::x -= base::x\n",
    );
    let from_yaml = yaml(
        "inputs: ['base::models/base', 'tuned::models/tuned']\ntransforms:\n  - subtract_: {from: 'base::x', to: 'tuned::x'}\noutput: {path: out/merged, format: safetensors, shard: 2GB, alias: tuned}\n",
    );
    assert_eq!(from_terse, from_yaml);
    let single = terse("input \"models/gpt2\"\noutput \"out\"\n");
    assert_eq!(single, yaml("inputs: [models/gpt2]\noutput: out\n"));
    assert_eq!(single.default_alias(), Some("model"));
}

#[test]
fn execute_blocks_lower_like_nested_yaml() {
    let from_terse = terse(
        "input \"m\"\nexecute {\n  x = y\n  del y\n}\nexecute plan {\n  input extra = \"other\"\n  output \"o\"\n  extra::a = extra::b\n}\n",
    );
    let from_yaml = yaml(
        "inputs: [m]\ntransforms:\n  - execute: {transforms: [{copy: {from: y, to: x}}, {delete: {target: y}}]}\n  - execute: {plan: {inputs: ['extra::other'], transforms: [{copy: {from: 'extra::b', to: 'extra::a'}}], output: o}}\n",
    );
    assert_eq!(from_terse, from_yaml);
    assert!(matches!(from_terse.steps[0].op, Op::Execute(_)));
}

#[test]
fn comments_blank_lines_and_spacing_do_not_matter() {
    let spaced = terse(
        "input \"m\"   # the model\n\n   x   =   clamp( a ,min=-1 )  # lower bound\n# done\n",
    );
    let tight = terse("input \"m\"\nx=clamp(a,min=-1)\n");
    assert_eq!(spaced, tight);
}

#[test]
fn regex_forms_are_one_pattern() {
    let bare = terse("input \"m\"\ndel h\\.0\\.w\n");
    let slashed = terse("input \"m\"\ndel /h\\.0\\.w/\n");
    let quoted = terse("input \"m\"\ndel \"h\\\\.0\\\\.w\"\n");
    assert_eq!(bare, slashed);
    assert_eq!(bare, quoted);
}
