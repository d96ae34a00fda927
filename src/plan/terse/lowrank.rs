//! The LoRA statements of the terse syntax: `A, B = lora_extract(TUNED, BASE, rank=…, energy=…)`
//! (or `lora_extract(TUNED, BASE, rank=…)` alone, for PEFT's factor names) and
//! `lora_merge_(TARGET, A, B, alpha=…)`, and the SVD arguments the low-rank calls share
//! (`method=`, `oversampling=`, `power_iterations=`, `seed=`).
//!
//! Receives the call's pest pairs; returns the same [`Op`]s as the YAML front end (`BASE`, `A`
//! and `B` are templates of `TUNED`; `A` and `B` of `TARGET` in the merge), checked by the same
//! shared rules, or every diagnostic found.

use super::calls::{call_parts, Destinations};
use super::creation::{rank, rank_missing};
use super::diagnostics;
use super::grammar::Rule;
use super::tensor_ref::{parse_reference, Role};
use super::values::{
    argument_parts, finish, keep, parse_choice, parse_number, parse_unsigned, Builder, Parsed,
    SeenArguments,
};
use crate::diagnostics::{Diagnostic, Span};
use crate::plan::ast::{LoraExtract, LoraMerge, Op, SvdOptions};
use crate::plan::rules::{self, Syntax};
use pest::iterators::Pair;

/// `A, B = lora_extract(TUNED, BASE, rank=…, energy=…)`.
pub(super) fn lora_extract(
    builder: &Builder,
    arguments: &[Pair<'_, Rule>],
    destinations: &Destinations<'_>,
    keyword_span: Span,
) -> Parsed<Op> {
    let op = "lora_extract";
    let mut errors = Vec::new();
    let tuned = arguments.first().and_then(|pair| {
        keep(
            parse_reference(builder, pair.clone(), Role::source(op, "tuned")),
            &mut errors,
        )
    });
    let template = |pair: &Pair<'_, Rule>, role: &'static str, errors: &mut Vec<_>| {
        keep(
            parse_reference(
                builder,
                pair.clone(),
                Role::template(op, role, tuned.as_ref()),
            ),
            errors,
        )
    };
    let base = arguments
        .get(1)
        .and_then(|pair| template(pair, "base", &mut errors));
    // Written without destinations, the factors get PEFT's names (`Some(None)`).
    let factors = match destinations.pairs.as_slice() {
        [] => Some(None),
        [a, b] => {
            let a = template(a, "target_a", &mut errors);
            let b = template(b, "target_b", &mut errors);
            a.zip(b).map(Some)
        }
        pairs => {
            errors.push(diagnostics::destination_count(
                op,
                "two factors (A, B), or none for PEFT's names",
                pairs.len(),
                destinations.span,
            ));
            None
        }
    };
    if let Some(Some((a, b))) = &factors {
        keep(rules::distinct_factors(a, b), &mut errors);
    }
    let mut seen = SeenArguments::default();
    let (mut rank_value, mut energy) = (None, None);
    let mut svd = SvdOptions::default();
    for argument in arguments.iter().skip(2) {
        let (name, value) = argument_parts(argument.clone());
        if keep(seen.record(name.as_str(), builder.span(&name)), &mut errors).is_none() {
            continue;
        }
        if argument.as_rule() == Rule::rank_argument {
            rank_value = keep(rank(builder, argument.clone()), &mut errors);
        } else if svd_argument(builder, argument, &mut svd, &mut errors) {
            continue;
        } else if let Some(value) = value {
            energy = keep(parse_number(builder, value), &mut errors);
            if let Some(energy) = &energy {
                keep(rules::energy_fraction(energy), &mut errors);
            }
        }
    }
    keep(rules::svd_options(Syntax::Terse, op, &svd), &mut errors);
    let rank_written = arguments
        .iter()
        .any(|argument| argument.as_rule() == Rule::rank_argument);
    if !rank_written {
        errors.push(rank_missing(op, keyword_span));
    }
    let result = match (tuned, base, factors, rank_value) {
        (Some(tuned), Some(base), Some(factors), Some(rank)) => {
            Some(Op::LoraExtract(LoraExtract {
                tuned,
                base,
                factors,
                rank,
                energy,
                svd,
            }))
        }
        _ => None,
    };
    finish(result, errors)
}

/// `lora_extract(TUNED, BASE, rank=…)` written alone: the factors get PEFT's names.
pub(super) fn lora_extract_statement(
    builder: &Builder,
    call: Pair<'_, Rule>,
) -> Parsed<(Op, Span)> {
    let (_, keyword_span, arguments) = call_parts(builder, call)?;
    let destinations = Destinations {
        pairs: Vec::new(),
        span: keyword_span,
    };
    let op = lora_extract(builder, &arguments, &destinations, keyword_span)?;
    Ok((op, keyword_span))
}

/// `lora_merge_(TARGET, A, B, alpha=…)`.
pub(super) fn lora_merge(builder: &Builder, call: Pair<'_, Rule>) -> Parsed<(Op, Span)> {
    let op = "lora_merge";
    let (_, keyword_span, arguments) = call_parts(builder, call)?;
    let [target, a, b, alpha] = arguments.as_slice() else {
        return Err(diagnostics::unexpected_tree(keyword_span).into());
    };
    let mut errors = Vec::new();
    let target = keep(
        parse_reference(builder, target.clone(), Role::source(op, "target")),
        &mut errors,
    );
    let mut template = |pair: &Pair<'_, Rule>, role: &'static str| {
        keep(
            parse_reference(
                builder,
                pair.clone(),
                Role::template(op, role, target.as_ref()),
            ),
            &mut errors,
        )
    };
    let (lora_a, lora_b) = (template(a, "lora_a"), template(b, "lora_b"));
    let alpha = match argument_parts(alpha.clone()) {
        (_, Some(value)) => keep(parse_number(builder, value), &mut errors),
        (name, None) => {
            errors.push(diagnostics::unexpected_tree(builder.span(&name)));
            None
        }
    };
    if let Some(alpha) = &alpha {
        keep(rules::finite_alpha(alpha), &mut errors);
    }
    let result = match (target, lora_a, lora_b, alpha) {
        (Some(target), Some(lora_a), Some(lora_b), Some(alpha)) => Some(Op::LoraMerge(LoraMerge {
            target,
            lora_a,
            lora_b,
            alpha,
        })),
        _ => None,
    };
    finish(result.map(|op| (op, keyword_span)), errors)
}

/// Reads `argument` into `svd` when it is an SVD argument (`method=`, `oversampling=`,
/// `power_iterations=`, `seed=`), recording a bad value in `errors`; `false` for any other
/// argument. The caller checks the finished options with [`rules::svd_options`].
pub(super) fn svd_argument(
    builder: &Builder,
    argument: &Pair<'_, Rule>,
    svd: &mut SvdOptions,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    let rule = argument.as_rule();
    let (_, value) = argument_parts(argument.clone());
    let Some(value) = value else {
        return matches!(
            rule,
            Rule::method_argument
                | Rule::oversampling_argument
                | Rule::power_iterations_argument
                | Rule::seed_argument
        );
    };
    let count = |what: &str, errors: &mut Vec<Diagnostic>| {
        keep(parse_unsigned(builder, value.clone(), what, false), errors)
    };
    match rule {
        Rule::method_argument => {
            svd.method = keep(
                parse_choice(builder, value.clone(), "SVD method", &rules::SVD_METHODS),
                errors,
            );
        }
        Rule::oversampling_argument => svd.oversampling = count("`oversampling`", errors),
        Rule::power_iterations_argument => {
            svd.power_iterations = count("`power_iterations`", errors)
        }
        Rule::seed_argument => svd.seed = count("`seed`", errors),
        _ => return false,
    }
    true
}
