// The workbench page: wires the panels and starts with the bundled example plan. Plain
// JavaScript modules, no framework, no build step; everything is served by the binary.
"use strict";

import { $, api, element, token } from "./api.js";
import { openPlan, wireEditor } from "./editor.js";
import { wireGraph } from "./graph.js";
import { wireRun } from "./run.js";
import { wireTabs } from "./tabs.js";
import { addCheckpoints, wireTensors } from "./tensors.js";

async function loadFiles() {
  try {
    const files = await api("GET", "/files");
    for (const plan of files.plans) $("plan-file").append(element("option", { value: plan }, plan));
    addCheckpoints(files.checkpoints);
  } catch (error) {
    $("connection").textContent = "cannot list files: " + error.message;
  }
}

wireEditor();
wireTensors();
wireGraph();
wireRun();
wireTabs();

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
