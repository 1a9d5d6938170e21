/**
 * What connections and datagram handlers need from the server: the method
 * table, limits, logger and counters. Internal to `runtime/server/`.
 */
import type { JsonWriteOptions } from "@bufbuild/protobuf";
import type { MethodDefinition } from "../handler.js";
import type { Logger } from "../log.js";
import type { AccessLog } from "./access-log.js";
import type { ServerStats } from "./stats.js";

/** Limits after defaults were applied. */
export interface ServerLimits {
  maxFrameBytes: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
  idleTimeoutMs: number;
  maxHttpHeaderBytes: number;
  /** 0 = no deadline. */
  requestTimeoutMs: number;
  maxPendingOutputBytes: number;
  maxUdpInFlight: number;
}

export interface ServerCore {
  readonly methods: ReadonlyMap<string, MethodDefinition>;
  readonly limits: ServerLimits;
  readonly logger: Logger;
  readonly stats: ServerStats;
  readonly jsonWriteOptions: Partial<JsonWriteOptions>;
  /** True once `close()` began: health turns 503, connections drain. */
  readonly draining: boolean;
  /** The OpenAPI document served at `GET /openapi.json` (`ServerOptions.openapi`); `undefined`: 404. */
  readonly openapi: string | undefined;
  /** Where answered calls are logged (`ServerOptions.accessLog`); `undefined`: no access log. */
  readonly accessLog: AccessLog | undefined;
  /** Prometheus text for `GET /metrics`. */
  metricsText(): string;
  /** When set, `GET /metrics` serves what this resolves to instead (`ServerOptions.metricsSource`). */
  readonly metricsSource?: (() => Promise<string>) | undefined;
}
