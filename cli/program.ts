/**
 * The `msec-gen` program: argument parsing, progress and error printing, exit
 * codes (0 ok, 1 user error, 2 internal error). All work is done by the
 * generator library; `main.ts` is the executable entry.
 */
import path from "node:path";
import { Command } from "commander";
import { generate, type GenerateOptions } from "../generator/generate.js";
import { writeOutput } from "../generator/output.js";
import { generatorVersion } from "../generator/package-root.js";
import { targetLanguages } from "../generator/target-registry.js";
import { packageLanguages, packageName } from "../generator/managed-output.js";
import type { TargetKind } from "../generator/target.js";
import { UserError } from "../generator/user-error.js";
import { addOpenApiCommand } from "./openapi-command.js";
import { addRoutesCommand } from "./routes-command.js";
import { addGenerateConfigCommand } from "./generate-command.js";
import { addInitCommand } from "./init-command.js";
import { addBreakingCommand } from "./breaking-command.js";
import { addConsoleCommand } from "./console/console-command.js";
import { addMockCommand } from "./mock-command.js";
import { EXIT_OK, report } from "./report-error.js";

export { EXIT_INTERNAL_ERROR, EXIT_OK, EXIT_USER_ERROR, report } from "./report-error.js";
import { generateOptions, toGenerateOptions } from "./generate-options.js";
import { elapsed, errorText, newDirectory, newResult } from "./result-document.js";

interface CommandOptions {
  output: string;
  dir?: boolean;
  quiet?: boolean;
  json?: boolean;
  [option: string]: unknown;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function addGenerateCommand(program: Command, kind: TargetKind, summary: string, examples: string): void {
  const command = program
    .command(kind)
    .summary(summary)
    .description(summary)
    .argument("[protos...]", ".proto files (or, with --descriptor-set-in, import paths of files in the set)");
  for (const option of generateOptions(kind)) {
    const description = option.description(kind);
    if (option.repeatable === true) command.option(option.flag, description, collect, option.defaultValue as string[] | undefined);
    else if (option.defaultValue !== undefined) command.option(option.flag, description, option.defaultValue);
    else command.option(option.flag, description);
  }
  command
    .addHelpText("after", `\nLanguages: ${targetLanguages(kind).join(", ")}\n\nExamples:\n${examples}`)
    .action(async (protos: string[], opts: CommandOptions) => {
      await run(kind, protos, opts);
    });
}

async function run(kind: TargetKind, protos: string[], opts: CommandOptions): Promise<void> {
  const started = performance.now();
  const json = opts.json === true ? newResult(kind, null) : undefined;
  const progress = opts.quiet === true ? undefined : (m: string) => process.stderr.write(`msec-gen: ${m}\n`);
  try {
    if (protos.length === 0 && opts.descriptorSetIn === undefined) {
      throw new UserError(`no .proto file given (usage: msec-gen ${kind} X.proto [options]; see msec-gen ${kind} --help)`);
    }
    const options: GenerateOptions = {
      ...toGenerateOptions(kind, protos, opts),
      onProgress: progress,
      onWarning: (m: string) => {
        json?.warnings.push(m);
        process.stderr.write(`msec-gen: warning: ${m}\n`);
      },
    };
    const generateStarted = performance.now();
    const files = await generate(options);
    const generateMs = elapsed(generateStarted);
    progress?.(`writing ${files.length} files${opts.dir === true ? "" : " as a .tgz"}`);
    const writeStarted = performance.now();
    const outDir = path.resolve(opts.output);
    const result = await writeOutput(files, outDir, opts.dir === true);
    for (const kept of result.kept) process.stderr.write(`msec-gen: kept ${kept} (yours; not overwritten)\n`);
    if (json === undefined) {
      process.stdout.write(`${result.path}\n`);
      return;
    }
    const root = path.basename(result.path);
    const keptSet = new Set(result.kept);
    const directory = newDirectory(outDir, null);
    if (opts.dir === true) {
      const top = root;
      directory.kept = result.kept.map((k) => `${top}/${k}`).sort();
      directory.written = files.map((f) => f.path).filter((p) => !keptSet.has(p.slice(top.length + 1))).sort();
    } else directory.written = [root];
    json.directories.push(directory);
    json.outputs.push({
      entry: null,
      kind,
      name: packageName(kind, files[0]!.path.split("/")[0]!),
      languages: packageLanguages(kind, files),
      path: result.path,
      format: opts.dir === true ? "dir" : "tgz",
      directory: outDir,
      files: files.length,
      generateMs,
    });
    json.timings = { totalMs: elapsed(started), generateMs, writeMs: elapsed(writeStarted) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } catch (e) {
    if (json !== undefined) {
      json.ok = false;
      json.errors.push(errorText(e));
      json.timings.totalMs = elapsed(started);
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    }
    throw e;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("msec-gen")
    .description("Generate MSEC-style service packages and typed callers from .proto files")
    .version(generatorVersion(), "-V, --version")
    // `--version` after a command is that command's option (the generated package's version).
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 user error (bad input or options), 2 internal error (a bug).\n" +
        "generate --check and breaking also exit 1 when they find a difference or a break.\n\nExamples:\n" +
        "  msec-gen server fixtures/voa/MainLogic.proto --name VOA.MainLogic\n" +
        "  msec-gen caller fixtures/voa/Crawl.proto --name VOA.Crawl --lang ts -o out --dir\n" +
        "  msec-gen init && msec-gen generate      # outputs listed in msec-gen.yaml\n" +
        "  npx msec-gen generate --check           # in CI: is the checked-in SDK current?\n",
    );
  addGenerateCommand(
    program,
    "server",
    "generate a server dev package (.tgz, or a directory with --dir)",
    "  msec-gen server MainLogic.proto --name VOA.MainLogic            # ./VOA.MainLogic-server-ts.tgz\n" +
      "  msec-gen server MainLogic.proto --name VOA.MainLogic -o . --dir # ./VOA.MainLogic-server-ts/ (keeps handlers)\n" +
      "  msec-gen server -I protos protos/a/b.proto -o out\n",
  );
  addGenerateCommand(
    program,
    "caller",
    "generate caller libraries (<name>-caller.tgz with one folder per language)",
    "  msec-gen caller Crawl.proto --name VOA.Crawl                     # ./VOA.Crawl-caller.tgz (ts/)\n" +
      "  msec-gen caller Crawl.proto --name VOA.Crawl --lang ts --dir -o out\n",
  );
  addGenerateConfigCommand(program);
  addInitCommand(program);
  addBreakingCommand(program);
  addRoutesCommand(program);
  addOpenApiCommand(program);
  addConsoleCommand(program);
  addMockCommand(program);
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (e) {
    return report(e);
  }
}

