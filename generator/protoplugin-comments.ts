/**
 * A per-file index for `@bufbuild/protoplugin`'s `getComments`.
 *
 * protoplugin (2.13.0 and 2.14.0, `source-code-info.ts`) finds an element's
 * comments by computing its source path with `indexOf` over its siblings and
 * then scanning every location of the file's `SourceCodeInfo` for that path:
 * O(n) per element, and generated code asks once per message, field, enum,
 * value, service and method, so a file of n messages costs O(n²) (at 2,000
 * messages, two thirds of msec-gen's time once names were cached).
 *
 * `installCommentIndex` replaces the module's exported `getComments` (which
 * protoplugin's JSDoc printer, protoc-gen-es and msec-gen all read from the
 * module's exports at each call) with one that looks sibling positions and
 * locations up in maps built once per file. Same paths, same first-match rule,
 * same result shape. Versions as in protoplugin-names.ts; another version is
 * left alone. test/generator/protoplugin-cache.test.ts compares the results
 * with the original's.
 */
import path from "node:path";
import type { AnyDesc, DescComments, DescEnum, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import type * as Protobuf from "@bufbuild/protobuf";
import type * as Wkt from "@bufbuild/protobuf/wkt";
import type { SourceCodeInfo, SourceCodeInfo_Location } from "@bufbuild/protobuf/wkt";
import { VERIFIED_VERSIONS } from "./protoplugin-names.js";

/** The descriptors `getComments` accepts. */
export type CommentedDesc = Exclude<AnyDesc, DescFile>;
export type GetComments = (desc: CommentedDesc) => DescComments;

export interface CommentIndexInstall {
  /** Whether the index is in place (false: an unverified protoplugin version, left as it is). */
  readonly installed: boolean;
  /** protoplugin's own `getComments`, as it was before (for comparison in tests). */
  readonly original: GetComments;
}

const ORIGINAL = Symbol.for("msec-gen.protoplugin-comments.original");

/** Install the index into the protoplugin that `require` resolves (idempotent). */
export function installCommentIndex(require: NodeJS.Require): CommentIndexInstall {
  const entry = require.resolve("@bufbuild/protoplugin");
  const module = require(path.join(path.dirname(entry), "source-code-info.js")) as { getComments: GetComments; [ORIGINAL]?: GetComments };
  const previous = module[ORIGINAL];
  if (previous !== undefined) return { installed: true, original: previous };
  const original = module.getComments;
  const version = (require(path.join(path.dirname(entry), "../../package.json")) as { version: string }).version;
  if (!VERIFIED_VERSIONS.includes(version)) return { installed: false, original };
  module.getComments = createGetComments(require);
  Object.defineProperty(module, ORIGINAL, { value: original });
  return { installed: true, original };
}

function createGetComments(require: NodeJS.Require): GetComments {
  // protoplugin's own copies, resolved from where it resolves them
  const { isFieldSet } = require("@bufbuild/protobuf") as typeof Protobuf;
  const wkt = require("@bufbuild/protobuf/wkt") as typeof Wkt;
  const FILE = wkt.FileDescriptorProtoSchema.field;
  const MESSAGE = wkt.DescriptorProtoSchema.field;
  const LEADING = wkt.SourceCodeInfo_LocationSchema.field.leadingComments;
  const TRAILING = wkt.SourceCodeInfo_LocationSchema.field.trailingComments;

  /** Position of an element in its parent's list: `indexOf` (first match), answered from a map built once per list. */
  const positions = new WeakMap<readonly object[], Map<object, number>>();
  const indexOf = (list: readonly object[], element: object): number => {
    let map = positions.get(list);
    if (map === undefined) {
      map = new Map();
      for (let i = list.length - 1; i >= 0; i--) map.set(list[i]!, i);
      positions.set(list, map);
    }
    return map.get(element) ?? -1;
  };

  /** Locations by path (`"4,0,2,1"`), first occurrence kept, built once per file. */
  const locations = new WeakMap<SourceCodeInfo, Map<string, SourceCodeInfo_Location>>();
  const locationOf = (info: SourceCodeInfo, sourcePath: readonly number[]): SourceCodeInfo_Location | undefined => {
    let map = locations.get(info);
    if (map === undefined) {
      map = new Map();
      for (const location of info.location) {
        const key = location.path.join(",");
        if (!map.has(key)) map.set(key, location);
      }
      locations.set(info, map);
    }
    return map.get(sourcePath.join(","));
  };

  /** Source paths, as protoplugin computes them, kept per descriptor. */
  const paths = new WeakMap<CommentedDesc, readonly number[]>();
  const sourcePathOf = (desc: CommentedDesc): readonly number[] => {
    let found = paths.get(desc);
    if (found === undefined) {
      found = computePath(desc);
      paths.set(desc, found);
    }
    return found;
  };
  const under = (parent: DescMessage | DescEnum | DescService, field: number, list: readonly object[], element: object): number[] => [
    ...sourcePathOf(parent),
    field,
    indexOf(list, element),
  ];
  const computePath = (desc: CommentedDesc): number[] => {
    switch (desc.kind) {
      case "enum":
        return desc.parent
          ? under(desc.parent, MESSAGE.enumType.number, desc.parent.proto.enumType, desc.proto)
          : [FILE.enumType.number, indexOf(desc.file.proto.enumType, desc.proto)];
      case "oneof":
        return under(desc.parent, MESSAGE.oneofDecl.number, desc.parent.proto.oneofDecl, desc.proto);
      case "message":
        return desc.parent
          ? under(desc.parent, MESSAGE.nestedType.number, desc.parent.proto.nestedType, desc.proto)
          : [FILE.messageType.number, indexOf(desc.file.proto.messageType, desc.proto)];
      case "enum_value":
        return under(desc.parent, wkt.EnumDescriptorProtoSchema.field.value.number, desc.parent.proto.value, desc.proto);
      case "field":
        return under(desc.parent, MESSAGE.field.number, desc.parent.proto.field, desc.proto);
      case "extension":
        return desc.parent
          ? under(desc.parent, MESSAGE.extension.number, desc.parent.proto.extension, desc.proto)
          : [FILE.extension.number, indexOf(desc.file.proto.extension, desc.proto)];
      case "service":
        return [FILE.service.number, indexOf(desc.file.proto.service, desc.proto)];
      case "rpc":
        return under(desc.parent, wkt.ServiceDescriptorProtoSchema.field.method.number, desc.parent.proto.method, desc.proto);
    }
  };
  const fileOf = (desc: CommentedDesc): DescFile =>
    desc.kind === "oneof" || desc.kind === "enum_value" || desc.kind === "field" || desc.kind === "rpc" ? desc.parent.file : desc.file;

  return (desc) => {
    // a fresh array and object on every call, as the original returns
    const sourcePath = [...sourcePathOf(desc)];
    const info = fileOf(desc).proto.sourceCodeInfo;
    const location = info === undefined ? undefined : locationOf(info, sourcePath);
    if (location === undefined) return { leadingDetached: [], sourcePath };
    return {
      leadingDetached: location.leadingDetachedComments,
      leading: isFieldSet(location, LEADING) ? location.leadingComments : undefined,
      trailing: isFieldSet(location, TRAILING) ? location.trailingComments : undefined,
      sourcePath,
    };
  };
}
