/**
 * Issue 11: a server started under `ulimit -n 256` and offered more
 * connections than that. The effective `max_connections` is the soft
 * RLIMIT_NOFILE minus a reserve of 64 (192 here, logged once at start as a
 * JSON line with `maxConnections` and `effectiveMaxConnections`), connections
 * beyond it are refused and counted in
 * `msec_server_rejected_connections_total{reason}`, logged at most once per
 * 10 s: the server keeps serving, its stderr stays small. Before, the Python server wrote 255k tracebacks (115 MB) in 5 s and
 * the TypeScript server dropped connections silently.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { LANGS, assertServed, callSrpc, delay, dial, echoFrame, metricValue, readFrames, scrapeMetrics, startProbe, withTarget } from "./harness.js";

const FILE_LIMIT = 256;
/** Issue 11: the effective max_connections is the soft limit minus 64 fds. */
const EFFECTIVE_MAX_CONNECTIONS = FILE_LIMIT - 64;
/** Connections the attacker opens (each may be refused). */
const ATTACK_CONNECTIONS = 400;
/** How long the attacker holds them. */
const HOLD_MS = 3000;
/** "Bounded stderr": a few log lines, not one per refused connection. */
const MAX_STDERR_BYTES = 16 * 1024;

/** The JSON log lines of a server's stderr (other lines are skipped). */
function stderrLines(text: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of text.split("\n")) {
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === "object" && v !== null) lines.push(v as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return lines;
}

for (const lang of LANGS) {
  describe(`${lang} server under ulimit -n ${FILE_LIMIT}`, () => {
    test(`${ATTACK_CONNECTIONS} connections: refused beyond ${EFFECTIVE_MAX_CONNECTIONS}, counted, stderr bounded, others served`, async (t) => {
      await withTarget(lang, { fileLimit: FILE_LIMIT }, async (target) => {
        // A client connected before the attack keeps being served on its connection.
        const probeSocket = await dial(target.port);
        probeSocket.write(echoFrame(Buffer.from("warm")));
        await readFrames(probeSocket, 1, 10_000);
        const probe = startProbe(target.port, { socket: probeSocket, intervalMs: 250 });

        const sockets: Socket[] = [];
        let refusedAtConnect = 0;
        const open = new Set<Socket>();
        await Promise.all(
          Array.from({ length: ATTACK_CONNECTIONS }, async () => {
            try {
              const s = await dial(target.port, 5000);
              sockets.push(s);
              open.add(s);
              s.on("close", () => open.delete(s));
              s.on("end", () => open.delete(s));
              s.on("error", () => open.delete(s));
              s.resume();
            } catch {
              refusedAtConnect++;
            }
          }),
        );
        await delay(HOLD_MS);
        const held = open.size;
        const report = await probe.stop();
        probeSocket.destroy();
        for (const s of sockets) s.destroy();
        await delay(500);

        // After the attack: new connections are accepted again, and the refusals were counted.
        const after = await callSrpc(target.port, echoFrame(Buffer.from("after")), 10_000);
        const metrics = await scrapeMetrics(target.port);
        const rejected =
          (metricValue(metrics, "msec_server_rejected_connections_total", { reason: "max_connections" }) ?? 0) +
          (metricValue(metrics, "msec_server_rejected_connections_total", { reason: "fd_limit" }) ?? 0);
        const stderrBytes = target.stderrBytes();
        t.diagnostic(
          `${lang}: ${held} attacker connections held open, ${refusedAtConnect} failed to connect, ${rejected} counted as rejected, stderr ${stderrBytes} B; probe: ${report.calls} calls, slowest ${report.maxMs} ms`,
        );
        assert.equal(target.child.exitCode, null, `${lang} server died: ${target.stderrText().slice(0, 2000)}`);
        assertServed(report, `${lang}, a connection opened before the attack`);
        assert.equal(`${after.err} ${after.message.toString()}`, "0 after", `${lang}: a new connection after the attack`);
        assert.ok(stderrBytes <= MAX_STDERR_BYTES, `${lang}: ${stderrBytes} bytes on stderr (limit ${MAX_STDERR_BYTES}): ${target.stderrText().slice(0, 1000)}`);
        assert.ok(held + 1 <= EFFECTIVE_MAX_CONNECTIONS, `${lang}: ${held} attacker connections (plus the probe's) held open; limit ${EFFECTIVE_MAX_CONNECTIONS}`);
        assert.ok(rejected >= 1, `${lang}: no refused connection counted in msec_server_rejected_connections_total`);
        // Logged once at start, as a JSON line with both numbers.
        const capLines = stderrLines(target.stderrText()).filter((l) => l.maxConnections === 10_000 && l.effectiveMaxConnections === EFFECTIVE_MAX_CONNECTIONS);
        assert.equal(capLines.length, 1, `${lang}: JSON log lines with maxConnections 10000 and effectiveMaxConnections ${EFFECTIVE_MAX_CONNECTIONS}: ${target.stderrText().slice(0, 1000)}`);
      });
    });
  });
}
