//! Round trips through the terse syntax.
//!
//! - For random valid plans across every op: parsing the printed terse text gives the same plan.
//! - For the same plans: YAML → terse → YAML gives the same plan (`fmt` converts both ways).
//! - For every YAML plan under `tests/plans/`: YAML → terse → YAML gives the same plan, and the
//!   terse text is a fixed point of print ∘ parse.

mod terse_support;

use brainsurgery::diagnostics::SourceMap;
use brainsurgery::plan::terse::print_terse;
use brainsurgery::plan::yaml::{load_plan, print_yaml};
use proptest::prelude::*;
use terse_support::{parse_terse_text, parse_yaml_text, plan};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn printing_then_parsing_terse_is_the_identity(plan in plan(false)) {
        let text = print_terse(&plan);
        let parsed = parse_terse_text(&text)
            .map_err(|errors| TestCaseError::fail(format!("printed text does not parse:\n{text}\n{errors}")))?;
        prop_assert_eq!(&parsed, &plan, "printed text:\n{}", text);
        prop_assert_eq!(print_terse(&parsed), text);
    }

    #[test]
    fn yaml_to_terse_to_yaml_keeps_the_plan(plan in plan(true)) {
        let yaml = print_yaml(&plan);
        let from_yaml = parse_yaml_text(&yaml)
            .map_err(|errors| TestCaseError::fail(format!("printed YAML does not parse:\n{yaml}\n{errors}")))?;
        let terse = print_terse(&from_yaml);
        let from_terse = parse_terse_text(&terse)
            .map_err(|errors| TestCaseError::fail(format!("terse text does not parse:\n{terse}\n{errors}")))?;
        prop_assert_eq!(&from_terse, &from_yaml, "terse text:\n{}", terse);
        let back = parse_yaml_text(&print_yaml(&from_terse))
            .map_err(|errors| TestCaseError::fail(format!("YAML of the terse plan does not parse:\n{errors}")))?;
        prop_assert_eq!(back, from_yaml);
    }
}

#[test]
fn every_example_plan_survives_yaml_to_terse_to_yaml() {
    let mut paths: Vec<_> = std::fs::read_dir("tests/plans")
        .expect("tests/plans exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let mut sources = SourceMap::new();
        let plan = load_plan(&[&path], &[], &mut sources)
            .unwrap_or_else(|_| panic!("{} parses", path.display()));
        let terse = print_terse(&plan);
        let from_terse = parse_terse_text(&terse).unwrap_or_else(|errors| {
            panic!(
                "{}: terse form does not parse:\n{terse}\n{errors}",
                path.display()
            )
        });
        assert_eq!(from_terse, plan, "{}: terse form:\n{terse}", path.display());
        let back = parse_yaml_text(&print_yaml(&from_terse)).expect("printed YAML parses");
        assert_eq!(back, plan, "{}", path.display());
        assert_eq!(
            print_terse(&from_terse),
            terse,
            "{}: not a fixed point",
            path.display()
        );
    }
}
