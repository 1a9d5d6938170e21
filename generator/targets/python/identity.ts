/**
 * Who a generated Python package is: its distribution name and version
 * (pyproject `[project]`), its import package, and how it gets the runtime
 * (`msec-gen-runtime`, pinned to the version this msec-gen was built with).
 *
 * Bundled mode (the default) writes the runtime's source tree — the
 * `runtimes/python` project, without its tests — under `runtime/`: a folder pip
 * installs like any project (`pip install ./runtime ./`), readable and
 * byte-identical to the runtime msec-gen was tested with. A wheel was the
 * other choice; a source tree needs nothing more than the package itself
 * (both build with setuptools), shows up in review, and lets `main.py` and the
 * deployable plugin run the service straight from the folder. Registry mode
 * writes no `runtime/` and the dependency resolves from the index.
 */
import { runtimeFiles } from "../../runtime-artefact.js";
import type { GeneratedFile, TargetOptions } from "../../target.js";
import { UserError } from "../../user-error.js";
import { isPythonKeyword } from "./safe-identifier.js";

/** The runtime's distribution name (runtimes/python/pyproject.toml). */
export const RUNTIME_DIST = "msec-gen-runtime";
/** The folder of a generated package the bundled runtime is written to. */
export const RUNTIME_FOLDER = "runtime";
/** Import packages the runtime installs; generated packages must not install or shadow them. */
export const RUNTIME_PACKAGES: ReadonlySet<string> = new Set(["msec", "msec_impl"]);

export interface PythonIdentity {
  /** Distribution name (`[project] name`), e.g. `voa-crawl`. */
  readonly dist: string;
  /** Import package, e.g. `voa_crawl`. */
  readonly pkg: string;
  /** Version of the generated package (`[project] version`). */
  readonly version: string;
  /** The runtime requirement, e.g. `msec-gen-runtime==0.1.0`. */
  readonly runtimeRequirement: string;
  readonly runtimeVersion: string;
  /** True when the package carries the runtime under `runtime/`. */
  readonly bundled: boolean;
}

/** PEP 508 project name. */
const DIST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** A Python identifier we accept for a top-level import package (ASCII, PEP 8 style not enforced). */
const IMPORT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PEP 440 public version (the forms pip accepts, normalized spellings included). */
const PEP440 = /^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*|-[0-9]+)?(?:[-_.]?dev[-_.]?[0-9]*)?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;

/** PEP 503-normalized form of a name (`VOA.Crawl` → `voa-crawl`). */
export function normalizedDist(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Checks `--python-package`: one identifier, not a keyword, not the runtime's own packages. */
export function checkImportName(name: string, flag = "--python-package"): string {
  if (!IMPORT_NAME.test(name) || isPythonKeyword(name)) {
    throw new UserError(`${flag} ${JSON.stringify(name)}: want a Python identifier such as voa_crawl (letters, digits, _; not a keyword)`);
  }
  if (RUNTIME_PACKAGES.has(name)) throw new UserError(`${flag} ${JSON.stringify(name)}: that import name belongs to the runtime (${RUNTIME_DIST})`);
  return name;
}

export function pythonIdentity(options: TargetOptions, defaults: { dist: string; pkg: string }): PythonIdentity {
  const dist = options.pythonDist ?? defaults.dist;
  if (!DIST_NAME.test(dist)) throw new UserError(`--python-dist ${JSON.stringify(dist)}: want a PEP 508 name such as voa-crawl (letters, digits, ., _, -)`);
  if (normalizedDist(dist) === RUNTIME_DIST) throw new UserError(`--python-dist ${JSON.stringify(dist)}: that is the runtime's distribution name`);
  const pkg = options.pythonPackage === undefined ? defaults.pkg : checkImportName(options.pythonPackage);
  const version = options.sdkVersion;
  if (!PEP440.test(version)) throw new UserError(`version ${JSON.stringify(version)} is not a Python (PEP 440) version such as 1.2.0`);
  const rtVersion = options.runtimeVersion;
  return {
    dist,
    pkg,
    version,
    runtimeRequirement: `${RUNTIME_DIST}==${rtVersion}`,
    runtimeVersion: rtVersion,
    bundled: options.runtime !== "registry",
  };
}

/** The runtime project's files under `runtime/` (not its tests), or none in registry mode. */
export function bundledRuntime(identity: PythonIdentity): GeneratedFile[] {
  if (!identity.bundled) return [];
  return runtimeFiles("python", RUNTIME_FOLDER, (rel) => !rel.startsWith("tests/") && rel !== "test.sh");
}
