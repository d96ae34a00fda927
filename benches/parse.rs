//! Benchmark: parsing a 10,000-step plan written in the terse syntax and the same plan in YAML.
//!
//! Generates a terse plan whose steps cycle through the statement kinds (regex and structured
//! references, slices, expressions, calls, nested assertions; every source regex distinct, the
//! worst case for regex validation), prints it as YAML with `print_yaml`, then reports the best of
//! several runs of `parse_terse`, `parse_yaml` and `print_terse`. Each parse runs on a fresh
//! thread, so no run profits from the compiled patterns an earlier run remembered. A separate
//! program, not a test: timings are printed, never asserted. Run with
//! `cargo bench --bench parse`.

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::ast::Plan;
use brainsurgery::plan::terse::grammar::{PlanParser, Rule};
use brainsurgery::plan::terse::{parse_terse, print_terse};
use brainsurgery::plan::yaml::{parse_yaml, print_yaml};
use pest::Parser as _;
use std::time::{Duration, Instant};

const STEPS: usize = 10_000;
const RUNS: usize = 5;

fn terse_text(steps: usize) -> String {
    let mut text = String::from(
        "input base = \"models/base\"\ninput tuned = \"models/tuned\"\noutput \"out/merged\" shard=2GB alias=tuned\n\n",
    );
    for index in 0..steps {
        let layer = index % 48;
        let line = match index % 8 {
            0 => format!("tuned::h.{layer}.mlp.\\1.copy_{index} = tuned::h\\.{index}\\.mlp\\.(c_fc|c_proj)\\.weight"),
            1 => format!(
                "tuned::h.\\1.attn.c_attn.weight::[:, :{}] -= base::h\\.(\\d+)\\.attn\\.c_attn_{index}\\.weight",
                64 + layer
            ),
            2 => format!("move tuned::[h, \"{layer}\", *rest] -> tuned::[layer_{index}, *rest]"),
            3 => format!("tuned::wte.weight::[{layer}:, ::2] *= 0.5"),
            4 => format!("tuned::ln_f_{index}.weight = clamp(base::ln_f.weight, min=-1, max=1)"),
            5 => format!(
                "assert all(exists(tuned::h\\.{index}\\..*), shape(base::wpe.weight) == [1024, 768], not iszero(tuned::h.{layer}.ln_1.weight))"
            ),
            6 => format!("fill_(tuned::h.{layer}.attn.bias, normal(std=0.02), seed={index})"),
            _ => format!(
                "tuned::h.{layer}.\\1.a_{index}, tuned::h.{layer}.\\1.b_{index} = phlora(tuned::h\\.{index}\\.(.*)\\.weight, rank=16)"
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

type Parser = fn(
    &mut SourceMap,
    brainsurgery::diagnostics::SourceId,
) -> Result<Plan, Vec<brainsurgery::diagnostics::Diagnostic>>;

/// Parses on a fresh thread and times only the parse.
fn parse_cold(name: &'static str, text: &str, parse: Parser) -> (Duration, Plan) {
    let text = text.to_string();
    std::thread::spawn(move || {
        let mut sources = SourceMap::new();
        let id = sources.add(name, text.as_str());
        let start = Instant::now();
        let result = parse(&mut sources, id);
        let elapsed = start.elapsed();
        match result {
            Ok(plan) => (elapsed, plan),
            Err(errors) => panic!(
                "the benchmark plan is valid:\n{}",
                render_all_plain(&errors, &sources)
            ),
        }
    })
    .join()
    .expect("the parse thread finishes")
}

fn best(name: &'static str, text: &str, parse: Parser) -> (Duration, Plan) {
    let mut runs: Vec<(Duration, Plan)> =
        (0..RUNS).map(|_| parse_cold(name, text, parse)).collect();
    runs.sort_by_key(|(elapsed, _)| *elapsed);
    runs.swap_remove(0)
}

fn main() {
    let terse = terse_text(STEPS);
    let (terse_time, plan) = best("bench.bs", &terse, parse_terse);
    assert_eq!(plan.steps.len(), STEPS);
    let yaml = print_yaml(&plan);
    let (yaml_time, from_yaml) = best("bench.yaml", &yaml, parse_yaml);
    assert_eq!(from_yaml, plan, "both syntaxes describe the same plan");
    // The grammar alone (every line through pest, no AST, no validation), for the breakdown.
    let grammar_time = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for line in terse.lines() {
                let parsed = PlanParser::parse(Rule::line, line);
                assert!(parsed.is_ok());
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    let print_time = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let printed = print_terse(&plan);
            let elapsed = start.elapsed();
            assert!(printed.len() > STEPS);
            elapsed
        })
        .min()
        .unwrap_or_default();
    println!("plan of {STEPS} steps, best of {RUNS} runs:");
    println!(
        "  parse_terse  {:>8.1} ms  ({} KiB of terse text, {:.1} µs/step)",
        terse_time.as_secs_f64() * 1e3,
        terse.len() / 1024,
        terse_time.as_secs_f64() * 1e6 / STEPS as f64
    );
    println!(
        "    of which the pest grammar alone {:.1} ms",
        grammar_time.as_secs_f64() * 1e3
    );
    println!(
        "  parse_yaml   {:>8.1} ms  ({} KiB of YAML, {:.1} µs/step)",
        yaml_time.as_secs_f64() * 1e3,
        yaml.len() / 1024,
        yaml_time.as_secs_f64() * 1e6 / STEPS as f64
    );
    println!("  print_terse  {:>8.1} ms", print_time.as_secs_f64() * 1e3);
}
