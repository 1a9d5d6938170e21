/**
 * Issue 11: a client that pipelines requests and never reads the answers.
 * The server must stop reading that connection while its answers are not
 * accepted (`max_pending_output_bytes`, default 4 MiB), so its memory stays
 * bounded, and it must never drop an answer: once the client reads, every
 * request is answered. Before, the Python server read on and queued every
 * answer (30k × 16 KiB: +467 MiB).
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import {
  LANGS,
  MAX_RSS_GROWTH_BYTES,
  assertServed,
  cpuTicks,
  delay,
  dial,
  echoFrame,
  httpEcho,
  mib,
  readFrames,
  readHttpResponses,
  sampleRss,
  startProbe,
  withTarget,
} from "./harness.js";

/** Message per SRPC request (as in the attack); 6,144 of them make 96 MiB of answers. */
const MESSAGE_BYTES = 16 * 1024;
/**
 * Message per HTTP request: larger, so that 1,024 requests make 85 MiB of
 * answers while the Python server's per-request JSON cost keeps the file short.
 */
const HTTP_MESSAGE_BYTES = 64 * 1024;
/** Longest the client keeps pushing before it measures. */
const PUSH_MS = 20_000;
/**
 * The server has stopped taking requests when, for this long, the client's
 * queue did not shrink and the server was nearly idle (kernel buffers hide
 * the progress of a server that still reads, so its CPU time tells).
 */
const STALLED_MS = 1500;
/** "Nearly idle": CPU ticks (10 ms each) the server may use in STALLED_MS (the probe's calls). */
const IDLE_TICKS = 15;

/**
 * Queues every request (one write each, so the queue shrinks as the kernel
 * takes them), then waits until all left or the server stopped taking them.
 */
async function pushUntilStalled(pid: number, socket: Socket, requests: Uint8Array[]): Promise<{ unsent: number }> {
  for (const r of requests) socket.write(r);
  const started = Date.now();
  let last = socket.writableLength;
  let since = Date.now();
  let ticks = cpuTicks(pid);
  while (socket.writableLength > 0 && Date.now() - started < PUSH_MS) {
    await delay(100);
    if (socket.writableLength !== last || cpuTicks(pid) - ticks > IDLE_TICKS) {
      last = socket.writableLength;
      since = Date.now();
      ticks = cpuTicks(pid);
    } else if (Date.now() - since >= STALLED_MS) {
      break;
    }
  }
  // Whatever the kernel still holds is not the server's memory; give it a moment to settle.
  await delay(500);
  return { unsent: socket.writableLength };
}

const ATTACKS = [
  {
    name: "SRPC",
    requests: 6144,
    messageBytes: MESSAGE_BYTES,
    requestBytes: () => Array.from({ length: 6144 }, () => echoFrame(Buffer.alloc(MESSAGE_BYTES, 0x61))),
    async readAll(socket: Socket, n: number) {
      const answers = await readFrames(socket, n, 60_000);
      return answers.map((a) => `err ${a.err}, ${a.message.length} bytes`);
    },
  },
  {
    name: "HTTP",
    requests: 1024,
    messageBytes: HTTP_MESSAGE_BYTES,
    requestBytes: () => Array.from({ length: 1024 }, () => httpEcho("a".repeat(HTTP_MESSAGE_BYTES))),
    async readAll(socket: Socket, n: number) {
      const responses = await readHttpResponses(socket, n, 60_000);
      return responses.map((r) => {
        const env = JSON.parse(r.body.toString()) as { ret: number; resultObj?: { message?: string } };
        return `err ${env.ret}, ${Buffer.from(env.resultObj?.message ?? "", "base64").length} bytes`;
      });
    },
  },
];

for (const lang of LANGS) {
  describe(`${lang} server: a pipelining client that never reads`, () => {
    for (const attack of ATTACKS) {
      test(`${attack.name}: memory stays bounded, others are served, and every answer comes once the client reads`, async (t) => {
        await withTarget(lang, {}, async (target) => {
          const requests = attack.requestBytes();
          const total = requests.reduce((n, r) => n + r.length, 0);
          const socket = await dial(target.port);
          const rss = sampleRss(target.pid);
          const probe = startProbe(target.port, { intervalMs: 500 });
          const { unsent } = await pushUntilStalled(target.pid, socket, requests);
          const memory = rss.stop();
          const report = await probe.stop();
          const facts = `${lang}: ${mib(total - unsent)} of ${mib(total)} left the client; server RSS ${mib(memory.startBytes)} → peak ${mib(memory.peakBytes)}`;
          t.diagnostic(`${facts}; probe: ${report.calls} calls, slowest ${report.maxMs} ms`);
          assert.ok(memory.growthBytes <= MAX_RSS_GROWTH_BYTES, `${facts}: grew ${mib(memory.growthBytes)} (limit ${mib(MAX_RSS_GROWTH_BYTES)})`);
          assertServed(report, facts);
          const answers = await attack.readAll(socket, attack.requests);
          socket.destroy();
          assert.deepEqual(
            [...new Set(answers)],
            [`err 0, ${attack.messageBytes} bytes`],
            `${lang}: all ${attack.requests} answers once the client reads`,
          );
        });
      });
    }
  });
}
