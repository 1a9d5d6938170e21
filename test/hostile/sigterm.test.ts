/**
 * Issue 11: SIGTERM while calls run. The server drains: running calls are
 * answered even when their client sends another request after the signal,
 * then the process exits 0. Before, the Python server closed such a
 * connection on its next frame and never answered the running call.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameDecoder } from "@msec-gen/runtime";
import { HttpResponseReader, LANGS, SLEEP_METHOD, decodeAnswer, delay, dial, echoFrame, httpEcho, sleepFrame, whenClosed, withTarget } from "./harness.js";

/** How long the running calls sleep. */
const CALL_MS = 1500;
/** Bound on answers, close and exit (the default drain timeout is 10 s). */
const WITHIN_MS = 20_000;
/** The servers' default drain timeout. */
const DRAIN_TIMEOUT_MS = 10_000;

for (const lang of LANGS) {
  describe(`${lang} server: SIGTERM during running calls`, () => {
    test("the running SRPC and HTTP calls are answered, then the process exits 0", async (t) => {
      await withTarget(lang, {}, async (target) => {
        const srpc = await dial(target.port);
        const http = await dial(target.port);
        const srpcClosed = whenClosed(srpc, WITHIN_MS);
        const httpClosed = whenClosed(http, WITHIN_MS);
        srpc.write(sleepFrame(CALL_MS, { sequence: 1n }));
        http.write(httpEcho(String(CALL_MS), {}, SLEEP_METHOD));
        await delay(400);
        const killedAt = Date.now();
        target.child.kill("SIGTERM");
        await delay(200);
        // A client that does not know yet: its next requests arrive during the drain.
        srpc.write(echoFrame(Buffer.from("after the signal"), { sequence: 2n }));
        http.write(httpEcho("after the signal"));
        // Closed by the server: close our side too (the server's drain waits for it).
        const [s, h] = await Promise.all([
          srpcClosed.finally(() => srpc.destroy()),
          httpClosed.finally(() => http.destroy()),
        ]);
        const exit = await Promise.race([
          target.exited,
          new Promise<string>((r) => setTimeout(() => r("still running"), WITHIN_MS).unref()),
        ]);
        // Once its connections are closed the server exits, well before the 10 s drain
        // timeout (a paused socket whose FIN was never read used to hold it until then).
        const exitedBeforeDrainTimeout = Date.now() - killedAt < DRAIN_TIMEOUT_MS - 2000;

        t.diagnostic(`${lang}: SRPC connection closed after ${s.ms} ms, HTTP after ${h.ms} ms; exited ${Date.now() - killedAt} ms after SIGTERM`);
        const srpcAnswers = new FrameDecoder().push(s.bytes).map(decodeAnswer);
        const running = srpcAnswers.find((a) => a.sequence === 1n);
        const [httpFirst] = new HttpResponseReader().push(h.bytes);
        assert.deepEqual(
          {
            srpcRunningCall: running === undefined ? "no answer" : `err ${running.err}`,
            httpRunningCall: httpFirst === undefined ? "no answer" : `${httpFirst.status} ${JSON.stringify(JSON.parse(httpFirst.body.toString()))}`,
            srpcClosed: s.closed,
            httpClosed: h.closed,
            exit,
            exitedBeforeDrainTimeout,
          },
          {
            srpcRunningCall: "err 0",
            httpRunningCall: `200 ${JSON.stringify({ ret: 0, errmsg: "", resultObj: { message: Buffer.from("2").toString("base64") } })}`,
            srpcClosed: true,
            httpClosed: true,
            exit: 0,
            exitedBeforeDrainTimeout: true,
          },
          `${lang} (stderr: ${target.stderrText().slice(0, 2000)})`,
        );
      });
    });
  });
}
