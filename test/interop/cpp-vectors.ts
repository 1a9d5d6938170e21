/**
 * The shared wire vectors (fixtures/vectors, spec §13 V1–V7) restated in the
 * line format the generated C++ package's framing test reads
 * (`tests/frame_vectors.txt`, see templates/caller/cpp/tests/frame_vectors_test.cc).
 * V8 (HTTP) is a server concern and not part of a caller's framing.
 *
 * `node --import tsx test/interop/cpp-vectors.ts --write` rewrites the copy
 * shipped in templates/caller/cpp/tests/ (cpp-vectors.test.ts fails until it
 * matches the fixtures).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const vectorsDir = fileURLToPath(new URL("../../fixtures/vectors/", import.meta.url));
/** The copy of the vectors shipped in every generated C++ package. */
export const SHIPPED_CPP_VECTORS = fileURLToPath(new URL("../../templates/caller/cpp/tests/frame_vectors.txt", import.meta.url));

interface Head {
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
}

interface FrameVector {
  vector: string;
  head: Head;
  head_hex: string;
  body_hex?: string;
  frame_hex?: string;
  echo_response_hex?: string;
  java_server_response?: { head: Head; head_hex: string };
}

function load<T>(file: string): T {
  return JSON.parse(readFileSync(vectorsDir + file, "utf8")) as T;
}

const utf8Hex = (text: string): string => Buffer.from(text, "utf8").toString("hex") || "-";
const orDash = (hex: string): string => hex || "-";

function headFields(head: Head): string {
  const words = [`sequence=${head.sequence}`];
  if (head.coloring !== undefined) words.push(`coloring=${head.coloring}`);
  if (head.color_id !== undefined) words.push(`color_id=${head.color_id}`);
  if (head.flow_id !== undefined) words.push(`flow_id=${head.flow_id}`);
  if (head.err !== undefined) words.push(`err=${head.err}`);
  if (head.result !== undefined) words.push(`result=${head.result}`);
  if (head.err_msg !== undefined) words.push(`err_msg=${utf8Hex(head.err_msg)}`);
  if (head.caller !== undefined) words.push(`caller=${utf8Hex(head.caller)}`);
  words.push(`method_name=${utf8Hex(head.method_name)}`);
  for (const entry of head.caller_stack ?? []) words.push(`caller_stack=${utf8Hex(entry)}`);
  return words.join(" ");
}

/** The vector file text: a header comment, then one line per case. */
export function cppVectorLines(): string {
  const lines = [
    "# Shared SRPC wire vectors (spec §13 V1-V7), generated from msec-gen's fixtures/vectors.",
    "# Format: see frame_vectors_test.cc.",
  ];
  for (const file of [
    "v1-python-client-request.json",
    "v2-minimal-request.json",
    "v3-unknown-method-response.json",
    "v4-java-client-request.json",
    "v5-csrpcproxy-request.json",
  ]) {
    const v = load<FrameVector>(file);
    lines.push(`# ${v.vector} (${file})`);
    lines.push(`head ${v.head_hex} ${headFields(v.head)}`);
    if (v.frame_hex !== undefined) lines.push(`frame ${v.frame_hex} body=${orDash(v.body_hex ?? "")} ${headFields(v.head)}`);
    if (v.echo_response_hex !== undefined) lines.push(`frame ${v.echo_response_hex} body=${orDash(v.body_hex ?? "")} ${headFields(v.head)}`);
    if (v.java_server_response !== undefined) lines.push(`head ${v.java_server_response.head_hex} ${headFields(v.java_server_response.head)}`);
  }
  const v6 = load<{ check: Array<{ input_hex: string; check: number }>; unpack: Array<{ input_hex: string; unpack: number }> }>("v6-check-pkg.json");
  lines.push("# V6 (v6-check-pkg.json)");
  for (const c of v6.check) lines.push(`check ${orDash(c.input_hex)} ${c.check}`);
  for (const c of v6.unpack) lines.push(`unpack ${orDash(c.input_hex)} ${c.unpack}`);
  const v7 = load<{ ids: Array<{ name_utf8_hex: string; djb2: number }>; flow_ids: Array<{ method: string; sequence: string; flow_id: string }> }>(
    "v7-color-ids.json",
  );
  lines.push("# V7 (v7-color-ids.json)");
  for (const id of v7.ids) lines.push(`color ${orDash(id.name_utf8_hex)} ${id.djb2}`);
  for (const f of v7.flow_ids) lines.push(`flow ${utf8Hex(f.method)} ${f.sequence} ${f.flow_id}`);
  return lines.join("\n") + "\n";
}

/** Number of vector cases (non-comment lines) in `text`. */
export function countVectorCases(text: string): number {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
}

if (process.argv.includes("--write")) {
  writeFileSync(SHIPPED_CPP_VECTORS, cppVectorLines());
  console.log(`wrote ${SHIPPED_CPP_VECTORS}`);
}
