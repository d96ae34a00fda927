//! The README's first command: `examples/gpt2_roundtrip.yaml` and its terse twin `examples/gpt2_roundtrip.bs` run,
//! write the same bytes with the same plan hash, and give back the bundled checkpoint exactly.

mod run_support;

use run_support::{assert_exit, metadata, read, run, GPT2};

#[test]
fn the_gpt2_example_runs_in_both_syntaxes_and_round_trips() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut outputs = Vec::new();
    for plan in ["examples/gpt2_roundtrip.yaml", "examples/gpt2_roundtrip.bs"] {
        let destination = scratch.path().join(plan.replace(['/', '.'], "_"));
        let output = if plan.ends_with(".yaml") {
            run(&[
                plan,
                "-q",
                &format!("output.path={}", destination.display()),
            ])
        } else {
            // A terse plan takes no overrides: run it from a copy whose output is redirected.
            let text = std::fs::read_to_string(plan)
                .expect("example readable")
                .replace(
                    "\"out/gpt2-roundtrip\"",
                    &format!("\"{}\"", destination.display()),
                );
            let copy = scratch.path().join("gpt2.bs");
            std::fs::write(&copy, text).expect("copy written");
            run(&["run", "-q", copy.to_str().expect("utf-8")])
        };
        assert_exit(&output, 0);
        outputs.push(destination);
    }
    let input = read(GPT2);
    assert_eq!(read(&outputs[0]), input);
    assert_eq!(read(&outputs[1]), input);
    // Both syntaxes resolve to one plan: the hash recorded as provenance is the same.
    let hash = |path: &str| {
        let mut sources = brainsurgery::diagnostics::SourceMap::new();
        let plan = brainsurgery::plan::yaml::load_plan(&[path], &[], &mut sources)
            .expect("the example parses");
        brainsurgery::cli::run::plan_hash(&plan)
    };
    assert_eq!(
        hash("examples/gpt2_roundtrip.yaml"),
        hash("examples/gpt2_roundtrip.bs")
    );
    let recorded = metadata(outputs[0].join("model-00001-of-00001.safetensors"));
    assert_eq!(recorded["brainsurgery.plan_hash"].len(), 64);
}
