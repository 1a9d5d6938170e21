/**
 * `callMethod` / `callMethodRaw`: one SRPC call to a service by name
 * (MSEC's `CallMethod`, spec §1.6, §1.8).
 *
 * The request head carries a sequence, the method name, `color_id` =
 * djb2(method), `flow_id` (inherited from `options.context`, else
 * `color_id XOR sequence`), `coloring` (option, else inherited, else 0) and
 * `caller` (see `callerName`), and `timeout_ms` (field 70, msec-gen's
 * deadline extension: the remaining budget, unless `sendTimeout: false`).
 * Each outcome of a call to a routing name is reported to the balancer: a
 * reply from the server — even one with `err ≠ 0` — is a success with its
 * latency (as MSEC's `CallMethod` does); a transport failure (timeout,
 * connection loss, a malformed reply) is a failure; an aborted call is not
 * reported (literal addresses are never reported, as `updateRoute` ignores
 * them).
 */
import { type DescMessage, type Message, type MessageShape, fromBinary, toBinary } from "@bufbuild/protobuf";
import { colorId } from "../color.js";
import { SrpcCode, errorText } from "../errors.js";
import { monitorAdd } from "../monitor.js";
import { currentBalancer, getRoute } from "../route/index.js";
import { type Route, parseLiteral, routeAddress } from "../route/literal.js";
import { SrpcCallError, toCallError } from "./call-error.js";
import { type CallOptions, callBudgetMs, callSignal, callerName } from "./call-options.js";
import type { RequestHead } from "./request-frame.js";
import type { CallOutcome } from "./connection.js";
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

/** Most services whose success counter names are remembered (the memo stops growing when full). */
const SUCCESS_LABELS_MAX = 1024;
/** `call [<service>:<method>] success` by service and method: the counter every good call adds to, made once. */
const successLabels = new Map<string, Map<string, string>>();

function successLabel(service: string, method: string): string {
  let methods = successLabels.get(service);
  if (methods === undefined) {
    methods = new Map();
    if (successLabels.size < SUCCESS_LABELS_MAX) successLabels.set(service, methods);
  }
  let label = methods.get(method);
  if (label === undefined) {
    label = `call [${service}:${method}] success`;
    if (methods.size < SUCCESS_LABELS_MAX) methods.set(method, label);
  }
  return label;
}

/** `routeAddress` of the literal memo's routes (made here, never handed out, never changed). */
const addresses = new WeakMap<Route, string>();

function literalAddress(route: Route): string {
  let address = addresses.get(route);
  if (address === undefined) {
    address = routeAddress(route);
    addresses.set(route, address);
  }
  return address;
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
 *
 * The common call (no retries) is one promise: the connection's, whose
 * outcome is reported (balancer, monitor) just before it settles — no async
 * wrapper per layer, one `performance.now()` before the request for a literal
 * address.
 */
export function callMethodRaw(service: string, method: string, body: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
  const retries = options.retries ?? 0;
  let budget: number;
  try {
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries must be an integer ≥ 0 (got ${retries})`);
    budget = callBudgetMs(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const now = performance.now();
  const deadline = now + budget;
  if (retries === 0) return attempt(service, method, body, options, deadline, now, budget);
  return withRetries(service, method, body, options, deadline, retries, now, budget);
}

/** Attempts until one succeeds or fails with anything but a refused connection (routing names only). */
async function withRetries(
  service: string,
  method: string,
  body: Uint8Array,
  options: CallOptions,
  deadline: number,
  retries: number,
  now: number,
  budget: number,
): Promise<Uint8Array> {
  for (let tried = 0; ; tried++) {
    try {
      const at = tried === 0 ? now : performance.now();
      return await attempt(service, method, body, options, deadline, at, tried === 0 ? budget : deadline - at);
    } catch (err) {
      const refused = err instanceof SrpcCallError && err.code === SrpcCode.SendRecvFailed && !err.requestSent && !err.fromServer;
      if (!refused || tried >= retries || performance.now() >= deadline || literalRoute(service) !== undefined) throw err;
    }
  }
}

/**
 * One attempt: route (a literal at once, a name through the resolvers), then
 * send. `now` is the time at the start and `budget` the time left then
 * (`deadline - now`, passed as computed so a 600 ms call is not 600.0000001).
 */
function attempt(service: string, method: string, body: Uint8Array, options: CallOptions, deadline: number, now: number, budget: number): Promise<Uint8Array> {
  const signal = callSignal(options);
  if (signal?.aborted) return Promise.reject(new SrpcCallError(SrpcCode.Timeout, "call aborted", { address: service, requestSent: false }));
  // A literal address needs no resolver (and no wait for one); its outcomes are not reported to the balancer.
  const literal = literalRoute(service);
  if (literal !== undefined) return send(service, method, body, literal, true, options, signal, now, budget);
  return getRoute(service).then(
    (route) => {
      const at = performance.now();
      return send(service, method, body, route, false, options, signal, at, deadline - at);
    },
    (err: unknown) => {
      monitorAdd(`get route failed [${service}]`);
      throw toCallError(err, { address: service, requestSent: false });
    },
  );
}

/** Sends the request to `route` and reports the outcome (see `CallReport`). */
function send(
  service: string,
  method: string,
  body: Uint8Array,
  route: Route,
  literal: boolean,
  options: CallOptions,
  signal: AbortSignal | undefined,
  now: number,
  budget: number,
): Promise<Uint8Array> {
  const address = literal ? literalAddress(route) : routeAddress(route);
  if (budget <= 0) {
    return Promise.reject(new SrpcCallError(SrpcCode.Timeout, `no time left to call ${service} before the deadline`, { address, requestSent: false }));
  }
  const context = options.context;
  const head: RequestHead = {
    methodName: method,
    coloring: options.coloring ?? context?.coloring ?? 0,
    colorId: colorIdOf(method),
    caller: callerName(options, now),
  };
  // The budget left now, when the request is written (at least 1 ms: 0 would mean "no deadline").
  if (options.sendTimeout !== false) head.timeoutMs = Math.max(1, Math.floor(budget));
  const inheritedFlow = options.flowId ?? (context !== undefined && context.flowId !== 0n ? context.flowId : undefined);
  if (inheritedFlow !== undefined) head.flowId = inheritedFlow;
  const report = new CallReport(service, method, address, literal, route.type === "tcp", signal, now);
  if (route.type === "udp") {
    return callUdp(route.ip, route.port, address, head, body, Math.ceil(budget), signal).then(
      (reply) => {
        report.settled(undefined);
        return reply;
      },
      (err: unknown) => {
        report.settled(err as SrpcCallError);
        throw err;
      },
    );
  }
  try {
    return connectionFor(route, address).call(head, body, Math.ceil(budget), signal, report, now);
  } catch (err) {
    // Not expected (routes are validated); keeps "a call rejects, never throws".
    report.settled(toCallError(err, { address, requestSent: false }) as SrpcCallError);
    return Promise.reject(err);
  }
}

/**
 * Reports one call's outcome just before its promise settles: to the balancer
 * (routing names only) and to the monitor.
 */
class CallReport implements CallOutcome {
  constructor(
    private readonly service: string,
    private readonly method: string,
    private readonly address: string,
    private readonly literal: boolean,
    private readonly tcp: boolean,
    private readonly signal: AbortSignal | undefined,
    private readonly started: number,
  ) {}

  settled(err: SrpcCallError | undefined): void {
    const { service, address } = this;
    if (err === undefined) {
      if (!this.literal) currentBalancer().update(service, address, 0, Math.round(performance.now() - this.started));
      monitorAdd(successLabel(service, this.method));
      return;
    }
    if (!this.literal) {
      if (err instanceof SrpcCallError && err.fromServer) {
        currentBalancer().update(service, address, 0, Math.round(performance.now() - this.started));
      } else if (err instanceof SrpcCallError && err.code === SrpcCode.SendRecvFailed && !err.requestSent && this.tcp) {
        // Connection refused: nothing listens there; stop picking it now.
        currentBalancer().markRefused(service, address);
      } else if (!this.signal?.aborted) {
        currentBalancer().update(service, address, 1, 0);
      }
    }
    monitorAdd(`call [${service}:${this.method}] fail:${errorText(err.code)}`);
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
