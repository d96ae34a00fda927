//! The Web UI's HTTP API against a server started in-process on an ephemeral port: check, fmt,
//! inspect, tensor statistics, graph, files (listing, reading, saving), and every refusal (token, paths outside the root,
//! oversized bodies, foreign `Host` names).

mod serve_support;

use serde_json::json;
use serve_support::{request, Workspace, EXAMPLE_PLAN};

fn plan(text: &str) -> serde_json::Value {
    json!({"plan": text, "syntax": "yaml"})
}

#[test]
fn check_of_the_bundled_example_is_valid_with_checks_summary() {
    let workspace = Workspace::new();
    let response = workspace.post("/api/check", &plan(EXAMPLE_PLAN));
    assert_eq!(response.status, 200, "{}", response.text());
    let result = response.json();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["errors"], 0);
    let summary = result["summary"].as_str().expect("summary");
    assert!(summary.contains("read:        26 tensors"), "{summary}");
    assert!(
        summary.contains("out/gpt2-tiny-edited.safetensors"),
        "{summary}"
    );
    assert_eq!(result["inputs"][0]["path"], "examples/models/gpt2-tiny");
    assert_eq!(
        result["outputs"][0]["path"],
        "out/gpt2-tiny-edited.safetensors"
    );
}

#[test]
fn check_reports_each_error_at_its_line_and_column() {
    let workspace = Workspace::new();
    let text = EXAMPLE_PLAN.replace("from: ln_f.weight", "from: ln_f.wieght");
    let result = workspace.post("/api/check", &plan(&text)).json();
    assert_eq!(result["ok"], false);
    let diagnostic = &result["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0401", "{diagnostic}");
    let line = text
        .lines()
        .position(|line| line.contains("ln_f.wieght"))
        .expect("edited line")
        + 1;
    let column = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find("ln_f.wieght"))
        .expect("col")
        + 1;
    assert_eq!(diagnostic["at"]["line"], line);
    assert_eq!(diagnostic["at"]["column"], column);
    assert!(diagnostic["rendered"]
        .as_str()
        .is_some_and(|text| text.contains("ln_f.weight")));
}

#[test]
fn terse_plans_check_and_fmt_converts_both_ways() {
    let workspace = Workspace::new();
    let terse = workspace
        .post(
            "/api/fmt",
            &json!({"plan": EXAMPLE_PLAN, "syntax": "yaml", "to": "terse"}),
        )
        .json();
    assert_eq!(terse["ok"], true, "{terse}");
    let text = terse["text"].as_str().expect("text");
    assert!(
        text.contains("input model = \"examples/models/gpt2-tiny\""),
        "{text}"
    );
    // The plan's comments come along, as `brainsurgery fmt` keeps them.
    let header = "# The bundled example: the tiny GPT-2 of examples/models,";
    assert!(text.starts_with(header), "{text}");
    let checked = workspace
        .post("/api/check", &json!({"plan": text, "syntax": "terse"}))
        .json();
    assert_eq!(checked["ok"], true, "{checked}");
    let back = workspace
        .post("/api/fmt", &json!({"plan": text, "syntax": "terse"}))
        .json();
    assert_eq!(back["syntax"], "yaml");
    assert_eq!(
        back["text"].as_str().map(|t| t.starts_with(header)),
        Some(true)
    );
    let again = workspace
        .post(
            "/api/fmt",
            &json!({"plan": back["text"], "syntax": "yaml", "to": "terse"}),
        )
        .json();
    assert_eq!(again["text"], terse["text"]);
    let broken = workspace
        .post("/api/fmt", &json!({"plan": "inputs: [", "syntax": "yaml"}))
        .json();
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["diagnostics"][0]["code"], "E0100");
    // Blank lines between statements come along too.
    let paragraphs = workspace
        .post(
            "/api/fmt",
            &json!({"plan": "input \"m\"\n\nx = y\n\n\n# Then.\nz = y\n", "syntax": "terse"}),
        )
        .json();
    assert_eq!(
        paragraphs["text"],
        "inputs:\n  - m\ntransforms:\n  - copy: {from: 'y', to: x}\n\n  # Then.\n  - copy: {from: 'y', to: z}\n"
    );
}

#[test]
fn inspect_folds_layers_and_tensor_gives_stats_and_a_histogram() {
    let workspace = Workspace::new();
    let tree = workspace
        .get("/api/inspect?path=examples/models/gpt2-tiny")
        .json();
    let lines = tree["tree"].as_array().expect("tree");
    let attention = lines
        .iter()
        .find(|line| line["path"] == "h.[0-1].attn.c_attn.weight")
        .expect("folded layer line");
    assert_eq!(attention["tensors"], 2);
    assert_eq!(attention["shape"], json!([8, 24]));
    assert_eq!(attention["bytes"], 2 * 8 * 24 * 4);
    assert_eq!(tree["totals"]["tensors"], 28);

    let tensor = workspace
        .get("/api/tensor?path=examples/models/gpt2-tiny&name=wte.weight")
        .json();
    assert_eq!(tensor["dtype"], "F32");
    assert_eq!(tensor["shape"], json!([64, 8]));
    assert_eq!(tensor["stats"]["elements"], 512);
    let (min, max) = (
        tensor["stats"]["min"].as_f64().expect("min"),
        tensor["stats"]["max"].as_f64().expect("max"),
    );
    assert!(min < 0.0 && max > 0.0 && min >= -1.0 && max <= 1.0);
    let svg = tensor["histogram"].as_str().expect("histogram");
    assert!(svg.starts_with("<svg") && svg.contains("class=\"bar\""));
    // The bars' counts add up to every element (all finite).
    let total: u64 = svg
        .split("<title>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 512);

    let missing = workspace.get("/api/tensor?path=examples/models/gpt2-tiny&name=nope");
    assert_eq!(missing.status, 404);
}

#[test]
fn graph_is_drawn_raw_and_optimized_with_each_node_pointing_at_its_step() {
    let workspace = Workspace::new();
    let raw = workspace.post("/api/graph", &plan(EXAMPLE_PLAN)).json();
    assert_eq!(raw["ok"], true, "{raw}");
    let svg = raw["svg"].as_str().expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("data-node="));
    assert!(svg.contains("passed through untouched"));
    let nodes = raw["nodes"].as_array().expect("nodes");
    let cast = nodes.iter().find(|n| n["op"] == "cast").expect("cast node");
    let cast_line = EXAMPLE_PLAN
        .lines()
        .position(|line| line.contains("- cast:"))
        .expect("cast line")
        + 1;
    assert_eq!(cast["step"]["line"], cast_line, "{cast}");
    assert_eq!(cast["step"]["in_editor"], true);
    assert!(svg.contains(&format!("data-node=\"{}\"", cast["id"])));

    let optimized = workspace
        .post(
            "/api/graph",
            &json!({"plan": EXAMPLE_PLAN, "optimized": true}),
        )
        .json();
    assert_eq!(optimized["optimized"], true);
    assert!(optimized["nodes"].as_array().expect("nodes").len() <= nodes.len());

    let invalid = workspace
        .post("/api/graph", &plan("inputs: [model::nowhere]\n"))
        .json();
    assert_eq!(invalid["ok"], false);
    assert!(invalid["diagnostics"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));
}

#[test]
fn files_lists_plans_and_checkpoints_and_file_reads_a_plan() {
    let workspace = Workspace::new();
    let files = workspace.get("/api/files").json();
    assert!(files["plans"]
        .as_array()
        .expect("plans")
        .contains(&json!("example.yaml")));
    let checkpoints = files["checkpoints"].as_array().expect("checkpoints");
    assert!(checkpoints.contains(&json!("examples/models/gpt2-tiny")));
    assert!(checkpoints.contains(&json!("examples/models/gpt2-tiny/model.safetensors")));
    let file = workspace.get("/api/file?path=example.yaml").json();
    assert_eq!(file["syntax"], "yaml");
    assert_eq!(file["text"], EXAMPLE_PLAN);
}

/// `POST /api/file` saves the editor's text as typed (errors and all) inside the root, creating
/// directories and replacing an existing file; `GET /api/file` then returns exactly that text,
/// and the listing shows it.
#[test]
fn the_editor_saves_plans_inside_the_root() {
    let workspace = Workspace::new();
    let terse =
        "input \"examples/models/gpt2-tiny\"\ncopy wte.weight -> wte.copy\n# unfinished: \n";
    let saved = workspace
        .post(
            "/api/file",
            &json!({"path": "plans/new/edited.bs", "text": terse, "syntax": "terse"}),
        )
        .json();
    assert_eq!(saved["path"], "plans/new/edited.bs");
    assert_eq!(saved["bytes"], terse.len());
    assert_eq!(
        std::fs::read_to_string(workspace.path("plans/new/edited.bs")).expect("saved"),
        terse
    );
    let file = workspace.get("/api/file?path=plans/new/edited.bs").json();
    assert_eq!(file["syntax"], "terse");
    assert_eq!(file["text"], terse);
    let files = workspace.get("/api/files").json();
    assert!(files["plans"]
        .as_array()
        .expect("plans")
        .contains(&json!("plans/new/edited.bs")));
    // Saving over a file replaces it whole; a text with errors is saved as typed.
    let broken = "inputs: [examples/models/gpt2-tiny]\ntransforms:\n  - copy: {from: wte.weight\n";
    let response = workspace.post(
        "/api/file",
        &json!({"path": "example.yaml", "text": broken, "syntax": "yaml"}),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        std::fs::read_to_string(workspace.path("example.yaml")).expect("saved"),
        broken
    );
    let leftovers: Vec<_> = std::fs::read_dir(workspace.root())
        .expect("root")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp-bs-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary is left: {leftovers:?}");
}

/// Saving is refused, leaving the file system as it was, for a path outside the root (`..`,
/// absolute, through a symbolic link), a suffix that is not a plan's or does not match the
/// syntax, a directory in the way, or a request without the token.
#[test]
fn saving_outside_the_root_or_under_the_wrong_name_is_refused() {
    let workspace = Workspace::new();
    let outside = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(outside.path(), workspace.path("escape")).expect("symlink");
    let outside_plan = outside.path().join("plan.yaml");
    let text = "inputs: [examples/models/gpt2-tiny]\n";
    for path in [
        "../plan.yaml".to_string(),
        "plans/../../plan.yaml".to_string(),
        outside_plan.display().to_string(),
        "escape/plan.yaml".to_string(),
    ] {
        let response = workspace.post(
            "/api/file",
            &json!({"path": path, "text": text, "syntax": "yaml"}),
        );
        assert_eq!(response.status, 403, "{path}: {}", response.text());
        assert_eq!(response.error_code(), "path-refused", "{path}");
    }
    assert!(!outside_plan.exists(), "nothing is written outside");
    for (path, syntax, message) in [
        ("model.safetensors", "yaml", "`.yaml` or `.yml`"),
        ("plan.bs", "yaml", "`.yaml` or `.yml`"),
        ("plan.yaml", "terse", "`.bs`"),
        ("plan.yaml", "json", "unknown syntax"),
    ] {
        let response = workspace.post(
            "/api/file",
            &json!({"path": path, "text": text, "syntax": syntax}),
        );
        assert_eq!(response.status, 400, "{path}");
        assert_eq!(response.error_code(), "bad-request");
        assert!(response.text().contains(message), "{}", response.text());
        assert!(!workspace.path(path).exists(), "{path} is not written");
    }
    std::fs::create_dir(workspace.path("folder.yaml")).expect("mkdir");
    let response = workspace.post(
        "/api/file",
        &json!({"path": "folder.yaml", "text": text, "syntax": "yaml"}),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("is a directory"),
        "{}",
        response.text()
    );
    assert!(workspace.path("folder.yaml").is_dir());
    let body = json!({"path": "example.yaml", "text": text, "syntax": "yaml"}).to_string();
    let response = request(
        workspace.address(),
        "POST",
        "/api/file",
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    );
    assert_eq!(response.status, 403);
    assert_eq!(response.error_code(), "missing-token");
    assert_eq!(
        std::fs::read_to_string(workspace.path("example.yaml")).expect("plan"),
        EXAMPLE_PLAN,
        "the refused save left the plan as it was"
    );
}

#[test]
fn the_page_and_its_assets_are_embedded() {
    let workspace = Workspace::new();
    let page = request(workspace.address(), "GET", "/", &[], None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<textarea id=\"editor\""));
    assert!(!page.text().contains("http://") && !page.text().contains("https://"));
    let script = request(workspace.address(), "GET", "/assets/main.js", &[], None);
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/javascript")));
    // Every module the page imports is served.
    for asset in [
        "api.js",
        "editor.js",
        "tensors.js",
        "graph.js",
        "run.js",
        "tabs.js",
    ] {
        assert!(script.text().contains(&format!("\"./{asset}\"")), "{asset}");
        let module = request(
            workspace.address(),
            "GET",
            &format!("/assets/{asset}"),
            &[],
            None,
        );
        assert_eq!(module.status, 200, "{asset}");
        assert!(module.text().contains("export "), "{asset}");
    }
    let missing = request(workspace.address(), "GET", "/assets/nothing.js", &[], None);
    assert_eq!(missing.status, 404);
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[test]
fn requests_without_the_right_token_are_refused() {
    let workspace = Workspace::new();
    let body = plan(EXAMPLE_PLAN).to_string();
    for token in [None, Some("0123456789abcdef0123456789abcdef"), Some("")] {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(token) = token {
            headers.push(("x-brainsurgery-token", token));
        }
        let check = request(
            workspace.address(),
            "POST",
            "/api/check",
            &headers,
            Some(body.as_bytes()),
        );
        assert_eq!(check.status, 403, "{token:?}");
        assert_eq!(check.error_code(), "missing-token");
        let inspect = request(
            workspace.address(),
            "GET",
            "/api/inspect?path=examples/models/gpt2-tiny",
            &headers,
            None,
        );
        assert_eq!(inspect.status, 403);
        let run = request(
            workspace.address(),
            "POST",
            "/api/run",
            &headers,
            Some(body.as_bytes()),
        );
        assert_eq!(run.status, 403);
        assert_eq!(run.error_code(), "missing-token");
    }
    // The query form (used by event streams) works with the right token only.
    let good = format!("/api/info?token={}", workspace.token());
    assert_eq!(
        request(workspace.address(), "GET", &good, &[], None).status,
        200
    );
    assert_eq!(
        request(workspace.address(), "GET", "/api/info?token=x", &[], None).status,
        403
    );
}

#[test]
fn paths_outside_the_root_are_refused() {
    let workspace = Workspace::new();
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        workspace.path("examples/models/gpt2-tiny/model.safetensors"),
        outside.path().join("model.safetensors"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(outside.path(), workspace.path("escape")).expect("symlink");
    let outside_file = outside.path().join("model.safetensors");
    for path in [
        "../x".to_string(),
        "examples/../../x".to_string(),
        outside_file.display().to_string(),
        "escape/model.safetensors".to_string(),
    ] {
        let query = path.replace('/', "%2F");
        let inspect = workspace.get(&format!("/api/inspect?path={query}"));
        assert_eq!(inspect.status, 403, "{path}: {}", inspect.text());
        assert_eq!(inspect.error_code(), "path-refused");
        let tensor = workspace.get(&format!("/api/tensor?path={query}&name=wte.weight"));
        assert_eq!(tensor.status, 403, "{path}");
        let file = workspace.get(&format!("/api/file?path={query}"));
        assert_eq!(file.status, 403, "{path}");
    }
    // A plan reading or writing outside the root gets E0901 at the offending path.
    let escaping_input = EXAMPLE_PLAN.replace(
        "model::examples/models/gpt2-tiny",
        "model::escape/model.safetensors",
    );
    let result = workspace.post("/api/check", &plan(&escaping_input)).json();
    assert_eq!(result["ok"], false);
    assert_eq!(result["diagnostics"][0]["code"], "E0901", "{result}");
    assert_eq!(result["diagnostics"][0]["at"]["line"], 4);
    let escaping_output = EXAMPLE_PLAN.replace(
        "path: out/gpt2-tiny-edited.safetensors",
        &format!("path: {}", outside.path().join("out.safetensors").display()),
    );
    let result = workspace.post("/api/check", &plan(&escaping_output)).json();
    assert_eq!(result["ok"], false);
    let refused = result["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "E0901")
        .expect("output refused");
    assert!(refused["at"]["line"].as_u64().is_some_and(|line| line > 10));
    // The Run panel's output path is confined too.
    let chosen = workspace
        .post(
            "/api/check",
            &json!({"plan": EXAMPLE_PLAN, "output": "../elsewhere.safetensors"}),
        )
        .json();
    assert!(chosen["diagnostics"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["code"] == "E0901")));
}

#[test]
fn oversized_bodies_are_refused() {
    let workspace = Workspace::with_body_limit(4096);
    let big = plan(&format!("{EXAMPLE_PLAN}\n# {}\n", "x".repeat(8192)));
    let response = workspace.post("/api/check", &big);
    assert_eq!(response.status, 413);
    assert_eq!(response.error_code(), "body-too-large");
    // Just under the limit is fine.
    let small = workspace.post("/api/check", &plan(EXAMPLE_PLAN));
    assert_eq!(small.status, 200);
}

#[test]
fn foreign_host_names_are_refused() {
    let workspace = Workspace::new();
    let response = request(
        workspace.address(),
        "GET",
        "/api/info",
        &[
            ("host", "attacker.example"),
            ("x-brainsurgery-token", workspace.token()),
        ],
        None,
    );
    assert_eq!(response.status, 421);
    assert_eq!(response.error_code(), "bad-host");
    let local = request(
        workspace.address(),
        "GET",
        "/api/info",
        &[
            ("host", "localhost:1234"),
            ("x-brainsurgery-token", workspace.token()),
        ],
        None,
    );
    assert_eq!(local.status, 200);
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let workspace = Workspace::new();
    let not_json = request(
        workspace.address(),
        "POST",
        "/api/check",
        &[("x-brainsurgery-token", workspace.token())],
        Some(b"{plan"),
    );
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.error_code(), "bad-request");
    let syntax = workspace.post("/api/check", &json!({"plan": "", "syntax": "xml"}));
    assert_eq!(syntax.status, 400);
    let unknown = workspace.get("/api/nothing");
    assert_eq!(unknown.status, 404);
    let run = workspace.get("/api/runs/99");
    assert_eq!(run.status, 404);
}
