/**
 * Issue 11: an incomplete SRPC frame, or an incomplete HTTP body, sent one
 * byte per TCP segment. 1 MiB received must grow the server by at most
 * 48 MiB (the TypeScript server kept one object per segment: ~113 MiB of heap
 * for 1.14 MiB, then `JavaScript heap out of memory`), and a normal client is
 * served meanwhile. The attack, run by byte-segments-srpc.test.ts and
 * byte-segments-http.test.ts (one file each, to keep files short).
 *
 * The request deadline is raised for these attacks so that the server holds
 * the connections for the whole megabyte: what is measured is memory per byte
 * received, not the deadline (slow-drip.test.ts covers that).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LANGS, MAX_RSS_GROWTH_BYTES, MiB, assertServed, mib, sampleRss, sendByteSegments, startProbe, withTarget } from "./harness.js";

/** What the attacker sends in all, per attack: 1 MiB over CONNECTIONS connections. */
const ATTACK_BYTES = 1 * MiB;
/**
 * Connections the megabyte is spread over: with several, the server reads
 * each more often and gets fewer bytes per read (nearer one read per byte, as
 * across a real network); with one, a fast loopback sender's bytes coalesce into few reads.
 */
const CONNECTIONS = 256;
/** Announced length of the frame or body: larger than what is sent, so it never completes. */
const ANNOUNCED_BYTES = 2 * MiB;

/** `(`, head length, body length: an SRPC frame of ANNOUNCED_BYTES that never completes. */
function frameStart(): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 0x28;
  b.writeInt32BE(16, 1);
  b.writeInt32BE(ANNOUNCED_BYTES - 16 - 10, 5);
  return b;
}

function httpStart(): Buffer {
  return Buffer.from(
    `POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${ANNOUNCED_BYTES}\r\n\r\n`,
    "latin1",
  );
}

export const ATTACKS = {
  srpc: { name: "an incomplete SRPC frame", prefix: frameStart },
  http: { name: "an incomplete HTTP body", prefix: httpStart },
};

/** Registers the attack's test for both servers. */
export function describeSegmentAttack(attack: (typeof ATTACKS)[keyof typeof ATTACKS]): void {
  for (const lang of LANGS) {
    describe(`${lang} server: 1 MiB in 1-byte segments`, () => {
      test(`${attack.name}: memory grows at most 48 MiB and a normal client is served`, async (t) => {
        await withTarget(lang, { srpc: { request_timeout_ms: "120000" } }, async (target) => {
          const rss = sampleRss(target.pid);
          const probe = startProbe(target.port);
          const result = await sendByteSegments(target.port, attack.prefix(), CONNECTIONS, ATTACK_BYTES / CONNECTIONS);
          try {
            const memory = rss.stop();
            const report = await probe.stop();
            const facts = `${lang}: sent ${result.sent} B in ${result.seconds} s; RSS ${mib(memory.startBytes)} → peak ${mib(memory.peakBytes)}`;
            t.diagnostic(`${facts}; probe: ${report.calls} calls, slowest ${report.maxMs} ms`);
            assert.deepEqual({ sent: result.sent, unread: result.unread, closed: result.closed }, { sent: ATTACK_BYTES, unread: 0, closed: 0 }, `${facts}: the server did not read the whole megabyte on an open connection`);
            assert.ok(memory.growthBytes <= MAX_RSS_GROWTH_BYTES, `${facts}: grew ${mib(memory.growthBytes)} (limit 48 MiB)`);
            assertServed(report, facts);
          } finally {
            await result.release();
          }
          assert.equal(target.child.exitCode, null, `${lang} server died: ${target.stderrText()}`);
        });
      });
    });
  }
}
