// Calls to the console's HTTP API (docs/console.md): errors become ApiError
// carrying the server's {message, file, line, col}.

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
