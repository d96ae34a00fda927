// The plan editor: a textarea over a backdrop that marks each diagnostic at its line and column,
// a line-number gutter, checks debounced after each edit, syntax switching through `fmt`, and
// saving the text (as typed, errors and all) to a plan file under the root.
// After each check it announces the result as a `plan-checked` event on `document`, which the
// other panels follow; opening a plan announces `plan-opened`.
"use strict";

import { $, api, element } from "./api.js";

export const editor = $("editor");
const state = {
  syntax: "yaml",
  checkSequence: 0,
  checkTimer: null,
  lastCheck: null,
  selectedLine: null,
};

// The body of the plan endpoints: the editor's text and syntax, plus `extra`.
export function planBody(extra) {
  return Object.assign({ plan: editor.value, syntax: state.syntax }, extra || {});
}

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

export function syncScroll() {
  $("backdrop").scrollTop = editor.scrollTop;
  $("backdrop").scrollLeft = editor.scrollLeft;
  $("gutter").scrollTop = editor.scrollTop;
}

export function renderDiagnostics(list, diagnostics) {
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

export function selectLine(line, column) {
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

export function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, 300);
}

export async function check() {
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
  document.dispatchEvent(new CustomEvent("plan-checked", { detail: result }));
}

export async function switchSyntax() {
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
    // The file name follows the syntax, so Save writes what the suffix promises.
    const path = $("plan-path").value;
    if (path) $("plan-path").value = path.replace(/\.(ya?ml|bs)$/, "") + (wanted === "terse" ? ".bs" : ".yaml");
    refreshEditor();
    check();
  } catch (error) {
    $("syntax").value = state.syntax;
    $("check-status").textContent = "conversion failed: " + error.message;
  }
}

export function refreshEditor() {
  const diagnostics = state.lastCheck ? state.lastCheck.diagnostics : [];
  renderGutter(diagnostics);
  renderBackdrop(diagnostics);
}

export async function openPlan(path) {
  if (!path) {
    editor.value = await (await fetch("/assets/example.yaml")).text();
    state.syntax = "yaml";
  } else {
    const file = await api("GET", "/file?path=" + encodeURIComponent(path));
    editor.value = file.text;
    state.syntax = file.syntax;
  }
  $("syntax").value = state.syntax;
  $("plan-path").value = path || "";
  $("save-status").textContent = "";
  document.dispatchEvent(new CustomEvent("plan-opened"));
  refreshEditor();
  // The first check decides which checkpoint the tensor browser shows, so callers may wait for it.
  return check();
}

// Writes the editor's text to the file named in "Save as" (created or replaced atomically).
export async function savePlan() {
  const path = $("plan-path").value.trim();
  const status = $("save-status");
  if (!path) {
    status.textContent = "name the file to save to";
    status.className = "error";
    $("plan-path").focus();
    return;
  }
  try {
    const saved = await api("POST", "/file", { path, text: editor.value, syntax: state.syntax });
    status.textContent = `saved ${saved.path}`;
    status.className = "ok";
    const files = $("plan-file");
    if (![...files.options].some((option) => option.value === saved.path)) {
      files.append(element("option", { value: saved.path }, saved.path));
    }
    files.value = saved.path;
  } catch (error) {
    status.textContent = "not saved: " + error.message;
    status.className = "error";
  }
}

function saveShortcut(event) {
  if ((event.ctrlKey || event.metaKey) && event.key === "s") {
    event.preventDefault();
    savePlan();
  }
}

// Tab indents by two spaces instead of leaving the editor (Shift+Tab still moves focus on).
function indent(event) {
  if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
  event.preventDefault();
  editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
  editor.dispatchEvent(new Event("input"));
}

export function wireEditor() {
  editor.addEventListener("input", () => {
    $("save-status").textContent = "";
    refreshEditor();
    scheduleCheck();
  });
  editor.addEventListener("scroll", syncScroll);
  editor.addEventListener("keydown", indent);
  $("syntax").addEventListener("change", switchSyntax);
  $("plan-file").addEventListener("change", () => openPlan($("plan-file").value));
  $("plan-save").addEventListener("click", savePlan);
  document.addEventListener("keydown", saveShortcut);
}
