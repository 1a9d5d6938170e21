/**
 * `msec-gen breaking [--against REF|FILE] [--config FILE] [--bump]`: compares
 * the `.proto` files of every msec-gen.yaml entry with a git revision (the same
 * paths at that commit) or a binary descriptor set, with buf's breaking rules
 * (generator/breaking.ts), and prints each break as `file:line:col: wire|source:
 * message (RULE)`. Exit 1 when there is a break.
 *
 * `--bump` prints the next version of each entry's SDK (major for a break,
 * minor for additions, patch for other changes) after the released one — the
 * entry's `version` in the config at the revision (or its default), or with a
 * descriptor set file the config's version now — writes it into msec-gen.yaml
 * as the entry's `version` and regenerates, so the packages carry it; exit 0.
 * Bumping twice against the same revision gives the same version.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { type Document, isMap, isSeq, parseDocument } from "yaml";
import { type Bump, type Comparison, bumpFor, compareDescriptorSets, emptyDescriptorSet, nextVersion } from "../generator/breaking.js";
import { compileProtos, readDescriptorSet } from "../generator/front-end.js";
import { defaultSdkVersion } from "../generator/generate.js";
import { buildModel } from "../generator/model.js";
import { defaultRoutingName } from "../generator/routing-name.js";
import { CompileError, UserError } from "../generator/user-error.js";
import { type Config, type ConfigEntry, DEFAULT_CONFIG_FILE, loadConfig, parseConfig } from "./config-file.js";
import { runConfig, shown } from "./config-run.js";
import { ExitWith } from "./report-error.js";

const run = promisify(execFile);

/** Exit code when a break was found (without --bump). */
export const EXIT_BREAKING = 1;

interface BreakingOptions {
  against: string;
  config: string;
  bump?: boolean;
  quiet?: boolean;
}

export function addBreakingCommand(program: Command): void {
  program
    .command("breaking")
    .summary("report wire- and source-breaking changes of the protos against a git revision or a descriptor set")
    .description(
      `Compare the .proto files of every ${DEFAULT_CONFIG_FILE} entry with a git revision (the same paths at that commit) or a binary descriptor set, using buf's breaking rules; print each break as file:line:col: wire|source: message (RULE). Exit 1 when there is one.`,
    )
    .option("--against <ref|file>", "a git revision (branch, tag, commit) or a .binpb/.pb FileDescriptorSet", "HEAD")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG_FILE)
    .option("--bump", "print each SDK's next version (major: a break, minor: additions, patch: other changes), write it into the config as version, regenerate; exit 0")
    .option("-q, --quiet", "no progress lines on stderr")
    .addHelpText("after", "\nExamples:\n  msec-gen breaking --against origin/main   # in CI, on a pull request\n  msec-gen breaking --against v1.4.0 --bump\n")
    .action(async (opts: BreakingOptions) => {
      await breaking(opts);
    });
}

async function breaking(opts: BreakingOptions): Promise<void> {
  const config = await loadConfig(opts.config);
  const againstFile = await isFile(path.resolve(opts.against));
  let revision: { repo: string; commit: string } | undefined;
  if (!againstFile) revision = await resolveRevision(config.dir, opts.against);
  const progress = opts.quiet === true ? undefined : (m: string) => process.stderr.write(`msec-gen: ${m}\n`);
  const releasedConfig = revision === undefined ? undefined : await configAtRevision(config.file, revision);
  let breaks = 0;
  const bumps: Array<{ entry: ConfigEntry; version: string }> = [];
  for (const entry of config.entries) {
    const label = `generate[${entry.index}] (${entry.kind})`;
    progress?.(`${label}: comparing with ${opts.against}`);
    const current = await currentSet(entry);
    const previous = againstFile
      ? (await readDescriptorSet(path.resolve(opts.against), [])).descriptorSet
      : await setAtRevision(entry, revision!, opts.against);
    const comparison = await compareDescriptorSets(current.set, previous);
    for (const b of comparison.breaks) {
      process.stdout.write(`${current.display.get(b.file) ?? b.file}:${b.line}:${b.column}: ${b.level}: ${b.message} (${b.rule})\n`);
    }
    breaks += comparison.breaks.length;
    const bump = bumpFor(comparison);
    // the released version: the entry's version in the config at the revision (with a set file: the config's now)
    const released = revision === undefined ? undefined : releasedConfig?.entries[entry.index];
    const from = ((released ?? entry).options.version as string | undefined) ?? current.defaultVersion;
    const to = nextVersion(from, bump);
    process.stdout.write(`${entry.location}: ${label} ${current.name}: ${summary(comparison, bump)}; version ${from}${bump === "none" ? " stays" : ` -> ${to} (${bump})`}\n`);
    if (opts.bump === true && bump !== "none") bumps.push({ entry, version: to });
  }
  if (opts.bump === true) {
    if (bumps.length > 0) {
      await writeVersions(config.file, bumps);
      process.stderr.write(`msec-gen: wrote ${bumps.length === 1 ? "the new version" : "the new versions"} into ${shown(config.file)}; regenerating\n`);
      const updated = await loadConfig(config.file);
      await runConfig(updated, updated.entries, { quiet: opts.quiet });
    }
    return;
  }
  if (breaks > 0) {
    process.stderr.write(`msec-gen: ${breaks} breaking change${breaks === 1 ? "" : "s"} against ${opts.against}\n`);
    throw new ExitWith(EXIT_BREAKING);
  }
}

function summary(c: Comparison, bump: Bump): string {
  const parts: string[] = [];
  if (c.breaks.length > 0) {
    const wire = c.breaks.filter((b) => b.level === "wire").length;
    parts.push(`${c.breaks.length} breaking change${c.breaks.length === 1 ? "" : "s"} (${wire} wire, ${c.breaks.length - wire} source)`);
  } else parts.push("no breaking changes");
  if (c.added.length > 0) parts.push(`${c.added.length} addition${c.added.length === 1 ? "" : "s"}`);
  if (bump === "patch") parts.push("other changes (comments, options)");
  if (bump === "none") parts.push("no changes");
  return parts.join(", ");
}

async function currentSet(entry: ConfigEntry): Promise<{ set: FileDescriptorSet; display: ReadonlyMap<string, string>; name: string; defaultVersion: string }> {
  const input =
    entry.options.descriptorSetIn !== undefined
      ? await readDescriptorSet(entry.options.descriptorSetIn as string, entry.protos)
      : await compileProtos({ protos: entry.protos, includes: entry.options.include as string[] | undefined });
  const model = buildModel(input);
  let name = (entry.options.name as string | undefined) ?? "";
  if (name === "") {
    try {
      name = defaultRoutingName(model);
    } catch {
      name = "(no service)";
    }
  }
  return { set: input.descriptorSet, display: input.displayPaths ?? new Map(), name, defaultVersion: defaultSdkVersion(model) };
}

async function resolveRevision(dir: string, ref: string): Promise<{ repo: string; commit: string }> {
  let repo: string;
  try {
    repo = (await run("git", ["rev-parse", "--show-toplevel"], { cwd: dir })).stdout.trim();
  } catch {
    throw new UserError(`--against ${ref}: not a file, and ${shown(dir)} is not in a git repository (give a descriptor set file or run inside the repository)`);
  }
  try {
    const commit = (await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: repo })).stdout.trim();
    return { repo, commit };
  } catch {
    throw new UserError(`--against ${ref}: neither a file nor a git revision of ${repo}`);
  }
}

/** The config file as it was at `revision`; `undefined` when it did not exist or was not valid then. */
async function configAtRevision(file: string, revision: { repo: string; commit: string }): Promise<Config | undefined> {
  const rel = path.relative(await fs.realpath(revision.repo), await fs.realpath(file)).split(path.sep).join("/");
  try {
    const text = (await run("git", ["show", `${revision.commit}:${rel}`], { cwd: revision.repo, maxBuffer: 1 << 24 })).stdout;
    return parseConfig(text, file, `${revision.commit.slice(0, 12)}:${rel}`);
  } catch {
    return undefined;
  }
}

/** The entry's protos as they were at `revision`: its input folders extracted with git archive, compiled the same way. */
async function setAtRevision(entry: ConfigEntry, revision: { repo: string; commit: string }, ref: string): Promise<FileDescriptorSet> {
  if (entry.options.descriptorSetIn !== undefined) {
    throw new UserError(`${entry.location}: generate[${entry.index}] reads a descriptor set; compare it with --against <older set file>, not a git revision`);
  }
  const realRepo = await fs.realpath(revision.repo);
  const rel = async (p: string): Promise<string> => {
    const real = await fs.realpath(p).catch(() => p);
    const r = path.relative(realRepo, real);
    if (r.startsWith("..") || path.isAbsolute(r)) throw new UserError(`${shown(p)} is outside the git repository ${shown(revision.repo)}`);
    return r.split(path.sep).join("/");
  };
  const includes = await Promise.all(((entry.options.include as string[] | undefined) ?? []).map(rel));
  const protos = await Promise.all(entry.protos.map(rel));
  const folders = [...new Set([...includes, ...protos.map((p) => path.posix.dirname(p))])].map((f) => (f === "" ? "." : f));
  const present = async (p: string): Promise<boolean> =>
    run("git", ["cat-file", "-e", `${revision.commit}:${p === "." ? "" : p}`], { cwd: revision.repo }).then(
      () => true,
      () => false,
    );
  const existingProtos: string[] = [];
  for (const p of protos) if (await present(p)) existingProtos.push(p);
  if (existingProtos.length === 0) return emptyDescriptorSet(); // a new service: everything is an addition
  const existingFolders: string[] = [];
  for (const f of folders) if (await present(f)) existingFolders.push(f);
  const tree = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-against-"));
  try {
    const archive = path.join(tree, "tree.tar");
    await run("git", ["archive", "--format=tar", "-o", archive, revision.commit, "--", ...existingFolders], { cwd: revision.repo, maxBuffer: 1 << 20 });
    await run("tar", ["-xf", archive, "-C", tree]);
    try {
      const input = await compileProtos({
        protos: existingProtos.map((p) => path.join(tree, p)),
        includes: includes.filter((i) => existingFolders.includes(i)).map((i) => path.join(tree, i)),
      });
      return input.descriptorSet;
    } catch (e) {
      if (e instanceof CompileError) throw new UserError(`the protos at ${ref} do not compile:\n${e.message}`);
      throw e;
    }
  } finally {
    await fs.rm(tree, { recursive: true, force: true });
  }
}

/** Set `version` of the bumped entries in the config file, keeping its comments and layout. */
async function writeVersions(file: string, bumps: ReadonlyArray<{ entry: ConfigEntry; version: string }>): Promise<void> {
  const doc: Document = parseDocument(await fs.readFile(file, "utf8"));
  const list = doc.get("generate", true);
  if (!isSeq(list)) throw new Error("generate: is not a list (validated before)");
  for (const { entry, version } of bumps) {
    const node = list.items[entry.index];
    if (!isMap(node)) throw new Error("an entry is not a mapping (validated before)");
    node.set("version", version);
  }
  const temp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(temp, doc.toString({ flowCollectionPadding: false }));
  await fs.rename(temp, file);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
