/**
 * Issue 11: a client that sends a request and then shuts down its sending
 * side (`shutdown(SHUT_WR)`, a FIN) still gets its answer, also from an async
 * handler; then the server closes. Before, the TypeScript server answered
 * nothing when the handler was async.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameDecoder } from "@msec-gen/runtime";
import { HttpResponseReader, LANGS, SLEEP_METHOD, type Target, decodeAnswer, dial, echoFrame, httpEcho, sleepFrame, startTarget, whenClosed } from "./harness.js";

/** How long the answer and the close may take (the slow call sleeps 300 ms). */
const WITHIN_MS = 10_000;

for (const lang of LANGS) {
  describe(`${lang} server: request, then half-close`, () => {
    let target: Target;

    test("starts", async () => {
      target = await startTarget(lang);
    });

    const cases = [
      { name: "an SRPC call of a synchronous method", bytes: () => echoFrame(Buffer.from("half"), { sequence: 5n }), want: "5 0 half" },
      { name: "an SRPC call of a slow async method", bytes: () => sleepFrame(300, { sequence: 6n }), want: "6 0 1" },
    ];
    for (const c of cases) {
      test(`${c.name} is answered, then the connection closed`, async () => {
        const socket = await dial(target.port);
        const closing = whenClosed(socket, WITHIN_MS);
        socket.end(c.bytes());
        const r = await closing;
        socket.destroy();
        const answers = new FrameDecoder().push(r.bytes).map((f) => {
          const a = decodeAnswer(f);
          return `${a.sequence} ${a.err} ${a.message.toString()}`;
        });
        assert.deepEqual({ answers, closed: r.closed }, { answers: [c.want], closed: true }, lang);
      });
    }

    test("an HTTP call of a slow async method is answered, then the connection closed", async () => {
      const socket = await dial(target.port);
      const closing = whenClosed(socket, WITHIN_MS);
      socket.end(httpEcho("300", {}, SLEEP_METHOD));
      const r = await closing;
      socket.destroy();
      const responses = new HttpResponseReader().push(r.bytes).map((res) => `${res.status} ${res.body.toString()}`);
      assert.equal(responses.length, 1, `${lang}: answers ${JSON.stringify(r.bytes.toString())}`);
      const [status, body] = [responses[0]!.slice(0, 3), JSON.parse(responses[0]!.slice(4)) as unknown];
      assert.deepEqual({ status, body, closed: r.closed }, { status: "200", body: { ret: 0, errmsg: "", resultObj: { message: "MQ==" } }, closed: true }, lang);
    });

    test("stops", async () => {
      await target.stop();
    });
  });
}
