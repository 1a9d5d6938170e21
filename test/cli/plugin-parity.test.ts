/**
 * Plugin-mode parity: for every registered language (read from the target
 * registry, so a new language is covered without editing this test), `buf
 * generate` driving protoc-gen-msec writes the same files as `msec-gen
 * server|caller --dir --runtime registry`, except the `proto/` folder and its
 * README row (plugins receive no source text). A language in
 * PLUGIN_UNSUPPORTED fails with its documented reason instead.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import { PLUGIN_UNSUPPORTED } from "../../cli/plugin-mode.js";
import { bufCommand } from "../../generator/buf-binary.js";
import { targetLanguages } from "../../generator/target-registry.js";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { runCli } from "../generator/run-cli.js";
import { project } from "./project.js";

const run = promisify(execFile);
const TSX = path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");
const PLUGIN = path.join(REPO_ROOT, "cli/protoc-gen-msec.ts");
const CRAWL = path.join(REPO_ROOT, "fixtures/voa/Crawl.proto");

/** Every file under `dir` (relative path → content). */
async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else out.set(p, await fs.readFile(path.join(dir, p), "latin1"));
    }
  }
  await walk("");
  return out;
}

/** The CLI's tree as a plugin can give it: no `proto/` folder, no README row describing it. */
function withoutProtoFolder(tree: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, content] of tree) {
    if (/(^|\/)proto\//.test(p)) continue;
    out.set(p, p.endsWith("README.md") ? content.replace(/^\| `proto\/` \|.*\n/m, "") : content);
  }
  return out;
}

async function bufGenerate(dir: string, opts: string[]): Promise<{ code: number; stderr: string }> {
  await fs.writeFile(
    path.join(dir, "buf.gen.yaml"),
    [
      "version: v2",
      "inputs:",
      `  - directory: ${JSON.stringify(path.dirname(CRAWL))}`,
      `    paths: [${JSON.stringify(CRAWL)}]`,
      "plugins:",
      `  - local: [${[process.execPath, "--import", TSX, PLUGIN].map((a) => JSON.stringify(a)).join(", ")}]`,
      "    out: plugin",
      `    opt: [${opts.map((o) => JSON.stringify(o)).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const buf = bufCommand();
  try {
    const r = await run(buf.command, [...buf.prefixArgs, "generate"], { cwd: dir });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? "" };
  }
}

describe("protoc-gen-msec parity with the CLI", () => {
  for (const kind of ["server", "caller"] as const) {
    for (const lang of targetLanguages(kind)) {
      const unsupported = kind === "caller" ? PLUGIN_UNSUPPORTED[lang] : undefined;
      test(`${kind} ${lang}: ${unsupported === undefined ? "same files as msec-gen --dir, without proto/" : "refused with the reason"}`, async () => {
        const dir = await project({});
        const plugin = await bufGenerate(dir, [`kind=${kind}`, "name=VOA.Crawl", `lang=${lang}`]);
        if (unsupported !== undefined) {
          assert.notEqual(plugin.code, 0);
          assert.ok(plugin.stderr.includes(`lang=${lang} is not available in plugin mode: ${unsupported}`), plugin.stderr);
          return;
        }
        assert.equal(plugin.code, 0, plugin.stderr);
        const cli = await runCli([kind, CRAWL, "--name", "VOA.Crawl", "--lang", lang, "--runtime", "registry", "--dir", "-o", "cli", "-q"], { cwd: dir });
        assert.equal(cli.code, 0, cli.stderr);
        const fromPlugin = await files(path.join(dir, "plugin"));
        const fromCli = withoutProtoFolder(await files(path.join(dir, "cli")));
        assert.deepEqual([...fromPlugin.keys()].sort(), [...fromCli.keys()].sort());
        for (const [p, content] of fromCli) assert.equal(fromPlugin.get(p), content, p);
      });
    }
  }
});
