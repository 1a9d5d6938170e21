/**
 * The msec-gen peer: the runtime's SRPC server (`createServer` from
 * `runtime/index.ts`, TCP only — the benchmark does not use UDP) serving
 * `echo.EchoService.Echo` with the echo example's method definitions
 * (`examples/echo/echo-service.ts`, written the way generated server code is:
 * `fromBinary(EchoRequestSchema)`, the handler, `toBinary(EchoResponseSchema)`).
 * Its work per call is the ceiling server's plus SRPC framing, the head and
 * dispatch.
 */
import { createServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";
import { announceListening, exitOnSignal, parseListenArgs } from "./listen-args.js";

const { host, port } = parseListenArgs();
const server = createServer({ host, port, udp: false });
for (const method of echoMethods()) server.register(method);
const bound = await server.listen();
announceListening(bound.port);
exitOnSignal(() => server.close({ drainTimeoutMs: 1000 }));
