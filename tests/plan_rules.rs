//! Both front ends refuse a plan that breaks a rule of `plan::rules` with the same diagnostic:
//! for each rule, one step written in YAML and in the terse syntax must give the same codes, the
//! same messages and labels on the same text (the spans differ only in where that text stands).

use brainsurgery::diagnostics::{Diagnostic, SourceMap};
use brainsurgery::plan::terse::parse_terse;
use brainsurgery::plan::yaml::parse_yaml;

/// What a diagnostic says, without where its text stands in the file: code, message and, for
/// each label, the text it underlines (without the quotes a syntax may need around it) and what
/// it says.
fn findings(errors: &[Diagnostic], text: &str) -> Vec<String> {
    errors
        .iter()
        .map(|error| {
            let labels: Vec<String> = error
                .labels
                .iter()
                .map(|label| {
                    let underlined = text[label.span.start as usize..label.span.end as usize]
                        .trim_matches(|c| c == '\'' || c == '"');
                    format!("`{underlined}`: {}", label.text)
                })
                .collect();
            format!("{} {} [{}]", error.code, error.message, labels.join("; "))
        })
        .collect()
}

fn yaml_findings(step: &str) -> Vec<String> {
    let text = format!("inputs: [models/gpt2]\ntransforms:\n  - {step}\n");
    let mut sources = SourceMap::new();
    let id = sources.add("plan.yaml", text.as_str());
    match parse_yaml(&mut sources, id) {
        Ok(_) => vec![format!("YAML accepted `{step}`")],
        Err(errors) => findings(&errors, &text),
    }
}

fn terse_findings(step: &str) -> Vec<String> {
    let text = format!("input \"models/gpt2\"\n{step}\n");
    let mut sources = SourceMap::new();
    let id = sources.add("plan.bs", text.as_str());
    match parse_terse(&mut sources, id) {
        Ok(_) => vec![format!("terse accepted `{step}`")],
        Err(errors) => findings(&errors, &text),
    }
}

/// Each rule, as `(YAML step, terse step)`.
const CASES: &[(&str, &str)] = &[
    // Which references may be sliced, and how destinations relate to sources.
    ("move: {from: 'w::[:2]', to: v}", "move w::[:2] -> v"),
    ("copy: {from: w, to: 'v::[:2]'}", "v::[:2] = w"),
    (
        "matmul: {from_a: a, from_b: b, to: 'c::[0]'}",
        "c::[0] = a @ b",
    ),
    (
        "zeroes: {target: [h, $i], shape: [1]}",
        "[h, $i] = zeroes([1])",
    ),
    ("copy: {from: 'h.(\\d+)', to: [h, x]}", "[h, x] = h.(\\d+)"),
    ("copy: {from: 'h.(\\d+)', to: 'g.\\2'}", "g.\\2 = h.(\\d+)"),
    // Values.
    (
        "reshape: {from: w, to: v, shape: [2, 0, -1, -1]}",
        "v = reshape(w, [2, 0, -1, -1])",
    ),
    ("reshape_: {target: w, shape: []}", "reshape_(w, [])"),
    (
        "permute: {from: w, to: v, order: [0, 0, 5]}",
        "v = permute(w, [0, 0, 5])",
    ),
    (
        "clamp: {from: w, to: v, min: 1, max: -1}",
        "v = clamp(w, min=1, max=-1)",
    ),
    (
        "fill: {from: w, to: v, mode: rand, low: 2, high: 1}",
        "v = fill(w, uniform(low=2, high=1))",
    ),
    (
        "fill_: {target: w, mode: rand, distribution: normal, std: 0}",
        "fill_(w, normal(std=0))",
    ),
    (
        "fill: {from: w, to: v, mode: tensor, values: [[1, 2], [3]]}",
        "v = fill(w, [[1, 2], [3]])",
    ),
    (
        "split: {from: a, to: [b, c], sizes: [1]}",
        "b, c = split(a, [1])",
    ),
    ("diff: {left: a, right: b, eps: -1}", "diff a b eps=-1"),
    (
        "assert: {iszero: {of: w, eps: -0.5}}",
        "assert iszero(w, eps=-0.5)",
    ),
    (
        "phlora: {target: w, target_a: a, target_b: a, rank: 2}",
        "a, a = phlora(w, rank=2)",
    ),
    // Session ops.
    (
        "load: {path: x.pt, format: torch}",
        "load \"x.pt\" format=torch",
    ),
    // A bad `to` is reported alone, not also as missing for `format`.
    (
        "load: {path: x.pt, to: [h, $i], format: torch}",
        "load \"x.pt\" to=[h, $i] format=torch",
    ),
    (
        "save: {path: x.npy, target: [h, $i], format: numpy}",
        "save \"x.npy\" target=[h, $i] format=numpy",
    ),
    (
        "save: {path: out, format: dcp, target: w}",
        "save \"out\" target=w format=dcp",
    ),
    (
        "save: {path: out, target: w, shard: 1GB}",
        "save \"out\" target=w shard=1GB",
    ),
    (
        "save: {path: out, format: torch, shard: 1GB}",
        "save \"out\" format=torch shard=1GB",
    ),
    ("save: ' '", "save \" \""),
    (
        "prefixes: {mode: rename, from: a, to: a}",
        "prefixes rename a -> a",
    ),
];

#[test]
fn both_syntaxes_refuse_a_broken_rule_alike() {
    let mut differences = Vec::new();
    for (yaml, terse) in CASES {
        let (from_yaml, from_terse) = (yaml_findings(yaml), terse_findings(terse));
        assert!(
            !from_yaml[0].contains("accepted"),
            "the case `{yaml}` breaks no rule: {from_yaml:?}"
        );
        if from_yaml != from_terse {
            differences.push(format!(
                "YAML  `{yaml}`:\n  {}\nterse `{terse}`:\n  {}",
                from_yaml.join("\n  "),
                from_terse.join("\n  ")
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// The code and message of the first diagnostic, for rules whose label covers text that each
/// syntax writes its own way (a YAML list in brackets, terse bounds after the call).
fn first_message(found: &[String]) -> &str {
    found[0].split(" [").next().unwrap_or_default()
}

#[test]
fn assertion_bounds_that_cannot_hold_are_refused_alike() {
    let yaml = yaml_findings("assert: {dimensions: {of: w, ge: 3, lt: 2}}");
    let terse = terse_findings("assert dimensions(w) >= 3, < 2");
    assert_eq!(
        first_message(&yaml),
        "E0119 dimensions bounds contradict each other"
    );
    assert_eq!(first_message(&yaml), first_message(&terse));
}

#[test]
fn too_few_pieces_are_refused_alike_at_the_pieces() {
    let cases = [
        (
            "split: {from: a, to: [b], sizes: [1]}",
            "b = split(a, [1])",
            "E0123 split `to` needs at least 2 items",
            "`b`",
        ),
        (
            "concat: {from: [a], to: c}",
            "c = concat(a)",
            "E0123 concat `from` needs at least 2 items",
            "`a`",
        ),
    ];
    for (yaml, terse, message, pieces) in cases {
        let (yaml, terse) = (yaml_findings(yaml), terse_findings(terse));
        assert_eq!(first_message(&yaml), message);
        assert_eq!(first_message(&terse), message);
        // The label underlines the pieces themselves, not the space around them.
        assert!(
            terse[0].contains(&format!("[{pieces}: too few items]")),
            "{terse:?}"
        );
    }
}
