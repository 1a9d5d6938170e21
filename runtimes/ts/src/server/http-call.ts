/**
 * One HTTP request on the SRPC port (spec §3): `POST …?methodName=pkg.Service.Method`
 * is a JSON call answered with the MSEC envelope; `GET /health`,
 * `GET /metrics`, `GET /openapi.json` and `GET /explorer` serve probes, Prometheus,
 * the OpenAPI document and the API explorer page (`HEAD` the same without
 * body); anything else gets a clean 404 or 405 rather than MSEC's silent close.
 *
 * An `X-Msec-Timeout-Ms: N` header gives the call a deadline N ms after the
 * request's first byte (spec §14), as `timeout_ms` does for SRPC: past it the
 * call is answered with the -10 envelope "deadline exceeded (timeout_ms=N)"
 * in its turn and its `ctx.signal` fires; the call holds its place until the
 * handler returns, and the handler's late result is dropped.
 */
import { SrpcCode, errorText } from "../errors.js";
import type { ResponseBody } from "../handler.js";
import { newSequence } from "../rpc-head.js";
import { CallDeadline, TIMEOUT_HEADER, deadlineExceededMessage, parseTimeoutHeader } from "./call-deadline.js";
import { ServerCallContext } from "./call-context.js";
import type { ServerCore } from "./core.js";
import { EXPLORER_PATH, explorerResponse } from "./explorer.js";
import { type HttpRequest, headerValue } from "./http-request.js";
import { jsonEnvelope, jsonEnvelopeResponse, plainResponse } from "./json-envelope.js";
import { type Failure, failureOf, isPromiseLike, whenSettled, wrongFormat } from "./outcome.js";
import { UNKNOWN_METHOD_LABEL } from "./stats.js";

/** Shortest wire method name MSEC accepts over HTTP (`a.b.c`); shorter ones are -3 (spec §3.2). */
const MIN_METHOD_NAME_LENGTH = 5;

/** Caller name when the request has no `caller` header (spec §3.2). */
const DEFAULT_HTTP_CALLER = "http.json";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Where an HTTP answer goes: the connection, which writes answers in request order. */
export interface HttpSink {
  readonly peer: string;
  readonly signal: AbortSignal;
  /** Answer for the request in `slot`. */
  respond(slot: number, response: Buffer): void;
  /** Called once when a call that `handleHttpRequest` started has been answered. */
  callFinished(): void;
}

/** The `methodName` query parameter, percent-decoded; `undefined` when absent; `null` when undecodable. */
export function methodNameOf(target: string): string | undefined | null {
  const q = target.indexOf("?");
  if (q < 0) return undefined;
  const query = target.slice(q + 1).split("#", 1)[0]!;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key !== "methodName") continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      return null;
    }
  }
  return undefined;
}

function envelopeFor(failure: Failure): Buffer {
  return jsonEnvelopeResponse(jsonEnvelope(failure.code, failure.message));
}

const invalidPackage: Failure = { code: SrpcCode.InvalidPkg, message: errorText(SrpcCode.InvalidPkg) };

/**
 * Handles one request; returns true when a method call was started
 * (`sink.callFinished()` follows). `arrivedAt` is the `performance.now()` of
 * the request's first byte.
 */
export function handleHttpRequest(core: ServerCore, req: HttpRequest, slot: number, sink: HttpSink, arrivedAt: number): boolean {
  if (req.method === "POST") return startJsonCall(core, req, slot, sink, arrivedAt);
  if (req.method === "GET" || req.method === "HEAD") {
    const path = req.target.split("?", 1)[0]!;
    if (path === "/metrics" && core.metricsSource !== undefined) return answerLater(core.metricsSource, req, slot, sink);
    const response = resourceResponse(core, path);
    // HEAD: the GET answer's status and headers (Content-Length included), no body.
    sink.respond(slot, req.method === "HEAD" ? withoutBody(response) : response);
    return false;
  }
  // A 405 answers neither GET, HEAD nor POST, so it always has a body.
  sink.respond(slot, plainResponse(405, "Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n", "Allow: GET, HEAD, POST\r\n"));
  return false;
}

/** Answers `/metrics` from an asynchronous source (the instance aggregate); held like a call until answered. */
function answerLater(source: () => Promise<string>, req: HttpRequest, slot: number, sink: HttpSink): true {
  source().then(
    (text) => plainResponse(200, "OK", "text/plain; version=0.0.4; charset=utf-8", text),
    () => plainResponse(500, "Internal Server Error", "text/plain; charset=utf-8", "metrics unavailable\n"),
  ).then((response) => {
    sink.respond(slot, req.method === "HEAD" ? withoutBody(response) : response);
    sink.callFinished();
  });
  return true;
}

/** The answer to `GET <path>`: health, metrics, the OpenAPI document, the explorer, else 404. */
function resourceResponse(core: ServerCore, path: string): Buffer {
  switch (path) {
    case "/health":
      return core.draining
        ? plainResponse(503, "Service Unavailable", "text/plain; charset=utf-8", "draining\n")
        : plainResponse(200, "OK", "text/plain; charset=utf-8", "ok\n");
    case "/metrics":
      return plainResponse(200, "OK", "text/plain; version=0.0.4; charset=utf-8", core.metricsText());
    case "/openapi.json":
      if (core.openapi !== undefined) return plainResponse(200, "OK", "application/json; charset=utf-8", core.openapi);
      break;
    case EXPLORER_PATH:
      return explorerResponse();
  }
  return plainResponse(404, "Not Found", "text/plain; charset=utf-8", "not found\n");
}

/** A plain response's head only (everything up to and including the blank line). */
function withoutBody(response: Buffer): Buffer {
  return response.subarray(0, response.indexOf("\r\n\r\n") + 4);
}

/** Size of an HTTP response's body (what follows the blank line). */
function bodyLength(response: Buffer): number {
  return response.length - (response.indexOf("\r\n\r\n") + 4);
}

/**
 * Answers a JSON call, counts it under `label` with its latency, and writes
 * its access line when the access log is on.
 */
function answerJson(
  core: ServerCore,
  req: HttpRequest,
  slot: number,
  sink: HttpSink,
  arrivedAt: number,
  label: string,
  response: Buffer,
  code: number,
  access: { method: string; caller: string; flowId: bigint },
): void {
  sink.respond(slot, response);
  core.stats.countRequest(label, "http", code).observe((performance.now() - arrivedAt) / 1000);
  core.accessLog?.write({
    method: access.method,
    caller: access.caller,
    peer: sink.peer,
    transport: "http",
    format: "json",
    code,
    arrivedAt,
    bytesIn: req.body.length,
    bytesOut: bodyLength(response),
    flowId: access.flowId,
  });
}

function startJsonCall(core: ServerCore, req: HttpRequest, slot: number, sink: HttpSink, arrivedAt: number): boolean {
  const name = methodNameOf(req.target);
  const caller = headerValue(req, "caller") ?? DEFAULT_HTTP_CALLER;
  if (name === undefined || name === null || name.length < MIN_METHOD_NAME_LENGTH) {
    const access = { method: name ?? "", caller, flowId: 0n };
    answerJson(core, req, slot, sink, arrivedAt, UNKNOWN_METHOD_LABEL, envelopeFor(invalidPackage), SrpcCode.InvalidPkg, access);
    return false;
  }
  const method = core.methods.get(name);
  if (method === undefined) {
    const failure = envelopeFor({ code: SrpcCode.InvalidMethodName, message: errorText(SrpcCode.InvalidMethodName) });
    answerJson(core, req, slot, sink, arrivedAt, UNKNOWN_METHOD_LABEL, failure, SrpcCode.InvalidMethodName, { method: name, caller, flowId: 0n });
    return false;
  }
  const flowId = newSequence();
  let text: string;
  try {
    // An empty body is the empty message (MSEC answered -3).
    text = req.body.length === 0 ? "{}" : strictUtf8.decode(req.body);
  } catch {
    answerJson(core, req, slot, sink, arrivedAt, name, envelopeFor(invalidPackage), SrpcCode.InvalidPkg, { method: name, caller, flowId });
    return false;
  }
  const timeoutMs = parseTimeoutHeader(headerValue(req, TIMEOUT_HEADER));
  let deadline: CallDeadline | undefined;
  if (timeoutMs > 0) {
    deadline = new CallDeadline(timeoutMs, arrivedAt, sink.signal, () => expire());
    if (deadline.expired) {
      core.stats.countDeadlineExceeded(name);
      const failure = envelopeFor({ code: SrpcCode.Timeout, message: deadlineExceededMessage(timeoutMs) });
      answerJson(core, req, slot, sink, arrivedAt, name, failure, SrpcCode.Timeout, { method: name, caller, flowId });
      return false;
    }
  }
  const ctx = new ServerCallContext(
    "json",
    name,
    caller,
    flowId,
    0,
    sink.peer,
    sink.signal,
    core.jsonWriteOptions,
    core.logger,
    deadline,
  );
  core.stats.inFlight++;
  // Answered once, whatever the handler does; the place is given back once answered and the handler is done.
  let answered = false;
  let handlerDone = false;
  let released = false;
  const release = () => {
    if (!answered || !handlerDone || released) return;
    released = true;
    core.stats.inFlight--;
    sink.callFinished();
  };
  const finish = (response: Buffer, code: number) => {
    if (answered) return;
    answered = true;
    answerJson(core, req, slot, sink, arrivedAt, name, response, code, ctx);
    release();
  };
  const fail = (e: unknown) => {
    if (answered) return;
    const f = failureOf(e, name, ctx.log);
    finish(envelopeFor(f), f.code);
  };
  const expire = () => {
    if (answered) return;
    core.stats.countDeadlineExceeded(name);
    finish(envelopeFor({ code: SrpcCode.Timeout, message: deadlineExceededMessage(timeoutMs) }), SrpcCode.Timeout);
  };
  const complete = (r: ResponseBody) => {
    if (answered) return;
    let envelope: string | undefined;
    try {
      // Reading the result runs the handler's values (getters, proxies); writing it may throw (cycles).
      if (r?.format === "json") envelope = jsonEnvelope(0, "", r.json);
    } catch (e) {
      fail(e);
      return;
    }
    if (envelope === undefined) {
      const f = wrongFormat(name, ctx.log);
      finish(envelopeFor(f), f.code);
      return;
    }
    finish(jsonEnvelopeResponse(envelope), 0);
  };
  const handlerFinished = () => {
    handlerDone = true;
    deadline?.stop();
    release();
  };
  const returned = (r: ResponseBody) => {
    try {
      complete(r);
    } finally {
      handlerFinished();
    }
  };
  const threw = (e: unknown) => {
    try {
      fail(e);
    } finally {
      handlerFinished();
    }
  };
  deadline?.start();
  try {
    const result = method.invoke({ format: "json", text }, ctx);
    if (isPromiseLike(result)) whenSettled(result, returned, threw, core.logger);
    else returned(result);
  } catch (e) {
    threw(e);
  }
  return true;
}
