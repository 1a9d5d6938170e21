/**
 * The API explorer page at `GET /explorer` (docs/explorer.md): one HTML file
 * with its script and styles inline, which reads `/openapi.json` and sends JSON
 * calls from forms. It is the same file the Python runtime serves; it lives in
 * `assets/explorer.html` of this package (listed in package.json `files`) and is
 * read once, on the first request.
 *
 * Served whether or not the server has an OpenAPI document: without one the
 * page says so and how to give the server one, instead of a bare 404.
 */
import { readFileSync } from "node:fs";
import { plainResponse } from "./json-envelope.js";

/** Where the page is, from `src/server/` and from `dist/server/` alike. */
export const EXPLORER_PAGE_URL = new URL("../../assets/explorer.html", import.meta.url);

/** The path the page is served at. */
export const EXPLORER_PATH = "/explorer";

let cached: Buffer | undefined;

/** The complete `200` answer carrying the page (`text/html`, not cached by browsers across versions). */
export function explorerResponse(): Buffer {
  cached ??= plainResponse(200, "OK", "text/html; charset=utf-8", readFileSync(EXPLORER_PAGE_URL, "utf8"), "Cache-Control: no-cache\r\n");
  return cached;
}
