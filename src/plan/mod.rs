//! Plans: the spanned AST and its two front ends (YAML, terse).
