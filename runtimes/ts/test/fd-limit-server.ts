/**
 * A server process for the fd-limit tests, run under a low open-file limit:
 * `bash -c "ulimit -n 256 && exec node --import tsx test/fd-limit-server.ts <extraFds>"`
 * opens `extraFds` files first (so accept() can fail with EMFILE before
 * `maxConnections` is reached), serves the echo on 127.0.0.1 with the
 * default `maxConnections`, logs to stderr and prints `{"port":N}`.
 */
import { openSync } from "node:fs";
import { createLogger, createServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";

const held: number[] = [];
for (let i = 0; i < Number(process.argv[2] ?? 0); i++) held.push(openSync("/dev/null", "r"));
const server = createServer({ host: "127.0.0.1", port: 0, udp: false, logger: createLogger({ level: "ERROR" }) });
for (const method of echoMethods()) server.register(method);
const { port } = await server.listen();
process.stdout.write(JSON.stringify({ port }) + "\n");
