/**
 * Python runners: the caller generated with `msec-gen caller --lang python` is
 * installed in a fresh virtualenv as its README says (`pip install ./runtime ./`),
 * and runners/python/runner.py runs on that interpreter — the blocking client
 * (`python`), or with `--async` the asyncio client (`python-async`,
 * langs/python-async.ts).
 */
import { copyFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { msecGen, REPO_ROOT, run, runOk } from "../../interop/ts-server.js";
import type { Language, RunnerCommand } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

const PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];

/** Builds the virtualenv with the generated caller; returns the command running runner.py with `args`. */
export async function buildPythonRunner(work: string, args: string[]): Promise<RunnerCommand> {
  const r = await msecGen(["caller", CONFORMANCE_PROTO, "--name", CONFORMANCE_SERVICE, "--lang", "python", "--dir", "-o", path.join(work, "caller"), "-q"]);
  if (r.code !== 0) throw new Error(`msec-gen caller --lang python failed:\n${r.stderr}`);
  const caller = path.join(r.stdout.trim(), "python");
  const readme = readFileSync(path.join(caller, "README.md"), "utf8");
  if (!readme.includes("pip install ./runtime ./")) throw new Error(`the Python caller README no longer says "pip install ./runtime ./":\n${readme}`);
  const venv = path.join(work, "venv");
  await runOk("python3", ["-m", "venv", venv]);
  const python = path.join(venv, "bin/python");
  await runOk(python, [...PIP, "./runtime", "./"], { cwd: caller });
  const runner = path.join(work, "runner.py");
  copyFileSync(path.join(REPO_ROOT, "test/conformance/runners/python/runner.py"), runner);
  return { command: python, args: [runner, ...args], env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" } };
}

/** Why Python runners cannot be built here, if they cannot. */
export async function pythonUnavailable(): Promise<string | undefined> {
  const r = await run("python3", ["-m", "venv", "--help"]).catch((e: unknown) => ({ code: 1, stdout: "", stderr: String(e) }));
  return r.code === 0 ? undefined : `python3 -m venv not available: ${r.stderr.trim()}`;
}

const NO_RETRIES = "the Python runtime's clients have no retries option (issue 13 asks for retries of refused connections in every runtime)";

export const language: Language = {
  name: "python",
  build: (work) => buildPythonRunner(work, []),
  unavailable: pythonUnavailable,
  unsupported: {},
  expectedFailures: {
    "refused-retried-when-asked": NO_RETRIES,
    "etcd-failover": NO_RETRIES,
    "multiplexed-out-of-order": "the blocking Client runs one call at a time per pooled connection: concurrent calls open more connections (different peers)",
  },
};
