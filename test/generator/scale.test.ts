/**
 * A file of 5,000 messages and a service using all of them generates, and
 * what comes out is complete and right: every message's schema, type and
 * comment, every method in the handler interface, the method table and the
 * client. Not timed (the machine is shared): before protoplugin's name and
 * comment lookups were cached the server did not finish in 330 s (seen); now
 * each run takes seconds. The CLI runs in a child process killed after a
 * generous limit (generation is synchronous, so an in-process test timeout
 * could not interrupt it), which only catches a return of the quadratic
 * behaviour. Figures are in docs/generator.md (`bench:generate --cases messages`).
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { buildMessagesFile } from "../../bench/generate/messages.js";
import { runCli } from "./run-cli.js";

const MESSAGES = 5000;
const METHODS = MESSAGES / 2;
/** Far above the seconds it takes; the quadratic version needed minutes. The CLI runs in a child killed at this age. */
const TIMEOUT_MS = 180_000;

let work: string;

before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-scale-"));
  await fs.writeFile(path.join(work, "big.proto"), buildMessagesFile(MESSAGES));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Runs `msec-gen <args> big.proto --dir` in the work folder; returns the folder written. */
async function generateDir(args: string[]): Promise<string> {
  const out = await fs.mkdtemp(path.join(work, "out-"));
  const r = await runCli([...args, "big.proto", "--name", "Bench.Big", "-o", out, "--dir", "--quiet"], { cwd: work, timeoutMs: TIMEOUT_MS });
  assert.ok(r.timedOut !== true, `not finished after ${TIMEOUT_MS / 1000} s`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function text(dir: string, file: string): Promise<string> {
  return fs.readFile(path.join(dir, file), "utf8");
}

function count(haystack: string, pattern: RegExp): number {
  return [...haystack.matchAll(pattern)].length;
}

/**
 * Asserts the message code declares Msg0 … Msg4999 in order, each with its
 * comment, its type and its schema at its own index in the file descriptor.
 */
function assertMessages(pb: string): void {
  assert.equal(count(pb, /^export const Msg\d+Schema: GenMessage</gm), MESSAGES);
  assert.equal(count(pb, /^export type Msg\d+ = Message<"bench\.big\.Msg\d+"> & \{$/gm), MESSAGES);
  let at = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const doc = pb.indexOf(`/**\n * Record ${i}.\n`, at);
    const type = pb.indexOf(`export type Msg${i} = Message<"bench.big.Msg${i}"> & {\n`, doc);
    const schema = pb.indexOf(`export const Msg${i}Schema: GenMessage<Msg${i}> = /*@__PURE__*/\n  messageDesc(file_big, ${i});\n`, type);
    assert.ok(doc >= 0 && type > doc && schema > type, `Msg${i}: comment, type and schema (index ${i}), in order`);
    at = schema;
  }
  // nested messages get their flattened names; no name needed a clash suffix
  assert.equal(count(pb, /^export const Msg\d+_PartSchema: GenMessage<Msg\d+_Part> = /gm), MESSAGES / 10);
  assert.ok(!pb.includes("$"), "no identifier with a clash suffix");
}

describe(`a file of ${MESSAGES} messages and a service using them`, () => {
  test("the TypeScript server: every message and every method", { timeout: TIMEOUT_MS + 60_000 }, async () => {
    const dir = await generateDir(["server", "--lang", "ts"]);
    assertMessages(await text(dir, "src/gen/big_pb.ts"));
    const msec = await text(dir, "src/gen/big_msec.ts");
    assert.equal(count(msec, /^  call\d+\(request: Msg\d+, ctx: CallContext\): Promise<MessageInitShape<typeof Msg\d+Schema>> \| MessageInitShape<typeof Msg\d+Schema>;$/gm), METHODS);
    assert.equal(count(msec, /^  call\d+: \{ name: "bench\.big\.BigService\.Call\d+", input: Msg\d+Schema, output: Msg\d+Schema \},$/gm), METHODS);
    for (const i of [0, 2, 2498, MESSAGES - 2]) {
      assert.ok(msec.includes(`  call${i}: { name: "bench.big.BigService.Call${i}", input: Msg${i}Schema, output: Msg${i + 1}Schema },\n`), `call${i}`);
    }
    assert.equal(count(msec, /^  server\.register\(unaryMethod\(BigServiceMethods\.call\d+, \(request, ctx\) => impl\.call\d+\(request, ctx\)\)\);$/gm), METHODS);
    const handler = await text(dir, "src/handlers/BigService.ts");
    assert.equal(count(handler, /^  async call\d+\(request, ctx\) \{$/gm), METHODS);
  });

  test("the TypeScript caller: every message and a client method for each rpc", { timeout: TIMEOUT_MS + 60_000 }, async () => {
    const dir = await generateDir(["caller", "--lang", "ts"]);
    assertMessages(await text(dir, "ts/src/gen/big_pb.ts"));
    const msec = await text(dir, "ts/src/gen/big_msec.ts");
    assert.equal(count(msec, /^  async call\d+\(request: MessageInitShape<typeof Msg\d+Schema>, options\?: CallOptions\): Promise<Msg\d+> \{$/gm), METHODS);
    assert.ok(msec.includes(`callMethodRaw(this.service, "bench.big.BigService.Call4998", toBinary(Msg4998Schema, create(Msg4998Schema, request)), withDefaults(this.defaults, options));`));
  });

  test("the Python caller: every message class and client method", { timeout: TIMEOUT_MS + 60_000 }, async () => {
    const dir = await generateDir(["caller", "--lang", "python"]);
    const stub = await text(dir, "python/bench_big/big_pb2.pyi");
    assert.equal(count(stub, /^class Msg\d+\(_message\.Message\):\n    """Record \d+\."""$/gm), MESSAGES);
    const client = await text(dir, "python/bench_big/big_msec.py");
    // one blocking and one asyncio client
    assert.equal(count(client, /^    def call\d+\(self, request: _big_pb2\.Msg\d+, timeout_ms: Optional\[float\] = None, retries: Optional\[int\] = None\) -> _big_pb2\.Msg\d+:$/gm), METHODS);
    assert.equal(count(client, /^    async def call\d+\(self, request: _big_pb2\.Msg\d+, timeout_ms: Optional\[float\] = None, retries: Optional\[int\] = None\) -> _big_pb2\.Msg\d+:$/gm), METHODS);
  });
});
