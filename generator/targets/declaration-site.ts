/**
 * Where a `.proto` declaration is: `file.proto:line:col` of its name, from
 * the descriptor's source info (1-based, as compilers print it), for
 * messages that refuse an input because of an identifier. The file is named
 * as the user gave it (`display-paths.ts`), else by its import path.
 */
import type { DescEnum, DescEnumValue, DescExtension, DescField, DescFile, DescMessage, DescMethod, DescOneof, DescService } from "@bufbuild/protobuf";
import { displayPath } from "../display-paths.js";
import { getComments } from "../protoplugin.js";

export type NamedDesc = DescMessage | DescEnum | DescEnumValue | DescField | DescExtension | DescOneof | DescService | DescMethod;

/** Field number of `name` in every descriptor proto above, and of `package` in FileDescriptorProto. */
const NAME_FIELD = 1;
const PACKAGE_FIELD = 2;

/** `file.proto:line:col` of the name of `desc` (or of the file's `package` statement), or `file.proto` without source info. */
export function declarationSite(desc: NamedDesc | DescFile): string {
  const file = fileOf(desc);
  const path = desc.kind === "file" ? [PACKAGE_FIELD] : getComments(desc).sourcePath;
  const locations = file.proto.sourceCodeInfo?.location ?? [];
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((n, i) => n === b[i]);
  const named = desc.kind === "file" ? path : [...path, NAME_FIELD];
  const loc = locations.find((l: { path: number[] }) => same(l.path, named)) ?? locations.find((l: { path: number[] }) => same(l.path, path));
  const shown = displayPath(file);
  if (loc === undefined || loc.span.length < 2) return shown;
  return `${shown}:${loc.span[0]! + 1}:${loc.span[1]! + 1}`;
}

function fileOf(desc: NamedDesc | DescFile): DescFile {
  switch (desc.kind) {
    case "file":
      return desc;
    case "enum_value":
    case "field":
    case "oneof":
    case "rpc":
      return desc.parent.file;
    default:
      return desc.file;
  }
}
