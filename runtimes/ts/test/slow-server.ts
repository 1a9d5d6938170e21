/**
 * A separate server process for the client tests that kill a server mid-call:
 * `node --import tsx test/slow-server.ts <port>` serves
 * `echo.EchoService.Echo` and `test.Slow.Wait` (answers after 10 s) on
 * 127.0.0.1 and prints `{"port":N}` once listening.
 */
import { createLogger, createServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";

const server = createServer({ host: "127.0.0.1", port: Number(process.argv[2] ?? 0), udp: false, logger: createLogger({ level: "NONE" }) });
for (const method of echoMethods()) server.register(method);
server.register({
  name: "test.Slow.Wait",
  invoke: () => new Promise((resolve) => setTimeout(() => resolve({ format: "binary", bytes: new Uint8Array() }), 10_000)),
});
const { port } = await server.listen();
process.stdout.write(JSON.stringify({ port }) + "\n");
