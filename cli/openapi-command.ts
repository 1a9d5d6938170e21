/**
 * `msec-gen openapi X.proto [-I dir] [--name Group.Service] [-o file]`: the
 * OpenAPI 3.1 document of the services' JSON mode (docs/openapi.md), on
 * stdout or into a file. Bad input exits 1 like `server` and `caller`
 * (compile errors as `file:line:col: message`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { defaultSdkVersion, loadModel } from "../generator/generate.js";
import { openApiJson } from "../generator/openapi.js";
import { generatorVersion } from "../generator/package-root.js";
import { defaultRoutingName, validateRoutingName } from "../generator/routing-name.js";
import { UserError } from "../generator/user-error.js";

interface OpenApiCommandOptions {
  include: string[];
  name?: string;
  output?: string;
  descriptorSetIn?: string;
  version?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function run(protos: string[], opts: OpenApiCommandOptions): Promise<void> {
  if (protos.length === 0 && opts.descriptorSetIn === undefined) {
    throw new UserError("no .proto file given (usage: msec-gen openapi X.proto [options]; see msec-gen openapi --help)");
  }
  if (opts.name !== undefined) validateRoutingName(opts.name);
  const model = await loadModel({ kind: "server", protos, includes: opts.include, descriptorSetIn: opts.descriptorSetIn });
  if (model.services.length === 0) {
    throw new UserError(`${model.files.map((f) => f.name).join(", ")}: no service to describe; the document needs at least one "service" declaration`);
  }
  const text = openApiJson(model, {
    name: opts.name ?? defaultRoutingName(model),
    version: opts.version ?? defaultSdkVersion(model),
    generatorVersion: generatorVersion(),
  });
  if (opts.output === undefined || opts.output === "-") {
    process.stdout.write(text);
    return;
  }
  const file = path.resolve(opts.output);
  try {
    await fs.writeFile(file, text);
  } catch (e) {
    throw new UserError(`cannot write ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Adds `openapi` to the program. */
export function addOpenApiCommand(program: Command): void {
  program
    .command("openapi")
    .summary("print the OpenAPI 3.1 document of the services' JSON mode")
    .description(
      "Print the OpenAPI 3.1 document of the JSON mode (POST ?methodName=package.Service.Method, MSEC envelope)\n" +
        "of every service in the given files. Server packages carry the same document as openapi.json and\n" +
        "serve it at GET /openapi.json.",
    )
    .argument("[protos...]", ".proto files (or, with --descriptor-set-in, import paths of files in the set)")
    .option("-n, --name <Group.Service>", "MSEC routing name, the document's title (default: as for msec-gen server)")
    .option("-I, --include <dir>", "include directory for imports (repeatable; default: each file's own directory)", collect, [])
    .option("-o, --output <file>", "write the document to this file (default: standard output)")
    .option("--descriptor-set-in <file>", "read a binary FileDescriptorSet instead of compiling .proto files")
    .option("--version <version>", "info.version of the document (default: as for msec-gen server)")
    .addHelpText("after", "\nExamples:\n  msec-gen openapi fixtures/echo/echo.proto\n  msec-gen openapi MainLogic.proto --name VOA.MainLogic -o openapi.json\n")
    .action((protos: string[], opts: OpenApiCommandOptions) => run(protos, opts))
    .exitOverride();
}
