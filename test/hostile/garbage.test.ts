/**
 * Issue 11, first byte rule (both servers): `(` means SRPC, an ASCII
 * uppercase letter means HTTP, anything else closes the connection at once —
 * before, any other byte was taken as HTTP and held until a header end (60 s).
 * And a valid request followed by garbage in the same segment: the request is
 * answered, then the connection is closed (before, the answer was lost).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameDecoder } from "@msec-gen/runtime";
import {
  CLOSE_AT_ONCE_MS,
  HttpResponseReader,
  LANGS,
  type Target,
  assertServed,
  decodeAnswer,
  dial,
  echoFrame,
  httpEcho,
  startProbe,
  startTarget,
  whenClosed,
} from "./harness.js";

/** First bytes that start neither an SRPC frame nor an HTTP method. */
const GARBAGE_FIRST_BYTES = [0x00, 0xff, "a".charCodeAt(0), "{".charCodeAt(0)];
/** What follows a valid request in the same write. */
const GARBAGE = Buffer.from([0x00, 0xff, 0x7b, 0x61, 0x0d, 0x0a, 0x0d, 0x0a]);

/** A JSON body parsed, or its text when it is not JSON (so a failure shows what came). */
function jsonOrText(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return body.toString("utf8");
  }
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

for (const lang of LANGS) {
  describe(`${lang} server: garbage`, () => {
    let target: Target;
    let probe: ReturnType<typeof startProbe>;

    test("starts", async () => {
      target = await startTarget(lang);
      probe = startProbe(target.port);
    });

    for (const byte of GARBAGE_FIRST_BYTES) {
      test(`a connection whose first byte is ${hex(byte)} is closed at once, unanswered`, async () => {
        const socket = await dial(target.port);
        const closing = whenClosed(socket, CLOSE_AT_ONCE_MS);
        socket.write(Buffer.from([byte]));
        const r = await closing;
        socket.destroy();
        assert.deepEqual({ closed: r.closed, answered: r.bytes.toString("latin1") }, { closed: true, answered: "" }, `${lang}, first byte ${hex(byte)}`);
      });
    }

    test("a valid SRPC request and garbage in one segment: the request is answered, then the connection closed", async () => {
      const socket = await dial(target.port);
      const closing = whenClosed(socket, CLOSE_AT_ONCE_MS);
      socket.write(Buffer.concat([echoFrame(Buffer.from("before the garbage"), { sequence: 77n }), GARBAGE]));
      const r = await closing;
      socket.destroy();
      const answers = new FrameDecoder().push(r.bytes).map((f) => {
        const a = decodeAnswer(f);
        return { sequence: a.sequence, err: a.err, message: a.message.toString() };
      });
      assert.deepEqual(
        { answers, closed: r.closed },
        { answers: [{ sequence: 77n, err: 0, message: "before the garbage" }], closed: true },
        lang,
      );
    });

    test("a valid HTTP request and garbage in one segment: the request is answered, then the connection closed", async () => {
      const socket = await dial(target.port);
      const closing = whenClosed(socket, CLOSE_AT_ONCE_MS);
      socket.write(Buffer.concat([httpEcho("before the garbage"), GARBAGE]));
      const r = await closing;
      socket.destroy();
      const [first] = new HttpResponseReader().push(r.bytes);
      assert.ok(first !== undefined, `${lang}: no HTTP answer before the close: ${JSON.stringify(r.bytes.toString("latin1"))}`);
      assert.deepEqual(
        { status: first.status, body: jsonOrText(first.body), closed: r.closed },
        { status: 200, body: { ret: 0, errmsg: "", resultObj: { message: Buffer.from("before the garbage").toString("base64") } }, closed: true },
        lang,
      );
    });

    test("a normal client was served throughout", async () => {
      const report = await probe.stop();
      await target.stop();
      assertServed(report, lang);
    });
  });
}
