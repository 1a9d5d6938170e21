/**
 * The peers of the echo benchmark: which server process to start and which
 * load-generator protocol to drive it with. All serve `fixtures/echo/echo.proto`.
 */
import type { LoadProtocol } from "./load.js";

export interface EchoPeer {
  /** Name in the table and on `--peers`. */
  id: string;
  /** Server entry point in `bench/echo/servers/`, without extension. */
  server: string;
  protocol: LoadProtocol;
  /** Transport, as printed in the table. */
  transport: string;
  /** Extra arguments for the server (after `--port 0`). */
  serverArgs?: string[];
  /** Extra arguments for the load generator. */
  loadArgs?: string[];
}

/** Connections the workers rows spread their calls over (each connection stays with the worker that accepted it). */
export const WORKERS_ROW_CONNECTIONS = 4;

export const ECHO_PEERS: readonly EchoPeer[] = [
  { id: "msec", server: "msec", protocol: "srpc", transport: "SRPC binary frames, TCP, 64 pipelined on 1 connection" },
  { id: "grpc-js", server: "grpc", protocol: "grpc", transport: "gRPC, HTTP/2 (h2c), 1 connection" },
  { id: "connect", server: "connect", protocol: "connect", transport: "Connect protocol, binary, HTTP/2 (h2c), 1 connection" },
  { id: "connect-grpc", server: "connect", protocol: "connect-grpc", transport: "gRPC protocol via connect-node, HTTP/2 (h2c)" },
  { id: "ceiling", server: "ceiling", protocol: "ceiling", transport: "4-byte length prefix, TCP, 64 pipelined on 1 connection" },
  {
    id: "msec-workers1",
    server: "msec-workers",
    protocol: "srpc",
    transport: `SRPC, TCP, ${WORKERS_ROW_CONNECTIONS} connections; startServer with workers=1`,
    serverArgs: ["--workers", "1"],
    loadArgs: ["--connections", String(WORKERS_ROW_CONNECTIONS)],
  },
  {
    id: "msec-workers2",
    server: "msec-workers",
    protocol: "srpc",
    transport: `SRPC, TCP, ${WORKERS_ROW_CONNECTIONS} connections; startServer with workers=2 (node:cluster)`,
    serverArgs: ["--workers", "2"],
    loadArgs: ["--connections", String(WORKERS_ROW_CONNECTIONS)],
  },
  { id: "python", server: "python", protocol: "srpc", transport: "SRPC binary frames, TCP, 64 pipelined on 1 connection; Python asyncio runtime" },
];
