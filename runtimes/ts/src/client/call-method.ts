/**
 * `callMethod` / `callMethodRaw`: one SRPC call to a service by name
 * (MSEC's `CallMethod`, spec §1.6, §1.8).
 *
 * The request head carries a sequence, the method name, `color_id` =
 * djb2(method), `flow_id` (inherited from `options.context`, else
 * `color_id XOR sequence`), `coloring` (option, else inherited, else 0) and
 * `caller` (see `callerName`), and `timeout_ms` (field 70, msec-gen's
 * deadline extension: the remaining budget, unless `sendTimeout: false`).
 * Each outcome is reported to the balancer: a
 * reply from the server — even one with `err ≠ 0` — is a success with its
 * latency (as MSEC's `CallMethod` does); a transport failure (timeout,
 * connection loss, a malformed reply) is a failure; an aborted call is not
 * reported.
 */
import { type DescMessage, type Message, type MessageShape, fromBinary, toBinary } from "@bufbuild/protobuf";
import { colorId } from "../color.js";
import { SrpcCode, errorText } from "../errors.js";
import { monitorAdd } from "../monitor.js";
import { getRoute, reportRefused, updateRoute } from "../route/index.js";
import { type Route, parseLiteral, routeAddress } from "../route/literal.js";
import { SrpcCallError, toCallError } from "./call-error.js";
import { type CallOptions, callBudgetMs, callSignal, callerName } from "./call-options.js";
import type { RequestHead } from "./request-frame.js";
import { connectionFor } from "./connection-pool.js";
import { findMethod } from "./type-registry.js";
import { callUdp } from "./udp-call.js";

const colorIds = new Map<string, bigint>();

/** Most service strings whose literal-or-not parse is remembered (the memo stops growing when full). */
const LITERAL_MEMO_MAX = 1024;
/** `parseLiteral` of service strings: a literal's route (never handed to users), or null for a routing name. */
const literals = new Map<string, Route | null>();

/** The route of a literal address, undefined for a routing name; remembered, as a service string repeats on every call. */
function literalRoute(service: string): Route | undefined {
  let route = literals.get(service);
  if (route === undefined) {
    route = parseLiteral(service) ?? null;
    if (literals.size < LITERAL_MEMO_MAX) literals.set(service, route);
  }
  return route ?? undefined;
}

function colorIdOf(method: string): bigint {
  let id = colorIds.get(method);
  if (id === undefined) {
    id = colorId(method);
    colorIds.set(method, id);
  }
  return id;
}

/**
 * Calls `method` (`package.Service.Method`) on `service` — a literal
 * `ip:port[@tcp|@udp]` or a routing name — with an encoded request body, and
 * resolves with the encoded reply body. Rejects with `SrpcCallError`:
 * -15 no route, -10 timeout, -12 reply incomplete at the timeout, -13
 * connection refused or lost, -16 reply sequence mismatch, -3/-4 malformed
 * reply, or the server's `err` code.
 */
export async function callMethodRaw(service: string, method: string, body: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries must be an integer ≥ 0 (got ${retries})`);
  const deadline = performance.now() + callBudgetMs(options);
  for (let attempt = 0; ; attempt++) {
    try {
      return await callOnce(service, method, body, options, deadline);
    } catch (err) {
      const refused = err instanceof SrpcCallError && err.code === SrpcCode.SendRecvFailed && !err.requestSent && !err.fromServer;
      if (!refused || attempt >= retries || performance.now() >= deadline || literalRoute(service) !== undefined) throw err;
    }
  }
}

/** One attempt: route, send, wait for the reply, report the outcome. */
async function callOnce(service: string, method: string, body: Uint8Array, options: CallOptions, deadline: number): Promise<Uint8Array> {
  const signal = callSignal(options);
  if (signal?.aborted) throw new SrpcCallError(SrpcCode.Timeout, "call aborted", { address: service, requestSent: false });
  // A literal address needs no resolver (and no wait for one); its outcomes are not reported to the balancer.
  const literal = literalRoute(service);
  let route: Route;
  if (literal !== undefined) {
    route = literal;
  } else {
    try {
      route = await getRoute(service);
    } catch (err) {
      monitorAdd(`get route failed [${service}]`);
      throw toCallError(err, { address: service, requestSent: false });
    }
  }
  const address = routeAddress(route);
  const budget = deadline - performance.now();
  if (budget <= 0) {
    throw new SrpcCallError(SrpcCode.Timeout, `no time left to call ${service} before the deadline`, { address, requestSent: false });
  }
  const context = options.context;
  const id = colorIdOf(method);
  const head: RequestHead = {
    methodName: method,
    coloring: options.coloring ?? context?.coloring ?? 0,
    colorId: id,
    caller: callerName(options),
  };
  // The budget left now, when the request is written (at least 1 ms: 0 would mean "no deadline").
  if (options.sendTimeout !== false) head.timeoutMs = Math.max(1, Math.floor(budget));
  const inheritedFlow = options.flowId ?? (context !== undefined && context.flowId !== 0n ? context.flowId : undefined);
  if (inheritedFlow !== undefined) head.flowId = inheritedFlow;
  const started = performance.now();
  try {
    let reply: Uint8Array;
    if (route.type === "udp") {
      reply = await callUdp(route.ip, route.port, address, head, body, Math.ceil(budget), signal);
    } else {
      reply = await connectionFor(route).call(head, body, Math.ceil(budget), signal);
    }
    if (literal === undefined) updateRoute(service, address, 0, Math.round(performance.now() - started));
    monitorAdd(`call [${service}:${method}] success`);
    return reply;
  } catch (err) {
    const code = (err as SrpcCallError).code;
    if (err instanceof SrpcCallError && err.fromServer) {
      updateRoute(service, address, 0, Math.round(performance.now() - started));
    } else if (err instanceof SrpcCallError && code === SrpcCode.SendRecvFailed && !err.requestSent && route.type === "tcp") {
      // Connection refused: nothing listens there; stop picking it now.
      reportRefused(service, address);
    } else if (!signal?.aborted) {
      updateRoute(service, address, 1, 0);
    }
    monitorAdd(`call [${service}:${method}] fail:${errorText(code)}`);
    throw err;
  }
}

/**
 * Typed call: encodes `request` with the input schema registered for
 * `method` (see `registerTypes`) and decodes the reply with its output
 * schema. Rejects like `callMethodRaw`, plus -6 when no schema is registered
 * for `method`, -1 when `request` is not the method's input type, -5 when the
 * reply body does not decode.
 */
export async function callMethod<Out extends DescMessage = DescMessage>(
  service: string,
  method: string,
  request: Message,
  options: CallOptions = {},
): Promise<MessageShape<Out>> {
  const desc = findMethod(method);
  if (desc === undefined) {
    throw new SrpcCallError(SrpcCode.InvalidMethodName, `no message types registered for ${method} (generated code calls registerTypes)`, {
      address: service,
      requestSent: false,
    });
  }
  if (request.$typeName !== desc.input.typeName) {
    throw new SrpcCallError(SrpcCode.ParaError, `${method} takes ${desc.input.typeName}, got ${request.$typeName}`, {
      address: service,
      requestSent: false,
    });
  }
  let body: Uint8Array;
  try {
    body = toBinary(desc.input, request as MessageShape<typeof desc.input>);
  } catch (err) {
    throw new SrpcCallError(SrpcCode.BodyUninit, (err as Error).message, { address: service, requestSent: false });
  }
  const reply = await callMethodRaw(service, method, body, options);
  try {
    return fromBinary(desc.output, reply) as MessageShape<Out>;
  } catch (err) {
    throw new SrpcCallError(SrpcCode.InvalidPkgBody, `${desc.output.typeName}: ${(err as Error).message}`, { address: service, requestSent: true });
  }
}
