import { test } from "node:test";
import { strict as assert } from "node:assert";
import { ConfigError, type LoggerOptions, createLogger, logOptionsFromConfig, parseConfig, parseLogLevel } from "@msec-gen/runtime";

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  // Collects synchronously, one write per record; each must be exactly one line.
  const out = {
    write(text: string) {
      assert.ok(text.endsWith("\n") && text.indexOf("\n") === text.length - 1, "one line per record");
      lines.push(text.slice(0, -1));
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ ...options, destination: out, now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) });
  return { logger, lines };
}

test("default threshold is ERROR: lower levels are dropped", () => {
  const { logger, lines } = capture();
  logger.trace("t");
  logger.debug("d");
  logger.info("i");
  logger.error("e");
  logger.fatal("f");
  assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["ERROR", "FATAL"]);
});

test("each line is one JSON object carrying time, level, flow id, method, caller, message and fields", () => {
  const { logger, lines } = capture({ level: "INFO" });
  const call = logger.child({ flowId: 1154279478n, method: "echo.EchoService.Echo", caller: "python.client" });
  call.info("handled", { costMs: 3, err: new Error("boom") });
  assert.deepEqual(lines, [
    '{"time":"2026-01-02T03:04:05.006Z","level":"INFO","flowId":"1154279478","method":"echo.EchoService.Echo","caller":"python.client","msg":"handled","costMs":3,"err":{"name":"Error","message":"boom"}}',
  ]);
  logger.info("bare");
  assert.equal(lines[1], '{"time":"2026-01-02T03:04:05.006Z","level":"INFO","flowId":"","method":"","caller":"","msg":"bare"}');
});

test("threshold NONE silences everything that is not coloured", () => {
  const { logger, lines } = capture({ level: "NONE" });
  logger.fatal("x");
  assert.equal(lines.length, 0);
  logger.child({ coloring: 1 }).trace("y");
  assert.equal(lines.length, 1);
});

test("a call with coloring=1 logs at every level", () => {
  const { logger, lines } = capture({ level: "ERROR" });
  const coloured = logger.child({ flowId: 7n, method: "a.B.C", caller: "x", coloring: 1 });
  const plain = logger.child({ flowId: 8n, method: "a.B.C", caller: "x", coloring: 0 });
  coloured.trace("seen");
  plain.trace("not seen");
  assert.equal(coloured.isEnabled("TRACE"), true);
  assert.equal(plain.isEnabled("TRACE"), false);
  assert.equal(plain.isEnabled("TRACE", 1), true);
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ["seen"]);
});

test("[COLOR] pairs colour records whose fields match, by our field names or MSEC header names", () => {
  const config = parseConfig("[LOG]\nLevel=error\n[COLOR]\nFieldName0=Caller\nFieldValue0=VOA.MainLogic\nFieldName1=uid\nFieldValue1=42\nFieldName3=skipped\nFieldValue3=1\n");
  const options = logOptionsFromConfig(config);
  assert.deepEqual(options, { level: "ERROR", colors: [["Caller", "VOA.MainLogic"], ["uid", "42"]] });
  const { logger, lines } = capture(options);
  logger.child({ caller: "VOA.MainLogic" }).debug("by caller");
  logger.child({ caller: "other" }).debug("dropped");
  logger.debug("by record field", { uid: 42 });
  logger.debug("dropped too", { uid: 43 });
  logger.child({ skipped: "1" }).info("rule after a gap is not read");
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ["by caller", "by record field"]);
});

test("[LOG] Level is case-insensitive; an invalid value is a config error naming the file", () => {
  assert.equal(parseLogLevel("debug"), "DEBUG");
  assert.equal(logOptionsFromConfig(parseConfig("")).level, "ERROR");
  assert.throws(
    () => logOptionsFromConfig(parseConfig("[LOG]\nLevel=verbose\n", "etc/config.ini")),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message === 'etc/config.ini: [LOG] Level: invalid log level "verbose" (expected one of TRACE, DEBUG, INFO, ERROR, FATAL, NONE)',
  );
});
