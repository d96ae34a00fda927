// The graph view: the compiled graph (raw or optimized) drawn by the server as SVG; clicking a
// node shows its op, type and parameters and the plan step that made it, selected in the editor.
"use strict";

import { $, api, element } from "./api.js";
import { planBody, selectLine } from "./editor.js";

let graphNodes = new Map();

export async function loadGraph() {
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

export function wireGraph() {
  for (const radio of document.querySelectorAll('input[name="graph-kind"]')) radio.addEventListener("change", loadGraph);
  $("graph-refresh").addEventListener("click", loadGraph);
  // A new check redraws the graph when it is on screen.
  document.addEventListener("plan-checked", () => {
    if (!$("tab-graph").hidden) loadGraph();
  });
}
