/**
 * A small incremental HTTP/1.1 request parser for the JSON side of the SRPC
 * port: request line, headers, a body framed by Content-Length or chunked
 * transfer coding (chunks concatenated — MSEC kept only the last one),
 * pipelined requests, and explicit limits. Only what the server needs; not a
 * general-purpose HTTP implementation.
 */
import { InputBuffer } from "../input-buffer.js";

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

/**
 * A request that cannot be parsed; `status` is the HTTP status to answer with
 * before closing. `completed` are the requests that came complete before the
 * bad bytes in the same push: they are answered first.
 */
export class HttpParseError extends Error {
  completed: HttpRequest[] = [];

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
const CRLF = Buffer.from("\r\n");
const EMPTY = Buffer.alloc(0);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Feed bytes with `push`; it returns every request completed so far, in
 * order. Throws `HttpParseError` on malformed input or a broken limit; the
 * connection must then be answered with that status and closed.
 *
 * Memory is proportional to the bytes received, however they are segmented:
 * unparsed bytes and the body being collected are each copied into one
 * buffer of the parser's own (`InputBuffer`), and searches for line ends
 * resume where the previous push stopped, so a head sent one byte at a time
 * costs linear time.
 */
export class HttpRequestParser {
  /** Unparsed bytes kept between pushes. */
  private readonly input = new InputBuffer();
  /** The bytes being parsed during a push, and the position reached. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Bytes from `pos` already searched for the current line or head end, without finding it. */
  private scanned = 0;
  private state = State.Head;
  private current: HttpRequest | undefined;
  private remaining = 0;
  private readonly body = new InputBuffer();
  private trailerBytes = 0;

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
    return this.input.length + this.body.length;
  }

  /** True while a request has begun (at least one byte) and is not complete. */
  get inProgress(): boolean {
    return this.state !== State.Head || this.input.length > 0;
  }

  push(chunk: Uint8Array): HttpRequest[] {
    const fromInput = this.input.length > 0;
    if (fromInput) {
      this.input.append(chunk);
      this.buf = this.input.view();
    } else {
      this.buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    }
    this.pos = 0;
    const done: HttpRequest[] = [];
    try {
      for (;;) {
        const req = this.step();
        if (req === undefined) break;
        if (req !== null) done.push(req);
      }
    } catch (e) {
      this.input.clear();
      this.body.clear();
      this.buf = EMPTY;
      if (e instanceof HttpParseError) e.completed = done;
      throw e;
    }
    if (fromInput) this.input.consume(this.pos);
    else if (this.pos < this.buf.length) this.input.append(this.buf.subarray(this.pos));
    this.buf = EMPTY;
    return done;
  }

  private get available(): number {
    return this.buf.length - this.pos;
  }

  /** Index (relative to `pos`) of `needle` in the unparsed bytes, resuming the search where the last one stopped; -1 if absent. */
  private find(needle: Buffer): number {
    const from = this.pos + Math.max(0, this.scanned - (needle.length - 1));
    const at = this.buf.indexOf(needle, from);
    if (at < 0) {
      this.scanned = this.available;
      return -1;
    }
    this.scanned = 0;
    return at - this.pos;
  }

  private advance(n: number): void {
    this.pos += n;
    this.scanned = 0;
  }

  /** Advances the state machine once: a request, `null` (progress, no request yet) or `undefined` (need bytes). */
  private step(): HttpRequest | null | undefined {
    switch (this.state) {
      case State.Head: {
        if (this.available === 0) return undefined;
        const end = this.find(CRLF_CRLF);
        if (end < 0) {
          if (this.available > this.limits.maxHeaderBytes) throw new HttpParseError(431, "request headers too large");
          return undefined;
        }
        if (end + 4 > this.limits.maxHeaderBytes) throw new HttpParseError(431, "request headers too large");
        const req = parseHead(this.buf.toString("latin1", this.pos, this.pos + end));
        this.advance(end + 4);
        return this.startBody(req);
      }
      case State.Body: {
        if (this.available === 0) return undefined;
        this.takeBodyBytes();
        if (this.remaining > 0) return undefined;
        return this.finish(this.takeBody());
      }
      case State.ChunkSize: {
        const eol = this.find(CRLF);
        if (eol < 0) {
          if (this.available > MAX_CHUNK_LINE_BYTES) throw new HttpParseError(400, "chunk size line too long");
          return undefined;
        }
        if (eol > MAX_CHUNK_LINE_BYTES) throw new HttpParseError(400, "chunk size line too long");
        const line = this.buf.toString("latin1", this.pos, this.pos + eol);
        this.advance(eol + 2);
        const sizeText = line.split(";", 1)[0]!.trim();
        if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) throw new HttpParseError(400, "bad chunk size");
        const size = parseInt(sizeText, 16);
        if (size === 0) {
          this.state = State.Trailers;
          this.trailerBytes = 0;
          return null;
        }
        if (this.body.length + size > this.limits.maxBodyBytes) throw new HttpParseError(413, "request body too large");
        this.remaining = size;
        this.state = State.ChunkData;
        return null;
      }
      case State.ChunkData: {
        if (this.available === 0) return undefined;
        this.takeBodyBytes();
        if (this.remaining === 0) this.state = State.ChunkDataEnd;
        return null;
      }
      case State.ChunkDataEnd: {
        if (this.available < 2) return undefined;
        if (this.buf[this.pos] !== 0x0d || this.buf[this.pos + 1] !== 0x0a) {
          throw new HttpParseError(400, "missing CRLF after chunk");
        }
        this.advance(2);
        this.state = State.ChunkSize;
        return null;
      }
      case State.Trailers: {
        // Trailer fields are read and ignored; an empty line ends the message. All of them
        // together count against the header limit.
        const eol = this.find(CRLF);
        if (eol < 0) {
          if (this.trailerBytes + this.available > this.limits.maxHeaderBytes) {
            throw new HttpParseError(431, "trailers too large");
          }
          return undefined;
        }
        this.trailerBytes += eol + 2;
        if (this.trailerBytes > this.limits.maxHeaderBytes) throw new HttpParseError(431, "trailers too large");
        this.advance(eol + 2);
        if (eol > 0) return null;
        return this.finish(this.takeBody());
      }
    }
  }

  /** Moves up to `remaining` body bytes from the input into the body buffer. */
  private takeBodyBytes(): void {
    const take = Math.min(this.remaining, this.available);
    const limit = this.state === State.Body ? this.body.length + this.remaining : this.limits.maxBodyBytes;
    this.body.append(this.buf.subarray(this.pos, this.pos + take), limit);
    this.advance(take);
    this.remaining -= take;
  }

  private startBody(req: HttpRequest): HttpRequest | null {
    const result = this.frameBody(req);
    if (result === null && this.available === 0 && headerValue(req, "expect")?.toLowerCase() === "100-continue") {
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
      this.body.clear();
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
    this.body.clear();
    this.state = State.Body;
    return null;
  }

  /** The current request with the body collected so far. */
  private takeBody(): HttpRequest {
    const req = this.current!;
    req.body = this.body.take();
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
