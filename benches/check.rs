//! Benchmark: `check` of a plan touching every tensor of a synthetic 1,000-layer checkpoint
//! header (10,004 tensors). Target: under 100 ms per check in a release build.
//!
//! It builds the header set in memory (no files: `check` reads headers only, and opening files
//! is the storage layer's cost, not the compiler's), then times the whole check pipeline —
//! compilation of every step, output stores, the memory estimate and the summary — and prints
//! the minimum and median of several runs. Run with `cargo bench --bench check`.

use std::time::{Duration, Instant};

use brainsurgery::compile::{compile_plan, memory, summary, MemoryHeaders};
use brainsurgery::diagnostics::{SourceId, Span};
use brainsurgery::plan::ast::*;
use brainsurgery::tensor::{DType, Shape, TensorType};

const LAYERS: usize = 1000;
const HIDDEN: u64 = 64;
const PATH: &str = "synthetic.safetensors";

fn spanned<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::new(SourceId(0), 0, 1))
}

fn reference(pattern: &str) -> Spanned<TensorRef> {
    spanned(TensorRef {
        alias: None,
        pattern: spanned(Pattern::Regex(pattern.to_string())),
        slice: None,
    })
}

fn step(op: Op) -> Spanned<Step> {
    spanned(Step {
        keyword: spanned(op.name().to_string()),
        op,
    })
}

fn headers() -> Vec<(String, TensorType)> {
    let f32 = |dims: &[u64]| TensorType::new(DType::F32, Shape::new(dims.to_vec()));
    let mut tensors = vec![
        ("wte.weight".to_string(), f32(&[512, HIDDEN])),
        ("wpe.weight".to_string(), f32(&[128, HIDDEN])),
        ("ln_f.weight".to_string(), f32(&[HIDDEN])),
        ("ln_f.bias".to_string(), f32(&[HIDDEN])),
    ];
    for layer in 0..LAYERS {
        let per_layer: [(&str, Vec<u64>); 10] = [
            ("ln_1.weight", vec![HIDDEN]),
            ("ln_1.bias", vec![HIDDEN]),
            ("attn.c_attn.weight", vec![HIDDEN, 3 * HIDDEN]),
            ("attn.c_attn.bias", vec![3 * HIDDEN]),
            ("attn.c_proj.weight", vec![HIDDEN, HIDDEN]),
            ("attn.c_proj.bias", vec![HIDDEN]),
            ("mlp.c_fc.weight", vec![HIDDEN, 4 * HIDDEN]),
            ("mlp.c_fc.bias", vec![4 * HIDDEN]),
            ("mlp.c_proj.weight", vec![4 * HIDDEN, HIDDEN]),
            ("mlp.c_proj.bias", vec![HIDDEN]),
        ];
        for (suffix, dims) in per_layer {
            tensors.push((format!("h.{layer}.{suffix}"), f32(&dims)));
        }
    }
    tensors
}

/// Every tensor is touched: weights scaled in place, biases cast, a layer-wise copy and a
/// rename, and assertions over everything.
fn plan() -> Plan {
    Plan {
        inputs: vec![spanned(Input {
            alias: None,
            path: spanned(PATH.to_string()),
        })],
        steps: vec![
            step(Op::ScaleInPlace(ScaleInPlace {
                target: reference(r".*\.weight"),
                by: spanned(0.5),
            })),
            step(Op::CastInPlace(CastInPlace {
                target: reference(r".*\.bias"),
                dtype: spanned(DType::F16),
            })),
            step(Op::Copy(Mapping {
                from: reference(r"h\.(\d+)\.ln_1\.weight"),
                to: reference(r"h.\1.ln_1_copy.weight"),
            })),
            step(Op::Move(Mapping {
                from: reference(r"h\.(\d+)\.(mlp\..*)"),
                to: reference(r"h.\1.feed_forward.\2"),
            })),
            step(Op::Assert(spanned(AssertExpr::Dtype {
                of: reference(r".*\.bias"),
                is: spanned(DType::F16),
            }))),
            step(Op::Assert(spanned(AssertExpr::Count {
                of: reference(r".*"),
                is: spanned((4 + 11 * LAYERS) as u64),
            }))),
        ],
        output: Some(spanned(Output {
            path: spanned("out".to_string()),
            format: None,
            shard: None,
            alias: None,
        })),
    }
}

fn main() {
    let headers = MemoryHeaders::new().with_file(PATH, headers());
    let plan = plan();
    let mut times: Vec<Duration> = Vec::new();
    let mut stored = 0;
    for _ in 0..15 {
        let start = Instant::now();
        let compilation = compile_plan(&plan, &headers, None);
        let estimate = memory::estimate(&compilation.graph);
        let summary = summary::summarize(&compilation.graph);
        times.push(start.elapsed());
        assert!(
            !compilation.has_errors(),
            "the benchmark plan must be valid: {:?}",
            compilation.diagnostics
        );
        assert!(estimate.largest_step > 0);
        stored = summary.tensors_written;
    }
    times.sort();
    println!(
        "check of {} tensors ({} layers, {stored} stored): min {:.1} ms, median {:.1} ms (target < 100 ms)",
        4 + 10 * LAYERS,
        LAYERS,
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
    );
}
