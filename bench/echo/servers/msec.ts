/**
 * The msec-gen peer: the runtime's SRPC server (`createServer` from
 * `runtime/index.ts`) with `echo.EchoService.Echo` registered as a
 * `MethodDefinition` doing what generated code does for a binary call —
 * `fromBinary(EchoRequestSchema)`, the handler, `toBinary(EchoResponseSchema)` —
 * so its work per call matches the ceiling server's plus the SRPC framing,
 * head and dispatch. UDP is off: the benchmark is TCP only.
 */
import { create, fromBinary, fromJsonString, toBinary, toJson } from "@bufbuild/protobuf";
import { type MethodDefinition, type RequestBody, type ResponseBody, createServer } from "../../../runtime/index.js";
import { EchoRequestSchema, EchoResponseSchema } from "../gen/echo_pb.js";
import { ECHO_METHOD } from "../payload.js";
import { announceListening, exitOnSignal, parseListenArgs } from "./listen-args.js";

const echo: MethodDefinition = {
  name: ECHO_METHOD,
  invoke(body: RequestBody): ResponseBody {
    if (body.format === "binary") {
      const req = fromBinary(EchoRequestSchema, body.bytes);
      return { format: "binary", bytes: toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: req.message })) };
    }
    const req = fromJsonString(EchoRequestSchema, body.text);
    return { format: "json", json: toJson(EchoResponseSchema, create(EchoResponseSchema, { message: req.message })) };
  },
};

const { host, port } = parseListenArgs();
const server = createServer({ host, port, udp: false });
server.register(echo);
const bound = await server.listen();
announceListening(bound.port);
exitOnSignal(() => server.close({ drainTimeoutMs: 1000 }));
