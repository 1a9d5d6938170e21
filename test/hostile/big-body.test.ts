/**
 * Issue 11: a 4 MiB HTTP body in 16-byte chunks (`Transfer-Encoding:
 * chunked`, each chunk its own segment) must cost the server time
 * proportional to its size: the request is answered, and other clients' calls
 * stay fast meanwhile. Before, the Python HTTP parser re-parsed the whole
 * buffer on every read (26 s of CPU; other clients stalled 6.5 s).
 *
 * The sender is a process of its own (attackers/chunked_body.py), so the
 * probe's latencies are the server's. The request deadline is raised so that
 * a slow sender on a loaded machine is not cut off: what is measured is the
 * parser's cost, not the deadline.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LANGS, MiB, assertServed, cpuTicks, runAttacker, startProbe, withTarget } from "./harness.js";

/** The echoed message; its base64 in a JSON object makes a 4 MiB body. */
const MESSAGE_BYTES = 3 * MiB;
/** Body bytes per HTTP chunk. */
const CHUNK_BYTES = 16;
/**
 * CPU time the server may spend on the whole request (linear parsing takes
 * about a second; the quadratic parser took 12 s). CPU time, unlike wall
 * time, hardly depends on how loaded the machine is.
 */
const MAX_CPU_MS = 6000;

interface ChunkedBodyResult {
  sent_s: number;
  answered_s: number;
  status: number;
  ret: number | null;
  echoed: boolean;
}

for (const lang of LANGS) {
  describe(`${lang} server: a 4 MiB HTTP body in 16-byte chunks`, () => {
    test("is answered with little CPU, and other clients stay fast meanwhile", async (t) => {
      await withTarget(lang, { srpc: { request_timeout_ms: "120000" } }, async (target) => {
        const probe = startProbe(target.port, { intervalMs: 250 });
        const ticksBefore = cpuTicks(target.pid);
        const result = await runAttacker<ChunkedBodyResult>(
          "chunked_body.py",
          ["--port", String(target.port), "--message-bytes", String(MESSAGE_BYTES), "--chunk-bytes", String(CHUNK_BYTES), "--timeout-s", "40"],
          90_000,
        );
        const cpuMs = (cpuTicks(target.pid) - ticksBefore) * 10;
        const report = await probe.stop();
        t.diagnostic(`${lang}: sent in ${result.sent_s} s, answered after ${result.answered_s} s, server CPU ${cpuMs} ms; probe: ${report.calls} calls, slowest ${report.maxMs} ms`);
        assert.deepEqual({ status: result.status, ret: result.ret, echoed: result.echoed }, { status: 200, ret: 0, echoed: true }, lang);
        assert.ok(cpuMs <= MAX_CPU_MS, `${lang}: the server spent ${cpuMs} ms of CPU on one 4 MiB request (limit ${MAX_CPU_MS} ms)`);
        assertServed(report, `${lang}, while the body arrived`);
      });
    });
  });
}
