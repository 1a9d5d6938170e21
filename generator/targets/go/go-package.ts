/**
 * Where each `.proto` file's Go code lives.
 *
 * * The files named on the command line belong to the caller: one Go package
 *   per proto package inside the generated module (`crawl` → `<module>/crawl`,
 *   `modern.v1` → `<module>/modern/v1`, package `modernv1`; the file stem for
 *   files without a package).
 * * Every other (imported) file is *shared*: its code lives at an import path
 *   that does not depend on the caller, so two callers generated separately
 *   from protos that import it reference the same Go package and one copy of
 *   it is registered in a program. That path is, in order: a
 *   `--go-import <file.proto>=<import path>` mapping, the file's
 *   `option go_package`, else `example.com/msec/proto/<proto package as
 *   path>`. Each shared Go package is written as its own small Go module
 *   under `shared/<import path>/` (module path = import path, version
 *   v0.0.0), which every caller that imports it carries byte-identically.
 * * Well-known types keep their own `go_package`
 *   (`google.golang.org/protobuf/types/known/…`) and are not generated.
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";
import { goDirName, goPackageName } from "./go-identifier.js";

/** Module path of the Go runtime every generated caller imports (package `msec`). */
export const RUNTIME_MODULE = "github.com/msec-gen/msec-gen/runtimes/go";
/** Package name of the runtime (its import path ends in `go`, so imports name it). */
export const RUNTIME_PACKAGE = "msec";
/** Folder of the bundled runtime module inside a generated caller. */
export const RUNTIME_DIR = "runtime";
/** Folder of the shared message modules inside a generated caller. */
export const SHARED_DIR = "shared";
/** Import path prefix of shared files that have neither a `--go-import` mapping nor a `go_package`. */
export const SHARED_PREFIX = "example.com/msec/proto";
/** Version of every shared message module (resolved by `replace`, never fetched). */
export const SHARED_VERSION = "v0.0.0";

/** A Go package: import path, directory relative to the caller folder, package name. */
export interface GoPackage {
  readonly importPath: string;
  /** `""` for packages outside the generated folder (well-known types). */
  readonly dir: string;
  readonly name: string;
  /** Shared package: written as its own module at `dir` (module path = `importPath`). */
  readonly shared: boolean;
}

/** Default module path from the routing name: `VOA.Crawl` → `example.com/msec/voa/crawl`. */
export function defaultModulePath(routingName: string): string {
  return `example.com/msec/${routingName.split(".").map((s) => s.toLowerCase()).join("/")}`;
}

/** True when `path` is a Go module / import path (slash-separated elements of `[A-Za-z0-9._~-]`). */
function isGoPath(path: string): boolean {
  return path.split("/").every((e) => /^[A-Za-z0-9._~-]+$/.test(e) && !e.startsWith(".") && !e.endsWith("."));
}

/** Checks a `--go-module` value against Go's module path syntax (path elements of `[A-Za-z0-9._~-]`). */
export function checkModulePath(modulePath: string): string {
  if (!isGoPath(modulePath)) {
    throw new UserError(`--go-module ${JSON.stringify(modulePath)} is not a Go module path (slash-separated elements of letters, digits and ._~-, e.g. example.com/team/crawl)`);
  }
  return modulePath;
}

/**
 * Parses `--go-import` values `<file.proto>=<import path>[;<package name>]` into a map
 * file → go_package-style value.
 */
export function parseGoImports(values: readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const value of values ?? []) {
    const eq = value.indexOf("=");
    const file = value.slice(0, eq);
    const target = value.slice(eq + 1);
    const [importPath, name] = target.split(";") as [string, string | undefined];
    if (eq <= 0 || !file.endsWith(".proto") || !isGoPath(importPath) || (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))) {
      throw new UserError(`--go-import ${JSON.stringify(value)} is not <file.proto>=<Go import path>[;<package name>] (e.g. common/types.proto=example.com/acme/protos/common)`);
    }
    if (map.has(file) && map.get(file) !== target) throw new UserError(`--go-import maps ${file} twice`);
    map.set(file, target);
  }
  return map;
}

/** True for the well-known types that google.golang.org/protobuf ships. */
export function isWellKnown(fileName: string): boolean {
  return fileName.startsWith("google/protobuf/");
}

/** Proto package segments, or the file stem for files without a package. */
function segmentsOf(file: FileDescriptorProto): string[] {
  return file.package !== "" ? file.package.split(".") : [file.name.replace(/\.proto$/, "").split("/").pop()!];
}

/** Go package name for segments: the last one, joined with the previous one for `v1`-style versions. */
function nameOf(segments: readonly string[]): string {
  const last = segments[segments.length - 1]!;
  const previous = segments[segments.length - 2];
  return /^v[0-9]+$/.test(last) && previous !== undefined ? goPackageName(previous + last) : goPackageName(last);
}

/** The Go package of one of the caller's own files, inside the module `modulePath`. */
export function ownPackageOf(file: FileDescriptorProto, modulePath: string): GoPackage {
  const segments = segmentsOf(file);
  const dirs = segments.map(goDirName);
  if (dirs[0] === RUNTIME_DIR || dirs[0] === SHARED_DIR) dirs[0] = `${dirs[0]}pb`;
  const dir = dirs.join("/");
  return { importPath: `${modulePath}/${dir}`, dir, name: nameOf(segments), shared: false };
}

/**
 * The Go package of an imported (shared) file: `--go-import` mapping, else
 * `go_package`, else `example.com/msec/proto/<package path>`. A path inside
 * the caller's own module stays in the module.
 */
export function sharedPackageOf(
  file: FileDescriptorProto,
  modulePath: string,
  goImports: ReadonlyMap<string, string>,
  /** Where the `go_package` option is (`path:line:col`) for messages; default the import path. */
  where = file.name,
): GoPackage {
  const option = goImports.get(file.name) ?? file.options?.goPackage ?? "";
  let importPath: string;
  let name: string;
  if (option !== "") {
    const [path, explicitName] = option.split(";") as [string, string | undefined];
    if (!isGoPath(path)) {
      throw new UserError(`${where}: option go_package ${JSON.stringify(option)} is not a Go import path; map the file with --go-import ${file.name}=<import path>`);
    }
    importPath = path;
    name = explicitName ?? goPackageName(path.split("/").pop()!.replace(/[^A-Za-z0-9_]/g, "_"));
  } else {
    const segments = segmentsOf(file);
    importPath = `${SHARED_PREFIX}/${segments.map(goDirName).join("/")}`;
    name = nameOf(segments);
  }
  if (importPath === modulePath) {
    throw new UserError(`${file.name}: its Go import path ${importPath} is the caller's module root; map it elsewhere with --go-import`);
  }
  if (importPath.startsWith(`${modulePath}/`)) {
    return { importPath, dir: importPath.slice(modulePath.length + 1), name, shared: false };
  }
  return { importPath, dir: `${SHARED_DIR}/${importPath}`, name, shared: true };
}

/** The Go package of a well-known type (from its `go_package` option). */
export function wellKnownPackageOf(file: DescFile): GoPackage {
  const option = file.proto.options?.goPackage ?? "";
  const [importPath, explicitName] = option.split(";") as [string, string | undefined];
  return { importPath, dir: "", name: explicitName ?? importPath.split("/").pop()!, shared: false };
}
