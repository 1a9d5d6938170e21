/**
 * The msec-gen peer run the way a service runs: `startServer` (which reads
 * `[SRPC] workers`) with `--workers N`, serving `echo.EchoService.Echo` from
 * the echo example on TCP only. With N > 1 the main process forks N workers
 * (node:cluster, the workers accepting from one shared socket, runtime/server/workers.ts) and
 * is the one that announces the port; the workers serve the calls.
 * Reads no config file (`--config`, default a path that does not exist: all defaults).
 */
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { startServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";
import { announceListening } from "./listen-args.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    workers: { type: "string", default: "1" },
    config: { type: "string", default: "/nonexistent/msec-bench-config.ini" },
  },
});
const server = await startServer({
  configPath: values.config,
  serviceName: "echo.EchoService",
  workers: values.workers === "auto" ? "auto" : Number(values.workers),
  overrides: { host: values.host, port: Number(values.port), udp: false },
  register(s) {
    for (const method of echoMethods()) s.register(method);
  },
});
// startServer prints its own `listening on …` line; the orchestrator waits for this one, from the main process only.
if (!cluster.isWorker) announceListening(server.port);
