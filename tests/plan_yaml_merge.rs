//! Several YAML plan files deep-merged in order, then `key=value` overrides, through `load_plan`;
//! diagnostics about merged or overridden values point into the file or override they came from.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::ast::*;
use brainsurgery::plan::yaml::load_plan;
use std::path::PathBuf;

struct Files {
    directory: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            directory: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.directory.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn load(paths: &[PathBuf], overrides: &[&str]) -> Result<Plan, String> {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let mut sources = SourceMap::new();
    load_plan(paths, &overrides, &mut sources).map_err(|errors| {
        // File names are temporary; show only their last component.
        let rendered = render_all_plain(&errors, &sources);
        paths.iter().fold(rendered, |text, path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            text.replace(&path.display().to_string(), &name)
        })
    })
}

const BASE: &str = "\
inputs: [models/gpt2]
transforms:
  - copy: {from: a, to: b}
  - dump: {format: compact}
  - delete: {target: b}
output: {path: out/base, shard: 1GB}
";

#[test]
fn later_files_overlay_lists_by_index_and_mappings_by_key() {
    let files = Files::new();
    let base = files.write("base.yaml", BASE);
    let patch = files.write(
        "patch.yaml",
        "transforms:\n  - ~\n  - dump: {verbosity: stat}\noutput: {path: out/patched}\n",
    );
    let plan = load(&[base, patch], &[]).unwrap();
    assert_eq!(plan.steps.len(), 3);
    assert_eq!(plan.steps[0].keyword.node, "copy");
    let Op::Dump(dump) = &plan.steps[1].op else {
        panic!()
    };
    assert_eq!(dump.format.as_ref().unwrap().node, DumpFormat::Compact);
    assert_eq!(dump.verbosity.as_ref().unwrap().node, DumpVerbosity::Stat);
    let output = plan.output.unwrap().node;
    assert_eq!(output.path.node, "out/patched");
    assert!(output.shard.is_some(), "the base's shard is kept");
}

#[test]
fn overrides_apply_after_the_files() {
    let files = Files::new();
    let base = files.write("base.yaml", BASE);
    let plan = load(
        &[base],
        &[
            "transforms[1].dump.format=tree",
            "output.path=out/x",
            "transforms[3]=exit",
            "output.shard=none",
        ],
    )
    .unwrap();
    let Op::Dump(dump) = &plan.steps[1].op else {
        panic!()
    };
    assert_eq!(dump.format.as_ref().unwrap().node, DumpFormat::Tree);
    assert_eq!(plan.steps.len(), 4);
    assert_eq!(plan.steps[3].op, Op::Exit);
    let output = plan.output.unwrap().node;
    assert_eq!(output.path.node, "out/x");
    assert_eq!(output.shard.unwrap().node, ShardSize::None);
}

#[test]
fn overrides_alone_make_a_plan() {
    let plan = load(&[], &["inputs=[models/m]", "transforms[0].delete.target=w"]).unwrap();
    assert_eq!(plan.inputs.len(), 1);
    assert_eq!(plan.steps[0].keyword.node, "delete");
}

#[test]
fn errors_point_into_the_file_or_override_that_wrote_the_value() {
    let files = Files::new();
    let base = files.write("base.yaml", BASE);
    let patch = files.write(
        "patch.yaml",
        "transforms:\n  - ~\n  - dump: {format: xml}\n",
    );
    let rendered = load(&[base, patch], &["output.shard=5GiB", "transforms[5]=exit"]).unwrap_err();
    assert!(rendered.contains("--> patch.yaml:3:20"), "{rendered}");
    assert!(rendered.contains("--> <override 1>:1:14"), "{rendered}");
    // Padding nulls of an index past the end are steps that were never written.
    assert!(rendered.contains("--> <override 2>:1:11"), "{rendered}");
    assert!(rendered.contains("found nothing (null)"), "{rendered}");
}

#[test]
fn bad_overrides_and_files_are_reported_together() {
    let files = Files::new();
    let broken = files.write(
        "broken.yaml",
        "transforms:\n  - copy:\n      from: a\n     to: b\n",
    );
    let missing = files.directory.path().join("missing.yaml");
    let rendered = load(&[broken, missing], &["output.path", "a..b=1"]).unwrap_err();
    for expected in [
        "error[E0100]: YAML syntax error",
        "--> broken.yaml:4:6",
        "error[E0121]: cannot read plan `missing.yaml`",
        "error[E0116]: override `output.path` has no `=`",
        "error[E0117]: invalid override path: empty key",
    ] {
        assert!(rendered.contains(expected), "{expected}\n{rendered}");
    }
}

#[test]
fn terse_and_yaml_files_do_not_mix() {
    let files = Files::new();
    let yaml = files.write("plan.yaml", BASE);
    let terse = files.write("plan.bs", "exit\n");
    let rendered = load(&[yaml, terse.clone()], &[]).unwrap_err();
    assert!(rendered.contains("error[E0120]"), "{rendered}");
    let rendered = load(std::slice::from_ref(&terse), &["output.path=x"]).unwrap_err();
    assert!(rendered.contains("error[E0126]"), "{rendered}");
    // Alone, a terse plan goes to the terse front end.
    let plan = load(&[terse], &[]).unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].op, Op::Exit);
}

#[test]
fn empty_files_change_nothing() {
    let files = Files::new();
    let base = files.write("base.yaml", BASE);
    let empty = files.write("empty.yaml", "# nothing here\n");
    let plan = load(&[base.clone(), empty], &[]).unwrap();
    assert_eq!(plan, load(&[base], &[]).unwrap());
}
