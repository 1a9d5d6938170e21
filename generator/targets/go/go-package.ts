/**
 * Where each `.proto` file's Go code lives inside the generated module: one
 * Go package per proto package (`crawl` → `<module>/crawl`, `modern.v1` →
 * `<module>/modern/v1`, package `modernv1`), the file stem for files without
 * a package. Well-known types keep their own `go_package`
 * (`google.golang.org/protobuf/types/known/…`) and are not generated.
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";
import { goDirName, goPackageName } from "./go-identifier.js";

/** Folder of the small SRPC runtime inside every generated module. */
export const RUNTIME_DIR = "msec";

/** A Go package: import path, directory relative to the module root, package name. */
export interface GoPackage {
  readonly importPath: string;
  /** `""` for packages outside the module (well-known types). */
  readonly dir: string;
  readonly name: string;
}

/** Default module path from the routing name: `VOA.Crawl` → `example.com/msec/voa/crawl`. */
export function defaultModulePath(routingName: string): string {
  return `example.com/msec/${routingName.split(".").map((s) => s.toLowerCase()).join("/")}`;
}

/** Checks a `--go-module` value against Go's module path syntax (path elements of `[A-Za-z0-9._~-]`). */
export function checkModulePath(modulePath: string): string {
  const elements = modulePath.split("/");
  const valid = elements.every((e) => /^[A-Za-z0-9._~-]+$/.test(e) && !e.startsWith(".") && !e.endsWith("."));
  if (!valid) {
    throw new UserError(`--go-module ${JSON.stringify(modulePath)} is not a Go module path (slash-separated elements of letters, digits and ._~-, e.g. example.com/team/crawl)`);
  }
  return modulePath;
}

/** True for the well-known types that google.golang.org/protobuf ships. */
export function isWellKnown(fileName: string): boolean {
  return fileName.startsWith("google/protobuf/");
}

/** The Go package of a generated (non-well-known) file. */
export function goPackageOf(file: FileDescriptorProto, modulePath: string): GoPackage {
  const segments = file.package !== "" ? file.package.split(".") : [file.name.replace(/\.proto$/, "").split("/").pop()!];
  const dirs = segments.map(goDirName);
  if (dirs[0] === RUNTIME_DIR) dirs[0] = `${RUNTIME_DIR}pb`;
  const last = segments[segments.length - 1]!;
  const previous = segments[segments.length - 2];
  const name = /^v[0-9]+$/.test(last) && previous !== undefined ? goPackageName(previous + last) : goPackageName(last);
  const dir = dirs.join("/");
  return { importPath: `${modulePath}/${dir}`, dir, name };
}

/** The Go package of any file, including well-known types (from their `go_package` option). */
export function goPackageOfDesc(file: DescFile, modulePath: string): GoPackage {
  if (isWellKnown(file.proto.name)) {
    const option = file.proto.options?.goPackage ?? "";
    const [importPath, explicitName] = option.split(";") as [string, string | undefined];
    return { importPath, dir: "", name: explicitName ?? importPath.split("/").pop()! };
  }
  return goPackageOf(file.proto, modulePath);
}
