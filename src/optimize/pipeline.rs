//! The pipeline: runs passes over a graph, round after round, until a whole round changes
//! nothing, validating after every pass run when asked to.
//!
//! It receives a graph, the passes in order and [`Options`], and returns a [`Report`] of the
//! rewrites each pass made, or an [`OptimizeError`]: the graph was invalid before any pass (a
//! compiler bug), a named pass left it invalid (with the rewrite count so far, the bound to bisect
//! below), or the passes never settled. A rewrite budget ([`Options::max_rewrites`]) ends the run
//! early with a valid graph.

use std::fmt;

use super::{passes, Options, Pass, RewriteBudget};
use crate::graph::{PlanGraph, ValidationError};

/// A round limit far above what the passes need (each round either rewrites something or ends
/// the pipeline, and rewrites only shrink the graph or relabel nodes), so hitting it means a pass
/// keeps reporting changes it does not make.
const MAX_ROUNDS: usize = 64;

/// What a pipeline run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Rewrites per pass, in pipeline order (every enabled pass is listed, with 0 if it never
    /// fired).
    pub rewrites: Vec<(&'static str, usize)>,
    /// Rounds run (the last one changed nothing, unless the budget stopped the pipeline).
    pub rounds: usize,
    /// Whether [`Options::max_rewrites`] stopped the pipeline before the fixed point.
    pub stopped_early: bool,
}

impl Report {
    pub fn total(&self) -> usize {
        self.rewrites.iter().map(|(_, count)| count).sum()
    }

    /// Rewrites made by the pass named `name`.
    pub fn of(&self, name: &str) -> usize {
        self.rewrites
            .iter()
            .filter(|(pass, _)| *pass == name)
            .map(|(_, count)| count)
            .sum()
    }
}

/// Why the pipeline stopped without a valid, optimized graph.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimizeError {
    /// The graph was invalid before any pass ran (a compiler bug, not an optimizer one).
    InvalidInput { errors: Vec<ValidationError> },
    /// A pass left an invalid graph; `rewrites` counts every rewrite made up to and including
    /// that pass run, so `max_rewrites` below it narrows the search.
    InvalidAfterPass {
        pass: &'static str,
        rewrites: usize,
        errors: Vec<ValidationError>,
    },
    /// Passes kept reporting changes for `rounds` rounds (far more than any plan needs).
    NoFixedPoint { rounds: usize },
}

impl fmt::Display for OptimizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |errors: &[ValidationError]| {
            errors
                .iter()
                .map(|error| error.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        match self {
            OptimizeError::InvalidInput { errors } => {
                write!(
                    f,
                    "the graph was invalid before optimizing: {}",
                    list(errors)
                )
            }
            OptimizeError::InvalidAfterPass {
                pass,
                rewrites,
                errors,
            } => write!(
                f,
                "optimizer pass `{pass}` left an invalid graph (after {rewrites} rewrites): {}",
                list(errors)
            ),
            OptimizeError::NoFixedPoint { rounds } => write!(
                f,
                "the optimizer did not reach a fixed point after {rounds} rounds"
            ),
        }
    }
}

impl std::error::Error for OptimizeError {}

/// Runs the enabled passes over `graph` until a round changes nothing (or the rewrite budget is
/// spent); see the module documentation.
pub fn optimize(graph: &mut PlanGraph, options: &Options) -> Result<Report, OptimizeError> {
    run_passes(graph, &passes(options), options)
}

/// [`optimize`] with an explicit pass list (tests run a faulty pass through it).
pub fn run_passes(
    graph: &mut PlanGraph,
    passes: &[Box<dyn Pass>],
    options: &Options,
) -> Result<Report, OptimizeError> {
    if options.validate {
        let errors = graph.validate();
        if !errors.is_empty() {
            return Err(OptimizeError::InvalidInput { errors });
        }
    }
    let mut budget = match options.max_rewrites {
        Some(limit) => RewriteBudget::limited(limit),
        None => RewriteBudget::unlimited(),
    };
    let mut report = Report {
        rewrites: passes.iter().map(|pass| (pass.name(), 0)).collect(),
        ..Report::default()
    };
    while report.rounds < MAX_ROUNDS {
        report.rounds += 1;
        let mut changed = false;
        for (index, pass) in passes.iter().enumerate() {
            let before = budget.used();
            changed |= pass.run_within(graph, &mut budget);
            report.rewrites[index].1 += budget.used() - before;
            if options.validate {
                let errors = graph.validate();
                if !errors.is_empty() {
                    return Err(OptimizeError::InvalidAfterPass {
                        pass: pass.name(),
                        rewrites: budget.used(),
                        errors,
                    });
                }
            }
            if budget.refused() {
                report.stopped_early = true;
                return Ok(report);
            }
        }
        if !changed {
            return Ok(report);
        }
    }
    Err(OptimizeError::NoFixedPoint {
        rounds: report.rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compile, f32, typed};
    use super::super::DeadTensors;
    use super::*;
    use crate::graph::ops::{Elementwise, Store};
    use crate::graph::{NodeKind, OutputId};
    use crate::tensor::{DType, TensorType};

    const PLAN: &str = r#"
input "m"
output "out"
x = a * 0.5
y = clamp(x, min=-1, max=1)
z = b::[0:2]
del a
del x
del c
"#;

    fn tensors() -> Vec<(&'static str, TensorType)> {
        vec![("a", f32(&[4, 2])), ("b", f32(&[4, 2])), ("c", f32(&[3]))]
    }

    #[test]
    fn the_pipeline_reaches_a_fixed_point_and_reports_each_pass() {
        let mut graph = compile(PLAN, &tensors());
        let report = optimize(&mut graph, &Options::default()).expect("optimizes");
        assert!(!report.stopped_early);
        // The deleted `c` is never loaded, scale+clamp become one node, the slice of `b` is a
        // byte view, and the stores of `b` and `z` copy bytes.
        assert_eq!(report.of("dead_tensors"), 1);
        assert_eq!(report.of("fusion"), 1);
        assert_eq!(report.of("view_folding"), 1);
        assert_eq!(report.of("passthrough"), 2);
        assert_eq!(
            graph.to_text(),
            "n0 = load model::a : F32 [4, 2]\n\
             n1 = load model::b : F32 [4, 2]\n\
             n4 = fused(n0) shape=[4,2] program=s0=scale(in0) by=0.5; s1=clamp(s0) min=-1.0 max=1.0 : F32 [4, 2]\n\
             n5 = view(n1) byte_offset=0 shape=[2,2] : F32 [2, 2]\n\
             n6 = store(n1) #0 model::b copy_bytes : F32 [4, 2]\n\
             n7 = store(n4) #0 model::y : F32 [4, 2]\n\
             n8 = store(n5) #0 model::z copy_bytes : F32 [2, 2]\n"
        );
        assert!(graph.validate().is_empty());
        // Running again finds nothing: the result is a fixed point.
        let again = optimize(&mut graph, &Options::default()).expect("optimizes");
        assert_eq!(again.total(), 0);
        assert_eq!(again.rounds, 1);
    }

    #[test]
    fn max_rewrites_stops_early_and_every_prefix_is_valid() {
        let mut full = compile(PLAN, &tensors());
        let total = optimize(&mut full, &Options::default())
            .expect("optimizes")
            .total();
        for limit in 0..total {
            let mut graph = compile(PLAN, &tensors());
            let options = Options {
                max_rewrites: Some(limit),
                ..Options::default()
            };
            let report = optimize(&mut graph, &options).expect("every prefix is valid");
            assert!(report.stopped_early, "limit {limit}");
            assert_eq!(report.total(), limit);
        }
        let mut graph = compile(PLAN, &tensors());
        let options = Options {
            max_rewrites: Some(total),
            ..Options::default()
        };
        let report = optimize(&mut graph, &options).expect("optimizes");
        assert!(!report.stopped_early);
        assert_eq!(report.total(), total);
    }

    #[test]
    fn options_none_leaves_the_graph_as_compiled() {
        let mut graph = compile(PLAN, &tensors());
        let before = graph.to_json(None);
        let report = optimize(&mut graph, &Options::none()).expect("nothing to do");
        assert_eq!(report.total(), 0);
        assert_eq!(graph.to_json(None), before);
    }

    #[test]
    fn options_without_fusion_keep_every_elementwise_node() {
        let mut graph = compile(PLAN, &tensors());
        let options = Options {
            fuse: false,
            ..Options::default()
        };
        optimize(&mut graph, &options).expect("optimizes");
        let kinds: Vec<&'static str> = graph
            .node_ids()
            .into_iter()
            .filter_map(|id| graph.node(id).map(|node| node.kind.name()))
            .collect();
        assert!(kinds.contains(&"scale") && kinds.contains(&"clamp"));
        assert!(!kinds.contains(&"fused"));
    }

    /// A deliberately broken pass: it retypes the store of `b` as F16 without a cast.
    struct Retype;

    impl Pass for Retype {
        fn name(&self) -> &'static str {
            "retype"
        }

        fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool {
            let Some(store) = graph.node_ids().into_iter().find(|&id| {
                matches!(graph.node(id).map(|n| &n.kind), Some(NodeKind::Store(s)) if s.name == "b")
            }) else {
                return false;
            };
            let retyped = typed(DType::F16, &[4, 2]);
            if graph.type_of(store) == Some(&retyped) || !budget.take() {
                return false;
            }
            let inputs = graph.inputs(store);
            let kind = NodeKind::Store(Store::new(OutputId::from_index(0), "b"));
            graph.replace_node(store, kind, Some(retyped), &inputs)
        }
    }

    #[test]
    fn a_pass_that_breaks_the_graph_is_named() {
        let mut graph = compile(PLAN, &tensors());
        let passes: Vec<Box<dyn Pass>> = vec![Box::new(DeadTensors), Box::new(Retype)];
        let error = run_passes(&mut graph, &passes, &Options::default()).unwrap_err();
        match &error {
            OptimizeError::InvalidAfterPass { pass, errors, .. } => {
                assert_eq!(*pass, "retype");
                assert_eq!(errors.len(), 1);
            }
            other => panic!("expected the retype pass to be blamed, got {other:?}"),
        }
        assert!(error.to_string().contains("`retype`"));
    }

    #[test]
    fn an_invalid_input_is_not_blamed_on_a_pass() {
        let mut graph = compile(PLAN, &tensors());
        let store = graph
            .node_ids()
            .into_iter()
            .find(|&id| matches!(graph.node(id).map(|n| &n.kind), Some(NodeKind::Store(_))))
            .expect("a store");
        let inputs = graph.inputs(store);
        graph.replace_node(
            store,
            NodeKind::Elementwise(Elementwise::Add),
            graph.type_of(store).cloned(),
            &inputs,
        );
        assert!(matches!(
            optimize(&mut graph, &Options::default()),
            Err(OptimizeError::InvalidInput { .. })
        ));
    }
}
