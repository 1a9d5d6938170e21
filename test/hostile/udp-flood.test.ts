/**
 * Issue 11: a flood of UDP datagrams to a slow method. At most
 * `max_udp_in_flight` (default 1,024) UDP calls run at once; datagrams beyond
 * are dropped and counted `msec_server_dropped_total{transport="udp",
 * reason="overload"}`; the server stays responsive. Before, every datagram
 * started a call (20k datagrams → ~6k calls at once).
 *
 * The slow method answers the peak number of its calls that ran at once, so
 * the test reads the server's real concurrency, not a guess from timings.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { describe, test } from "node:test";
import { LANGS, assertServed, callSrpc, delay, metricValue, scrapeMetrics, sleepFrame, startProbe, withTarget } from "./harness.js";

/** Datagrams sent. */
const FLOOD = 8000;
/** Datagrams per turn of the event loop, and the pause between turns. */
const BATCH = 100;
const BATCH_PAUSE_MS = 2;
/** How long each flooded call sleeps: longer than the flood takes to send. */
const CALL_MS = 4000;
/** Default `max_udp_in_flight`. */
const MAX_UDP_IN_FLIGHT = 1024;

for (const lang of LANGS) {
  describe(`${lang} server: UDP flood to a slow method`, () => {
    test(`at most ${MAX_UDP_IN_FLIGHT} UDP calls run at once, the rest are dropped and counted, others are served`, async (t) => {
      await withTarget(lang, {}, async (target) => {
        const probe = startProbe(target.port, { intervalMs: 250 });
        const udp = createSocket("udp4");
        let answers = 0;
        udp.on("message", () => answers++);
        await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
        const datagram = sleepFrame(CALL_MS);
        const started = Date.now();
        for (let i = 0; i < FLOOD; i += BATCH) {
          for (let j = 0; j < BATCH; j++) udp.send(datagram, target.port, "127.0.0.1");
          await delay(BATCH_PAUSE_MS);
        }
        const sentMs = Date.now() - started;
        // Every call that started has answered after CALL_MS; allow for a loaded machine.
        await delay(CALL_MS + 3000);
        udp.close();
        const report = await probe.stop();
        const peak = Number((await callSrpc(target.port, sleepFrame(0))).message.toString());
        const metrics = await scrapeMetrics(target.port);
        const dropped = metricValue(metrics, "msec_server_dropped_total", { transport: "udp", reason: "overload" });
        t.diagnostic(`${lang}: ${FLOOD} datagrams sent in ${sentMs} ms; ${answers} answered; peak ${peak} calls at once; dropped ${dropped}; probe: ${report.calls} calls, slowest ${report.maxMs} ms`);
        assert.ok(peak <= MAX_UDP_IN_FLIGHT, `${lang}: ${peak} slow calls ran at once (limit ${MAX_UDP_IN_FLIGHT})`);
        assert.ok(answers >= 1, `${lang}: no flooded call was answered`);
        assert.ok(dropped !== undefined && dropped >= 1 && dropped + answers <= FLOOD, `${lang}: dropped ${dropped}, answered ${answers} of ${FLOOD}`);
        assertServed(report, `${lang} during the flood`);
      });
    });
  });
}
