//! Optimize: rewrites of a checked [`PlanGraph`] that leave every stored tensor's bytes exactly as
//! they were, while reading, copying and materializing less.
//!
//! It receives a valid graph and [`Options`], rewrites the graph in place and returns a [`Report`]
//! of the rewrites each pass made. One pass is one file with one name ([`Pass`]):
//! [`DeadTensors`] (drop what no store or sink needs), [`ViewFolding`] (contiguous slices and
//! reshapes of a load become byte-range views), [`Fusion`] (elementwise trees become one streaming
//! node) and [`ZeroCopyPassthrough`] (stores of input bytes copy them undecoded). [`optimize`] runs
//! them in that order, round after round, until a whole round changes nothing.
//!
//! **Invariants**: with [`Options::validate`] (the default in tests and debug builds) the graph is
//! re-validated before the first pass and after every pass run, and a broken graph is reported as
//! an [`OptimizeError`] naming the pass that broke it. [`Options::max_rewrites`] stops the
//! pipeline after that many rewrites (each pass spends one per site it rewrites), so a bad rewrite
//! can be found by bisecting N.

mod dead_tensors;
mod fusion;
mod passthrough;
mod view_folding;

#[cfg(test)]
mod test_support;

use std::fmt;

use crate::graph::{PlanGraph, ValidationError};

pub use dead_tensors::DeadTensors;
pub use fusion::Fusion;
pub use passthrough::ZeroCopyPassthrough;
pub use view_folding::ViewFolding;

/// A round limit far above what the passes need (each round either rewrites something or ends
/// the pipeline, and rewrites only shrink the graph or relabel nodes), so hitting it means a pass
/// keeps reporting changes it does not make.
const MAX_ROUNDS: usize = 64;

/// One graph rewrite rule.
pub trait Pass {
    /// The pass's name in reports and errors.
    fn name(&self) -> &'static str;

    /// Applies the rewrites this pass finds, taking one unit of `budget` before each; stops when
    /// the budget refuses. Returns whether the graph changed.
    fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool;

    /// Applies every rewrite this pass finds; returns whether the graph changed.
    fn run(&self, graph: &mut PlanGraph) -> bool {
        self.run_within(graph, &mut RewriteBudget::unlimited())
    }
}

/// How many rewrites the passes may still make.
#[derive(Debug, Clone, Default)]
pub struct RewriteBudget {
    limit: Option<usize>,
    used: usize,
    refused: bool,
}

impl RewriteBudget {
    pub fn unlimited() -> RewriteBudget {
        RewriteBudget::default()
    }

    pub fn limited(limit: usize) -> RewriteBudget {
        RewriteBudget {
            limit: Some(limit),
            ..RewriteBudget::default()
        }
    }

    /// Takes one rewrite; `false` when the budget is spent (the pass must not rewrite).
    pub fn take(&mut self) -> bool {
        if self.limit.is_some_and(|limit| self.used >= limit) {
            self.refused = true;
            return false;
        }
        self.used += 1;
        true
    }

    /// Rewrites taken so far.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Whether a pass wanted to rewrite but the budget refused.
    pub fn refused(&self) -> bool {
        self.refused
    }
}

/// Which passes run, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub dead_tensors: bool,
    pub fold_views: bool,
    /// Elementwise fusion (`run --no-fuse` turns it off to compare fused and unfused results).
    pub fuse: bool,
    pub zero_copy: bool,
    /// Stop after this many rewrites (bisecting a bad rewrite); `None` runs to the fixed point.
    pub max_rewrites: Option<usize>,
    /// Re-validate the graph after every pass run.
    pub validate: bool,
}

impl Default for Options {
    /// Every pass, to the fixed point, validated in debug builds (tests included).
    fn default() -> Options {
        Options {
            dead_tensors: true,
            fold_views: true,
            fuse: true,
            zero_copy: true,
            max_rewrites: None,
            validate: cfg!(debug_assertions),
        }
    }
}

impl Options {
    /// No pass at all: the graph stays as compiled.
    pub fn none() -> Options {
        Options {
            dead_tensors: false,
            fold_views: false,
            fuse: false,
            zero_copy: false,
            ..Options::default()
        }
    }
}

/// The passes `options` enables, in pipeline order: dead nodes go first so later passes see only
/// live ones, views are folded before fusion so fused nodes read byte views, and passthrough comes
/// last because view folding is what turns sliced inputs into input bytes.
pub fn passes(options: &Options) -> Vec<Box<dyn Pass>> {
    let mut passes: Vec<Box<dyn Pass>> = Vec::new();
    if options.dead_tensors {
        passes.push(Box::new(DeadTensors));
    }
    if options.fold_views {
        passes.push(Box::new(ViewFolding));
    }
    if options.fuse {
        passes.push(Box::new(Fusion));
    }
    if options.zero_copy {
        passes.push(Box::new(ZeroCopyPassthrough));
    }
    passes
}

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
    /// Passes kept reporting changes for [`MAX_ROUNDS`] rounds.
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
    use super::test_support::{compile, f32, typed};
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
