/**
 * A small incremental HTTP/1.1 request parser for the JSON side of the SRPC
 * port: request line, headers, a body framed by Content-Length or chunked
 * transfer coding (chunks concatenated — MSEC kept only the last one),
 * pipelined requests, and explicit limits. Only what the server needs; not a
 * general-purpose HTTP implementation.
 */

/** Default cap on the request line plus headers, 16 KiB (Node's own http default). */
export const DEFAULT_MAX_HTTP_HEADER_BYTES = 16 * 1024;

/** Longest chunk-size line accepted (hex size plus extensions). */
const MAX_CHUNK_LINE_BYTES = 1024;

/** One parsed request. Header names are lower-cased; repeated headers keep every value. */
export interface HttpRequest {
  method: string;
  /** Request target as sent, e.g. `/x?methodName=echo.EchoService.Echo`. */
  target: string;
  /** `1.0` or `1.1`. */
  version: string;
  headers: Array<[name: string, value: string]>;
  body: Buffer;
  /** Whether the connection stays open after the response (HTTP/1.1 default, `Connection` header). */
  keepAlive: boolean;
}

/** A request that cannot be parsed; `status` is the HTTP status to answer with before closing. */
export class HttpParseError extends Error {
  constructor(
    readonly status: 400 | 413 | 431 | 501,
    message: string,
  ) {
    super(message);
    this.name = "HttpParseError";
  }
}

/** Limits of an `HttpRequestParser`. */
export interface HttpParserLimits {
  /** Request line + headers, in bytes. */
  maxHeaderBytes: number;
  /** Decoded body, in bytes. */
  maxBodyBytes: number;
}

/** First value of header `name` (lower-case). */
export function headerValue(req: HttpRequest, name: string): string | undefined {
  for (const [n, v] of req.headers) if (n === name) return v;
  return undefined;
}

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
}

const CRLF_CRLF = Buffer.from("\r\n\r\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Feed bytes with `push`; it returns every request completed so far, in
 * order. Throws `HttpParseError` on malformed input or a broken limit; the
 * connection must then be answered with that status and closed.
 */
export class HttpRequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private state = State.Head;
  private current: HttpRequest | undefined;
  private remaining = 0;
  private chunks: Buffer[] = [];
  private bodyBytes = 0;

  /**
   * `onExpectContinue` runs when a request sent `Expect: 100-continue` and
   * none of its body has arrived yet: the client waits for an interim
   * `100 Continue` before sending the body (curl does this for bodies over 1 KiB).
   */
  constructor(
    private readonly limits: HttpParserLimits,
    private readonly onExpectContinue?: () => void,
  ) {}

  /** Bytes received but not yet part of a completed request. */
  get pendingBytes(): number {
    return this.buf.length + this.bodyBytes;
  }

  push(chunk: Uint8Array): HttpRequest[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([this.buf, chunk]);
    const done: HttpRequest[] = [];
    for (;;) {
      const req = this.step();
      if (req === undefined) break;
      if (req !== null) done.push(req);
    }
    return done;
  }

  /** Advances the state machine once: a request, `null` (progress, no request yet) or `undefined` (need bytes). */
  private step(): HttpRequest | null | undefined {
    switch (this.state) {
      case State.Head: {
        const end = this.buf.indexOf(CRLF_CRLF);
        if (end < 0) {
          if (this.buf.length > this.limits.maxHeaderBytes) throw new HttpParseError(431, "request headers too large");
          return undefined;
        }
        if (end + 4 > this.limits.maxHeaderBytes) throw new HttpParseError(431, "request headers too large");
        const req = parseHead(this.buf.toString("latin1", 0, end));
        this.buf = this.buf.subarray(end + 4);
        return this.startBody(req);
      }
      case State.Body: {
        if (this.buf.length === 0) return undefined;
        const take = Math.min(this.remaining, this.buf.length);
        this.chunks.push(Buffer.from(this.buf.subarray(0, take)));
        this.bodyBytes += take;
        this.buf = this.buf.subarray(take);
        this.remaining -= take;
        if (this.remaining > 0) return undefined;
        return this.finish(this.takeBody());
      }
      case State.ChunkSize: {
        const eol = this.buf.indexOf("\r\n");
        if (eol < 0) {
          if (this.buf.length > MAX_CHUNK_LINE_BYTES) throw new HttpParseError(400, "chunk size line too long");
          return undefined;
        }
        const line = this.buf.toString("latin1", 0, eol);
        this.buf = this.buf.subarray(eol + 2);
        const sizeText = line.split(";", 1)[0]!.trim();
        if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) throw new HttpParseError(400, "bad chunk size");
        const size = parseInt(sizeText, 16);
        if (size === 0) {
          this.state = State.Trailers;
          return null;
        }
        if (this.bodyBytes + size > this.limits.maxBodyBytes) throw new HttpParseError(413, "request body too large");
        this.remaining = size;
        this.state = State.ChunkData;
        return null;
      }
      case State.ChunkData: {
        if (this.buf.length === 0) return undefined;
        const take = Math.min(this.remaining, this.buf.length);
        this.chunks.push(Buffer.from(this.buf.subarray(0, take)));
        this.bodyBytes += take;
        this.buf = this.buf.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.ChunkDataEnd;
        return null;
      }
      case State.ChunkDataEnd: {
        if (this.buf.length < 2) return undefined;
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) throw new HttpParseError(400, "missing CRLF after chunk");
        this.buf = this.buf.subarray(2);
        this.state = State.ChunkSize;
        return null;
      }
      case State.Trailers: {
        // Trailer fields are read and ignored; an empty line ends the message.
        const eol = this.buf.indexOf("\r\n");
        if (eol < 0) {
          if (this.buf.length > this.limits.maxHeaderBytes) throw new HttpParseError(431, "trailers too large");
          return undefined;
        }
        this.buf = this.buf.subarray(eol + 2);
        if (eol > 0) return null;
        return this.finish(this.takeBody());
      }
    }
  }

  private startBody(req: HttpRequest): HttpRequest | null {
    const result = this.frameBody(req);
    if (result === null && this.buf.length === 0 && headerValue(req, "expect")?.toLowerCase() === "100-continue") {
      this.onExpectContinue?.();
    }
    return result;
  }

  private frameBody(req: HttpRequest): HttpRequest | null {
    const te = req.headers.filter(([n]) => n === "transfer-encoding").map(([, v]) => v.toLowerCase());
    const cl = req.headers.filter(([n]) => n === "content-length").map(([, v]) => v);
    if (te.length > 0) {
      // Both framings at once is the request-smuggling shape; refuse it.
      if (cl.length > 0) throw new HttpParseError(400, "both Transfer-Encoding and Content-Length");
      const codings = te.join(",").split(",").map((c) => c.trim()).filter((c) => c !== "");
      if (codings.length !== 1 || codings[0] !== "chunked") {
        throw new HttpParseError(501, "unsupported transfer coding");
      }
      this.current = req;
      this.state = State.ChunkSize;
      this.chunks = [];
      this.bodyBytes = 0;
      return null;
    }
    let length = 0;
    if (cl.length > 0) {
      const values = new Set(cl.join(",").split(",").map((v) => v.trim()));
      const only = [...values][0]!;
      if (values.size !== 1 || !/^[0-9]{1,15}$/.test(only)) throw new HttpParseError(400, "bad Content-Length");
      length = Number(only);
      if (length > this.limits.maxBodyBytes) throw new HttpParseError(413, "request body too large");
    }
    if (length === 0) {
      req.body = Buffer.alloc(0);
      return this.finish(req);
    }
    this.current = req;
    this.remaining = length;
    this.chunks = [];
    this.bodyBytes = 0;
    this.state = State.Body;
    return null;
  }

  /** The current request with the body collected so far. */
  private takeBody(): HttpRequest {
    const req = this.current!;
    req.body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bodyBytes);
    this.chunks = [];
    this.bodyBytes = 0;
    return req;
  }

  private finish(req: HttpRequest): HttpRequest {
    this.current = undefined;
    this.state = State.Head;
    return req;
  }
}

function parseHead(text: string): HttpRequest {
  const lines = text.split("\r\n");
  const requestLine = lines[0]!;
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/.exec(requestLine);
  if (!m) throw new HttpParseError(400, "bad request line");
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpParseError(400, "bad header line");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError(400, "bad header name");
    headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const version = `1.${m[3]}`;
  const connection = headers
    .filter(([n]) => n === "connection")
    .flatMap(([, v]) => v.toLowerCase().split(","))
    .map((t) => t.trim());
  const keepAlive = version === "1.1" ? !connection.includes("close") : connection.includes("keep-alive");
  return { method: m[1]!, target: m[2]!, version, headers, body: Buffer.alloc(0), keepAlive };
}
