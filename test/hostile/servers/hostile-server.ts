/**
 * The TypeScript target of the hostile suite: `echo.EchoService.Echo`
 * (examples/echo) and `hostile.HostileService.Sleep` on `@msec-gen/runtime`,
 * configured only from the `etc/config.ini` the test writes.
 *
 *   node --import tsx test/hostile/servers/hostile-server.ts --config DIR/etc/config.ini
 *
 * Prints its JSON startup line (`"msg":"listening on <host>:<port> (tcp+udp)"`, `"port":N`) once bound; SIGTERM drains and exits.
 * Twin: hostile_server.py (same methods, same answers).
 */
import { parseArgs } from "node:util";
import { create, fromBinary, fromJsonString, toBinary, toJson } from "@bufbuild/protobuf";
import { type MethodDefinition, SrpcCode, SrpcError, startServer } from "@msec-gen/runtime";
import { EchoRequestSchema, EchoResponseSchema } from "../../../examples/echo/gen/echo_pb.js";
import { echoMethods } from "../../../examples/echo/echo-service.js";

/** Wire name of the slow method. */
const SLEEP_METHOD = "hostile.HostileService.Sleep";

/** Sleep calls running now, and the most ever running at once in this process. */
let running = 0;
let peak = 0;

/**
 * Sleeps for the milliseconds written in ASCII in `EchoRequest.message`, then
 * answers the peak number of Sleep calls that ran at once (ASCII, in
 * `EchoResponse.message`): the suite reads the server's real concurrency from it.
 */
const sleep: MethodDefinition = {
  name: SLEEP_METHOD,
  async invoke(body, ctx) {
    let request;
    try {
      request = body.format === "binary" ? fromBinary(EchoRequestSchema, body.bytes) : fromJsonString(EchoRequestSchema, body.text);
    } catch {
      throw new SrpcError(body.format === "binary" ? SrpcCode.InvalidPkgBody : SrpcCode.InvalidPkg);
    }
    const ms = Number(Buffer.from(request.message).toString("latin1") || "0");
    running++;
    peak = Math.max(peak, running);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      running--;
    }
    const response = create(EchoResponseSchema, { message: Buffer.from(String(peak)) });
    return ctx.format === "binary"
      ? { format: "binary", bytes: toBinary(EchoResponseSchema, response) }
      : { format: "json", json: toJson(EchoResponseSchema, response) };
  },
};

const { values } = parseArgs({ options: { config: { type: "string" } }, strict: true });
startServer({
  ...(values.config !== undefined ? { configPath: values.config } : {}),
  serviceName: "hostile.HostileService",
  register(server) {
    for (const method of echoMethods()) server.register(method);
    server.register(sleep);
  },
}).catch((e: unknown) => {
  process.stderr.write(`hostile-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
