/**
 * The MSEC JSON envelope (spec §3.3) and the HTTP response that carries it.
 * Byte-compatible with MSEC's `GenJsonResponse`, except that `errmsg` is
 * JSON-escaped (the original inserted it raw) and `resultObj` is written from
 * a JSON tree with jansson's separators (`": "`, `", "`), as MSEC's C++
 * `pb2json` did.
 */
import type { JsonValue } from "@bufbuild/protobuf";

/** Escapes a string the way jansson does: `"`, `\`, control characters; `/` and non-ASCII kept. */
export function janssonString(s: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(from, i);
    from = i + 1;
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      default:
        out += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    }
  }
  return out + s.slice(from) + '"';
}

/** Writes a JSON tree on one line with jansson's default separators: `{"a": 1, "b": [1, 2]}`. */
export function janssonJson(value: JsonValue): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return janssonString(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ", ") + janssonJson(value[i]!);
    return out + "]";
  }
  let out = "{";
  let first = true;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    out += (first ? "" : ", ") + janssonString(key) + ": " + janssonJson(v);
    first = false;
  }
  return out + "}";
}

/**
 * The envelope body: `{"ret":<ret>, "errmsg":"<msg>", "resultObj": <json>}` when
 * there is a result, else `{"ret":<ret>, "errmsg":"<msg>" }` (note MSEC's spaces).
 */
export function jsonEnvelope(ret: number, errmsg: string, result?: JsonValue): string {
  const head = `{"ret":${ret}, "errmsg":${janssonString(errmsg)}`;
  return result === undefined ? `${head} }` : `${head}, "resultObj": ${janssonJson(result)}}`;
}

/** The HTTP response around an envelope, byte-exact as MSEC (spec §3.3, V8): always 200. */
export function jsonEnvelopeResponse(envelope: string): Buffer {
  const body = Buffer.from(envelope, "utf8");
  const head =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\n" +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** A plain HTTP response for the non-RPC paths (health, metrics, errors). */
export function plainResponse(
  status: number,
  reason: string,
  contentType: string,
  body: string,
  extraHeaders = "",
): Buffer {
  const bytes = Buffer.from(body, "utf8");
  const head =
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${contentType}\r\n${extraHeaders}` +
    `Content-Length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}
