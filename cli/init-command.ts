/**
 * `msec-gen init`: writes a starter `msec-gen.yaml` that `msec-gen generate`
 * runs as is — a TypeScript caller into `sdk/` and a TypeScript server into
 * `server/` — for the first `.proto` file with a service found under the
 * current folder, or for a sample `protos/hello.proto` it writes when there is
 * none. Never overwrites a file. Every other entry key is listed as a comment,
 * from the same option table the commands use.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { targetLanguages } from "../generator/target-registry.js";
import { UserError } from "../generator/user-error.js";
import { CONFIG_VERSION, DEFAULT_CONFIG_FILE, parseConfig } from "./config-file.js";
import { configKey, generateOptions } from "./generate-options.js";

/** Where the sample goes when the project has no `.proto` file with a service. */
const SAMPLE_PROTO = "protos/hello.proto";
/** Folders not searched for `.proto` files. */
const SKIPPED_FOLDERS = new Set(["node_modules", ".git", "dist", "build", "target", "vendor"]);
/** Search limits: a project root is small; a home directory is not searched whole. */
const MAX_DEPTH = 6;
const MAX_FILES = 2000;

const SAMPLE = `// A sample service written by msec-gen init; replace it with yours.
syntax = "proto3";

package hello;

// Greets people.
service GreeterService {
  // Answers "Hello, <name>!".
  rpc SayHello(HelloRequest) returns (HelloReply);
}

message HelloRequest {
  // Who to greet.
  string name = 1;
}

message HelloReply {
  string message = 1;
}
`;

export function addInitCommand(program: Command): void {
  program
    .command("init")
    .summary(`write a starter ${DEFAULT_CONFIG_FILE} (and a sample .proto when the project has none)`)
    .description(
      `Write a starter ${DEFAULT_CONFIG_FILE} that "msec-gen generate" runs as is: a TypeScript caller into sdk/ and a TypeScript server into server/, for the first .proto file with a service under the current folder, or for a sample ${SAMPLE_PROTO} written when there is none. Never overwrites a file.`,
    )
    .option("-c, --config <file>", "the config file to write", DEFAULT_CONFIG_FILE)
    .action(async (opts: { config: string }) => {
      await init(path.resolve(opts.config));
    });
}

async function init(configFile: string): Promise<void> {
  const root = path.dirname(configFile);
  if (await exists(configFile)) {
    throw new UserError(`${shownPath(configFile)} exists; init never overwrites it (edit it, or write another with --config FILE)`);
  }
  const found = await findServiceProto(root);
  let proto = found?.file;
  let include = found?.include;
  let sample = false;
  if (proto === undefined) {
    proto = path.join(root, SAMPLE_PROTO);
    include = path.dirname(proto);
    if (await exists(proto)) throw new UserError(`${shownPath(proto)} exists but has no service; add one, or write ${DEFAULT_CONFIG_FILE} by hand (docs/cli.md)`);
    sample = true;
  }
  const text = starterConfig(path.relative(root, proto), path.relative(root, include!) || ".", sample);
  parseConfig(text, configFile, shownPath(configFile)); // what init writes, generate reads
  if (sample) {
    await fs.mkdir(path.dirname(proto), { recursive: true });
    await fs.writeFile(proto, SAMPLE, { flag: "wx" });
    process.stderr.write(`msec-gen: wrote ${shownPath(proto)} (a sample service)\n`);
  }
  await fs.mkdir(root, { recursive: true });
  await fs.writeFile(configFile, text, { flag: "wx" });
  process.stderr.write(`msec-gen: wrote ${shownPath(configFile)}; run msec-gen generate${path.basename(configFile) === DEFAULT_CONFIG_FILE && root === process.cwd() ? "" : ` --config ${shownPath(configFile)}`}\n`);
  process.stdout.write(`${configFile}\n`);
}

function starterConfig(proto: string, include: string, sample: boolean): string {
  const keys = (kind: "server" | "caller"): string =>
    generateOptions(kind)
      .filter((o) => configKey(o) !== null && !["name", "include", "out", "lang"].includes(configKey(o)!))
      .map((o) => `#   ${configKey(o)}: ${placeholder(o.flag)}`)
      .join("\n");
  const slash = (p: string): string => p.split(path.sep).join("/");
  return `# msec-gen generate: keeps the outputs below up to date (docs/cli.md).
# In CI: npx msec-gen generate --check
# Paths are relative to this file.${sample ? `\n# ${SAMPLE_PROTO} is a sample written by msec-gen init; replace it with your service.` : ""}
version: ${CONFIG_VERSION}
generate:
  # Typed clients. Languages: ${targetLanguages("caller").join(", ")} (without lang: all this machine can build).
  - kind: caller
    protos: [${slash(proto)}]
    include: [${slash(include)}]
    lang: [ts]
    out: sdk
  # The server dev package. Languages: ${targetLanguages("server").join(", ")}.
  # Handlers (src/handlers/) and etc/ are yours: generate writes them once and never overwrites them.
  - kind: server
    protos: [${slash(proto)}]
    include: [${slash(include)}]
    lang: ts
    out: server
# Every command-line option of msec-gen caller / server is a key (the long flag name), e.g.
#   name: Group.Service
${keys("caller")}
# Server entries take:
${keys("server")}
`;
}

function placeholder(flag: string): string {
  const m = /<([^>]+)>/.exec(flag);
  return m === null ? "true" : `<${m[1]}>`;
}

/** The first `.proto` file (sorted) declaring a service, with the folder that holds every `.proto` file found as include. */
async function findServiceProto(root: string): Promise<{ file: string; include: string } | undefined> {
  const protos: string[] = [];
  async function walk(dir: string, depth: number): Promise<void> {
    if (depth > MAX_DEPTH || protos.length >= MAX_FILES) return;
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && !e.name.startsWith(".") && !SKIPPED_FOLDERS.has(e.name)) await walk(path.join(dir, e.name), depth + 1);
      else if (e.isFile() && e.name.endsWith(".proto")) protos.push(path.join(dir, e.name));
    }
  }
  await walk(root, 0);
  for (const file of protos) {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    if (/^\s*service\s+[A-Za-z_]\w*\s*\{/m.test(text)) return { file, include: commonFolder(protos) };
  }
  return undefined;
}

function commonFolder(files: readonly string[]): string {
  let common = path.dirname(files[0]!);
  for (const f of files) {
    while (path.relative(common, f).startsWith("..")) common = path.dirname(common);
  }
  return common;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function shownPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel.startsWith("..") || path.isAbsolute(rel) ? abs : rel;
}
