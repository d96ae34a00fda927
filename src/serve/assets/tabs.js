// The side panel's tabs.
"use strict";

import { $ } from "./api.js";
import { loadGraph } from "./graph.js";

export function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const tab of ["tensors", "graph", "run"]) $("tab-" + tab).hidden = tab !== name;
  if (name === "graph") loadGraph();
}

export function wireTabs() {
  for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
}
