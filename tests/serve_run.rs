//! Runs from the Web UI's API: the bundled example runs through `brainsurgery run`'s code path
//! with progress over server-sent events up to 100 % and its output appears inside the root;
//! dry runs write nothing; plans that cannot run, outputs outside the root and failed assertions
//! come back as diagnostics with nothing written; and the UI stays responsive during a run (the
//! time of each check request answered during a larger run is printed, not asserted).

mod serve_support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;
use serve_support::{run_events, write_f32_checkpoint, Workspace, EXAMPLE_PLAN};

fn start(workspace: &Workspace, body: serde_json::Value) -> serde_json::Value {
    let response = workspace.post("/api/run", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

#[test]
fn the_bundled_example_runs_with_progress_to_100_percent_and_its_output_appears() {
    let workspace = Workspace::new();
    let started = start(&workspace, json!({"plan": EXAMPLE_PLAN, "syntax": "yaml"}));
    let id = started["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("started: {started}"));
    let statuses = run_events(&workspace, id);
    let last = statuses.last().expect("at least one event");
    assert_eq!(last["state"], "succeeded", "{last}");
    assert_eq!(last["percent"], 100.0);
    assert_eq!(last["tensors"], 27);
    assert_eq!(last["total_tensors"], 27);
    assert_eq!(last["bytes"], last["total_bytes"]);
    let percents: Vec<f64> = statuses
        .iter()
        .filter_map(|s| s["percent"].as_f64())
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert_eq!(
        last["result"]["published"],
        json!(["out/gpt2-tiny-edited.safetensors"])
    );
    assert!(last["result"]["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("wrote out/gpt2-tiny-edited.safetensors: 27 tensors")));
    assert!(workspace.path("out/gpt2-tiny-edited.safetensors").is_file());

    // The output is a checkpoint the tensor browser opens: the edits are there.
    let tree = workspace
        .get("/api/inspect?path=out/gpt2-tiny-edited.safetensors")
        .json();
    let paths: Vec<&str> = tree["tree"]
        .as_array()
        .expect("tree")
        .iter()
        .filter_map(|line| line["path"].as_str())
        .collect();
    assert!(paths.contains(&"ln_f_half.weight"), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains("c_attn.bias")),
        "{paths:?}"
    );
    let half = tree["tree"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["path"] == "ln_f_half.weight"))
        .expect("cast tensor");
    assert_eq!(half["dtype"], "F16");
    // The latest status stays available after the stream ended.
    let status = workspace.get(&format!("/api/runs/{id}")).json();
    assert_eq!(status["state"], "succeeded");
}

#[test]
fn a_dry_run_writes_nothing() {
    let workspace = Workspace::new();
    let started = start(
        &workspace,
        json!({"plan": EXAMPLE_PLAN, "syntax": "yaml", "dry_run": true}),
    );
    let statuses = run_events(&workspace, started["id"].as_u64().expect("id"));
    let last = statuses.last().expect("events");
    assert_eq!(last["state"], "succeeded");
    assert_eq!(last["result"]["published"], json!([]));
    assert!(last["result"]["summary"]
        .as_str()
        .is_some_and(|s| s.starts_with("dry run: nothing written")));
    assert!(!workspace.path("out").exists());
}

#[test]
fn plans_that_cannot_run_come_back_as_diagnostics_and_nothing_is_written() {
    let workspace = Workspace::new();
    let broken = EXAMPLE_PLAN.replace("from: ln_f.weight", "from: ln_f.wieght");
    let refused = start(&workspace, json!({"plan": broken, "syntax": "yaml"}));
    assert_eq!(refused["id"], serde_json::Value::Null);
    assert_eq!(refused["diagnostics"][0]["code"], "E0401");

    let outside = start(
        &workspace,
        json!({"plan": EXAMPLE_PLAN, "output": "../escaped.safetensors"}),
    );
    assert_eq!(outside["id"], serde_json::Value::Null);
    assert_eq!(outside["diagnostics"][0]["code"], "E0901");
    assert!(!workspace
        .root()
        .parent()
        .expect("parent")
        .join("escaped.safetensors")
        .exists());
    assert!(!workspace.path("out").exists());
}

#[test]
fn a_failed_value_assertion_stops_the_run_with_diagnostics_and_publishes_nothing() {
    let workspace = Workspace::new();
    let plan = EXAMPLE_PLAN.replace(
        "  - assert: { exists: ln_f_half.weight }",
        "  - assert: { equal: { left: ln_f.weight, right: ln_f.bias } }",
    );
    let checked = workspace.post("/api/check", &json!({"plan": plan})).json();
    assert_eq!(checked["ok"], true, "{checked}");
    let started = start(&workspace, json!({"plan": plan}));
    let statuses = run_events(&workspace, started["id"].as_u64().expect("id"));
    let last = statuses.last().expect("events");
    assert_eq!(last["state"], "failed", "{last}");
    assert!(last["result"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("run stopped")));
    let diagnostics = last["result"]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    assert!(!diagnostics.is_empty());
    assert!(
        diagnostics[0]["at"]["line"].as_u64().is_some(),
        "{diagnostics:?}"
    );
    assert!(!workspace.path("out/gpt2-tiny-edited.safetensors").exists());
}

#[test]
fn check_requests_are_answered_while_a_run_is_in_progress() {
    let workspace = Workspace::new();
    // 16 tensors of 1 Mi f32 each (64 MiB): long enough in a test build to overlap with checks.
    let names: Vec<String> = (0..16)
        .map(|index| format!("layers.{index}.weight"))
        .collect();
    let tensors: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 1 << 20)).collect();
    std::fs::create_dir_all(workspace.path("big")).expect("mkdir");
    write_f32_checkpoint(&workspace.path("big/model.safetensors"), &tensors);
    let plan = "inputs:\n  - big::big/model.safetensors\ntransforms:\n  - scale_: { target: 'layers\\.(\\d+)\\.weight', by: 0.5 }\n  - clamp_: { target: 'layers\\.(\\d+)\\.weight', min: -0.25, max: 0.25 }\noutput:\n  path: out/big.safetensors\n";
    let started = start(&workspace, json!({"plan": plan}));
    let id = started["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{started}"));

    let mut during = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = workspace.get(&format!("/api/runs/{id}")).json()["state"] == "running";
        if !running || Instant::now() > deadline {
            break;
        }
        let clock = Instant::now();
        let response = workspace.post("/api/check", &json!({"plan": EXAMPLE_PLAN}));
        let elapsed = clock.elapsed();
        assert_eq!(response.status, 200);
        assert_eq!(response.json()["ok"], true);
        let still_running = workspace.get(&format!("/api/runs/{id}")).json()["state"] == "running";
        if still_running {
            during.push(elapsed);
        }
    }
    let statuses = run_events(&workspace, id);
    let last = statuses.last().expect("events");
    assert_eq!(last["state"], "succeeded", "{last}");
    assert!(workspace.path("out/big.safetensors").is_file());
    let mut millis: Vec<f64> = during.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    millis.sort_by(f64::total_cmp);
    // Written straight to stderr, which the test harness does not capture, so the figure shows
    // in every test log (it is reported, not asserted: the machine is shared).
    let report = match (millis.first(), millis.last()) {
        (Some(fastest), Some(slowest)) => format!(
            "check during a run: {} requests, fastest {fastest:.1} ms, median {:.1} ms, slowest {slowest:.1} ms (target: under 200 ms)",
            millis.len(),
            millis[millis.len() / 2]
        ),
        _ => "check during a run: the run ended before a check could be timed".to_string(),
    };
    let _ = writeln!(std::io::stderr(), "{report}");
}
