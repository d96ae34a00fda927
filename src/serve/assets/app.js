// The workbench page. Plain JavaScript, no framework, no build step: it calls the JSON API of
// `brainsurgery serve` with the token from the page's URL and draws what comes back.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const editor = $("editor");
const state = {
  syntax: "yaml",
  checkSequence: 0,
  checkTimer: null,
  lastCheck: null,
  outputEdited: false,
  selectedLine: null,
};

// ---------------------------------------------------------------------------------------------
// The API.

async function api(method, path, body) {
  const options = { method, headers: { "x-brainsurgery-token": token } };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/api" + path, options);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (answer.error && answer.error.message) || response.statusText;
    throw new Error(message);
  }
  return answer;
}

function planBody(extra) {
  return Object.assign({ plan: editor.value, syntax: state.syntax }, extra || {});
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// ---------------------------------------------------------------------------------------------
// The editor: gutter, backdrop with inline diagnostics, debounced checks.

function renderGutter(diagnostics) {
  const lines = editor.value.split("\n").length;
  const marks = new Map();
  for (const diagnostic of diagnostics || []) {
    if (!diagnostic.at) continue;
    const line = diagnostic.at.line;
    if (marks.get(line) !== "error") marks.set(line, diagnostic.severity);
  }
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let line = 1; line <= lines; line += 1) {
    const classes = ["line"];
    if (marks.has(line)) classes.push(marks.get(line));
    if (state.selectedLine === line) classes.push("selected");
    gutter.append(element("div", { class: classes.join(" "), "data-line": line }, line));
  }
  gutter.scrollTop = editor.scrollTop;
}

// Draws the text into the backdrop with each diagnostic's primary span marked and its message
// written after the end of its line; the textarea above shows the same text, so marks line up.
function renderBackdrop(diagnostics) {
  const lines = editor.value.split("\n");
  const byLine = new Map();
  for (const diagnostic of diagnostics || []) {
    if (!diagnostic.at) continue;
    const list = byLine.get(diagnostic.at.line) || [];
    list.push(diagnostic);
    byLine.set(diagnostic.at.line, list);
  }
  const backdrop = $("backdrop");
  backdrop.replaceChildren();
  lines.forEach((text, index) => {
    const number = index + 1;
    const found = byLine.get(number);
    if (!found) {
      backdrop.append(text);
    } else {
      const first = found[0];
      const start = Math.min(first.at.column - 1, text.length);
      const end = first.at.end_line === number
        ? Math.max(start + 1, Math.min(first.at.end_column - 1, text.length))
        : text.length;
      backdrop.append(text.slice(0, start));
      backdrop.append(element("mark", {
        class: `diag-mark ${first.severity}`,
        "data-line": number,
        "data-column": first.at.column,
        "data-code": first.code,
      }, text.slice(start, Math.max(end, start + 1)) || " "));
      backdrop.append(text.slice(Math.max(end, start + 1)));
      const message = found.map((d) => `${d.code}: ${d.message}`).join(" · ");
      backdrop.append(element("span", {
        class: `inline-message ${first.severity}`,
        "data-line": number,
      }, "   ◀ " + message));
    }
    if (index < lines.length - 1) backdrop.append("\n");
  });
  // A trailing line keeps the backdrop as tall as the textarea's scroll height.
  backdrop.append("\n ");
  syncScroll();
}

function syncScroll() {
  $("backdrop").scrollTop = editor.scrollTop;
  $("backdrop").scrollLeft = editor.scrollLeft;
  $("gutter").scrollTop = editor.scrollTop;
}

function renderDiagnostics(list, diagnostics) {
  list.replaceChildren();
  if (!diagnostics || diagnostics.length === 0) {
    list.append(element("li", { class: "none" }, "No problems."));
    return;
  }
  for (const diagnostic of diagnostics) {
    const where = diagnostic.at ? `line ${diagnostic.at.line}, column ${diagnostic.at.column}` : "";
    const item = element("li", {
      class: `diagnostic ${diagnostic.severity}`,
      "data-code": diagnostic.code,
      "data-line": diagnostic.at ? diagnostic.at.line : "",
    },
    element("strong", {}, `${diagnostic.severity}[${diagnostic.code}]`), " ",
    diagnostic.message, " ", element("span", { class: "muted" }, where),
    element("pre", {}, diagnostic.rendered));
    if (diagnostic.at) item.addEventListener("click", () => selectLine(diagnostic.at.line, diagnostic.at.column));
    list.append(item);
  }
}

function selectLine(line, column) {
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let index = 0; index < line - 1 && index < lines.length; index += 1) offset += lines[index].length + 1;
  const start = offset + Math.max(0, (column || 1) - 1);
  const end = offset + (lines[line - 1] || "").length;
  editor.focus();
  editor.setSelectionRange(start, end);
  editor.scrollTop = Math.max(0, (line - 4) * 18);
  state.selectedLine = line;
  renderGutter(state.lastCheck ? state.lastCheck.diagnostics : []);
}

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, 300);
}

async function check() {
  const sequence = ++state.checkSequence;
  $("check-status").textContent = "checking…";
  $("check-status").className = "status";
  let result;
  try {
    result = await api("POST", "/check", planBody());
  } catch (error) {
    $("check-status").textContent = "check failed: " + error.message;
    $("check-status").className = "status error";
    return;
  }
  // An older answer arriving after a newer request is dropped.
  if (sequence !== state.checkSequence) return;
  state.lastCheck = result;
  const status = $("check-status");
  if (result.ok) {
    status.textContent = result.warnings ? `valid (${result.warnings} warning${result.warnings === 1 ? "" : "s"})` : "✓ valid";
    status.className = "status ok";
  } else {
    status.textContent = `${result.errors} error${result.errors === 1 ? "" : "s"}`;
    status.className = "status error";
  }
  status.dataset.errors = result.errors;
  renderGutter(result.diagnostics);
  renderBackdrop(result.diagnostics);
  renderDiagnostics($("diagnostics"), result.diagnostics);
  $("summary").textContent = result.summary || "(no summary: the plan did not parse)";
  $("summary").className = result.summary ? "summary" : "summary muted";
  updateCheckpoints(result.inputs || []);
  if (!state.outputEdited && result.outputs && result.outputs.length > 0) {
    $("run-output").value = result.outputs[0].path;
  }
  if (!$("tab-graph").hidden) loadGraph();
}

async function switchSyntax() {
  const wanted = $("syntax").value;
  if (wanted === state.syntax) return;
  try {
    const result = await api("POST", "/fmt", planBody({ to: wanted }));
    if (!result.ok) {
      $("syntax").value = state.syntax;
      renderDiagnostics($("diagnostics"), result.diagnostics);
      $("check-status").textContent = "fix the errors before converting";
      $("check-status").className = "status error";
      return;
    }
    state.syntax = wanted;
    editor.value = result.text;
    refreshEditor();
    check();
  } catch (error) {
    $("syntax").value = state.syntax;
    $("check-status").textContent = "conversion failed: " + error.message;
  }
}

function refreshEditor() {
  const diagnostics = state.lastCheck ? state.lastCheck.diagnostics : [];
  renderGutter(diagnostics);
  renderBackdrop(diagnostics);
}

// ---------------------------------------------------------------------------------------------
// Tensors: the checkpoint's folded tree, statistics and histogram on demand.

const knownCheckpoints = new Set();

// The plan's inputs come first in the list; the first one is shown until the user picks another.
function updateCheckpoints(inputs) {
  const select = $("checkpoint");
  for (const input of [...inputs].reverse()) {
    if (knownCheckpoints.has(input.path)) continue;
    knownCheckpoints.add(input.path);
    select.prepend(element("option", { value: input.path }, `${input.alias}: ${input.path}`));
  }
  if (!$("tensor-tree").dataset.path && inputs.length > 0) {
    select.value = inputs[0].path;
    loadTree(inputs[0].path);
  }
}

async function loadFiles() {
  try {
    const files = await api("GET", "/files");
    for (const plan of files.plans) $("plan-file").append(element("option", { value: plan }, plan));
    const select = $("checkpoint");
    const chosen = select.value;
    for (const path of files.checkpoints) {
      if (knownCheckpoints.has(path)) continue;
      knownCheckpoints.add(path);
      select.append(element("option", { value: path }, path));
    }
    // Appending never changes what is shown; an empty list picks its first entry.
    if (chosen) select.value = chosen;
    else if (!$("tensor-tree").dataset.path && select.value) loadTree(select.value);
  } catch (error) {
    $("connection").textContent = "cannot list files: " + error.message;
  }
}

// Builds nested objects from the dotted paths of the folded tree (`h.[0-1].attn.c_attn.weight`).
function nest(lines) {
  const root = { children: new Map(), lines: [] };
  for (const line of lines) {
    const segments = line.path.split(".");
    let node = root;
    for (const segment of segments.slice(0, -1)) {
      if (!node.children.has(segment)) node.children.set(segment, { children: new Map(), lines: [] });
      node = node.children.get(segment);
    }
    node.lines.push(Object.assign({ leaf: segments[segments.length - 1] }, line));
  }
  return root;
}

function countTensors(node) {
  let count = node.lines.reduce((sum, line) => sum + line.tensors, 0);
  for (const child of node.children.values()) count += countTensors(child);
  return count;
}

function renderTree(container, node, checkpoint) {
  for (const [name, child] of node.children) {
    const count = countTensors(child);
    const details = element("details", { class: "tree-node", "data-name": name },
      element("summary", {}, name, " ", element("span", { class: "count" }, `(${count})`)));
    renderTree(details, child, checkpoint);
    container.append(details);
  }
  for (const line of node.lines) {
    const leaf = element("div", { class: "tree-leaf", "data-path": line.path },
      line.leaf, "  ",
      element("span", { class: "type" }, `${line.dtype} [${line.shape.join(", ")}]`), "  ",
      element("span", { class: "bytes" }, formatBytes(line.bytes) + (line.tensors > 1 ? ` (${line.tensors} tensors)` : "")));
    leaf.addEventListener("click", () => {
      for (const selected of document.querySelectorAll(".tree-leaf.selected")) selected.classList.remove("selected");
      leaf.classList.add("selected");
      showTensorChoices(checkpoint, line.path);
    });
    container.append(leaf);
  }
}

async function loadTree(path) {
  $("tensor-tree").replaceChildren(element("span", { class: "muted" }, "loading…"));
  $("tensor-tree").dataset.path = path;
  $("tensor-detail").replaceChildren();
  try {
    const answer = await api("GET", "/inspect?path=" + encodeURIComponent(path));
    const tree = $("tensor-tree");
    tree.replaceChildren();
    tree.dataset.path = path;
    renderTree(tree, nest(answer.tree), path);
    const totals = answer.totals;
    $("tensor-totals").textContent = `${totals.tensors} tensors, ${totals.parameters.toLocaleString()} parameters, ${formatBytes(totals.bytes)}`;
  } catch (error) {
    $("tensor-tree").replaceChildren(element("span", { class: "error" }, error.message));
  }
}

// Every concrete name a folded path stands for: `h.[0-1].w` → `h.0.w`, `h.1.w`.
function expand(path) {
  let names = [""];
  const parts = path.split(".");
  parts.forEach((part, index) => {
    const range = /^\[(\d+)-(\d+)\]$/.exec(part);
    const values = [];
    if (range) {
      for (let value = Number(range[1]); value <= Number(range[2]); value += 1) values.push(String(value));
    } else {
      values.push(part);
    }
    const next = [];
    for (const name of names) for (const value of values) next.push(index === 0 ? value : `${name}.${value}`);
    names = next.slice(0, 1024);
  });
  return names;
}

function showTensorChoices(checkpoint, path) {
  const names = expand(path);
  const detail = $("tensor-detail");
  detail.replaceChildren();
  if (names.length > 1) {
    const select = element("select", { id: "tensor-choice" });
    for (const name of names) select.append(element("option", { value: name }, name));
    select.addEventListener("change", () => loadTensor(checkpoint, select.value));
    detail.append(element("label", {}, "Tensor ", select));
  }
  detail.append(element("div", { id: "tensor-stats" }));
  loadTensor(checkpoint, names[0]);
}

async function loadTensor(checkpoint, name) {
  const target = $("tensor-stats");
  target.replaceChildren(element("span", { class: "muted" }, `reading ${name}…`));
  try {
    const tensor = await api("GET", `/tensor?path=${encodeURIComponent(checkpoint)}&name=${encodeURIComponent(name)}`);
    const rows = [["name", tensor.name], ["dtype", tensor.dtype], ["shape", `[${tensor.shape.join(", ")}]`], ["bytes", formatBytes(tensor.bytes)]];
    if (tensor.stats) {
      for (const key of ["elements", "min", "max", "mean", "std", "nan", "inf"]) {
        const value = tensor.stats[key];
        rows.push([key, typeof value === "number" && !Number.isInteger(value) ? value.toPrecision(6) : value === null ? "–" : value]);
      }
    } else {
      rows.push(["stats", "not available for this dtype"]);
    }
    const table = element("table", { class: "stats" });
    for (const [key, value] of rows) table.append(element("tr", {}, element("td", { class: "muted" }, key), element("td", {}, value)));
    const histogram = element("div", { id: "histogram" });
    if (tensor.histogram) histogram.innerHTML = tensor.histogram; // SVG drawn and escaped by the server.
    target.replaceChildren(table, histogram);
  } catch (error) {
    target.replaceChildren(element("span", { class: "error" }, error.message));
  }
}

// ---------------------------------------------------------------------------------------------
// Graph: the compiled graph as SVG; clicking a node shows its step.

let graphNodes = new Map();

async function loadGraph() {
  const optimized = document.querySelector('input[name="graph-kind"]:checked').value === "optimized";
  $("graph-status").textContent = "drawing…";
  try {
    const result = await api("POST", "/graph", planBody({ optimized }));
    const view = $("graph-view");
    if (!result.ok) {
      view.replaceChildren(element("p", { class: "muted" }, "The plan has errors; fix them to see its graph."));
      $("graph-status").textContent = "";
      return;
    }
    view.innerHTML = result.svg; // Drawn and escaped by the server.
    graphNodes = new Map(result.nodes.map((node) => [String(node.id), node]));
    for (const group of view.querySelectorAll("g.node[data-node]")) {
      group.addEventListener("click", () => showNode(group));
    }
    $("graph-status").textContent = `${result.nodes.length} nodes${result.omitted ? `, ${result.omitted} not drawn` : ""}${optimized ? " (optimized)" : ""}`;
  } catch (error) {
    $("graph-status").textContent = error.message;
  }
}

function showNode(group) {
  for (const selected of document.querySelectorAll("g.node.selected")) selected.classList.remove("selected");
  group.classList.add("selected");
  const node = graphNodes.get(group.dataset.node);
  const detail = $("node-detail");
  detail.replaceChildren();
  if (!node) return;
  const table = element("table", {});
  const add = (key, value) => table.append(element("tr", {}, element("td", { class: "muted" }, key), element("td", {}, value)));
  add("node", `#${node.id} ${node.op} (${node.family})`);
  add("type", node.type || "–");
  for (const [key, value] of Object.entries(node.parameters)) add(key, typeof value === "string" ? value : JSON.stringify(value));
  add("inputs", node.inputs.map((id) => "#" + id).join(", ") || "–");
  detail.append(table);
  if (node.step) {
    detail.append(element("p", { id: "node-step" },
      `step at ${node.step.source}:${node.step.line}:${node.step.column}`,
      element("pre", { class: "summary" }, node.step.text)));
    if (node.step.in_editor) selectLine(node.step.line, node.step.column);
  }
}

// ---------------------------------------------------------------------------------------------
// Run: start a run, follow its progress over server-sent events.

function showProgress(status) {
  const progress = $("run-progress");
  const percent = Math.round(status.percent);
  progress.dataset.percent = String(percent);
  progress.querySelector(".progress-bar").style.width = `${percent}%`;
  progress.className = `progress ${status.state}`;
  $("run-percent").textContent = `${percent} %`;
  $("run-state").textContent = `${status.state}: ${status.tensors}/${status.total_tensors} tensors, ${formatBytes(status.bytes)} of ${formatBytes(status.total_bytes)}`;
}

async function startRun() {
  const button = $("run-button");
  button.disabled = true;
  $("run-result").textContent = "";
  $("run-diagnostics").replaceChildren();
  $("run-output-view").replaceChildren();
  showProgress({ state: "running", percent: 0, tensors: 0, total_tensors: 0, bytes: 0, total_bytes: 0 });
  let started;
  try {
    started = await api("POST", "/run", planBody({ output: $("run-output").value || null, dry_run: $("run-dry").checked }));
  } catch (error) {
    $("run-state").textContent = "not started: " + error.message;
    button.disabled = false;
    return;
  }
  if (!started.id) {
    $("run-state").textContent = "not started: the plan has errors";
    renderDiagnostics($("run-diagnostics"), started.diagnostics);
    button.disabled = false;
    return;
  }
  const events = new EventSource(`/api/runs/${started.id}/events?token=${encodeURIComponent(token)}`);
  events.addEventListener("progress", (event) => {
    const status = JSON.parse(event.data);
    showProgress(status);
    if (status.state !== "running") {
      events.close();
      button.disabled = false;
      finishRun(status);
    }
  });
  events.onerror = () => {
    events.close();
    button.disabled = false;
  };
}

function finishRun(status) {
  const result = status.result || {};
  $("run-result").textContent = result.summary || result.message || "";
  if (result.diagnostics) renderDiagnostics($("run-diagnostics"), result.diagnostics);
  for (const path of result.published || []) {
    const view = $("run-output-view");
    const link = element("a", { href: "#", class: "output-path", "data-path": path }, path);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      if (!knownCheckpoints.has(path)) {
        knownCheckpoints.add(path);
        $("checkpoint").append(element("option", { value: path }, path));
      }
      $("checkpoint").value = path;
      showTab("tensors");
      loadTree(path);
    });
    view.append(element("p", {}, "written: ", link));
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of ["tensors", "graph", "run"]) $("tab-" + tab).hidden = tab !== name;
  if (name === "graph") loadGraph();
}

async function openPlan(path) {
  if (!path) {
    editor.value = await (await fetch("/assets/example.yaml")).text();
    state.syntax = "yaml";
  } else {
    const file = await api("GET", "/file?path=" + encodeURIComponent(path));
    editor.value = file.text;
    state.syntax = file.syntax;
  }
  $("syntax").value = state.syntax;
  state.outputEdited = false;
  refreshEditor();
  check();
}

editor.addEventListener("input", () => {
  refreshEditor();
  scheduleCheck();
});
editor.addEventListener("scroll", syncScroll);
// Tab indents by two spaces instead of leaving the editor (Shift+Tab still moves focus on).
editor.addEventListener("keydown", (event) => {
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  const start = editor.selectionStart;
  editor.setRangeText("  ", start, editor.selectionEnd, "end");
  editor.dispatchEvent(new Event("input"));
});
$("syntax").addEventListener("change", switchSyntax);
$("plan-file").addEventListener("change", () => openPlan($("plan-file").value));
$("checkpoint").addEventListener("change", () => loadTree($("checkpoint").value));
for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
for (const radio of document.querySelectorAll('input[name="graph-kind"]')) radio.addEventListener("change", loadGraph);
$("graph-refresh").addEventListener("click", loadGraph);
$("run-button").addEventListener("click", startRun);
$("run-output").addEventListener("input", () => { state.outputEdited = true; });

(async function start() {
  if (!token) {
    $("connection").textContent = "no token in the URL: open the address the server printed";
  }
  try {
    const info = await api("GET", "/info");
    $("root-path").textContent = `root: ${info.root}`;
    $("connection").textContent = `v${info.version}`;
  } catch (error) {
    $("connection").textContent = error.message;
  }
  await openPlan("");
  loadFiles();
})();
