/**
 * How the example prints what each call returned: one line per call, the
 * same for every client, so the output can be compared exactly.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { EXAMPLE_DIR } from "./build.js";

/** Prints a `Scenario N` heading. */
export function heading(n: number | string, title: string): void {
  console.log(`\n=== Scenario ${n}: ${title} ===`);
}

/** Prints one result line, indented under its heading. */
export function line(who: string, call: string, result: string): void {
  console.log(`  [${who}] ${call} -> ${result}`);
}

/** `status 0, msg "…"` and the fields that are set. */
export function describeReply(reply: { status: number; msg: string; titles?: string[]; url?: string; fileLen?: number; fileContent?: Uint8Array }): string {
  const parts = [`status ${reply.status}`, `msg ${JSON.stringify(reply.msg)}`];
  if (reply.titles !== undefined && reply.titles.length > 0) parts.push(`titles ${JSON.stringify(reply.titles)}`);
  if (reply.url) parts.push(`url ${reply.url}`);
  if (reply.fileContent !== undefined && reply.fileContent.length > 0) parts.push(`file_len ${reply.fileLen}`, describeMp3(reply.fileContent));
  return parts.join(", ");
}

/** Which fixture file the bytes are (by SHA-256), and that they start like an MP3 with an ID3v2 tag. */
export function describeMp3(bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest("hex");
  const dir = path.join(EXAMPLE_DIR, "jsoup/mp3");
  const same = readdirSync(dir).find((f) => createHash("sha256").update(readFileSync(path.join(dir, f))).digest("hex") === digest);
  const magic = Buffer.from(bytes.subarray(0, 3)).toString("latin1");
  return `starts ${JSON.stringify(magic)}, bytes of ${same ?? "no fixture file"}`;
}
