/**
 * PHP runner: the caller generated with `msec-gen caller --lang php` is
 * installed in a fresh application folder with Composer exactly as its README
 * says (its `composer` lines, offline order: Packagist off, google/protobuf
 * from Debian's php-google-protobuf through the bundled stand-in), then
 * runners/php/runner.php runs there with the system php.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { msecGen, REPO_ROOT, run, runOk } from "../../interop/ts-server.js";
import type { Language } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

export const language: Language = {
  name: "php",
  async build(work) {
    const r = await msecGen(["caller", CONFORMANCE_PROTO, "--name", CONFORMANCE_SERVICE, "--lang", "php", "--dir", "-o", path.join(work, "caller"), "-q"]);
    if (r.code !== 0) throw new Error(`msec-gen caller --lang php failed:\n${r.stderr}`);
    const caller = path.join(r.stdout.trim(), "php");
    const readme = readFileSync(path.join(caller, "README.md"), "utf8");
    const commands = [...readme.matchAll(/^composer .*$/gm)].map((m) => m[0]);
    const offline = commands.filter((c) => c.includes("packagist") || c.includes("google-protobuf"));
    if (commands.length !== 5 || offline.length !== 2) throw new Error(`the PHP caller README no longer has the expected composer lines:\n${readme}`);
    const app = path.join(work, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "composer.json"), JSON.stringify({ name: "conformance/php-runner", require: {} }));
    const env = { ...process.env, CALLER: caller, COMPOSER_HOME: path.join(work, ".composer") };
    for (const command of [...offline, ...commands.filter((c) => !offline.includes(c))]) {
      await runOk("sh", ["-c", `${command} --no-interaction`], { cwd: app, env });
    }
    copyFileSync(path.join(REPO_ROOT, "test/conformance/runners/php/runner.php"), path.join(app, "runner.php"));
    return { command: "php", args: [path.join(app, "runner.php")] };
  },
  async unavailable() {
    for (const tool of ["php", "composer"]) {
      const r = await run(tool, ["--version"]).catch((e: unknown) => ({ code: 1, stdout: "", stderr: String(e) }));
      if (r.code !== 0) return `${tool} not available: ${r.stderr.trim()}`;
    }
    return undefined;
  },
  unsupported: {},
  expectedFailures: {},
};
