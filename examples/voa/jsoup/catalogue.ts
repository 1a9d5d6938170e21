/**
 * Jsoup's fixed catalogue: titles, URLs and MP3 bytes from `catalogue.json`
 * and `mp3/` beside this file (no internet), and the answers of Jsoup's two
 * request classes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Where the catalogue's URLs point. The host is reserved (RFC 2606): nothing is fetched from it; Jsoup serves the bytes. */
export const URL_BASE = "http://voa.example/";

/** The request class of the walkthrough: the MP3 list of one type. */
export const GET_MP3_LIST = "com.bison.GetMP3List";
/** The example's second request class: one MP3 file's bytes by URL. */
export const GET_MP3 = "com.bison.GetMP3";

/** Reply statuses (0 = success). */
export const Status = { ok: 0, unknownHandleClass: 1, unknownType: 2, unknownUrl: 3 } as const;

export interface Episode {
  readonly type: string;
  readonly title: string;
  readonly url: string;
  readonly file: string;
}

/** Every episode of `catalogue.json`, in file order. */
export function loadCatalogue(dir: string = HERE): Episode[] {
  const raw = JSON.parse(readFileSync(path.join(dir, "catalogue.json"), "utf8")) as Record<string, Array<{ title: string; file: string }>>;
  return Object.entries(raw).flatMap(([type, entries]) =>
    entries.map((e) => ({ type, title: e.title, url: `${URL_BASE}${type}/${e.file}`, file: path.join(dir, "mp3", e.file) })),
  );
}

/**
 * The reply to one request:
 * `{"handleClass":"com.bison.GetMP3List","requestBody":{"type":T}}` →
 * `{"status":0,"mp3s":[{"title","url"}]}` (status 2 and no mp3s for an
 * unknown type); `{"handleClass":"com.bison.GetMP3","requestBody":{"url":U}}`
 * → `{"status":0,"title","size","content":<base64>}` (status 3 for an
 * unknown URL); status 1 for any other handleClass.
 */
export function answer(catalogue: readonly Episode[], request: unknown): Record<string, unknown> {
  const req = (typeof request === "object" && request !== null ? request : {}) as { handleClass?: unknown; requestBody?: Record<string, unknown> };
  const body = req.requestBody ?? {};
  if (req.handleClass === GET_MP3_LIST) {
    const mp3s = catalogue.filter((e) => e.type === body.type).map((e) => ({ title: e.title, url: e.url }));
    return mp3s.length === 0 ? { status: Status.unknownType, mp3s: [] } : { status: Status.ok, mp3s };
  }
  if (req.handleClass === GET_MP3) {
    const episode = catalogue.find((e) => e.url === body.url);
    if (episode === undefined) return { status: Status.unknownUrl };
    const bytes = readFileSync(episode.file);
    return { status: Status.ok, title: episode.title, size: bytes.length, content: bytes.toString("base64") };
  }
  return { status: Status.unknownHandleClass };
}
