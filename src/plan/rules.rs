//! The semantic rules of op arguments, shared by both front ends.
//!
//! Receives arguments that a front end has already parsed into AST values (with their spans), so
//! nothing here knows about YAML nodes or pest pairs; returns `Ok(())` or the diagnostics of every
//! broken rule, built with the constructors of [`crate::plan::diagnostics`] (codes E01xx, E02xx).
//! Each front end calls these functions where it reads the argument and keeps only what is truly
//! syntax-specific (key names, list forms, duplicate arguments, YAML key aliases).
//!
//! **Guarantee.** A plan that breaks one of these rules is refused by the YAML and the terse front
//! end alike, with the same code, message and span; only help lines differ where they spell an
//! argument, through [`Syntax`] (`min: …` in YAML, `min=…` in the terse syntax).
//!
//! Submodules: [`references`] (which references of which op may be sliced, and how a destination
//! must agree with its source), [`values`] (reshape shapes, permutations, clamp bounds,
//! distributions, fill values, split and concat counts, tolerances, assertion bounds, PHLoRA factor
//! names), [`lowrank`] (the SVD options of the low-rank ops) and [`session`] (`load`/`save` option conflicts, paths, aliases, the format words each
//! accepts).

pub mod lowrank;
pub mod references;
pub mod session;
pub mod values;

pub use self::lowrank::{svd_options, SVD_METHODS};
pub use self::references::{check_relation, check_slice, slice_allowed, Relation};
pub use self::session::{
    distinct_aliases, load_format, non_empty_path, save_conflict, DUMP_FORMATS, DUMP_VERBOSITIES,
    LOAD_FORMATS, OUTPUT_FORMATS, SAVE_FORMATS,
};
pub use self::values::{
    at_least, bounds, clamp_bounds, distinct_factors, distribution, energy_fraction, eps,
    finite_alpha, permutation, rectangular, reshape_shape, split_sizes,
};

use crate::diagnostics::Diagnostic;

/// What a rule returns: nothing, or every diagnostic of what it found wrong.
pub type Checked = Result<(), Vec<Diagnostic>>;

/// The syntax a plan is written in, for help lines that show how to write an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Terse,
}

impl Syntax {
    /// An argument as the user writes it, backticked: `` `min: …` `` in YAML, `` `min=…` `` in the
    /// terse syntax.
    pub fn argument(self, key: &str, value: &str) -> String {
        match self {
            Syntax::Yaml => format!("`{key}: {value}`"),
            Syntax::Terse => format!("`{key}={value}`"),
        }
    }
}

/// `Ok` when `errors` is empty, else all of them.
fn all(errors: Vec<Diagnostic>) -> Checked {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_spelled_in_each_syntax() {
        assert_eq!(Syntax::Yaml.argument("min", "…"), "`min: …`");
        assert_eq!(Syntax::Terse.argument("to", "<name>"), "`to=<name>`");
    }
}
