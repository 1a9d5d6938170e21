// The Services view (with etcd): every Group.Service with its instances,
// their state, weight, health and a few metrics; adding an instance
// (disabled until scaled out), scale-out / scale-in, weights and removal, each
// after a confirmation. Uses /api/services, /api/probe and /api/routes.
import { ApiError, apiJson } from "./api.js";
import { confirmAction, el } from "./dom.js";

const $ = (id) => document.getElementById(id);

export function initServices(meta) {
  if (meta.etcd === null) {
    $("no-etcd").hidden = false;
    return { refresh: () => {} };
  }
  $("with-etcd").hidden = false;
  $("etcd-info").textContent = `etcd ${meta.etcd.endpoints.join(", ")} · prefix ${meta.etcd.prefix}`;
  $("refresh").addEventListener("click", () => refresh());
  $("add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const service = $("add-service").value.trim();
    const address = $("add-address").value.trim();
    const weight = Number($("add-weight").value);
    const ok = await confirmAction(`Add ${address} to ${service} with weight ${weight}? It stays disabled (no caller picks it) until you scale it out.`);
    if (!ok) return;
    if (await change(`added ${address} to ${service} (disabled)`, routeUrl(service, address), { weight, enabled: false })) {
      $("add-address").value = "";
    }
  });
  return { refresh };
}

function routeUrl(service, address) {
  return `/api/routes/${encodeURIComponent(service)}/${encodeURIComponent(address)}`;
}

/** Sends one change, then reloads the list; false (and the reason shown) when it failed. */
async function change(done, url, body, method = "PUT") {
  const status = $("services-status");
  try {
    await apiJson(url, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    status.className = "";
    status.textContent = done;
    await refresh(false);
    return true;
  } catch (e) {
    status.className = "failed";
    status.textContent = e instanceof ApiError ? e.message : String(e);
    return false;
  }
}

let generation = 0;

/** Reloads the services from etcd and probes every instance. */
async function refresh(clearStatus = true) {
  const mine = ++generation;
  const list = $("service-list");
  const status = $("services-status");
  if (clearStatus) status.textContent = "";
  let view;
  try {
    view = await apiJson("/api/services");
  } catch (e) {
    status.className = "failed";
    status.textContent = e.message;
    return;
  }
  if (mine !== generation) return;
  if (view.services.length === 0) {
    list.replaceChildren(el("p", { className: "hint" }, `No services under ${view.prefix}/services/ yet.`));
  } else {
    list.replaceChildren(...view.services.map(serviceCard));
  }
  list.dataset.loaded = String(mine);
  await Promise.all(view.services.flatMap((s) => s.instances.map((i) => probe(s.name, i))));
  if (mine === generation) list.dataset.probed = String(mine);
}

function serviceCard(service) {
  const enabled = service.instances.filter((i) => i.enabled).length;
  return el(
    "article",
    { className: "service", dataset: { service: service.name } },
    el(
      "h3",
      {},
      service.name,
      el("span", { className: `badge ${service.kind}` }, service.kind),
      el("span", { className: "count" }, `${enabled} of ${service.instances.length} enabled`),
    ),
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["instance", "state", "weight", "health", "requests", "errors", "in flight", "memory", "", ""].map((h, i) => el("th", { className: i >= 4 && i <= 7 ? "num" : "" }, h)),
        ),
      ),
      el("tbody", {}, ...service.instances.map((i) => instanceRow(service, i))),
    ),
  );
}

function instanceRow(service, instance) {
  const address = instance.address + (instance.protocol === "udp" ? "@udp" : "");
  const weight = el("input", { type: "number", min: "1", value: String(instance.weight), className: "weight", "aria-label": `weight of ${address}` });
  const toggle = instance.enabled
    ? el("button", { type: "button", className: "scale-in", onclick: () => scale(service.name, address, false) }, "Scale in")
    : el("button", { type: "button", className: "scale-out primary", onclick: () => scale(service.name, address, true) }, "Scale out");
  return el(
    "tr",
    { dataset: { address: instance.address, enabled: String(instance.enabled), weight: String(instance.weight) } },
    el("td", {}, address, instance.registered ? el("span", { className: "badge registered", title: "registered itself in etcd (leased)" }, "registered") : null),
    el("td", {}, el("span", { className: `state ${instance.enabled ? "enabled" : "disabled"}` }, instance.enabled ? "enabled" : "disabled")),
    el(
      "td",
      { className: "weight-cell" },
      weight,
      el("button", { type: "button", className: "set-weight", onclick: () => setWeight(service.name, address, instance.weight, Number(weight.value)) }, "Set"),
    ),
    el("td", { className: "health" }, "…"),
    el("td", { className: "requests num" }),
    el("td", { className: "errors num" }),
    el("td", { className: "in-flight num" }),
    el("td", { className: "memory num" }),
    el("td", { className: "explorer" }),
    el("td", { className: "actions" }, toggle, el("button", { type: "button", className: "remove", onclick: () => remove(service.name, address) }, "Remove")),
  );
}

async function scale(service, address, enable) {
  const text = enable
    ? `Scale out: enable ${address} in ${service}? Callers start picking it at once.`
    : `Scale in: disable ${address} in ${service}? Callers stop picking it; it stays listed as disabled.`;
  if (!(await confirmAction(text))) return;
  await change(`${enable ? "enabled" : "disabled"} ${address} in ${service}`, routeUrl(service, address), { enabled: enable });
}

async function setWeight(service, address, from, to) {
  if (!Number.isInteger(to) || to < 1) {
    $("services-status").className = "failed";
    $("services-status").textContent = `weight must be an integer ≥ 1, not ${to}`;
    return;
  }
  if (!(await confirmAction(`Change the weight of ${address} in ${service} from ${from} to ${to}?`))) return;
  await change(`weight of ${address} in ${service} is ${to}`, routeUrl(service, address), { weight: to });
}

async function remove(service, address) {
  if (!(await confirmAction(`Remove ${address} from ${service}? Its entry is deleted from etcd.`))) return;
  await change(`removed ${address} from ${service}`, routeUrl(service, address.replace(/@(tcp|udp)$/, "")), undefined, "DELETE");
}

/** Fills the health and metrics cells of one instance's row. */
async function probe(serviceName, instance) {
  const row = document.querySelector(`article[data-service="${CSS.escape(serviceName)}"] tr[data-address="${CSS.escape(instance.address)}"]`);
  if (row === null) return;
  const cell = (name) => row.querySelector(`td.${name}`);
  let result;
  try {
    result = await apiJson(`/api/probe?service=${encodeURIComponent(serviceName)}&address=${encodeURIComponent(instance.address)}`);
  } catch (e) {
    result = { health: "unreachable", reason: e.message, metrics: {} };
  }
  const health = cell("health");
  health.replaceChildren(el("span", { className: `health-${result.health === "ok" ? "ok" : result.health === "unreachable" ? "down" : "warn"}`, title: result.reason ?? "" }, result.health));
  if (result.reason) health.append(el("small", {}, result.reason));
  const m = result.metrics;
  cell("requests").textContent = m.requests === undefined ? "" : m.requests.toLocaleString("en");
  cell("errors").textContent = m.errors === undefined ? "" : m.errors.toLocaleString("en");
  cell("in-flight").textContent = m.inFlight === undefined ? "" : String(m.inFlight);
  cell("memory").textContent = m.residentBytes === undefined ? "" : `${(m.residentBytes / 1048576).toFixed(1)} MiB`;
  if (result.explorer) cell("explorer").replaceChildren(el("a", { href: result.explorer, target: "_blank", rel: "noopener" }, "explorer"));
}
