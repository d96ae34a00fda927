//! Builders for hand-written plan ASTs and the example checkpoint's header, shared by the
//! compiler's integration tests.
//!
//! Every node gets a distinct span (a running counter), so tests can check which span a
//! diagnostic points at. References are written as text: `alias::pattern`, with slices and
//! structured tokens through their own builders.

#![allow(dead_code)]

use std::cell::Cell;

use brainsurgery::compile::{CompileSession, HeaderSource, InputHeaders, MemoryHeaders};
use brainsurgery::diagnostics::{Diagnostic, SourceId, Span};
use brainsurgery::plan::ast::*;
use brainsurgery::tensor::{DType, Shape, TensorType};

thread_local! {
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

/// A fresh span, distinct from every other one in this test thread.
pub fn span() -> Span {
    NEXT.with(|next| {
        let start = next.get();
        next.set(start + 10);
        Span::new(SourceId(0), start, start + 5)
    })
}

pub fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, span())
}

/// `alias::pattern` or `pattern` as a regex reference.
pub fn r(text: &str) -> Spanned<TensorRef> {
    let (alias, pattern) = match text.split_once("::") {
        Some((alias, pattern)) => (Some(sp(alias.to_string())), pattern),
        None => (None, text),
    };
    sp(TensorRef {
        alias,
        pattern: sp(Pattern::Regex(pattern.to_string())),
        slice: None,
    })
}

/// A reference with a slice.
pub fn sliced(text: &str, components: Vec<SliceComponent>) -> Spanned<TensorRef> {
    let mut reference = r(text);
    reference.node.slice = Some(sp(Slice(components)));
    reference
}

pub fn all() -> SliceComponent {
    SliceComponent::Range {
        start: None,
        stop: None,
        step: None,
    }
}

pub fn range(start: Option<i64>, stop: Option<i64>) -> SliceComponent {
    SliceComponent::Range {
        start,
        stop,
        step: None,
    }
}

/// A structured reference from token texts: `$x`, `*xs`, `~REGEX`, `~x::REGEX`, `${x}` inside a
/// segment, or a literal.
pub fn structured(tokens: &[&str]) -> Spanned<TensorRef> {
    let tokens = tokens.iter().map(|t| sp(token(t))).collect();
    sp(TensorRef {
        alias: None,
        pattern: sp(Pattern::Structured(tokens)),
        slice: None,
    })
}

fn token(text: &str) -> StructuredToken {
    if let Some(rest) = text.strip_prefix('~') {
        return match rest.split_once("::") {
            Some((names, regex)) => StructuredToken::Regex {
                names: names.split(',').map(str::to_string).collect(),
                regex: regex.to_string(),
            },
            None => StructuredToken::Regex {
                names: Vec::new(),
                regex: rest.to_string(),
            },
        };
    }
    if let Some(name) = text.strip_prefix('*') {
        return StructuredToken::Splat(name.to_string());
    }
    if text.contains("${") {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(TemplatePart::Text(rest[..start].to_string()));
            }
            let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
            parts.push(TemplatePart::Variable(rest[start + 2..end].to_string()));
            rest = &rest[(end + 1).min(rest.len())..];
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest.to_string()));
        }
        return StructuredToken::Template(parts);
    }
    if let Some(name) = text.strip_prefix('$') {
        return StructuredToken::Bind(name.to_string());
    }
    StructuredToken::Literal(text.to_string())
}

pub fn step(op: Op) -> Spanned<Step> {
    sp(Step {
        keyword: sp(op.name().to_string()),
        op,
    })
}

pub fn copy(from: Spanned<TensorRef>, to: Spanned<TensorRef>) -> Spanned<Step> {
    step(Op::Copy(Mapping { from, to }))
}

pub fn move_(from: Spanned<TensorRef>, to: Spanned<TensorRef>) -> Spanned<Step> {
    step(Op::Move(Mapping { from, to }))
}

pub fn delete(target: Spanned<TensorRef>) -> Spanned<Step> {
    step(Op::Delete(Unary { target }))
}

pub fn assert_step(expression: AssertExpr) -> Spanned<Step> {
    step(Op::Assert(sp(expression)))
}

pub fn f32(dims: &[u64]) -> TensorType {
    TensorType::new(DType::F32, Shape::new(dims.to_vec()))
}

/// The bundled example's header: GPT-2 names, two layers, hidden size 8, all F32.
pub fn gpt2_tiny() -> Vec<(String, TensorType)> {
    let mut tensors = vec![
        ("wte.weight".to_string(), f32(&[64, 8])),
        ("wpe.weight".to_string(), f32(&[16, 8])),
    ];
    for layer in 0..2 {
        let per_layer: [(&str, &[u64]); 12] = [
            ("ln_1.weight", &[8]),
            ("ln_1.bias", &[8]),
            ("attn.c_attn.weight", &[8, 24]),
            ("attn.c_attn.bias", &[24]),
            ("attn.c_proj.weight", &[8, 8]),
            ("attn.c_proj.bias", &[8]),
            ("ln_2.weight", &[8]),
            ("ln_2.bias", &[8]),
            ("mlp.c_fc.weight", &[8, 32]),
            ("mlp.c_fc.bias", &[32]),
            ("mlp.c_proj.weight", &[32, 8]),
            ("mlp.c_proj.bias", &[8]),
        ];
        for (suffix, dims) in per_layer {
            tensors.push((format!("h.{layer}.{suffix}"), f32(dims)));
        }
    }
    tensors.push(("ln_f.weight".to_string(), f32(&[8])));
    tensors.push(("ln_f.bias".to_string(), f32(&[8])));
    tensors
}

pub const MODEL_PATH: &str = "models/gpt2-tiny/model.safetensors";

/// Headers for the example under [`MODEL_PATH`] and a second file `other.safetensors`.
pub fn headers() -> MemoryHeaders {
    MemoryHeaders::new()
        .with_file(MODEL_PATH, gpt2_tiny())
        .with_file(
            "single.safetensors",
            vec![("only".to_string(), f32(&[8, 8]))],
        )
}

/// A session with the example loaded as `alias`.
pub fn session_with<'a>(headers: &'a dyn HeaderSource, aliases: &[&str]) -> CompileSession<'a> {
    let inputs = aliases
        .iter()
        .map(|alias| InputHeaders {
            alias: alias.to_string(),
            path: MODEL_PATH.to_string(),
            span: Some(span()),
            tensors: gpt2_tiny(),
        })
        .collect();
    CompileSession::new(inputs, headers)
}

/// The codes of a list of diagnostics.
pub fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code).collect()
}

/// The type bound to `alias::name` in a session.
pub fn type_in(session: &CompileSession, alias: &str, name: &str) -> Option<TensorType> {
    session
        .tensors(alias)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, ty)| ty.clone())
}
