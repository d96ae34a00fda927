//! Rules on the SVD options of the low-rank ops (`phlora`, `phlora_`, `lora_extract`), ours.
//!
//! Receives the parsed [`SvdOptions`] of one step; returns `Ok` or every diagnostic. `method` is
//! `exact` (the default) or `randomized`; `oversampling`, `power_iterations` and `seed` tune the
//! randomized SVD and are refused with any other method, so that a plan never carries a setting
//! that silently does nothing. Power iterations are capped: each one costs two passes over the
//! matrix, and past a handful the error bound no longer moves (`docs/lowrank.md`).

use super::{all, Checked, Syntax};
use crate::plan::ast::{Spanned, SvdMethodName, SvdOptions};
use crate::plan::diagnostics;

/// The words `method` accepts.
pub const SVD_METHODS: [(&str, SvdMethodName); 2] = [
    ("exact", SvdMethodName::Exact),
    ("randomized", SvdMethodName::Randomized),
];

/// The most power iterations a plan may ask for.
pub const MAX_POWER_ITERATIONS: u64 = 32;

/// `oversampling`, `power_iterations` and `seed` only with `method: randomized`; at most
/// [`MAX_POWER_ITERATIONS`] power iterations.
pub fn svd_options(syntax: Syntax, op: &str, svd: &SvdOptions) -> Checked {
    let randomized = svd
        .method
        .as_ref()
        .is_some_and(|method| method.node == SvdMethodName::Randomized);
    let mut errors = Vec::new();
    if !randomized {
        let settings = [
            ("oversampling", svd.oversampling.as_ref().map(|s| s.span)),
            (
                "power_iterations",
                svd.power_iterations.as_ref().map(|s| s.span),
            ),
            ("seed", svd.seed.as_ref().map(|s| s.span)),
        ];
        for (key, span) in settings {
            let Some(span) = span else { continue };
            let mut diagnostic = diagnostics::invalid_argument(
                &format!("{op} `{key}` applies only to the randomized SVD"),
                "needs the randomized method",
                span,
                &format!(
                    "add {} or remove `{key}`",
                    syntax.argument("method", "randomized")
                ),
            );
            if let Some(method) = &svd.method {
                diagnostic = diagnostic.with_label(method.span, "the exact SVD is chosen here");
            }
            errors.push(diagnostic);
        }
    }
    if let Some(Spanned { node, span }) = &svd.power_iterations {
        if *node > MAX_POWER_ITERATIONS {
            errors.push(diagnostics::invalid_argument(
                &format!(
                    "{op} `power_iterations` is {node}, above the limit of {MAX_POWER_ITERATIONS}"
                ),
                "too many power iterations",
                *span,
                "each iteration costs two passes over the matrix; 1 to 4 is usual (default 2)",
            ));
        }
    }
    all(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{SourceId, Span};

    fn spanned<T>(node: T, from: usize) -> Option<Spanned<T>> {
        Some(Spanned::new(node, Span::new(SourceId(0), from, from + 1)))
    }

    #[test]
    fn randomized_settings_need_the_randomized_method() {
        let mut svd = SvdOptions {
            oversampling: spanned(4, 10),
            seed: spanned(7, 20),
            ..SvdOptions::default()
        };
        let errors = svd_options(Syntax::Yaml, "phlora", &svd).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("`oversampling` applies only"));
        assert!(errors[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`method: randomized`")));
        svd.method = spanned(SvdMethodName::Exact, 0);
        assert_eq!(
            svd_options(Syntax::Terse, "phlora", &svd)
                .unwrap_err()
                .len(),
            2
        );
        svd.method = spanned(SvdMethodName::Randomized, 0);
        assert!(svd_options(Syntax::Yaml, "phlora", &svd).is_ok());
    }

    #[test]
    fn power_iterations_are_capped() {
        let mut svd = SvdOptions {
            method: spanned(SvdMethodName::Randomized, 0),
            power_iterations: spanned(MAX_POWER_ITERATIONS, 5),
            ..SvdOptions::default()
        };
        assert!(svd_options(Syntax::Yaml, "phlora_", &svd).is_ok());
        svd.power_iterations = spanned(MAX_POWER_ITERATIONS + 1, 5);
        let errors = svd_options(Syntax::Yaml, "phlora_", &svd).unwrap_err();
        assert!(errors[0].message.contains("above the limit"));
    }
}
