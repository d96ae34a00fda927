//! Benchmark: parsing (and printing) a 10,000-step YAML plan.
//!
//! Generates a plan whose steps cycle through regex and structured references, slices, numbers,
//! dtypes and nested assertions (every source regex distinct, the worst case for compilation), then reports the best of several runs for `parse_yaml` (YAML
//! events → node tree → AST, with every reference validated) and for `print_yaml`. A separate
//! program, not a test: timings are printed, never asserted. Run with
//! `cargo bench --bench yaml_parse` (optimized) or `cargo test --bench yaml_parse` (debug build,
//! an upper bound).

use brainsurgery::diagnostics::SourceMap;
use brainsurgery::plan::ast::Plan;
use brainsurgery::plan::yaml::{parse_yaml, print_yaml};
use std::time::{Duration, Instant};

const STEPS: usize = 10_000;
const RUNS: usize = 5;

fn plan_text(steps: usize) -> String {
    let mut text =
        String::from("inputs:\n  - base::models/base\n  - tuned::models/tuned\ntransforms:\n");
    for index in 0..steps {
        let layer = index % 48;
        let step = match index % 8 {
            0 => format!(
                "  - copy: {{from: 'tuned::h\\.{index}\\.mlp\\.(c_fc|c_proj)\\.weight', to: 'tuned::h.{layer}.mlp.\\1.copy_{index}'}}\n"
            ),
            1 => format!(
                "  - subtract_: {{from: 'base::h\\.(\\d+)\\.attn\\.c_attn_{index}\\.weight', to: 'tuned::h.\\1.attn.c_attn.weight::[:, :{}]'}}\n",
                64 + layer
            ),
            2 => format!(
                "  - move: {{from: ['tuned::', h, '{layer}', '*rest'], to: ['tuned::', layer_{index}, '*rest']}}\n"
            ),
            3 => format!("  - scale_: {{target: 'tuned::wte.weight::[{layer}:, ::2]', by: 0.5}}\n"),
            4 => "  - cast: {from: 'base::ln_f.weight', to: 'tuned::ln_f_half.weight', dtype: bfloat16}\n".to_string(),
            5 => format!(
                "  - assert:\n      all:\n        - exists: 'tuned::h\\.{index}\\..*'\n        - shape: {{of: 'base::wpe.weight', is: [1024, 768]}}\n        - not: {{iszero: 'tuned::h.{layer}.ln_1.weight'}}\n"
            ),
            6 => format!(
                "  - fill_: {{target: 'tuned::h.{layer}.attn.bias', mode: rand, distribution: normal, std: 0.02, seed: {index}}}\n"
            ),
            _ => format!(
                "  - phlora: {{target: 'tuned::h\\.{index}\\.(.*)\\.weight', target_a: 'tuned::h.{layer}.\\1.a_{index}', target_b: 'tuned::h.{layer}.\\1.b_{index}', rank: 16}}\n"
            ),
        };
        text.push_str(&step);
    }
    text.push_str("output: {path: out/merged, shard: 2GB, alias: tuned}\n");
    text
}

/// Parses on a fresh thread, timing only the parse, so that no run profits from patterns an
/// earlier run compiled (the reference validator remembers compiled patterns per thread).
fn parse_cold(text: &str) -> (Duration, Plan) {
    let text = text.to_string();
    std::thread::spawn(move || {
        let mut sources = SourceMap::new();
        let id = sources.add("bench.yaml", text.as_str());
        let start = Instant::now();
        let plan = parse_yaml(&mut sources, id).expect("the benchmark plan is valid");
        (start.elapsed(), plan)
    })
    .join()
    .expect("the parse thread finishes")
}

fn main() {
    let text = plan_text(STEPS);
    let mut parse_time = Duration::MAX;
    let mut plan = Plan::default();
    for _ in 0..RUNS {
        let (elapsed, parsed) = parse_cold(&text);
        parse_time = parse_time.min(elapsed);
        plan = parsed;
    }
    assert_eq!(plan.steps.len(), STEPS);
    let mut print_time = Duration::MAX;
    let mut printed = String::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        printed = print_yaml(&plan);
        print_time = print_time.min(start.elapsed());
    }
    println!(
        "yaml_parse: {STEPS} steps, {} KiB: parse {:.1} ms, print {:.1} ms ({} KiB printed), best of {RUNS}",
        text.len() / 1024,
        parse_time.as_secs_f64() * 1e3,
        print_time.as_secs_f64() * 1e3,
        printed.len() / 1024
    );
}
