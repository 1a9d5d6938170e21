// Helpers shared by the console's views: calling the API, the confirmation
// dialog, building DOM nodes (text is always set as text, never as HTML).

/** An API error: `message` plus, for compile errors, `file`, `line`, `col`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail.message ?? `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Calls the console's API; resolves with the Response, throws ApiError for 4xx/5xx. */
export async function api(path, init = {}) {
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail = { message: `HTTP ${res.status}` };
    try {
      detail = (await res.json()).error ?? detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, detail);
  }
  return res;
}

/** Calls the API and returns its JSON. */
export async function apiJson(path, init = {}) {
  return (await api(path, init)).json();
}

/** Asks for confirmation in the page's dialog; resolves true when confirmed. */
export function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** `document.createElement` with properties and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}
