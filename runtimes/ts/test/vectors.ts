/** Loads the shared wire vectors of fixtures/vectors (spec §13) for the runtime tests. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../../../fixtures/vectors/", import.meta.url));

/** Parses one vector file. */
export function loadVector<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(dir + file, "utf8")) as T;
}

/** Hex (no separators) to bytes. */
export function hex(s: string): Buffer {
  return Buffer.from(s, "hex");
}

/** Head object of a vector file (proto field names, 64-bit values as strings). */
export interface VectorHead {
  sequence: string;
  method_name: string;
  coloring?: number;
  color_id?: string;
  flow_id?: string;
  err?: number;
  result?: number;
  err_msg?: string;
  caller?: string;
  caller_stack?: string[];
  /** Field 70, msec-gen's deadline extension (V9). */
  timeout_ms?: number;
}

export interface FrameVector {
  vector: string;
  method: string;
  head: VectorHead;
  head_hex: string;
  body_hex?: string;
  frame_hex?: string;
  frame_length?: number;
  echo_response_hex?: string;
  request_frame_hex?: string;
  java_server_response?: { head: VectorHead; head_hex: string };
}

export const frameVectorFiles = [
  "v1-python-client-request.json",
  "v2-minimal-request.json",
  "v3-unknown-method-response.json",
  "v4-java-client-request.json",
  "v5-csrpcproxy-request.json",
  "v9-deadline-request.json",
] as const;

/** V9: deadline propagation (`timeout_ms`, field 70). */
export interface DeadlineVector extends FrameVector {
  msec_head_hex: string;
  heads: Array<{ name: string; head: VectorHead; head_hex: string }>;
  unknown_method: { request_frame_hex: string; response_frame_hex: string };
}
