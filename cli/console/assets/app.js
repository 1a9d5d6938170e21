// msec-gen console: the page's entry. Reads /api/meta, starts the Generate
// (generate.js) and Services (services.js) views and switches the tabs.
// Plain browser JavaScript (ES modules), no build step.
import { initGenerate } from "./generate.js";
import { initServices } from "./services.js";
import { apiJson } from "./api.js";
import { el } from "./dom.js";

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

async function start() {
  const meta = await apiJson("/api/meta");
  document.getElementById("version").textContent = `msec-gen ${meta.version}`;
  const services = initServices(meta);
  initGenerate(meta);
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      showTab(tab.dataset.tab);
      if (tab.dataset.tab === "services") services.refresh();
    });
  }
  const first = location.hash === "#services" ? "services" : "generate";
  showTab(first);
  if (first === "services") services.refresh();
  document.body.dataset.ready = "true";
}

start().catch((e) => {
  document.body.prepend(el("p", { className: "fatal" }, `The console could not start: ${e.message}`));
});
