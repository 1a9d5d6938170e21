/**
 * The console server's HTTP messages: reading a request body under a size
 * limit, JSON answers and the error shape every API endpoint uses:
 * `{"error":{"message":"…","file":"a.proto","line":3,"col":5}}` (file, line
 * and col only for compile errors).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** An error with the HTTP status it answers (4xx: the request's fault). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly where: { file?: string; line?: number; col?: number; errors?: readonly string[] } = {},
  ) {
    super(message);
  }
}

/** Reads the whole body; `HttpError` 413 as soon as it exceeds `limit` bytes (the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (e) => {
      if (!failed) reject(e);
    });
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body larger than the upload limit of ${formatBytes(limit)} (start the console with a larger --max-upload)`);
}

/** `5 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  const { errors, ...where } = error.where;
  sendJson(res, error.status, { error: { message: error.message, ...where, ...(errors === undefined ? {} : { errors }) } });
}
