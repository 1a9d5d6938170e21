/**
 * A per-file cache for `@bufbuild/protoplugin`'s generated names.
 *
 * protoplugin (2.13.0 and 2.14.0, `names.ts`) answers each lookup of one
 * generated name (`FooSchema`, `Foo`, `FooJson`, `FooValid`, `file_foo`) by
 * computing the names of every type in the file (`allNames`: a walk over all
 * nested types and a clash check for each) and then picking one. Generated
 * code looks names up once per type and per reference, so a file of n
 * messages costs O(n²): 2,000 messages took 51 s in protoc-gen-es alone, 5,000
 * did not finish in 300 s.
 *
 * `installNameCache` replaces the module's four lookup functions with ones
 * that compute a file's names once (same algorithm, same order, same clash
 * suffixes) and keep them for as long as the file's descriptor lives. Callers
 * inside protoplugin and protoc-gen-es read the functions from the module's
 * exports at each call (CommonJS output of tsc), so they all see the cache.
 * The algorithm is protoplugin's; `VERIFIED_VERSIONS` lists the versions it
 * was compared with (their `names.ts` are identical), and another version is
 * left alone (slow but right). test/generator/protoplugin-cache.test.ts
 * checks the cache gives the original's names.
 */
import path from "node:path";
import type { DescEnum, DescExtension, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import type * as Reflect from "@bufbuild/protobuf/reflect";

/** protoplugin versions whose `names.ts` this file reproduces. */
export const VERIFIED_VERSIONS: readonly string[] = ["2.13.0", "2.14.0"];

type NamedDesc = DescFile | DescEnum | DescMessage | DescExtension | DescService;
type TypeDesc = DescEnum | DescMessage;

/** The name lookups of protoplugin's `names.js` (the ones replaced). */
export interface NameLookups {
  generatedDescName(desc: NamedDesc): string;
  generatedShapeName(desc: TypeDesc): string;
  generatedJsonTypeName(desc: TypeDesc): string;
  generatedValidTypeName(desc: TypeDesc): string;
}

interface FileNames {
  readonly shapeNames: Map<TypeDesc, string>;
  readonly descNames: Map<NamedDesc, string>;
  readonly jsonTypeNames: Map<TypeDesc, string>;
  readonly validTypeNames: Map<TypeDesc, string>;
}

export interface NameCacheInstall {
  /** Whether the cache is in place (false: an unverified protoplugin version, left as it is). */
  readonly installed: boolean;
  /** The protoplugin version found. */
  readonly version: string;
  /** protoplugin's own lookups, as they were before (for comparison in tests). */
  readonly original: NameLookups;
}

/**
 * Install the cache into the protoplugin that `require` resolves (idempotent).
 * `safeIdentifier` is protoplugin's own, so reserved words are escaped alike.
 */
export function installNameCache(require: NodeJS.Require): NameCacheInstall {
  const entry = require.resolve("@bufbuild/protoplugin");
  const names = require(path.join(path.dirname(entry), "names.js")) as NameLookups & { [ORIGINAL]?: NameLookups };
  const version = (require(path.join(path.dirname(entry), "../../package.json")) as { version: string }).version;
  const previous = names[ORIGINAL];
  if (previous !== undefined) return { installed: true, version, original: previous };
  const original: NameLookups = {
    generatedDescName: names.generatedDescName,
    generatedShapeName: names.generatedShapeName,
    generatedJsonTypeName: names.generatedJsonTypeName,
    generatedValidTypeName: names.generatedValidTypeName,
  };
  if (!VERIFIED_VERSIONS.includes(version)) return { installed: false, version, original };
  const { safeIdentifier } = require(entry) as { safeIdentifier: (name: string) => string };
  const { nestedTypes } = require("@bufbuild/protobuf/reflect") as typeof Reflect;
  const cache = new WeakMap<DescFile, FileNames>();
  const fileNames = (file: DescFile): FileNames => {
    let found = cache.get(file);
    if (found === undefined) {
      found = allNames(file, nestedTypes, safeIdentifier);
      cache.set(file, found);
    }
    return found;
  };
  const lookup = <D extends NamedDesc>(map: (n: FileNames) => Map<D, string>, what: string) => (desc: D): string => {
    const name = map(fileNames(desc.kind == "file" ? desc : desc.file)).get(desc);
    if (name === undefined) throw new Error(`unable to determine unique ${what} name for ${desc.toString()}`);
    return name;
  };
  names.generatedDescName = lookup((n) => n.descNames, "descriptor");
  names.generatedShapeName = lookup((n) => n.shapeNames, "shape");
  names.generatedJsonTypeName = lookup((n) => n.jsonTypeNames, "json type");
  names.generatedValidTypeName = lookup((n) => n.validTypeNames, "valid type");
  Object.defineProperty(names, ORIGINAL, { value: original });
  return { installed: true, version, original };
}

/** Marks an installed cache on the module object, holding the original lookups. */
const ORIGINAL = Symbol.for("msec-gen.protoplugin-names.original");

/** `ParentMsg_MyEnum` for `foo.bar.ParentMsg.MyEnum`: the type name without the package, `.` → `_`. */
function identifier(desc: Exclude<NamedDesc, DescFile>): string {
  const pkg = desc.file.proto.package;
  const offset = pkg.length > 0 ? pkg.length + 1 : 0;
  return desc.typeName.substring(offset).replace(/\./g, "_");
}

/** `""`, `"$"`, `"$1"`, `"$2"`, … for the i-th attempt at a free name. */
function salt(i: number): string {
  return i === 0 ? "" : i === 1 ? "$" : `$${i - 1}`;
}

/**
 * Every generated name of a file, clashes resolved in protoplugin's order:
 * shapes, then descriptors (the file first), then JSON types, then Valid types.
 */
function allNames(
  file: DescFile,
  nestedTypes: typeof Reflect.nestedTypes,
  safeIdentifier: (name: string) => string,
): FileNames {
  const taken = new Set<string>();
  const types = [...nestedTypes(file)];
  const claim = (ideal: (i: number) => string): string => {
    let name: string;
    for (let i = 0; ; i++) {
      name = ideal(i);
      if (!taken.has(name)) break;
    }
    taken.add(name);
    return name;
  };
  const messagesAndEnums = types.filter((d): d is TypeDesc => d.kind == "enum" || d.kind == "message");

  const shapeNames = new Map<TypeDesc, string>();
  for (const desc of messagesAndEnums) shapeNames.set(desc, claim((i) => safeIdentifier(identifier(desc) + salt(i))));

  const descNames = new Map<NamedDesc, string>();
  for (const desc of [file, ...types] as NamedDesc[]) {
    descNames.set(
      desc,
      claim((i) => {
        if (desc.kind == "file") return safeIdentifier("file_" + desc.name.replace(/[^a-zA-Z0-9_]+/g, "_") + salt(i));
        return safeIdentifier(identifier(desc) + (desc.kind == "enum" || desc.kind == "message" ? "Schema" : "") + salt(i));
      }),
    );
  }

  const jsonTypeNames = new Map<TypeDesc, string>();
  for (const desc of messagesAndEnums) jsonTypeNames.set(desc, claim((i) => safeIdentifier(identifier(desc) + "Json" + salt(i))));

  const validTypeNames = new Map<TypeDesc, string>();
  for (const desc of messagesAndEnums) validTypeNames.set(desc, claim((i) => safeIdentifier(identifier(desc) + "Valid" + salt(i))));

  return { shapeNames, descNames, jsonTypeNames, validTypeNames };
}
