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
mod pipeline;
mod view_folding;

#[cfg(test)]
mod test_support;

use crate::graph::PlanGraph;

pub use dead_tensors::DeadTensors;
pub use fusion::Fusion;
pub use passthrough::ZeroCopyPassthrough;
pub use pipeline::{optimize, run_passes, OptimizeError, Report};
pub use view_folding::ViewFolding;

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
