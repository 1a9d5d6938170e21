/**
 * Issue 11: a connection that drips one byte every 2 s must be closed within
 * 30 s at the default `request_timeout_ms` (10 s: a frame or HTTP request must
 * be complete within that long of its first byte; bytes arriving do not
 * extend it), counted in `msec_server_timeouts_total{transport}`. Before, each
 * byte reset the idle timer, so 200 such connections locked out every normal
 * call. Three drips per server: an SRPC frame, an HTTP header, an HTTP body.
 * Both servers are attacked at once to keep the file short.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { LANGS, type Lang, assertServed, delay, dial, metricValue, scrapeMetrics, startProbe, whenClosed, withTarget } from "./harness.js";

const DRIP_INTERVAL_MS = 2000;
/** Issue 11, done when: closed within 30 s. */
const CLOSED_WITHIN_MS = 30_000;

/** A frame announcing 1,000 body bytes; dripped byte by byte it never completes in time. */
function srpcBytes(): Buffer {
  const start = Buffer.alloc(9);
  start[0] = 0x28;
  start.writeInt32BE(20, 1);
  start.writeInt32BE(1000, 5);
  return Buffer.concat([start, Buffer.alloc(1020, 0x08)]);
}

/** What each drip sends at once (`whole`), then one byte at a time (`dripped`). */
const DRIPS = [
  { name: "SRPC frame", whole: "", dripped: srpcBytes() },
  { name: "HTTP header", whole: "", dripped: Buffer.from(`GET /health HTTP/1.1\r\nX-Drip: ${"a".repeat(500)}`, "latin1") },
  {
    // The header arrives whole: the deadline covers the body too.
    name: "HTTP body",
    whole: "POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n",
    dripped: Buffer.from(`{"message":"${"A".repeat(484)}"}`, "latin1"),
  },
];

/** Sends `whole`, then `dripped` one byte every DRIP_INTERVAL_MS until the socket closes or the bytes run out. */
async function drip(socket: Socket, whole: string, dripped: Buffer, isClosed: () => boolean): Promise<void> {
  if (whole !== "") socket.write(whole);
  for (let i = 0; i < dripped.length && !isClosed(); i++) {
    socket.write(dripped.subarray(i, i + 1));
    await delay(DRIP_INTERVAL_MS);
  }
}

async function attack(lang: Lang): Promise<void> {
  await withTarget(lang, {}, async (target) => {
    const probe = startProbe(target.port, { intervalMs: 500 });
    const results = await Promise.all(
      DRIPS.map(async (d) => {
        const socket = await dial(target.port);
        let closed = false;
        const closing = whenClosed(socket, CLOSED_WITHIN_MS).then((r) => {
          closed = true;
          return r;
        });
        void drip(socket, d.whole, d.dripped, () => closed);
        const r = await closing;
        socket.destroy();
        return { drip: d.name, closed: r.closed, ms: r.ms };
      }),
    );
    const report = await probe.stop();
    assert.deepEqual(
      Object.fromEntries(results.map((r) => [r.drip, r.closed ? "closed" : "open"])),
      Object.fromEntries(DRIPS.map((d) => [d.name, "closed"])),
      `${lang}: dripping connections after ${CLOSED_WITHIN_MS} ms (closed after ${results.map((r) => `${r.drip} ${r.ms} ms`).join(", ")})`,
    );
    assertServed(report, `${lang} during the drips`);
    const metrics = await scrapeMetrics(target.port);
    assert.deepEqual(
      {
        tcp: metricValue(metrics, "msec_server_timeouts_total", { transport: "tcp" }),
        http: metricValue(metrics, "msec_server_timeouts_total", { transport: "http" }),
      },
      { tcp: 1, http: 2 },
      `${lang}: msec_server_timeouts_total by transport (closed after ${results.map((r) => `${r.drip} ${r.ms} ms`).join(", ")})`,
    );
  });
}

describe("a connection dripping a byte every 2 s", { concurrency: true }, () => {
  for (const lang of LANGS) {
    test(`${lang} server closes it within 30 s at the default request_timeout_ms, counts it, and serves others`, () => attack(lang));
  }
});
