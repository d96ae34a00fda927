//! The terse plan syntax (`.bs` files): a pest grammar (`grammar/plan.pest`) with one statement
//! per line, arithmetic written as expressions and patterns written as patterns, lowering to the
//! same AST as the YAML front end. `docs/language.md` is its user-facing reference.
//!
//! Receives a source of a [`SourceMap`]; [`parse_terse`] returns the [`Plan`] or every diagnostic
//! of the file (each line is parsed on its own, so one bad line hides nothing else), each pointing
//! at file:line:column. [`print_terse`] prints any plan in canonical terse form, and
//! [`print_terse_with`] prints it with the comments [`crate::plan::comments`] collected (which
//! finds a terse source's comments with [`comments::comments`]).
//!
//! **Guarantees.** Never panics, whatever the input. Syntax errors name what was expected in the
//! user's words, never a grammar rule. One statement is one step, so printing a plan and parsing
//! the text gives an equal plan (AST equality ignores spans), and so does YAML → terse → YAML.
//! References, slices, regexes, templates and argument values are validated by the same functions
//! as in YAML ([`crate::plan::reference`], [`crate::plan::rules`]), so both syntaxes accept and
//! refuse the same plans.
//!
//! Submodules, in pipeline order: [`grammar`] (the generated parser and the user-facing name of
//! every rule), [`syntax_error`], `plan` (lines, blocks, declarations), `statements`, `session`,
//! `expression` (Pratt parser, lowering of `=` and `<-`), `calls`, `creation`, `assertion`, `tensor_ref`,
//! `values`, [`diagnostics`] (E03xx), [`printer`], and [`comments`]. The semantic rules of op arguments are
//! the YAML front end's too, in [`crate::plan::rules`].

mod assertion;
mod calls;
pub mod comments;
mod creation;
pub mod diagnostics;
mod expression;
pub mod grammar;
mod lowrank;
mod plan;
pub mod printer;
mod session;
mod statements;
pub mod syntax_error;
mod tensor_ref;
mod values;

pub use self::printer::{print_terse, print_terse_with};

use crate::diagnostics::{Diagnostic, SourceId, SourceMap};
use crate::plan::ast::Plan;
use crate::plan::reference::AliasScope;

/// Parses the terse plan held by source `id`. An unknown id is an empty plan.
pub fn parse_terse(sources: &mut SourceMap, id: SourceId) -> Result<Plan, Vec<Diagnostic>> {
    let Some(source) = sources.get(id) else {
        return Ok(Plan::default());
    };
    let text = source.text.clone();
    plan::parse_plan(id, &text)
}

/// Parses the terse text held by source `id` as a fragment of a plan whose inputs are already
/// known: unqualified references mean `scope`'s default alias (the REPL's entries). A fragment
/// that declares inputs of its own gets their scope instead, as a plan file would.
pub fn parse_terse_in_scope(
    sources: &SourceMap,
    id: SourceId,
    scope: &AliasScope,
) -> Result<Plan, Vec<Diagnostic>> {
    let Some(source) = sources.get(id) else {
        return Ok(Plan::default());
    };
    let text = source.text.clone();
    plan::parse_plan_in_scope(id, &text, scope.clone())
}
