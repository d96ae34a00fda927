//! The REPL's session through its library API, on the bundled example checkpoint.
//!
//! A property test types random sequences of valid and invalid entries (in all three syntaxes)
//! and checks them against a model of the tensors: each entry is accepted exactly when the model
//! says it is valid, a rejected entry leaves the state (tensors, graph, plan) exactly as it was,
//! and at the end the accumulated plan is the valid entries' steps alone, which replayed in a
//! fresh session give the same tensors. Other tests show that `:stats` reads exactly one tensor
//! and that steps read none.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use brainsurgery::cli::check::CheckpointHeaders;
use brainsurgery::compile::{read_inputs, CompileSession};
use brainsurgery::diagnostics::{SourceMap, Span};
use brainsurgery::io::Checkpoint;
use brainsurgery::plan::ast::{Input, Plan, Spanned};
use brainsurgery::repl::{Driver, ReplSession};
use brainsurgery::tensor::{DType, TensorType};
use proptest::prelude::*;

fn model_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/models/gpt2-tiny")
        .display()
        .to_string()
}

/// A session on the example checkpoint, given its headers and source map.
fn driver<'s>(headers: &'s CheckpointHeaders, sources: &'s RefCell<SourceMap>) -> Driver<'s, 's> {
    let input = Spanned::new(
        Input {
            alias: None,
            path: Spanned::new(model_path(), Span::default()),
        },
        Span::default(),
    );
    let declared = Plan {
        inputs: vec![input.clone()],
        ..Plan::default()
    };
    let inputs = read_inputs(&declared, headers).expect("the example opens");
    let compiler = CompileSession::new(inputs, headers);
    Driver::new(
        ReplSession::new(vec![input], None, compiler),
        headers,
        sources,
    )
}

/// Everything a rejected entry must leave as it was.
fn state(driver: &Driver<'_, '_>) -> (Vec<(String, TensorType)>, usize, Plan) {
    let compiler = driver.session.compiler();
    let tensors = compiler
        .tensors("model")
        .into_iter()
        .map(|(name, ty)| (name.to_string(), ty.clone()))
        .collect();
    (
        tensors,
        compiler.graph().node_count(),
        driver.session.plan(),
    )
}

/// One entry of a random session.
#[derive(Debug, Clone)]
enum Action {
    Copy(usize, usize),
    Move(usize, usize),
    Delete(usize),
    Scale(usize),
    Cast(usize, usize),
    AddInPlace(usize, usize),
    Garbage(usize),
}

/// Names the actions use: some exist in the checkpoint, some do not yet.
const NAMES: [&str; 8] = [
    "ln_f.weight",
    "ln_f.bias",
    "wpe.weight",
    "h.0.ln_1.weight",
    "a",
    "b",
    "c",
    "d",
];

/// Lines no syntax accepts.
const GARBAGE: [&str; 5] = [
    "x = = y",
    "copy: from: [a, to: b",
    "- cpy: {from: a, to: b}",
    "x = nothing(a)",
    "move a ->",
];

fn action() -> impl Strategy<Value = Action> {
    let name = 0..NAMES.len();
    prop_oneof![
        (name.clone(), name.clone()).prop_map(|(a, b)| Action::Copy(a, b)),
        (name.clone(), name.clone()).prop_map(|(a, b)| Action::Move(a, b)),
        name.clone().prop_map(Action::Delete),
        name.clone().prop_map(Action::Scale),
        (name.clone(), name.clone()).prop_map(|(a, b)| Action::Cast(a, b)),
        (name.clone(), name).prop_map(|(a, b)| Action::AddInPlace(a, b)),
        (0..GARBAGE.len()).prop_map(Action::Garbage),
    ]
}

impl Action {
    /// The entry as typed, in one of the three syntaxes.
    fn line(&self) -> String {
        match *self {
            Action::Copy(from, to) => format!("{} = {}", NAMES[to], NAMES[from]),
            Action::Move(from, to) => format!("move: from: {}, to: {}", NAMES[from], NAMES[to]),
            Action::Delete(target) => format!("- delete: {{target: {}}}", NAMES[target]),
            Action::Scale(target) => format!("{} *= 2", NAMES[target]),
            Action::Cast(from, to) => format!(
                "cast: {{from: {}, to: {}, dtype: float16}}",
                NAMES[from], NAMES[to]
            ),
            Action::AddInPlace(from, to) => format!("{} += {}", NAMES[to], NAMES[from]),
            Action::Garbage(index) => GARBAGE[index].to_string(),
        }
    }

    /// Applies the action to the model; `false` (and the model unchanged) when it is invalid.
    fn apply(&self, model: &mut BTreeMap<String, TensorType>) -> bool {
        let has =
            |model: &BTreeMap<String, TensorType>, index: usize| model.contains_key(NAMES[index]);
        match *self {
            Action::Copy(from, to) | Action::Move(from, to) | Action::Cast(from, to) => {
                if !has(model, from) || has(model, to) {
                    return false;
                }
                let mut ty = model[NAMES[from]].clone();
                if matches!(self, Action::Move(..)) {
                    model.remove(NAMES[from]);
                }
                if matches!(self, Action::Cast(..)) {
                    ty.dtype = DType::F16;
                }
                model.insert(NAMES[to].to_string(), ty);
                true
            }
            Action::Delete(target) => model.remove(NAMES[target]).is_some(),
            Action::Scale(target) => has(model, target),
            Action::AddInPlace(from, to) => {
                has(model, from) && has(model, to) && model[NAMES[from]] == model[NAMES[to]]
            }
            Action::Garbage(_) => false,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rejected_entries_change_nothing_and_the_plan_is_the_valid_steps(
        actions in proptest::collection::vec(action(), 1..24)
    ) {
        let headers = CheckpointHeaders::new();
        let sources = RefCell::new(SourceMap::new());
        let mut session = driver(&headers, &sources);
        let mut model: BTreeMap<String, TensorType> = state(&session)
            .0
            .into_iter()
            .collect();
        let mut valid_lines = Vec::new();
        for action in &actions {
            let line = action.line();
            let before = state(&session);
            let valid = action.apply(&mut model);
            let result = session.entry(std::slice::from_ref(&line));
            prop_assert_eq!(!result.rejected, valid, "{}: {}", line, result.stderr);
            if valid {
                valid_lines.push(line.clone());
                let tensors: BTreeMap<String, TensorType> = state(&session).0.into_iter().collect();
                prop_assert_eq!(&tensors, &model, "after {}", line);
            } else {
                prop_assert!(result.stderr.contains("error["), "{}", result.stderr);
                prop_assert_eq!(state(&session), before, "{} changed the state", line);
            }
        }
        // The plan is the valid entries alone, and replaying them gives the same state.
        let headers_again = CheckpointHeaders::new();
        let sources_again = RefCell::new(SourceMap::new());
        let mut replay = driver(&headers_again, &sources_again);
        for line in &valid_lines {
            let result = replay.entry(std::slice::from_ref(line));
            prop_assert!(!result.rejected, "{} rejected on replay: {}", line, result.stderr);
        }
        prop_assert_eq!(session.session.plan(), replay.session.plan());
        prop_assert_eq!(session.session.steps().len(), valid_lines.len());
        prop_assert_eq!(state(&session), state(&replay));
        // Compiling never read a tensor.
        prop_assert_eq!(headers.read_stats().tensors, 0);
    }
}

#[test]
fn stats_reads_exactly_that_tensor() {
    let headers = CheckpointHeaders::new();
    let sources = RefCell::new(SourceMap::new());
    let mut session = driver(&headers, &sources);
    for line in ["x = wte.weight * 2", "del h\\.1\\..*", "y = x as float16"] {
        let result = session.entry(&[line.to_string()]);
        assert!(!result.rejected, "{line}: {}", result.stderr);
    }
    assert_eq!(headers.read_stats().tensors, 0, "steps read nothing");
    let result = session.entry(&[":stats h.0.mlp.c_fc.weight".to_string()]);
    assert!(!result.rejected, "{}", result.stderr);
    let stats = headers.read_stats();
    assert_eq!((stats.tensors, stats.bytes), (1, 8 * 32 * 4));
    // The numbers are those of the tensor's bytes.
    let checkpoint = Checkpoint::open(model_path()).expect("the example opens");
    let bytes = checkpoint.read("h.0.mlp.c_fc.weight").expect("readable");
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let minimum = values.iter().copied().fold(f32::INFINITY, f32::min);
    let maximum = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let shown = |value: f32| brainsurgery::inspect::text::general(f64::from(value));
    assert!(
        result.stdout.contains(&format!("min {}", shown(minimum))),
        "{}",
        result.stdout
    );
    assert!(result.stdout.contains(&format!("max {}", shown(maximum))));
    assert!(result.stdout.contains("elements 256"));
    // A deleted tensor does not exist.
    let deleted = session.entry(&[":stats h.1.ln_1.weight".to_string()]);
    assert!(
        deleted.stderr.contains("error[E0713]"),
        "{}",
        deleted.stderr
    );
    assert_eq!(headers.read_stats().tensors, 1);
}

/// `:stats` of a tensor the plan computes runs what computes it (reading only what that needs,
/// running no other step) and shows the statistics of the value a run would write, and leaves
/// no scratch file behind.
#[test]
fn stats_of_a_computed_tensor_computes_it() {
    let headers = CheckpointHeaders::new();
    let sources = RefCell::new(SourceMap::new());
    let mut session = driver(&headers, &sources);
    let lines = [
        "x = wte.weight * 2",
        "y = x as float16",
        "z = wpe.weight * 3",
        "del h\\.1\\..*",
    ];
    for line in lines {
        let result = session.entry(&[line.to_string()]);
        assert!(!result.rejected, "{line}: {}", result.stderr);
    }
    let checkpoint = Checkpoint::open(model_path()).expect("the example opens");
    let wte: Vec<f32> = checkpoint
        .read("wte.weight")
        .expect("readable")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let shown = |value: f64| brainsurgery::inspect::text::general(value);
    let minimum = wte.iter().copied().fold(f32::INFINITY, f32::min);
    let maximum = wte.iter().copied().fold(f32::NEG_INFINITY, f32::max);

    let x = session.entry(&[":stats x".to_string()]);
    assert!(!x.rejected, "{}", x.stderr);
    assert!(x.stdout.starts_with("x  F32 [64, 8]"), "{}", x.stdout);
    // Doubling is exact in f32: the extremes are twice the input's.
    let doubled = |value: f32| shown(f64::from(value * 2.0));
    assert!(
        x.stdout.contains(&format!("elements {}", wte.len())),
        "{}",
        x.stdout
    );
    assert!(
        x.stdout.contains(&format!("min {}", doubled(minimum))),
        "{}",
        x.stdout
    );
    assert!(x.stdout.contains(&format!("max {}", doubled(maximum))));
    let reads = headers.read_stats();
    assert_eq!(reads.tensors, 1, "only wte.weight is read, not wpe.weight");
    assert_eq!(reads.bytes, wte.len() as u64 * 4);

    // Through the cast: the value a run would write, rounded once to f16.
    let y = session.entry(&[":stats y".to_string()]);
    assert!(!y.rejected, "{}", y.stderr);
    assert!(y.stdout.starts_with("y  F16 [64, 8]"), "{}", y.stdout);
    let rounded = |value: f32| shown(half::f16::from_f32(value * 2.0).to_f64());
    assert!(
        y.stdout.contains(&format!("min {}", rounded(minimum))),
        "{}",
        y.stdout
    );
    assert!(y.stdout.contains(&format!("max {}", rounded(maximum))));

    let prefix = format!("brainsurgery-stats-{}-", std::process::id());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary directory")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn an_entry_with_several_steps_is_all_or_nothing() {
    let headers = CheckpointHeaders::new();
    let sources = RefCell::new(SourceMap::new());
    let mut session = driver(&headers, &sources);
    let before = state(&session);
    // The second step is rejected, so the first is taken back too.
    let lines: Vec<String> = [
        "- copy: {from: ln_f.weight, to: a}",
        "- copy: {from: missing, to: b}",
        "",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    let result = session.entry(&lines);
    assert!(result.rejected);
    assert!(result.stderr.contains("<repl>:2:"), "{}", result.stderr);
    assert_eq!(state(&session), before);
    assert!(!session
        .session
        .compiler()
        .tensors("model")
        .iter()
        .any(|(n, _)| *n == "a"));
}

#[test]
fn save_writes_the_comments_typed_with_the_steps() {
    let headers = CheckpointHeaders::new();
    let sources = RefCell::new(SourceMap::new());
    let mut session = driver(&headers, &sources);
    let typed = [
        vec!["x = ln_f.weight * 0.5  # halve it".to_string()],
        // A YAML entry of several lines: the comment inside the step goes before it.
        [
            "- copy:  # keep one",
            "    # from the bias",
            "    from: ln_f.bias",
            "    to: y",
            "",
        ]
        .iter()
        .map(|line| line.to_string())
        .collect(),
        // A comment alone is no step: nothing to keep it with.
        vec!["# not kept".to_string()],
    ];
    for lines in typed {
        let result = session.entry(&lines);
        assert!(!result.rejected, "{lines:?}: {}", result.stderr);
    }
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let terse = scratch.path().join("typed.bs");
    let yaml = scratch.path().join("typed.yaml");
    for file in [&terse, &yaml] {
        let result = session.entry(&[format!(":save \"{}\"", file.display())]);
        assert!(!result.rejected, "{}", result.stderr);
    }
    let terse = std::fs::read_to_string(terse).expect("saved");
    assert!(
        terse.ends_with(
            "x = ln_f.weight * 0.5  # halve it\n# from the bias\ny = ln_f.bias  # keep one\n"
        ),
        "{terse}"
    );
    let yaml = std::fs::read_to_string(yaml).expect("saved");
    assert!(
        yaml.contains(
            "  - scale: {from: ln_f.weight, to: x, by: 0.5}  # halve it\n  # from the bias\n  - copy: {from: ln_f.bias, to: 'y'}  # keep one\n"
        ),
        "{yaml}"
    );
    assert!(!terse.contains("not kept") && !yaml.contains("not kept"));
}
