/**
 * A service started with `startServer` for the worker tests:
 * `node --import tsx test/workers-server.ts <config.ini>` (the config names
 * `[SRPC] workers`). Serves `echo.EchoService.Echo` plus
 * `test.Workers.Pid` (answers the serving process's pid: JSON `{"pid":N}`,
 * binary the pid as decimal text) and `test.Workers.Slow` (answers
 * `{"slept":ms}` after `ms` milliseconds, from the JSON body `{"ms":N}`;
 * prints `slow call started` on stdout when it begins).
 */
import { startServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";

await startServer({
  configPath: process.argv[2]!,
  serviceName: "test.Workers",
  register(server) {
    for (const method of echoMethods()) server.register(method);
    server.register({
      name: "test.Workers.Pid",
      invoke: (body) =>
        body.format === "json"
          ? { format: "json", json: { pid: process.pid } }
          : { format: "binary", bytes: new TextEncoder().encode(String(process.pid)) },
    });
    server.register({
      name: "test.Workers.Slow",
      invoke: async (body) => {
        const ms = body.format === "json" ? (JSON.parse(body.text) as { ms: number }).ms : 0;
        process.stdout.write("slow call started\n");
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { format: "json", json: { slept: ms } };
      },
    });
  },
}).catch((e: unknown) => {
  process.stderr.write(`workers-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
