/**
 * The `msec-gen` program: argument parsing, progress and error printing, exit
 * codes (0 ok, 1 user error, 2 internal error). All work is done by the
 * generator library; `main.ts` is the executable entry.
 */
import path from "node:path";
import { Command, CommanderError } from "commander";
import { generate, type GenerateOptions } from "../generator/generate.js";
import { writeOutput } from "../generator/output.js";
import { generatorVersion } from "../generator/package-root.js";
import { targetLanguages } from "../generator/target-registry.js";
import { LANGUAGE_OPTIONS } from "../generator/language-options.js";
import type { RuntimeMode } from "../generator/runtime-artefact.js";
import type { LanguageSettings, TargetKind } from "../generator/target.js";
import { CompileError, UserError } from "../generator/user-error.js";
import { addOpenApiCommand } from "./openapi-command.js";
import { addRoutesCommand } from "./routes-command.js";

/** Exit codes, documented in docs/cli.md. */
export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL_ERROR = 2;

interface CommandOptions {
  name?: string;
  include: string[];
  output: string;
  dir?: boolean;
  lang?: string;
  descriptorSetIn?: string;
  runtime?: string;
  version?: string;
  quiet?: boolean;
  [languageOption: string]: unknown;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function addGenerateCommand(program: Command, kind: TargetKind, summary: string, examples: string): void {
  const command = program
    .command(kind)
    .summary(summary)
    .description(summary)
    .argument("[protos...]", ".proto files (or, with --descriptor-set-in, import paths of files in the set)")
    .option("-n, --name <Group.Service>", "MSEC routing name: two levels, each 1-32 characters, a letter then [A-Za-z0-9_-] (default: <last package segment>.<first service without \"Service\">)")
    .option("-I, --include <dir>", "include directory for imports (repeatable; default: each file's own directory)", collect, [])
    .option("-o, --output <dir>", "output directory", ".")
    .option("--dir", "write the unpacked tree instead of a .tgz (regenerating keeps existing handler files)")
    .option(
      "--lang <langs>",
      kind === "server"
        ? "target language (default: ts)"
        : "comma-separated target languages (default: all; a language this machine or input cannot produce is skipped with a warning)",
    )
    .option("--descriptor-set-in <file>", "read a binary FileDescriptorSet instead of compiling .proto files")
    .option("--version <version>", "version of the generated package(s), MAJOR.MINOR.PATCH[-pre] (default: 2.0.0 for a proto package ending in .v2, else 0.1.0)")
    .option(
      "--runtime <mode>",
      `how packages reference the msec-gen runtime of their language: bundled (a copy of the runtime ${generatorVersion()} artefact in runtime/, installs before anything is published) or registry (plain registry references)`,
      "bundled",
    )
    .option("-q, --quiet", "no progress lines on stderr");
  for (const row of LANGUAGE_OPTIONS.filter((o) => o.kinds.includes(kind))) {
    if (row.repeatable === true) command.option(row.flag, `${row.description} (repeatable)`, collect);
    else command.option(row.flag, row.description);
  }
  command
    .addHelpText("after", `\nLanguages: ${targetLanguages(kind).join(", ")}\n\nExamples:\n${examples}`)
    .action(async (protos: string[], opts: CommandOptions) => {
      await run(kind, protos, opts);
    });
}

/** The per-language options given on the command line (commander's camelCase keys are the table keys). */
function languageSettings(opts: CommandOptions): LanguageSettings {
  const settings: Record<string, unknown> = {};
  for (const row of LANGUAGE_OPTIONS) {
    const value = opts[row.key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    settings[row.key] = value;
  }
  return settings as LanguageSettings;
}

async function run(kind: TargetKind, protos: string[], opts: CommandOptions): Promise<void> {
  const progress = opts.quiet === true ? undefined : (m: string) => process.stderr.write(`msec-gen: ${m}\n`);
  if (protos.length === 0 && opts.descriptorSetIn === undefined) {
    throw new UserError(`no .proto file given (usage: msec-gen ${kind} X.proto [options]; see msec-gen ${kind} --help)`);
  }
  const options: GenerateOptions = {
    kind,
    protos,
    includes: opts.include,
    descriptorSetIn: opts.descriptorSetIn,
    lang: opts.lang,
    name: opts.name,
    runtime: opts.runtime as RuntimeMode | undefined,
    sdkVersion: opts.version,
    ...languageSettings(opts),
    onProgress: progress,
    onWarning: (m: string) => process.stderr.write(`msec-gen: warning: ${m}\n`),
  };
  const files = await generate(options);
  progress?.(`writing ${files.length} files${opts.dir === true ? "" : " as a .tgz"}`);
  const result = await writeOutput(files, path.resolve(opts.output), opts.dir === true);
  for (const kept of result.kept) process.stderr.write(`msec-gen: kept ${kept} (yours; not overwritten)\n`);
  process.stdout.write(`${result.path}\n`);
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
      "\nExit codes: 0 ok, 1 user error (bad input or options), 2 internal error (a bug).\n\nExamples:\n" +
        "  msec-gen server fixtures/voa/MainLogic.proto --name VOA.MainLogic\n" +
        "  msec-gen caller fixtures/voa/Crawl.proto --name VOA.Crawl --lang ts -o out --dir\n",
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
  addRoutesCommand(program);
  addOpenApiCommand(program);
  program.commands.forEach((c) => c.exitOverride());
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (e) {
    return report(e);
  }
}

/** Print an error the way users should see it and return the exit code. */
export function report(e: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (e instanceof CommanderError) {
    // commander already printed the message (or the help / version text)
    return e.exitCode === 0 ? EXIT_OK : EXIT_USER_ERROR;
  }
  if (e instanceof CompileError) {
    write(`${e.message}\n`);
    return EXIT_USER_ERROR;
  }
  if (e instanceof UserError) {
    write(`msec-gen: error: ${e.message}\n`);
    return EXIT_USER_ERROR;
  }
  const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
  write(`msec-gen: internal error (a bug in msec-gen; please report it with the command line):\n${stack}\n`);
  return EXIT_INTERNAL_ERROR;
}
