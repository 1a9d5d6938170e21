/**
 * Plugin mode: msec-gen as a protoc / buf plugin (`protoc-gen-msec`). Reads a
 * CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout
 * whose files are the same package tree `msec-gen server|caller --dir` writes.
 *
 * Parameters (comma-separated `key=value`): `kind=server|caller` (default
 * server), `name=Group.Service`, `lang=ts` (repeat for several caller
 * languages), `runtime=registry|bundled` (default registry), `version=…`,
 * every per-language option of LANGUAGE_OPTIONS in snake case
 * (`go_module=<path>`, …), `handlers=write|skip` (default write; `skip`
 * leaves out every user-owned file — handler skeletons and the server's etc/
 * config — because protoc and buf overwrite existing files).
 * Packages contain no `proto/` folder: plugins do not receive source text.
 * For the same reason the C++ caller (which compiles the .proto sources with
 * protoc when the package is built) cannot be made here; see
 * PLUGIN_UNSUPPORTED.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponse_FileSchema,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { generateFromModel } from "../generator/generate.js";
import { buildModel } from "../generator/model.js";
import { LANGUAGE_OPTIONS, pluginKey } from "../generator/language-options.js";
import { RUNTIME_MODES, type RuntimeMode } from "../generator/runtime-artefact.js";
import type { TargetKind } from "../generator/target.js";
import { UserError } from "../generator/user-error.js";

/**
 * Languages plugin mode cannot generate, with the reason. Every other
 * registered language gives the same files as `msec-gen server|caller --dir`
 * without the `proto/` folder (test/cli/plugin-parity.test.ts).
 */
export const PLUGIN_UNSUPPORTED: Readonly<Record<string, string>> = {
  cpp:
    "the C++ caller compiles the .proto sources with protoc when the package is built, and a protoc/buf plugin receives descriptors only, not the source text; " +
    "generate it with msec-gen caller --lang cpp or msec-gen generate",
};

interface PluginParameters {
  kind: TargetKind;
  name?: string;
  langs: string[];
  runtime: RuntimeMode;
  version?: string;
  settings: Record<string, string | string[]>;
  writeHandlers: boolean;
}

/** Parse the plugin parameter string; `UserError` on unknown keys or values. */
export function parsePluginParameters(parameter: string): PluginParameters {
  // Plugin mode writes into a source tree through protoc/buf, which carry text only:
  // generated manifests reference the published runtimes unless runtime=bundled.
  const params: PluginParameters = { kind: "server", langs: [], runtime: "registry", settings: {}, writeHandlers: true };
  for (const pair of parameter.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    switch (key) {
      case "kind":
        if (value !== "server" && value !== "caller") throw new UserError(`kind must be server or caller, not ${JSON.stringify(value)}`);
        params.kind = value;
        break;
      case "name":
        params.name = value;
        break;
      case "lang":
        params.langs.push(value);
        break;
      case "runtime":
        if (!RUNTIME_MODES.includes(value as RuntimeMode)) throw new UserError(`runtime must be ${RUNTIME_MODES.join(" or ")}, not ${JSON.stringify(value)}`);
        params.runtime = value as RuntimeMode;
        break;
      case "version":
        params.version = value;
        break;
      case "handlers":
        if (value !== "write" && value !== "skip") throw new UserError(`handlers must be write or skip, not ${JSON.stringify(value)}`);
        params.writeHandlers = value === "write";
        break;
      default: {
        const row = LANGUAGE_OPTIONS.find((o) => pluginKey(o) === key);
        if (row === undefined) {
          const known = ["kind", "name", "lang", "runtime", "version", ...LANGUAGE_OPTIONS.map(pluginKey), "handlers"];
          throw new UserError(`unknown parameter ${JSON.stringify(key)} (known: ${known.join(", ")})`);
        }
        if (row.repeatable === true) params.settings[row.key] = [...((params.settings[row.key] as string[] | undefined) ?? []), value];
        else params.settings[row.key] = value;
      }
    }
  }
  return params;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** protoc and buf carry file content as text: binary files (a packed runtime archive) cannot go through. */
function textContent(filePath: string, content: string | Uint8Array): string {
  if (typeof content === "string") return content;
  try {
    return utf8.decode(content);
  } catch {
    throw new UserError(`${filePath} is a binary file, which protoc plugins cannot write; use runtime=registry here, or msec-gen server|caller for a package that carries its runtime`);
  }
}

/** Run the plugin on one encoded request; returns the encoded response. */
export async function runPlugin(requestBytes: Uint8Array): Promise<Uint8Array> {
  const request = fromBinary(CodeGeneratorRequestSchema, requestBytes);
  const response = create(CodeGeneratorResponseSchema, {
    supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
  });
  try {
    const params = parsePluginParameters(request.parameter ?? "");
    for (const lang of params.kind === "caller" ? params.langs : []) {
      const reason = PLUGIN_UNSUPPORTED[lang];
      if (reason !== undefined) throw new UserError(`lang=${lang} is not available in plugin mode: ${reason}`);
    }
    const model = buildModel({
      descriptorSet: create(FileDescriptorSetSchema, { file: request.protoFile }),
      requested: request.fileToGenerate,
      sources: new Map(),
    });
    const files = await generateFromModel(model, {
      kind: params.kind,
      lang: params.langs.length > 0 ? params.langs : undefined,
      name: params.name,
      runtime: params.runtime,
      sdkVersion: params.version,
      ...params.settings,
      // protoc and buf pass a plugin's stderr through to the user.
      onWarning: (m) => process.stderr.write(`protoc-gen-msec: warning: ${m}\n`),
    });
    for (const f of files) {
      if (f.userOwned === true && !params.writeHandlers) continue;
      response.file.push(create(CodeGeneratorResponse_FileSchema, { name: f.path, content: textContent(f.path, f.content) }));
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    response.error = e.message;
  }
  return toBinary(CodeGeneratorResponseSchema, response);
}
