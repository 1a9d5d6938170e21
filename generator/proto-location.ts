/**
 * Where a declaration is in the user's `.proto` source, as `path:line:col`
 * (1-based, like compile errors), from the file's `SourceCodeInfo`, so
 * messages about option values point at the line to change.
 */
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { FileDescriptorProtoSchema, FileOptionsSchema } from "@bufbuild/protobuf/wkt";
import type { ProtoModel } from "./model.js";

/**
 * `path:line:col` of a file-level `option <name> = …;` (`name` a field of
 * `google.protobuf.FileOptions`, e.g. `java_package`); the file alone when the
 * input has no source info (a descriptor set built without it).
 */
export function fileOptionLocation(model: Pick<ProtoModel, "displayPaths">, file: FileDescriptorProto, option: string): string {
  const where = model.displayPaths.get(file.name) ?? file.name;
  const field = FileOptionsSchema.fields.find((f) => f.name === option);
  if (field === undefined) return where;
  const path = [FileDescriptorProtoSchema.field.options.number, field.number];
  const location = file.sourceCodeInfo?.location.find((l) => l.path.length === path.length && l.path.every((v, i) => v === path[i]));
  const [line, col] = location?.span ?? [];
  return line === undefined || col === undefined ? where : `${where}:${line + 1}:${col + 1}`;
}
