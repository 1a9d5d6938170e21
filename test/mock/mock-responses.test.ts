/**
 * `msec-gen mock --responses FILE` (the built CLI, real sockets): answers
 * scripted per method in YAML and in JSON, a list answered in turn (round
 * robin, whatever the transport), scripted errors with their code and
 * message over SRPC and JSON, `delay_ms` (and a caller's deadline passing
 * during it answers -10, as from a slow server); unscripted methods keep
 * answering their example.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { callMethodRaw, SrpcCallError } from "@msec-gen/runtime";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { freePort } from "../free-port.js";
import { CALL_TIMEOUT_MS, jsonCall, messagesOf, type RunningMock, srpcCall, startMock } from "./mock-process.js";

const ECHO = path.join(REPO_ROOT, "fixtures/echo/echo.proto");
const SHAPES = path.join(REPO_ROOT, "test/mock/fixtures/shapes.proto");
const ECHO_METHOD = "echo.EchoService.Echo";
const DELAY_MS = 400;

const YAML_SCRIPT = `# Answers for the echo and shapes services (docs/mock.md).
echo.EchoService.Echo:
  - &one
    reply: {message: b25l}          # "one"
  - error: {code: -7, message: not ready yet}
  - reply:
      message: dHdv                 # "two"
  - *one                            # a YAML alias: "one" again
shapes.ShapeService.Describe:
  reply: {name: slow, origin: {x: 3}}
  delay_ms: ${DELAY_MS}
`;

const JSON_SCRIPT = JSON.stringify({
  [ECHO_METHOD]: [{ reply: { message: "b25l" } }, { error: { code: 1001, message: "quota exceeded" } }],
});

describe("msec-gen mock --responses", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "msec-mock-responses-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("a YAML file", () => {
    let mock: RunningMock;

    before(async () => {
      writeFileSync(path.join(dir, "answers.yaml"), YAML_SCRIPT);
      mock = await startMock([ECHO, SHAPES, "--responses", "answers.yaml", "--port", String(await freePort()), "--host", "127.0.0.1"], { cwd: dir });
    });
    after(async () => {
      await mock?.stop("SIGKILL");
    });

    test("the summary names what each method answers", async () => {
      await mock.untilStderr("/metrics\n");
      assert.equal(
        mock.stderr(),
        `msec-gen mock: echo.Echo on 127.0.0.1:${mock.port} (tcp+udp; JSON over HTTP on the same port)\n` +
          "  echo.EchoService.Echo         scripted: 4 answers in turn (reply echo.EchoResponse; error -7; reply echo.EchoResponse; reply echo.EchoResponse)\n" +
          `  shapes.ShapeService.Describe  scripted: reply shapes.Shape after ${DELAY_MS} ms\n` +
          "  shapes.ShapeService.Locate    example shapes.Point\n" +
          "  answers scripted in answers.yaml; other methods answer their example\n" +
          "  unknown methods answer -6; GET /openapi.json, /explorer, /health, /metrics\n",
      );
    });

    test("a list is answered in turn over any transport, errors with their code and message", async () => {
      const message = await messagesOf(ECHO);
      const [input, output] = [message("echo.EchoRequest"), message("echo.EchoResponse")];
      // 1st: JSON gets the first reply.
      assert.equal((await jsonCall(mock.port, ECHO_METHOD, "{}")).text, '{"ret":0, "errmsg":"", "resultObj": {"message": "b25l"}}');
      // 2nd: SRPC over TCP gets the scripted error, code and message from the server.
      await assert.rejects(callMethodRaw(`127.0.0.1:${mock.port}@tcp`, ECHO_METHOD, new Uint8Array(), { timeoutMs: CALL_TIMEOUT_MS }), (e: unknown) => {
        assert.ok(e instanceof SrpcCallError);
        assert.equal(e.code, -7);
        assert.equal(e.fromServer, true);
        assert.equal(e.message, "package header uninitialized: not ready yet");
        return true;
      });
      // 3rd: SRPC over UDP gets the third; 4th: the alias of the first; 5th: round robin starts again; 6th: the error over JSON.
      assert.deepEqual(await srpcCall(mock.port, "udp", ECHO_METHOD, input, {}, output), { message: "dHdv" });
      assert.deepEqual(await srpcCall(mock.port, "tcp", ECHO_METHOD, input, {}, output), { message: "b25l" });
      assert.deepEqual(await srpcCall(mock.port, "udp", ECHO_METHOD, input, {}, output), { message: "b25l" });
      assert.equal((await jsonCall(mock.port, ECHO_METHOD, "{}")).text, '{"ret":-7, "errmsg":"not ready yet" }');
    });

    test("delay_ms holds the answer back; a deadline passing during it answers -10", async () => {
      const started = performance.now();
      const { envelope } = await jsonCall(mock.port, "shapes.ShapeService.Describe", '{"x": 1}');
      assert.ok(performance.now() - started >= DELAY_MS - 5, `answered after ${performance.now() - started} ms`);
      assert.deepEqual(envelope, { ret: 0, errmsg: "", resultObj: { name: "slow", origin: { x: 3 } } });

      const res = await fetch(`http://127.0.0.1:${mock.port}/?methodName=shapes.ShapeService.Describe`, {
        method: "POST",
        body: '{"x": 1}',
        headers: { "X-Msec-Timeout-Ms": "50" },
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      assert.deepEqual(await res.json(), { ret: -10, errmsg: "deadline exceeded (timeout_ms=50)" });
    });

    test("methods not in the file answer their example", async () => {
      const { envelope } = await jsonCall(mock.port, "shapes.ShapeService.Locate", '{"name": "n", "origin": {"x": 1}}');
      assert.deepEqual(envelope, { ret: 0, errmsg: "", resultObj: { x: 1, y: 2 } });
    });
  });

  test("a JSON file scripts the same way (a service's own positive error code included)", async () => {
    writeFileSync(path.join(dir, "answers.json"), JSON_SCRIPT);
    const mock = await startMock([ECHO, "--responses", "answers.json", "--port", "0", "--host", "127.0.0.1", "--no-udp"], { cwd: dir });
    try {
      const texts = [];
      for (let i = 0; i < 4; i++) texts.push((await jsonCall(mock.port, ECHO_METHOD, "{}")).text);
      const reply = '{"ret":0, "errmsg":"", "resultObj": {"message": "b25l"}}';
      const error = '{"ret":1001, "errmsg":"quota exceeded" }';
      assert.deepEqual(texts, [reply, error, reply, error]);
    } finally {
      await mock.stop("SIGKILL");
    }
  });
});
