/**
 * The example's build step: msec-gen generates the servers and callers from
 * fixtures/voa/*.proto into the work folder, the handwritten handlers are
 * copied over the skeletons, and the TypeScript packages are compiled with
 * this checkout's tsc against this checkout's runtime (node_modules links, so
 * nothing is downloaded).
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const EXAMPLE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(EXAMPLE_DIR, "../..");
/** The built msec-gen CLI (`npm run build`). */
export const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
const TSC = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const PROTOS = path.join(REPO_ROOT, "fixtures/voa");
/** The handwritten handlers (ts/, python/), copied over the generated skeletons. */
export const HANDLERS_DIR = path.join(EXAMPLE_DIR, "handlers");

/** Packages the generated TypeScript code imports, linked from this checkout's node_modules. */
const LINKED_MODULES = ["@bufbuild", "@types", "mysql2"];

/** Runs a command to completion; rejects with its output when it does not exit 0. */
export function runOk(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

/** `msec-gen <kind> fixtures/voa/<proto> --name <name> -o <out> --dir`; resolves the folder written. */
export async function generate(kind: "server" | "caller", proto: string, name: string, out: string, lang: string): Promise<string> {
  const args = [CLI, kind, path.join(PROTOS, proto), "--name", name, "--lang", lang, "-o", out, "--dir", "--quiet"];
  return (await runOk(process.execPath, args)).trim();
}

/** Links the modules generated TypeScript code needs into `dir/node_modules` and compiles it. */
export async function compileTs(dir: string): Promise<void> {
  const modules = path.join(dir, "node_modules");
  mkdirSync(path.join(modules, "@msec-gen"), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, "runtimes/ts"), path.join(modules, "@msec-gen/runtime"));
  for (const name of LINKED_MODULES) symlinkSync(path.join(REPO_ROOT, "node_modules", name), path.join(modules, name));
  await runOk(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: dir });
}

/** Copies handlers/ts/<file> over the skeleton in a generated TypeScript server. */
export function installTsHandler(serverDir: string, file: string): void {
  copyFileSync(path.join(HANDLERS_DIR, "ts", file), path.join(serverDir, "src/handlers", file));
}

/**
 * Points a generated server's etc/config.ini at its port (loopback, TCP and
 * UDP) and at the etcd of its msec instance: `[ROUTE] etcd` and
 * `etcd_prefix`, so it registers itself there and resolves names through it
 * (the routes file stays the generated default, which does not exist here).
 */
export function configure(serverDir: string, port: number, etcd: { url: string; prefix: string }): void {
  const file = path.join(serverDir, "etc/config.ini");
  const text = readFileSync(file, "utf8")
    .replace(/^listen=.*$/m, `listen=127.0.0.1:${port}/tcp 127.0.0.1:${port}/udp`)
    .replace(/^File=.*$/m, (line) => `${line}\netcd=${etcd.url}\netcd_prefix=${etcd.prefix}`);
  writeFileSync(file, text);
}
