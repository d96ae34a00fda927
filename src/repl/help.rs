//! Help texts: the REPL's commands, every op and every assertion, each with its terse and YAML
//! forms (the same examples as `docs/language.md`).
//!
//! Receives a topic (nothing, an op name, `assert`, an assertion name) and returns the text to
//! print, or `None` for an unknown topic. The payload keys shown for an op come from the YAML
//! lowering's own tables ([`payload_keys`]) where the op takes a mapping, so help and the
//! front end cannot disagree; completion uses [`keys_of`] too.

use crate::plan::ast::{ASSERT_NAMES, OP_NAMES};
use crate::plan::yaml::lower::payload_keys;

/// One op: what it does, and an example in each syntax.
pub struct OpHelp {
    pub name: &'static str,
    pub summary: &'static str,
    pub terse: &'static str,
    pub yaml: &'static str,
}

const fn op(
    name: &'static str,
    summary: &'static str,
    terse: &'static str,
    yaml: &'static str,
) -> OpHelp {
    OpHelp {
        name,
        summary,
        terse,
        yaml,
    }
}

/// Every op, in the order of [`OP_NAMES`].
pub const OPS: [OpHelp; 41] = [
    op(
        "help",
        "Show help on an op or an assertion.",
        "help copy",
        "help: copy",
    ),
    op(
        "dump",
        "Print tensors (shape, statistics or values) when the plan runs.",
        "dump h.0.attn.w format=tree verbosity=stat",
        "dump: {target: h.0.attn.w, format: tree, verbosity: stat}",
    ),
    op(
        "diff",
        "Compare tensors of two references or two aliases when the plan runs.",
        "diff a b eps=0.001",
        "diff: {left: a, right: b, eps: 0.001}",
    ),
    op(
        "assert",
        "Check a condition: shapes, dtypes and names now, values when the plan runs.",
        "assert shape(wte.weight) == [64, 8]",
        "assert: {shape: {of: wte.weight, is: [64, 8]}}",
    ),
    op(
        "load",
        "Bring in a checkpoint as a new alias, or one tensor of a file.",
        "load \"other.safetensors\" alias=o",
        "load: {path: other.safetensors, alias: o}",
    ),
    op(
        "save",
        "Write an alias (or one tensor) to a file when the plan runs.",
        "save \"out\" alias=model shard=2GB",
        "save: {path: out, alias: model, shard: 2GB}",
    ),
    op(
        "copy",
        "Copy tensors to new names.",
        "ln_f_copy.weight = ln_f.weight",
        "copy: {from: ln_f.weight, to: ln_f_copy.weight}",
    ),
    op(
        "move",
        "Rename tensors.",
        "move ^h(.*) -> i\\1",
        "move: {from: '^h(.*)', to: 'i\\1'}",
    ),
    op(
        "delete",
        "Remove tensors.",
        "del /.*\\.attn\\.bias/",
        "delete: {target: '.*\\.attn\\.bias'}",
    ),
    op(
        "assign",
        "Write values into existing tensors (same shape and dtype).",
        "ln_f.weight <- ln_f_copy.weight",
        "assign: {from: ln_f_copy.weight, to: ln_f.weight}",
    ),
    op(
        "add",
        "c <- a + b, into an existing c.",
        "c <- a + b",
        "add: {from_a: a, from_b: b, to: c}",
    ),
    op(
        "subtract",
        "c <- a - b, into an existing c.",
        "c <- a - b",
        "subtract: {from_a: a, from_b: b, to: c}",
    ),
    op(
        "multiply",
        "c <- a * b (elementwise), into an existing c.",
        "c <- a * b",
        "multiply: {from_a: a, from_b: b, to: c}",
    ),
    op(
        "matmul",
        "A new tensor c = a @ b.",
        "c = a @ b",
        "matmul: {from_a: a, from_b: b, to: c}",
    ),
    op(
        "add_",
        "x += y in place.",
        "x += y",
        "add_: {from: y, to: x}",
    ),
    op(
        "subtract_",
        "x -= y in place.",
        "x -= y",
        "subtract_: {from: y, to: x}",
    ),
    op(
        "scale",
        "A new tensor, a copy times a number.",
        "x = a * 0.5",
        "scale: {from: a, to: x, by: 0.5}",
    ),
    op(
        "scale_",
        "Multiply in place (a slice multiplies part of the tensor).",
        "w::[:, :10] *= 2",
        "scale_: {target: 'w::[:, :10]', by: 2}",
    ),
    op(
        "cast",
        "A new tensor converted to a dtype.",
        "x = a as float16",
        "cast: {from: a, to: x, dtype: float16}",
    ),
    op(
        "cast_",
        "Convert tensors to a dtype in place.",
        "cast_(x, bfloat16)",
        "cast_: {target: x, to: bfloat16}",
    ),
    op(
        "clamp",
        "A new tensor with values limited to [min, max].",
        "x = clamp(a, min=-1, max=1)",
        "clamp: {from: a, to: x, min: -1, max: 1}",
    ),
    op(
        "clamp_",
        "Limit values to [min, max] in place.",
        "clamp_(a, min=0)",
        "clamp_: {target: a, min: 0}",
    ),
    op(
        "reshape",
        "A new tensor with another shape (at most one -1).",
        "x = reshape(a, [2, -1])",
        "reshape: {from: a, to: x, shape: [2, -1]}",
    ),
    op(
        "reshape_",
        "Change the shape in place.",
        "reshape_(a, [6])",
        "reshape_: {target: a, shape: [6]}",
    ),
    op(
        "permute",
        "A new tensor with its dimensions reordered.",
        "x = permute(a, [1, 0, 2])",
        "permute: {from: a, to: x, order: [1, 0, 2]}",
    ),
    op(
        "transpose",
        "A new tensor with two dimensions swapped.",
        "x = transpose(a, 0, -1)",
        "transpose: {from: a, to: x, dim0: 0, dim1: -1}",
    ),
    op(
        "fill",
        "A new tensor shaped like a template, filled with a constant, values or random numbers.",
        "x = fill(a, 0.5)",
        "fill: {from: a, to: x, mode: constant, value: 0.5}",
    ),
    op(
        "fill_",
        "Overwrite tensors with a constant, values or random numbers.",
        "fill_(a, uniform(low=-1, high=1))",
        "fill_: {target: a, mode: rand, distribution: uniform, low: -1, high: 1}",
    ),
    op(
        "zeroes",
        "A new tensor of zeros (float32 unless dtype is given).",
        "z = zeroes([2, 3])",
        "zeroes: {target: z, shape: [2, 3]}",
    ),
    op(
        "ones",
        "A new tensor of ones (float32 unless dtype is given).",
        "o = ones([4], dtype=float16)",
        "ones: {target: o, shape: [4], dtype: float16}",
    ),
    op(
        "rand",
        "A new random tensor (uniform 0..1 unless a distribution is given).",
        "r = rand([2], normal(std=2), seed=1)",
        "rand: {target: r, shape: [2], distribution: normal, std: 2, seed: 1}",
    ),
    op(
        "split",
        "Cut one tensor into pieces along a dimension.",
        "a, b = split(w, [1, 2], dim=1)",
        "split: {from: w, to: [a, b], sizes: [1, 2], dim: 1}",
    ),
    op(
        "concat",
        "Join tensors along a dimension.",
        "c = concat(a, b, dim=-1)",
        "concat: {from: [a, b], to: c, dim: -1}",
    ),
    op(
        "phlora",
        "Factor 2-D tensors into rank-r factors A and B (B @ A approximates W).",
        "h.\\1.a, h.\\1.b = phlora(h.(\\d+).w, rank=16)",
        "phlora: {target: 'h.(\\d+).w', target_a: 'h.\\1.a', target_b: 'h.\\1.b', rank: 16}",
    ),
    op(
        "phlora_",
        "Replace 2-D tensors by their rank-r approximation; `method=randomized` sketches the SVD.",
        "phlora_(w, rank=64, method=randomized)",
        "phlora_: {target: w, rank: 64, method: randomized}",
    ),
    op(
        "lora_extract",
        "Factor tuned − base into LoRA factors A (r × in) and B (out × r); `energy` keeps fewer components; without A, B they get PEFT's names.",
        "tuned::h.\\1.lora_A, tuned::h.\\1.lora_B = lora_extract(tuned::h.(\\d+).w, base::h.\\1.w, rank=8)",
        "lora_extract: {tuned: 'tuned::h.(\\d+).w', base: 'base::h.\\1.w', target_a: 'tuned::h.\\1.lora_A', target_b: 'tuned::h.\\1.lora_B', rank: 8}",
    ),
    op(
        "lora_merge",
        "Merge a LoRA adapter in place: W += (alpha / r) · B @ A.",
        "lora_merge_(w, w_lora_A, w_lora_B, alpha=16)",
        "lora_merge: {target: w, lora_a: w_lora_A, lora_b: w_lora_B, alpha: 16}",
    ),
    op(
        "prefixes",
        "List, add, remove or rename aliases.",
        "prefixes add a",
        "prefixes: {mode: add, alias: a}",
    ),
    op(
        "set",
        "Set the flags dry-run, preview and verbose.",
        "set dry-run=true",
        "set: {dry-run: true}",
    ),
    op("exit", "End the plan (and the prompt).", "exit", "exit"),
    op(
        "execute",
        "Run nested steps, a nested plan or a plan file.",
        "execute \"nested.yaml\"",
        "execute: {path: nested.yaml}",
    ),
];

/// One assertion: what it checks and its forms.
const ASSERTIONS: [(&str, &str, &str, &str); 12] = [
    (
        "exists",
        "at least one tensor matches",
        "assert exists(a)",
        "assert: {exists: a}",
    ),
    (
        "count",
        "exactly N tensors match",
        "assert count(h\\..*) == 12",
        "assert: {count: {of: 'h\\..*', is: 12}}",
    ),
    (
        "shape",
        "every match has this shape",
        "assert shape(x) == [2, 3]",
        "assert: {shape: {of: x, is: [2, 3]}}",
    ),
    (
        "dimensions",
        "every match's rank meets the bounds",
        "assert dimensions(x) >= 1, < 4",
        "assert: {dimensions: {of: x, ge: 1, lt: 4}}",
    ),
    (
        "dtype",
        "every match has this dtype",
        "assert dtype(x) == float16",
        "assert: {dtype: {of: x, is: float16}}",
    ),
    (
        "equal",
        "values are equal (within eps), checked when the plan runs",
        "assert equal(a, b, eps=0.01)",
        "assert: {equal: {left: a, right: b, eps: 0.01}}",
    ),
    (
        "iszero",
        "values are zero (within eps), checked when the plan runs",
        "assert iszero(a)",
        "assert: {iszero: a}",
    ),
    (
        "reads",
        "read counters (BrainSurgery's; not supported here)",
        "assert reads(a) == 1",
        "assert: {reads: {of: a, is: 1}}",
    ),
    (
        "writes",
        "write counters (BrainSurgery's; not supported here)",
        "assert writes(a) <= 2",
        "assert: {writes: {of: a, le: 2}}",
    ),
    (
        "all",
        "every inner assertion holds",
        "assert all(exists(a), not exists(b))",
        "assert: {all: [{exists: a}, {not: {exists: b}}]}",
    ),
    (
        "any",
        "some inner assertion holds",
        "assert any(iszero(a), shape(a) == [2])",
        "assert: {any: [{iszero: a}, {shape: {of: a, is: [2]}}]}",
    ),
    (
        "not",
        "the inner assertion fails",
        "assert not equal(a, b)",
        "assert: {not: {equal: {left: a, right: b}}}",
    ),
];

/// The REPL's commands with their arguments and what they do.
pub const COMMANDS: [(&str, &str, &str); 10] = [
    (
        "show",
        ":show [PATTERN]",
        "tensors at this point (regex, `alias::` to pick an alias)",
    ),
    (
        "stats",
        ":stats NAME",
        "statistics of one tensor (an input is read alone; a computed one is computed from the steps it needs)",
    ),
    (
        "graph",
        ":graph [FILE]",
        "the dataflow graph so far, as DOT",
    ),
    ("undo", ":undo", "take back the last accepted step"),
    ("plan", ":plan [yaml|terse]", "the plan typed so far"),
    (
        "save",
        ":save FILE",
        "write the plan (`.bs`: terse, else YAML)",
    ),
    ("run", ":run [--dry-run]", "run the plan typed so far"),
    ("help", ":help [OP]", "this text, or an op's"),
    ("quit", ":quit", "leave (also Ctrl-D, or an `exit` step)"),
    ("q", ":q", "the same as :quit"),
];

/// The payload keys of an op in its YAML/OLY form.
pub fn keys_of(op: &str) -> &'static [&'static str] {
    if let Some(keys) = payload_keys(op) {
        return keys;
    }
    match op {
        "load" => &["path", "alias", "to", "format"],
        "save" => &["path", "alias", "target", "format", "shard"],
        "execute" => &["transforms", "plan", "plan-yaml", "path"],
        "assert" => &ASSERT_NAMES,
        _ => &[],
    }
}

/// The text for `:help`: commands, the three syntaxes, and the ops.
pub fn general() -> String {
    let mut text = String::from("Commands:\n");
    for (name, usage, what) in COMMANDS {
        if name != "q" {
            text.push_str(&format!("  {usage:<20} {what}\n"));
        }
    }
    text.push_str(
        "\nA step is written in the terse syntax (`x = a * 0.5`), as YAML (`- copy: {from: a, to: b}`)\n\
         or as one BrainSurgery line (`copy: from: a, to: b`). A line ending with `:` or an open\n\
         bracket continues on the next line; an empty line ends a YAML block.\n\nOps:\n",
    );
    for names in OP_NAMES.chunks(8) {
        text.push_str(&format!("  {}\n", names.join(" ")));
    }
    text.push_str("\n`:help OP` shows one op, `:help assert` the assertions.\n");
    text
}

/// The help on one topic: an op, `assert`, or an assertion name.
pub fn topic(name: &str) -> Option<String> {
    if name == "assert" {
        return Some(assertions());
    }
    if let Some(help) = OPS.iter().find(|help| help.name == name) {
        let keys = keys_of(name);
        let mut text = format!("{}: {}\n", help.name, help.summary);
        if !keys.is_empty() && name != "assert" {
            text.push_str(&format!("  keys:  {}\n", keys.join(", ")));
        }
        text.push_str(&format!(
            "  terse: {}\n  yaml:  {}\n",
            help.terse, help.yaml
        ));
        return Some(text);
    }
    assertion(name)
}

/// The help on one assertion.
pub fn assertion(name: &str) -> Option<String> {
    let (name, what, terse, yaml) = ASSERTIONS.iter().find(|entry| entry.0 == name)?;
    Some(format!(
        "assert {name}: {what}\n  terse: {terse}\n  yaml:  {yaml}\n"
    ))
}

fn assertions() -> String {
    let mut text = String::from("Assertions (`:help assert NAME` or `help: {assert: NAME}`):\n");
    for (name, what, terse, _) in ASSERTIONS {
        text.push_str(&format!("  {name:<11} {what:<58} {terse}\n"));
    }
    text
}

/// Every topic `:help` knows, for suggestions.
pub fn topics() -> Vec<&'static str> {
    let mut topics: Vec<&str> = OP_NAMES.to_vec();
    topics.extend(ASSERT_NAMES.iter().filter(|name| !OP_NAMES.contains(name)));
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_and_assertion_has_help_in_order() {
        assert_eq!(OPS.len(), OP_NAMES.len());
        assert_eq!(ASSERTIONS.len(), ASSERT_NAMES.len());
        for (help, name) in OPS.iter().zip(OP_NAMES) {
            assert_eq!(help.name, name);
        }
        for (entry, name) in ASSERTIONS.iter().zip(ASSERT_NAMES) {
            assert_eq!(entry.0, name);
        }
    }

    #[test]
    fn op_help_names_the_keys_the_yaml_front_end_accepts() {
        let text = topic("clamp").unwrap();
        assert!(text.contains("keys:  from, to, min, max"), "{text}");
        assert!(text.contains("x = clamp(a, min=-1, max=1)"));
        assert!(topic("equal").unwrap().starts_with("assert equal"));
        assert!(topic("nonsense").is_none());
        assert_eq!(keys_of("load"), ["path", "alias", "to", "format"]);
    }
}
