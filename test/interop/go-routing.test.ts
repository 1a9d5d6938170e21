/**
 * Routing parity: the Go runtime reads literal addresses and routes files
 * exactly as the TypeScript runtime does (same routes, same weights, same
 * error messages), checked over one table of inputs.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { parseLiteral, parseRoutes } from "@msec-gen/runtime";
import { REPO_ROOT, runOk } from "./ts-server.js";

const LITERALS = [
  "1.2.3.4:80",
  "1.2.3.4:80@udp",
  "1.2.3.4:80@tcp",
  "1.2.3.4:80@xyz",
  "1.2.3.4:80@",
  "1.2.3.4:80@udp@x",
  "[::1]:7963",
  "[::1]:7963@udp",
  "::1:80",
  "host.example:65535",
  "host:65536",
  "host:0",
  "host:00080",
  "host:123456",
  "host:8a",
  "host:",
  ":80",
  "[]:80",
  "1.2.3.4",
  "VOA.Crawl",
  "",
  "@udp",
];

const ROUTES = [
  "# comment only\n\n",
  "VOA.Crawl 10.0.0.1:7963\nVOA.Crawl 10.0.0.2:7963 weight=200 # bigger\r\nVOA.Jsoup\t10.0.0.3:9000@udp\n",
  "  A.B.C   [::1]:1@tcp   weight=0100  ",
  "VOA 1.2.3.4:80",
  "A.B 1.2.3.4:80@xyz",
  "A.B 1.2.3.4:80@",
  "A.B host:0",
  "A.B 1.2.3.4:80 weight=0",
  "A.B 1.2.3.4:80 weight=-1",
  "A.B 1.2.3.4:80 weight=99999999999999999999",
  "A.B 1.2.3.4:80 weight=1 extra",
  "A.B",
  "A.B 1.2.3.4:80\nA.B 1.2.3.4:80@udp",
  "A.B 1.2.3.4:80\nC.D 1.2.3.4:80",
  "A..B 1.2.3.4:80",
  "A.B@x 1.2.3.4:80",
  ".A 1.2.3.4:80",
];

const work = mkdtempSync(path.join(tmpdir(), "msec-go-routing-"));
after(() => rmSync(work, { recursive: true, force: true }));

function runWithInput(binary: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${binary} exited ${code}`))));
    child.stdin.end(input);
  });
}

function tsRoutes(text: string): object {
  try {
    const parsed = parseRoutes(text, "routes.conf");
    const routes: Record<string, object[]> = {};
    for (const name of [...parsed.keys()].sort()) {
      routes[name] = parsed.get(name)!.map((i) => ({ ip: i.ip, port: i.port, type: i.type, weight: i.weight }));
    }
    return Object.keys(routes).length === 0 ? {} : { routes };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test("Go parses literal addresses and routes files exactly like the TypeScript runtime", async () => {
  // A module of its own that uses the runtime project runtimes/go in place.
  const module = path.join(work, "routing-module");
  mkdirSync(module);
  copyFileSync(path.join(REPO_ROOT, "test/interop/go/routing/main.go"), path.join(module, "main.go"));
  await runOk("go", ["mod", "init", "example.com/msec-routing"], { cwd: module });
  const runtime = "github.com/msec-gen/msec-gen/runtimes/go";
  await runOk("go", ["mod", "edit", `-require=${runtime}@v0.1.0`, `-replace=${runtime}=${path.join(REPO_ROOT, "runtimes/go")}`], { cwd: module });
  await runOk("go", ["mod", "tidy"], { cwd: module });
  await runOk("go", ["build", "-o", path.join(work, "routing"), "."], { cwd: module });

  const go = JSON.parse(await runWithInput(path.join(work, "routing"), JSON.stringify({ literals: LITERALS, routes: ROUTES }))) as {
    literals: Array<object | null>;
    routes: object[];
  };
  LITERALS.forEach((text, i) => {
    const ts = parseLiteral(text);
    assert.deepEqual(go.literals[i], ts === undefined ? null : { ip: ts.ip, port: ts.port, type: ts.type }, `literal ${JSON.stringify(text)}`);
  });
  ROUTES.forEach((text, i) => {
    assert.deepEqual(go.routes[i], tsRoutes(text), `routes ${JSON.stringify(text)}`);
  });
});
