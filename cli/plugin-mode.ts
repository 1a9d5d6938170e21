/**
 * Plugin mode: msec-gen as a protoc / buf plugin (`protoc-gen-msec`). Reads a
 * CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout
 * whose files are the same package tree `msec-gen server|caller --dir` writes.
 *
 * Parameters (comma-separated `key=value`): `kind=server|caller` (default
 * server), `name=Group.Service`, `lang=ts` (repeat for several caller
 * languages), `runtime_spec=<npm spec>`, `go_module=<path>`,
 * `handlers=write|skip` (default write; `skip` leaves out every user-owned
 * file — handler skeletons and the server's etc/ config — because protoc and
 * buf overwrite existing files).
 * Packages contain no `proto/` folder: plugins do not receive source text.
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
import type { TargetKind } from "../generator/target.js";
import { UserError } from "../generator/user-error.js";

interface PluginParameters {
  kind: TargetKind;
  name?: string;
  langs: string[];
  runtimeSpec?: string;
  goModule?: string;
  javaGroupId?: string;
  javaArtifactId?: string;
  writeHandlers: boolean;
}

/** Parse the plugin parameter string; `UserError` on unknown keys or values. */
export function parsePluginParameters(parameter: string): PluginParameters {
  const params: PluginParameters = { kind: "server", langs: [], writeHandlers: true };
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
      case "runtime_spec":
        params.runtimeSpec = value;
        break;
      case "go_module":
        params.goModule = value;
        break;
      case "java_group_id":
        params.javaGroupId = value;
        break;
      case "java_artifact_id":
        params.javaArtifactId = value;
        break;
      case "handlers":
        if (value !== "write" && value !== "skip") throw new UserError(`handlers must be write or skip, not ${JSON.stringify(value)}`);
        params.writeHandlers = value === "write";
        break;
      default:
        throw new UserError(`unknown parameter ${JSON.stringify(key)} (known: kind, name, lang, runtime_spec, go_module, java_group_id, java_artifact_id, handlers)`);
    }
  }
  return params;
}

/** Run the plugin on one encoded request; returns the encoded response. */
export async function runPlugin(requestBytes: Uint8Array): Promise<Uint8Array> {
  const request = fromBinary(CodeGeneratorRequestSchema, requestBytes);
  const response = create(CodeGeneratorResponseSchema, {
    supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL),
  });
  try {
    const params = parsePluginParameters(request.parameter ?? "");
    const model = buildModel({
      descriptorSet: create(FileDescriptorSetSchema, { file: request.protoFile }),
      requested: request.fileToGenerate,
      sources: new Map(),
    });
    const files = await generateFromModel(model, {
      kind: params.kind,
      lang: params.langs.length > 0 ? params.langs : undefined,
      name: params.name,
      runtimeSpec: params.runtimeSpec,
      goModule: params.goModule,
      javaGroupId: params.javaGroupId,
      javaArtifactId: params.javaArtifactId,
      // protoc and buf pass a plugin's stderr through to the user.
      onWarning: (m) => process.stderr.write(`protoc-gen-msec: warning: ${m}\n`),
    });
    for (const f of files) {
      if (f.userOwned === true && !params.writeHandlers) continue;
      if (typeof f.content !== "string") throw new Error(`${f.path}: binary files cannot be returned in plugin mode`);
      response.file.push(create(CodeGeneratorResponse_FileSchema, { name: f.path, content: f.content }));
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    response.error = e.message;
  }
  return toBinary(CodeGeneratorResponseSchema, response);
}
