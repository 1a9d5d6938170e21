/**
 * TypeScript runner: the caller generated with `msec-gen caller --lang ts` is
 * built and installed as its README says (`npm install` in the caller folder,
 * then `npm install --install-links <runtime tgz> <caller folder>` in the
 * program's folder), then runners/ts/ is compiled there with its own tsc.
 */
import { cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { msecGen, REPO_ROOT, runOk } from "../../interop/ts-server.js";
import type { Language } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

/** npm flags: the machine's cache first, no audit/fund noise. */
export const NPM = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];

/**
 * Generates the conformance caller under `work/caller`, installs it as its
 * README says, and installs it (with the runtime archive it names) into the
 * program folder `app`, which must hold a package.json.
 */
export async function installTsCaller(work: string, app: string): Promise<void> {
  const r = await msecGen(["caller", CONFORMANCE_PROTO, "--name", CONFORMANCE_SERVICE, "--lang", "ts", "--dir", "-o", path.join(work, "caller"), "-q"]);
  if (r.code !== 0) throw new Error(`msec-gen caller --lang ts failed:\n${r.stderr}`);
  const caller = path.join(r.stdout.trim(), "ts");
  const readme = readFileSync(path.join(caller, "README.md"), "utf8");
  const tgz = /runtime\/(msec-gen-runtime-[^`\s]+\.tgz)/.exec(readme)?.[1];
  if (tgz === undefined) throw new Error(`the TS caller README names no runtime archive:\n${readme}`);
  await runOk("npm", ["install", ...NPM], { cwd: caller });
  await runOk("npm", ["install", ...NPM, "--install-links", path.join(caller, "runtime", tgz), caller], { cwd: app });
}

export const language: Language = {
  name: "ts",
  async build(work) {
    const app = path.join(work, "runner");
    cpSync(path.join(REPO_ROOT, "test/conformance/runners/ts"), app, { recursive: true, filter: (src) => !/node_modules|dist/.test(path.basename(src)) });
    await installTsCaller(work, app);
    await runOk("npm", ["run", "build"], { cwd: app });
    return { command: process.execPath, args: [path.join(app, "dist/runner.js")] };
  },
  unsupported: {},
  expectedFailures: {},
};
