/**
 * Issue 11: a 4 MiB HTTP body in 16-byte chunks (`Transfer-Encoding:
 * chunked`, each chunk its own write) must cost the server time proportional
 * to its size: the request is answered, and other clients' calls stay fast
 * meanwhile. Before, the Python HTTP parser re-parsed the whole buffer on
 * every read (26 s of CPU; other clients stalled 6.5 s).
 *
 * The request deadline is raised so that a slow sender on a loaded machine is
 * not cut off: what is measured is the parser's cost, not the deadline.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ECHO_METHOD, LANGS, MiB, assertServed, cpuTicks, dial, readHttpResponses, startProbe, withTarget } from "./harness.js";

/** Body bytes per HTTP chunk; each chunk is one write (its own segment when the server keeps up). */
const CHUNK_BYTES = 16;
/** Writes between two turns of the event loop (so the probe and the reader run). */
const WRITES_PER_TURN = 64;
/** How long the answer may take after the last byte. */
const ANSWER_WITHIN_MS = 30_000;
/**
 * CPU time the server may spend on the whole request (linear parsing takes
 * well under a second; the quadratic parser took 12 s here). CPU time, unlike
 * wall time, hardly depends on how loaded the machine is.
 */
const MAX_CPU_MS = 6000;

for (const lang of LANGS) {
  describe(`${lang} server: a 4 MiB HTTP body in 16-byte chunks`, () => {
    test("is answered, and other clients stay fast meanwhile", async (t) => {
      await withTarget(lang, { srpc: { request_timeout_ms: "120000" } }, async (target) => {
        // {"message":"<base64 of 3 MiB>"}: a 4 MiB JSON body.
        const message = "b".repeat(3 * MiB);
        const body = JSON.stringify({ message: Buffer.from(message).toString("base64") });
        const head = `POST /?methodName=${ECHO_METHOD} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`;
        const socket = await dial(target.port);
        const answer = readHttpResponses(socket, 1, 120_000);
        const probe = startProbe(target.port, { intervalMs: 250 });
        const ticksBefore = cpuTicks(target.pid);
        const started = Date.now();
        socket.write(head);
        for (let at = 0; at < body.length; at += CHUNK_BYTES) {
          const chunk = body.slice(at, at + CHUNK_BYTES);
          socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
          if ((at / CHUNK_BYTES) % WRITES_PER_TURN === WRITES_PER_TURN - 1) await new Promise((r) => setImmediate(r));
        }
        socket.write("0\r\n\r\n");
        const sentMs = Date.now() - started;
        const timeout = new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${lang}: no answer ${ANSWER_WITHIN_MS} ms after the last byte`)), ANSWER_WITHIN_MS).unref(),
        );
        let responses;
        try {
          responses = await Promise.race([answer, timeout]);
        } finally {
          socket.destroy();
        }
        const answeredMs = Date.now() - started;
        const cpuMs = (cpuTicks(target.pid) - ticksBefore) * 10;
        const report = await probe.stop();
        t.diagnostic(`${lang}: ${body.length} B of body sent in ${sentMs} ms, answered after ${answeredMs} ms, server CPU ${cpuMs} ms; probe: ${report.calls} calls, slowest ${report.maxMs} ms`);
        const [res] = responses;
        const envelope = JSON.parse(res!.body.toString()) as { ret: number; resultObj?: { message?: string } };
        assert.deepEqual(
          { status: res!.status, ret: envelope.ret, echoed: Buffer.from(envelope.resultObj?.message ?? "", "base64").toString() === message },
          { status: 200, ret: 0, echoed: true },
          lang,
        );
        assert.ok(cpuMs <= MAX_CPU_MS, `${lang}: the server spent ${cpuMs} ms of CPU on one 4 MiB request (limit ${MAX_CPU_MS} ms)`);
        assertServed(report, `${lang}, while the body arrived`);
      });
    });
  });
}
