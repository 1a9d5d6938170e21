/**
 * `msec-gen mock` refuses bad input before it listens: exit 1, nothing on
 * stdout, and on stderr every mistake of a responses file as
 * `file:line:col: message` (unknown methods, unknown fields named with the
 * method and the field's path, values of the wrong type, missing proto2
 * required fields, malformed answers, YAML and JSON syntax), compile errors
 * of the .proto as `file:line:col`, a type no example can complete, and bad
 * options. Each runs the built CLI in a child process.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { freePort } from "../free-port.js";
import { runMock } from "./mock-process.js";

const SHAPES = path.join(REPO_ROOT, "test/mock/fixtures/shapes.proto");
const LOOP = path.join(REPO_ROOT, "test/mock/fixtures/loop.proto");
const ANSWER_SHAPE = `{reply: {…}} or {error: {code: N, message: "…"}}, optional delay_ms`;

describe("msec-gen mock: bad input exits 1 with clear errors", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "msec-mock-errors-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `files` into the temp folder, runs the mock there (on a free port), expects exit 1 with `stderr`. */
  async function refused(args: readonly string[], stderr: string | RegExp, files: Record<string, string> = {}): Promise<void> {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const r = await runMock(args.includes("--port") ? args : [...args, "--port", "0", "--host", "127.0.0.1"], { cwd: dir });
    assert.equal(r.stdout, "", "nothing on stdout: the mock never got ready");
    if (typeof stderr === "string") assert.equal(r.stderr, stderr);
    else assert.match(r.stderr, stderr);
    assert.equal(r.code, 1, r.stderr);
  }

  test("a responses file: every mistake at once, as file:line:col naming the method and the field", async () => {
    const text = [
      "shapes.ShapeService.Describe:",
      "  reply:",
      "    name: n",
      "    origin: {x: 1}",
      "    points:",
      "      - {x: 1}",
      "      - {x: 2, z: 3}",
      "shapes.ShapeService.Locate:",
      "  - reply: {x: abc}",
      "  - reply: {y: 2}",
      "  - error: {code: 0}",
      "  - {reply: {x: 1}, error: {code: -1}}",
      "  - {delay_ms: -5, reply: {x: 1}}",
      "  - {when: 1, reply: {x: 1}}",
      "  - []",
      "  - error: {message: no code}",
      "shapes.ShapeService.Nope: {reply: {}}",
      "",
    ].join("\n");
    await refused(
      [SHAPES, "--responses", "bad.yaml"],
      "bad.yaml:7:16: shapes.ShapeService.Describe: reply: shapes.Shape.points[1].z: unknown field\n" +
        'bad.yaml:9:12: shapes.ShapeService.Locate: reply: cannot decode field shapes.Point.x from JSON: expected number (int32), got "abc"\n' +
        "bad.yaml:10:12: shapes.ShapeService.Locate: reply: shapes.Point.x: missing required field\n" +
        "bad.yaml:11:19: shapes.ShapeService.Locate: error.code must be a non-zero 32-bit integer (an SRPC code such as -7, or the service's own)\n" +
        `bad.yaml:12:5: shapes.ShapeService.Locate: an answer has exactly one of "reply" and "error": ${ANSWER_SHAPE}\n` +
        "bad.yaml:13:16: shapes.ShapeService.Locate: delay_ms must be an integer from 0 to 600000 (milliseconds)\n" +
        'bad.yaml:14:6: shapes.ShapeService.Locate: unknown key "when" (an answer has reply, error, delay_ms)\n' +
        `bad.yaml:15:5: shapes.ShapeService.Locate: an answer must be a mapping: ${ANSWER_SHAPE}\n` +
        "bad.yaml:16:12: shapes.ShapeService.Locate: error needs a code\n" +
        'bad.yaml:17:1: unknown method "shapes.ShapeService.Nope" (methods: shapes.ShapeService.Describe, shapes.ShapeService.Locate)\n',
      { "bad.yaml": text },
    );
  });

  test("a reply's unknown field is found under its JSON name and inside maps and oneofs", async () => {
    const text = "shapes.ShapeService.Describe:\n  reply:\n    name: n\n    origin: {x: 1}\n    pointsById:\n      '7': {x: 1, w: 0}\n";
    await refused(
      [SHAPES, "--responses", "map.yaml"],
      'map.yaml:6:19: shapes.ShapeService.Describe: reply: shapes.Shape.points_by_id["7"].w: unknown field\n',
      { "map.yaml": text },
    );
    await refused(
      [SHAPES, "--responses", "oneof.json"],
      "oneof.json:1:98: shapes.ShapeService.Describe: reply: shapes.Shape.url: oneof kind already set by center\n",
      { "oneof.json": '{"shapes.ShapeService.Describe": {"reply": {"name": "n", "origin": {"x": 1}, "center": {"x": 1}, "url": "u"}}}' },
    );
  });

  test("YAML and JSON syntax errors, duplicate keys, an empty file, a missing file", async () => {
    await refused([SHAPES, "--responses", "syntax.yaml"], /^syntax\.yaml:1:38: Flow sequence in block collection must be sufficiently indented and end with a \]\n/, {
      "syntax.yaml": "shapes.ShapeService.Locate: {reply: [}\n",
    });
    await refused([SHAPES, "--responses", "dup.yaml"], "dup.yaml:2:1: Map keys must be unique\n", {
      "dup.yaml": "shapes.ShapeService.Locate: {reply: {x: 1}}\nshapes.ShapeService.Locate: {reply: {x: 2}}\n",
    });
    // A .json file must be JSON, not merely YAML.
    await refused([SHAPES, "--responses", "trailing.json"], "trailing.json:1:52: not valid JSON: Expected double-quoted property name\n", {
      "trailing.json": '{"shapes.ShapeService.Locate": {"reply": {"x": 1}},}',
    });
    await refused(
      [SHAPES, "--responses", "empty.yaml"],
      "empty.yaml:1:1: expected a mapping of wire method names to responses (methods: shapes.ShapeService.Describe, shapes.ShapeService.Locate)\n",
      { "empty.yaml": "# nothing yet\n" },
    );
    await refused([SHAPES, "--responses", "missing.yaml"], "msec-gen: error: responses file not found: missing.yaml\n");
  });

  test("bad .proto files: compile errors as file:line:col, no service, a type no example completes", async () => {
    await refused(["broken.proto"], "broken.proto:5:1: unexpected `}` after definition\n", {
      "broken.proto": 'syntax = "proto3";\npackage broken;\nmessage A {\n  int32 x = 1\n}\n',
    });
    await refused(["missing.proto"], "msec-gen: error: file not found: missing.proto\n");
    await refused(
      ["nosvc.proto"],
      'msec-gen: error: nosvc.proto: no service to mock; the file needs at least one "service" declaration\n',
      { "nosvc.proto": 'syntax = "proto3";\npackage nosvc;\nmessage A {}\n' },
    );
    await refused(
      [LOOP],
      "msec-gen: error: loop.LoopService.Spin: no example response: loop.Loop can never be complete: its required fields lead to a cycle (loop.Loop.again → loop.Loop)\n",
    );
  });

  test("bad options and a port in use", async () => {
    await refused([SHAPES, "--port", "70000"], 'msec-gen: error: invalid --port "70000" (expected 0-65535; 0 picks a free port)\n');
    await refused([SHAPES, "--etcd", "http://127.0.0.1:2379"], "msec-gen: error: --etcd registers the mock under a routing name: give --name Group.Service too\n");
    await refused([SHAPES, "--name", "bad name"], /^msec-gen: error: invalid --name "bad name": expected two levels/);
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    try {
      const r = await runMock([SHAPES, "--port", String(port), "--host", "127.0.0.1"], { cwd: dir });
      assert.equal(r.stderr, `msec-gen: error: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
      assert.equal(r.code, 1);
    } finally {
      taken.close();
    }
  });
});
