// The tensor browser: a checkpoint's compact tree (numbered layers folded as `inspect --tree`
// folds them) as collapsible folders, and a tensor's statistics and histogram on demand.
"use strict";

import { $, api, element, formatBytes } from "./api.js";

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

// Adds checkpoints found under the root; appending never changes what is shown, and an empty
// list picks its first entry.
export function addCheckpoints(paths) {
  const select = $("checkpoint");
  const chosen = select.value;
  for (const path of paths) {
    if (knownCheckpoints.has(path)) continue;
    knownCheckpoints.add(path);
    select.append(element("option", { value: path }, path));
  }
  if (chosen) select.value = chosen;
  else if (!$("tensor-tree").dataset.path && select.value) loadTree(select.value);
}

// Shows `path` (a checkpoint a run just wrote, for instance), adding it to the list if needed.
export function openCheckpoint(path) {
  if (!knownCheckpoints.has(path)) {
    knownCheckpoints.add(path);
    $("checkpoint").append(element("option", { value: path }, path));
  }
  $("checkpoint").value = path;
  loadTree(path);
}

export function wireTensors() {
  $("checkpoint").addEventListener("change", () => loadTree($("checkpoint").value));
  document.addEventListener("plan-checked", (event) => updateCheckpoints(event.detail.inputs || []));
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

export async function loadTree(path) {
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
