/**
 * How a generated TypeScript package depends on `@msec-gen/runtime`.
 *
 * Bundled (default): the packed runtime (`runtime/msec-gen-runtime-<v>.tgz`,
 * the exact archive `npm pack` makes of runtimes/ts) travels in the package
 * and `package.json` points at it with a `file:` spec, so `npm install` works
 * before anything is published. Registry: the plain version.
 *
 * A server is an application: the runtime is a dependency. A caller is a
 * library that other projects combine with more callers, and the runtime
 * keeps process-wide state (connection pools, balancer, routes), so it must
 * exist once per program: callers declare it as a peer dependency (and as a
 * dev dependency, to build themselves).
 */
import { runtimeFile } from "../../runtime-artefact.js";
import type { GeneratedFile, TargetOptions } from "../../target.js";

export const RUNTIME_PACKAGE = "@msec-gen/runtime";

export interface TsRuntimeDependency {
  /** npm spec for package.json (`file:runtime/…tgz` or the version). */
  readonly spec: string;
  /** The archive's path inside the package, when bundled. */
  readonly archive: string | undefined;
  /** Files to add to the package (the archive, when bundled). */
  readonly files: GeneratedFile[];
}

export function tsRuntimeDependency(options: TargetOptions): TsRuntimeDependency {
  if (options.runtime === "registry") return { spec: options.runtimeVersion, archive: undefined, files: [] };
  const archive = `runtime/msec-gen-runtime-${options.runtimeVersion}.tgz`;
  return {
    spec: `file:${archive}`,
    archive,
    files: [runtimeFile("ts", `msec-gen-runtime-${options.runtimeVersion}.tgz`, archive)],
  };
}
