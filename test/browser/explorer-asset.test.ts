/**
 * The explorer page has one source, runtimes/ts/assets/explorer.html; the
 * Python runtime carries a byte-identical copy as package data
 * (runtimes/python/src/msec/explorer.html). Both packages ship it: the TS
 * runtime's `npm pack` lists it, and a pip install of the Python runtime puts
 * it where `msec.explorer` reads it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { REPO_ROOT } from "../generator/golden-cases.js";

const SOURCE = path.join(REPO_ROOT, "runtimes/ts/assets/explorer.html");
const PYTHON_COPY = path.join(REPO_ROOT, "runtimes/python/src/msec/explorer.html");
const work = mkdtempSync(path.join(tmpdir(), "explorer-asset-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("the Python runtime's explorer.html is the TS asset byte for byte", () => {
  assert.ok(
    readFileSync(PYTHON_COPY).equals(readFileSync(SOURCE)),
    "runtimes/python/src/msec/explorer.html differs from its source: cp runtimes/ts/assets/explorer.html runtimes/python/src/msec/explorer.html",
  );
});

test("npm pack of the TS runtime includes assets/explorer.html", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: path.join(REPO_ROOT, "runtimes/ts"), encoding: "utf8" });
  const [packed] = JSON.parse(out) as Array<{ files: Array<{ path: string; size: number }> }>;
  const entry = packed!.files.find((f) => f.path === "assets/explorer.html");
  assert.ok(entry, "assets/explorer.html is in the package");
  assert.equal(entry.size, readFileSync(SOURCE).length);
});

test("pip install of the Python runtime installs explorer.html where msec.explorer reads it", { timeout: 180_000 }, () => {
  // A copy of the project, so the build leaves nothing in the source tree.
  const project = path.join(work, "python");
  cpSync(path.join(REPO_ROOT, "runtimes/python"), project, { recursive: true, filter: (src) => !/(^|\/)(build|tests|__pycache__|[^/]*\.egg-info)$/.test(src) });
  const target = path.join(work, "site");
  execFileSync("python3", ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target", target, project], { stdio: "pipe" });
  const installed = readFileSync(path.join(target, "msec/explorer.html"));
  assert.ok(installed.equals(readFileSync(SOURCE)));
  const read = execFileSync("python3", ["-c", "import sys, msec.explorer as e; sys.stdout.buffer.write(e.explorer_page())"], { env: { ...process.env, PYTHONPATH: target }, cwd: work });
  assert.ok(read.equals(installed), "explorer_page() reads the installed package data");
});
