// The Run panel: starts a run of the editor's plan, follows its progress over server-sent
// events, and shows the summary, the diagnostics of a failure and the written checkpoints.
"use strict";

import { $, api, element, formatBytes, token } from "./api.js";
import { planBody, renderDiagnostics } from "./editor.js";
import { openCheckpoint } from "./tensors.js";
import { showTab } from "./tabs.js";

// Whether the user typed an output path (then checks no longer propose the plan's).
let outputEdited = false;

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
      showTab("tensors");
      openCheckpoint(path);
    });
    view.append(element("p", {}, "written: ", link));
  }
}

export function wireRun() {
  $("run-button").addEventListener("click", startRun);
  $("run-output").addEventListener("input", () => { outputEdited = true; });
  document.addEventListener("plan-opened", () => { outputEdited = false; });
  document.addEventListener("plan-checked", (event) => {
    const outputs = event.detail.outputs || [];
    if (!outputEdited && outputs.length > 0) $("run-output").value = outputs[0].path;
  });
}
