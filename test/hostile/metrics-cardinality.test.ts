/**
 * Issue 11: client-chosen names must not become metric labels without bound.
 * After 20,000 distinct unknown method names and caller names over SRPC and
 * 20,000 over HTTP (plus 20,000 distinct callers of a real method), `/metrics`
 * stays ≤ 1 MiB: unknown methods are counted under `(unknown)`, and callers
 * are no metric label in either server (docs/metrics.md). Before, the Python
 * server kept every name (200k names: a 99 MB `/metrics`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  LANGS,
  MiB,
  assertServed,
  dial,
  echoFrame,
  httpEcho,
  readFrames,
  readHttpResponses,
  scrapeMetrics,
  startProbe,
  withTarget,
} from "./harness.js";

/** Distinct names per transport (issue 11, done when). */
const NAMES = 20_000;
/** Caller names that may appear in `/metrics` (none: callers are no label; kept as a bound so the check stays a count). */
const MAX_CALLER_LABELS = 0;
const UNKNOWN_PREFIX = "hostile.Unknown.M";
const CALLER_PREFIX = "attacker.c";

function count(text: string, re: RegExp): number {
  return new Set(text.match(re) ?? []).size;
}

for (const lang of LANGS) {
  describe(`${lang} server: metric label cardinality`, () => {
    test("20,000 unknown methods and callers over SRPC and over HTTP, 20,000 callers of a real method: /metrics ≤ 1 MiB", async () => {
      await withTarget(lang, {}, async (target) => {
        const probe = startProbe(target.port, { intervalMs: 500 });

        // SRPC: one connection, every frame a new unknown method and caller, then real calls with new callers.
        const srpc = await dial(target.port);
        const srpcFrames: Uint8Array[] = [];
        for (let i = 0; i < NAMES; i++) srpcFrames.push(echoFrame(Buffer.from("x"), { method: `${UNKNOWN_PREFIX}${i}`, caller: `${CALLER_PREFIX}${i}` }));
        for (let i = 0; i < NAMES / 2; i++) srpcFrames.push(echoFrame(Buffer.from("x"), { caller: `${CALLER_PREFIX}s${i}` }));
        const srpcAnswers = readFrames(srpc, srpcFrames.length, 60_000);
        srpc.write(Buffer.concat(srpcFrames));

        // HTTP: the same over one keep-alive connection, pipelined.
        const http = await dial(target.port);
        const httpRequests: Buffer[] = [];
        for (let i = 0; i < NAMES; i++) httpRequests.push(httpEcho("x", { caller: `${CALLER_PREFIX}h${i}` }, `${UNKNOWN_PREFIX}h${i}`));
        for (let i = 0; i < NAMES / 2; i++) httpRequests.push(httpEcho("x", { caller: `${CALLER_PREFIX}e${i}` }));
        const httpAnswers = readHttpResponses(http, httpRequests.length, 60_000);
        http.write(Buffer.concat(httpRequests));

        const codes = new Map<string, number>();
        const tally = (key: string) => codes.set(key, (codes.get(key) ?? 0) + 1);
        for (const a of await srpcAnswers) tally(`srpc ${a.err}`);
        for (const r of await httpAnswers) tally(`http ${r.status} ${(JSON.parse(r.body.toString()) as { ret: number }).ret}`);
        srpc.destroy();
        http.destroy();
        const report = await probe.stop();

        const metrics = await scrapeMetrics(target.port);
        const facts = `${lang}: /metrics is ${metrics.length} bytes`;
        assert.deepEqual(
          Object.fromEntries([...codes].sort()),
          { "http 200 -6": NAMES, "http 200 0": NAMES / 2, "srpc -6": NAMES, "srpc 0": NAMES / 2 },
          `${lang}: answers by transport and code`,
        );
        assert.ok(metrics.length <= 1 * MiB, `${facts} (limit 1 MiB)`);
        assert.equal(count(metrics, /hostile\.Unknown\.M\w+/g), 0, `${facts}: unknown method names must be counted under (unknown)`);
        const callers = count(metrics, /attacker\.c\w+/g);
        assert.ok(callers <= MAX_CALLER_LABELS, `${facts}: ${callers} distinct attacker callers kept as labels (limit ${MAX_CALLER_LABELS})`);
        assertServed(report, lang);
      });
    });
  });
}
