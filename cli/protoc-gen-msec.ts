#!/usr/bin/env node
/** The `protoc-gen-msec` executable (package.json `bin`); see plugin-mode.ts. */
import { runPlugin } from "./plugin-mode.js";

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

try {
  process.stdout.write(await runPlugin(await readStdin()));
} catch (e) {
  process.stderr.write(`protoc-gen-msec: internal error (a bug in msec-gen):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 2;
}
