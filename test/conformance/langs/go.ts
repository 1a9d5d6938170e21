/**
 * Go runner: the caller generated with `msec-gen caller --lang go` is added to
 * a fresh module with the `go mod edit` / `go mod tidy` lines of its README
 * (test/interop/go-consumer.ts), and runners/go/main.go is built there with
 * `go build`.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { addCallers } from "../../interop/go-consumer.js";
import { msecGen, REPO_ROOT, run, runOk } from "../../interop/ts-server.js";
import type { Language } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

export const language: Language = {
  name: "go",
  async build(work) {
    const r = await msecGen(["caller", CONFORMANCE_PROTO, "--name", CONFORMANCE_SERVICE, "--lang", "go", "--dir", "-o", path.join(work, "caller"), "-q"]);
    if (r.code !== 0) throw new Error(`msec-gen caller --lang go failed:\n${r.stderr}`);
    const caller = path.join(r.stdout.trim(), "go");
    const app = path.join(work, "runner");
    mkdirSync(app, { recursive: true });
    copyFileSync(path.join(REPO_ROOT, "test/conformance/runners/go/main.go"), path.join(app, "main.go"));
    await addCallers(app, "example.com/msec-conformance-runner", [path.relative(app, caller)]);
    const binary = path.join(work, "runner-go");
    await runOk("go", ["build", "-o", binary, "."], { cwd: app });
    return { command: binary, args: [] };
  },
  async unavailable() {
    const r = await run("go", ["version"]).catch((e: unknown) => ({ code: 1, stdout: "", stderr: String(e) }));
    return r.code === 0 ? undefined : `go not available: ${r.stderr.trim()}`;
  },
  unsupported: {},
  expectedFailures: {},
};
