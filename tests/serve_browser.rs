//! The Web UI in real headless Chromium, driven through WebDriver (chromedriver + fantoccini):
//! typing a plan with an error marks the right line and fixing it clears the mark; the tensor
//! tree expands and shows a tensor's statistics; the graph opens and a clicked node shows its
//! step; the plan is saved under the name given, with the button and with Ctrl+S. Each page is photographed: into `$SERVE_SCREENSHOTS` when set (the committed
//! `docs/screenshots/` are made with `SERVE_SCREENSHOTS=docs/screenshots`), else into a
//! temporary directory that is removed.
//!
//! These tests need Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them they FAIL with a message saying so: a browser test that silently passes would hide a
//! broken page.

mod serve_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use serve_support::{Workspace, EXAMPLE_PLAN};

/// One browser at a time: the machine has two cores.
static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(30);

fn find_program(candidates: &[&str], variable: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(variable) {
        return Some(PathBuf::from(path)).filter(|path| path.exists());
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// Installs Chromium and chromedriver once per test run with the repository's own script (what
/// .ci/run uses), so a fresh machine runs these tests without a manual install.
fn install_browser() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-browser.sh");
        let status = Command::new("bash").arg(script).status();
        if !matches!(status, Ok(status) if status.success()) {
            eprintln!("{script} could not install chromium and chromium-driver: {status:?}");
        }
    });
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let program = find_program(&["/usr/bin/chromedriver"], "CHROMEDRIVER")
            .or_else(|| {
                install_browser();
                find_program(&["/usr/bin/chromedriver"], "CHROMEDRIVER")
            })
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver not found (looked for /usr/bin/chromedriver and $CHROMEDRIVER): \
                 install Debian's chromium and chromium-driver (`apt-get install -y chromium \
                 chromium-driver`, as .ci/run does) to run the browser tests"
                )
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A page of the workbench open in headless Chromium.
struct Browser {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    _shots_temporary: Option<tempfile::TempDir>,
}

impl Browser {
    async fn open(url: &str) -> Browser {
        let chromium = find_program(&["/usr/bin/chromium"], "CHROMIUM").unwrap_or_else(|| {
            panic!("chromium not found (looked for /usr/bin/chromium and $CHROMIUM): install Debian's chromium")
        });
        let driver = Driver::start();
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--window-size=1500,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("WebDriver session");
        client.goto(url).await.expect("open the page");
        let (shots, temporary) = match std::env::var("SERVE_SCREENSHOTS") {
            Ok(directory) => {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(directory);
                std::fs::create_dir_all(&path).expect("screenshot dir");
                (path, None)
            }
            Err(_) => {
                let directory = tempfile::tempdir().expect("tempdir");
                (directory.path().to_path_buf(), Some(directory))
            }
        };
        Browser {
            client,
            _driver: driver,
            _profile: profile,
            shots,
            _shots_temporary: temporary,
        }
    }

    /// Evaluates a JavaScript expression in the page.
    async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or_else(|error| panic!("script `{expression}` failed: {error}"))
    }

    /// Waits until `expression` is truthy in the page; panics naming `what` after [`WAIT`].
    async fn wait_until(&self, expression: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.eval(&format!("!!({expression})")).await;
            if value == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let status = self
                    .eval("document.getElementById('check-status').textContent")
                    .await;
                panic!("timed out waiting for {what} (check status: {status})");
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.shots.join(name), png).expect("write screenshot");
    }

    /// Replaces the editor's text by typing it, as a user would.
    async fn type_plan(&self, text: &str) {
        let editor = self
            .client
            .find(Locator::Id("editor"))
            .await
            .expect("editor");
        editor.clear().await.expect("clear");
        editor.send_keys(text).await.expect("type");
    }

    /// Picks a syntax in the editor's *Syntax* menu (the page converts the text).
    async fn choose_syntax(&self, syntax: &str) {
        self.client
            .find(Locator::Id("syntax"))
            .await
            .expect("the Syntax menu")
            .select_by_value(syntax)
            .await
            .unwrap_or_else(|error| panic!("cannot choose {syntax}: {error}"));
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no `{css}`: {error}"))
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click `{css}`: {error}"));
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

async fn open_workbench(workspace: &Workspace) -> Browser {
    let browser = Browser::open(&workspace.server.url()).await;
    browser
        .wait_until(
            "document.getElementById('check-status').textContent.includes('valid')",
            "the bundled example to check as valid",
        )
        .await;
    browser
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .expect("needle in text")
        + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_an_error_marks_its_line_and_fixing_it_clears_the_mark() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    browser.screenshot("editor.png").await;

    // A misspelled pattern matches nothing: one error, on its own line (a misspelled source of
    // `cast` would also fail the later `assert` on the cast's destination).
    let broken = EXAMPLE_PLAN.replace("attn\\.c_attn\\.bias", "attn\\.c_atn\\.bias");
    assert_ne!(broken, EXAMPLE_PLAN);
    let line = line_of(&broken, "c_atn");
    browser.type_plan(&broken).await;
    browser
        .wait_until(
            "document.querySelector('#gutter .line.error') !== null",
            "an error mark in the gutter",
        )
        .await;
    let marked = browser
        .eval("[...document.querySelectorAll('#gutter .line.error')].map(e => Number(e.dataset.line))")
        .await;
    assert_eq!(
        marked,
        json!([line]),
        "the gutter marks exactly the edited line"
    );
    let mark = browser
        .eval("(() => { const m = document.querySelector('#backdrop mark.diag-mark'); return [Number(m.dataset.line), Number(m.dataset.column), m.dataset.code, m.textContent]; })()")
        .await;
    let pattern = r"h\.(\d+)\.attn\.c_atn\.bias";
    let column = broken
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find(pattern))
        .expect("col")
        + 1;
    assert_eq!(mark, json!([line, column, "E0401", pattern]));
    let listed = browser
        .eval("document.querySelector('#diagnostics li.diagnostic').dataset.code")
        .await;
    assert_eq!(listed, json!("E0401"));
    let inline = browser
        .eval("document.querySelector('#backdrop .inline-message').textContent")
        .await;
    assert!(
        inline.as_str().is_some_and(|t| t.contains("E0401")),
        "{inline}"
    );
    browser.screenshot("editor-error.png").await;

    browser.type_plan(EXAMPLE_PLAN).await;
    browser
        .wait_until(
            "document.getElementById('check-status').textContent.includes('valid')",
            "the fixed plan to check as valid",
        )
        .await;
    let remaining = browser
        .eval("document.querySelectorAll('#gutter .line.error, #backdrop mark, #diagnostics li.diagnostic').length")
        .await;
    assert_eq!(remaining, json!(0), "every mark is cleared");
    let summary = browser
        .eval("document.getElementById('summary').textContent")
        .await;
    assert!(
        summary.as_str().is_some_and(|s| s.contains("read:")),
        "{summary}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_syntax_converts_the_plan_to_terse_and_back() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    browser.choose_syntax("terse").await;
    browser
        .wait_until(
            "document.getElementById('editor').value.startsWith('# The bundled example') \
             && document.getElementById('editor').value.includes('\\ninput model = ')",
            "the terse form, with the plan's comments, in the editor",
        )
        .await;
    browser
        .wait_until(
            "document.getElementById('check-status').textContent.includes('valid')",
            "the terse plan to check as valid",
        )
        .await;
    browser.screenshot("editor-terse.png").await;
    browser.choose_syntax("yaml").await;
    browser
        .wait_until(
            "document.getElementById('editor').value.includes('\\ninputs:')",
            "the YAML form in the editor",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_is_saved_under_the_name_given_with_the_button_and_ctrl_s() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    let name = browser
        .client
        .find(Locator::Id("plan-path"))
        .await
        .expect("the Save as field");
    name.send_keys("plans/mine.yaml")
        .await
        .expect("type the name");
    // Switching to terse renames the file to match.
    browser.choose_syntax("terse").await;
    browser
        .wait_until(
            "document.getElementById('plan-path').value === 'plans/mine.bs'",
            "the file name to follow the syntax",
        )
        .await;
    browser.click("#plan-save").await;
    browser
        .wait_until(
            "document.getElementById('save-status').textContent === 'saved plans/mine.bs'",
            "the save to be confirmed",
        )
        .await;
    let typed = browser
        .eval("document.getElementById('editor').value")
        .await;
    let saved = std::fs::read_to_string(workspace.path("plans/mine.bs")).expect("saved file");
    assert_eq!(json!(saved), typed, "the file holds the editor's text");
    assert!(saved.contains("\ninput model = "), "terse text: {saved}");
    assert_eq!(
        browser
            .eval("document.getElementById('plan-file').value")
            .await,
        json!("plans/mine.bs"),
        "the saved file is the open plan"
    );

    // An edit, then Ctrl+S (WebDriver's Control key is U+E009), replaces the file.
    let editor = browser
        .client
        .find(Locator::Id("editor"))
        .await
        .expect("editor");
    editor
        .send_keys("# edited\n\u{E009}s\u{E000}")
        .await
        .expect("type and save");
    browser
        .wait_until(
            "document.getElementById('save-status').textContent === 'saved plans/mine.bs'",
            "the second save",
        )
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let saved = std::fs::read_to_string(workspace.path("plans/mine.bs")).expect("saved");
        if saved.contains("# edited") {
            assert_eq!(
                json!(saved),
                browser
                    .eval("document.getElementById('editor').value")
                    .await
            );
            break;
        }
        assert!(Instant::now() < deadline, "Ctrl+S did not save: {saved}");
        std::thread::sleep(Duration::from_millis(50));
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tensor_tree_expands_and_shows_statistics_and_a_histogram() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    browser
        .wait_until(
            "document.querySelector('#tensor-tree details[data-name=\"h\"]') !== null",
            "the tensor tree",
        )
        .await;
    let shown = browser
        .eval("document.getElementById('checkpoint').value")
        .await;
    assert_eq!(
        shown,
        json!("examples/models/gpt2-tiny"),
        "the plan's input is shown first"
    );
    let closed = browser
        .eval("document.querySelector('#tensor-tree details[data-name=\"h\"]').open")
        .await;
    assert_eq!(closed, json!(false), "the tree starts folded");
    browser
        .click("#tensor-tree details[data-name='h'] > summary")
        .await;
    browser
        .click("details[data-name='h'] > details[data-name='[0-1]'] > summary")
        .await;
    browser
        .click("details[data-name='[0-1]'] > details[data-name='attn'] > summary")
        .await;
    browser
        .click("details[data-name='attn'] > details[data-name='c_attn'] > summary")
        .await;
    let opened = browser
        .eval("document.querySelector('details[data-name=\"attn\"]').open")
        .await;
    assert_eq!(opened, json!(true));
    let count = browser
        .eval("document.querySelector('details[data-name=\"[0-1]\"] > summary').textContent")
        .await;
    assert!(
        count.as_str().is_some_and(|t| t.contains("(24)")),
        "{count}"
    );
    browser
        .click(".tree-leaf[data-path='h.[0-1].attn.c_attn.weight']")
        .await;
    browser
        .wait_until(
            "document.querySelector('#histogram svg .bar') !== null",
            "the histogram",
        )
        .await;
    let chosen = browser
        .eval("document.getElementById('tensor-choice').value")
        .await;
    assert_eq!(chosen, json!("h.0.attn.c_attn.weight"));
    let elements = browser
        .eval("[...document.querySelectorAll('#tensor-stats tr')].find(r => r.cells[0].textContent === 'elements').cells[1].textContent")
        .await;
    assert_eq!(elements, json!("192"));
    browser.screenshot("tensors.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_opens_and_a_clicked_node_shows_its_step() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    browser.click(".tabs button[data-tab='graph']").await;
    browser
        .wait_until(
            "document.querySelector('#graph-view svg g.node[data-node]') !== null",
            "the graph picture",
        )
        .await;
    let cast = browser
        .eval("[...document.querySelectorAll('#graph-view g.node[data-node]')].find(g => g.querySelector('title').textContent.startsWith('cast')).dataset.node")
        .await;
    let cast = cast.as_str().expect("a cast node").to_string();
    browser
        .click(&format!("#graph-view g.node[data-node='{cast}']"))
        .await;
    browser
        .wait_until(
            "document.getElementById('node-step') !== null",
            "the node's step",
        )
        .await;
    let step = browser
        .eval("document.getElementById('node-step').textContent")
        .await;
    let line = line_of(EXAMPLE_PLAN, "- cast:");
    assert!(
        step.as_str()
            .is_some_and(|t| t.contains(&format!("plan.yaml:{line}:")) && t.contains("cast")),
        "{step}"
    );
    let selected = browser
        .eval("[...document.querySelectorAll('#gutter .line.selected')].map(e => Number(e.dataset.line))")
        .await;
    assert_eq!(
        selected,
        json!([line]),
        "the step's line is selected in the editor"
    );
    browser.screenshot("graph.png").await;
    browser
        .click("input[name='graph-kind'][value='optimized']")
        .await;
    browser
        .wait_until(
            "document.getElementById('graph-status').textContent.includes('optimized')",
            "the optimized graph",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_the_bundled_example_reaches_100_percent_and_its_output_appears() {
    let _one = BROWSER.lock().await;
    let workspace = Workspace::new();
    let browser = open_workbench(&workspace).await;
    browser.click(".tabs button[data-tab='run']").await;
    let output = browser
        .eval("document.getElementById('run-output').value")
        .await;
    assert_eq!(
        output,
        json!("out/gpt2-tiny-edited.safetensors"),
        "the plan's output is proposed"
    );
    browser.click("#run-button").await;
    browser
        .wait_until(
            "document.getElementById('run-progress').classList.contains('succeeded')",
            "the run to succeed",
        )
        .await;
    let percent = browser
        .eval("[document.getElementById('run-progress').dataset.percent, document.getElementById('run-percent').textContent]")
        .await;
    assert_eq!(percent, json!(["100", "100 %"]));
    let written = browser
        .eval("document.querySelector('#run-output-view .output-path').dataset.path")
        .await;
    assert_eq!(written, json!("out/gpt2-tiny-edited.safetensors"));
    let summary = browser
        .eval("document.getElementById('run-result').textContent")
        .await;
    assert!(
        summary
            .as_str()
            .is_some_and(|s| s.starts_with("wrote out/gpt2-tiny-edited.safetensors: 27 tensors")),
        "{summary}"
    );
    assert!(workspace.path("out/gpt2-tiny-edited.safetensors").is_file());
    browser.screenshot("run.png").await;

    // The written checkpoint opens in the tensor browser.
    browser.click("#run-output-view .output-path").await;
    browser
        .wait_until(
            "document.getElementById('tensor-tree').dataset.path === 'out/gpt2-tiny-edited.safetensors' && document.querySelector('#tensor-tree details[data-name=\"ln_f_half\"]') !== null",
            "the output's tensor tree",
        )
        .await;
    browser.screenshot("run-output.png").await;
    browser.close().await;
}
