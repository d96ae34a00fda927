//! Plans: the spanned AST ([`ast`]) and its two front ends, BrainSurgery-compatible YAML ([`yaml`])
//! and the terse pest syntax ([`terse`]), which lower to the same AST. [`reference`] parses and
//! validates tensor references (regex and structured patterns, slices, back-reference templates)
//! for both, and [`rules`] holds the semantic rules of op arguments that both check;
//! [`diagnostics`] holds one constructor per plan error. [`comments`] attaches a source's
//! comments to the statements of its plan, which is how `fmt` keeps them.

pub mod ast;
pub mod comments;
pub mod diagnostics;
pub mod reference;
pub mod rules;
pub mod terse;
pub mod yaml;
