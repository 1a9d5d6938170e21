/**
 * `msec-gen generate [--check [--diff] [--strict]] [--watch] [--json]`: runs
 * every entry of `msec-gen.yaml` (or `--config FILE`), keeping each output
 * directory in step with a manifest (generator/managed-output.ts); see
 * config-run.ts for one run and watch.ts for --watch.
 */
import type { Command } from "commander";
import { MANIFEST_FILE } from "../generator/managed-output.js";
import { UserError } from "../generator/user-error.js";
import { type Config, DEFAULT_CONFIG_FILE, loadConfig } from "./config-file.js";
import { type GenerateCommandOptions, printJson, runConfig } from "./config-run.js";
import { type ResultDocument, elapsed, errorText, newResult } from "./result-document.js";
import { ExitWith } from "./report-error.js";
import { watchConfig } from "./watch.js";

/** Exit code of `--check` when the tree is not what generating would write. */
export const EXIT_CHECK_FAILED = 1;

export function addGenerateConfigCommand(program: Command): void {
  program
    .command("generate")
    .summary(`generate every output listed in ${DEFAULT_CONFIG_FILE}`)
    .description(
      `Generate every output listed in ${DEFAULT_CONFIG_FILE} (see docs/cli.md). Each output directory gets a manifest (${MANIFEST_FILE}) of the files msec-gen wrote; regenerating removes the files it wrote before and no longer produces, never yours.`,
    )
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG_FILE)
    .option("--check", "write nothing; exit 1 when a generated file is changed, missing or stale (each is listed)")
    .option("--diff", "with --check: print a unified diff of each difference")
    .option("--strict", "with --check: files in an output directory that msec-gen does not own fail the check too")
    .option("-w, --watch", "after generating, regenerate the outputs a .proto change affects (Ctrl-C stops)")
    .option("--json", "print one JSON document on stdout (see docs/cli.md) instead of the lines below")
    .option("-q, --quiet", "no progress lines on stderr")
    .addHelpText(
      "after",
      "\nOutput: generate prints each package folder on stdout; --check prints one line per difference\n" +
        "(changed | missing | stale | stray  <path>  (<reason>)).\n\nExamples:\n" +
        "  msec-gen generate\n  msec-gen generate --check --diff     # in CI: is the checked-in SDK current?\n" +
        "  msec-gen generate --config protos/msec-gen.yaml --watch\n",
    )
    .action(async (opts: GenerateCommandOptions) => {
      if (opts.check !== true && (opts.diff === true || opts.strict === true)) {
        throw new UserError(`${opts.diff === true ? "--diff" : "--strict"} goes with --check`);
      }
      if (opts.check === true && opts.watch === true) throw new UserError("--watch regenerates; it does not go with --check");
      if (opts.watch === true && opts.json === true) throw new UserError("--watch prints progress lines, not a JSON document; leave out --json");
      if (opts.watch === true) {
        await watchConfig(opts);
        return;
      }
      const config = await loadConfigForRun(opts);
      const result = await runConfig(config, config.entries, opts);
      if (!result.ok) throw new ExitWith(EXIT_CHECK_FAILED);
    });
}

async function loadConfigForRun(opts: GenerateCommandOptions): Promise<Config> {
  try {
    return await loadConfig(opts.config ?? DEFAULT_CONFIG_FILE);
  } catch (e) {
    if (opts.json === true) printJson(failedDocument(opts, null, e, performance.now()));
    throw e;
  }
}

function failedDocument(opts: GenerateCommandOptions, config: string | null, e: unknown, started: number): ResultDocument {
  const doc = newResult(opts.check === true ? "check" : "generate", config);
  doc.ok = false;
  doc.errors.push(...errorText(e).split("\n"));
  doc.timings.totalMs = elapsed(started);
  return doc;
}

