/**
 * The contract between the pipeline and a language target.
 *
 * A target turns the language-neutral model into files; it never touches the
 * file system. The pipeline packs the files (tarball or directory) afterwards.
 */
import type { ProtoModel } from "./model.js";

/** What a target generates: a server dev package or a caller library. */
export type TargetKind = "server" | "caller";

/** One output file, path relative to the package root, `/`-separated. */
export interface GeneratedFile {
  /** Relative path inside the package, e.g. `src/gen/MainLogic_pb.ts`. Never absolute, never `..`. */
  readonly path: string;
  /** File content (UTF-8 text or raw bytes). */
  readonly content: string | Uint8Array;
  /** Executable files are packed with mode 0755, all others with 0644. */
  readonly executable?: boolean;
  /**
   * User-edited file (handler skeleton): written only when it does not exist yet,
   * so regenerating into an existing tree never overwrites the user's code.
   */
  readonly userOwned?: boolean;
}

/** Options every target receives, already validated by the pipeline. */
export interface TargetOptions {
  /** Routing name `Group.Service` (two levels, `[A-Za-z0-9_-]`). */
  readonly name: string;
  /** Version of msec-gen that generates the files (goes into headers and dependencies). */
  readonly generatorVersion: string;
  /**
   * npm spec of the runtime that generated TypeScript packages depend on
   * (default `^<generatorVersion>`; tests use `file:<checkout>`).
   */
  readonly runtimeSpec: string;
  /** Go module path of the Go caller (`--go-module`); default derived from `name` by the Go target. */
  readonly goModule?: string | undefined;
  /** Progress lines for steps that take long (e.g. building a toolchain plugin); absent when quiet. */
  readonly onProgress?: ((message: string) => void) | undefined;
  /** Maven groupId of the Java caller (`--java-group-id`); default: the routing name's group, lower-cased. */
  readonly javaGroupId?: string | undefined;
  /** Maven artifactId of the Java caller (`--java-artifact-id`); default: `<service lower-cased>-caller`. */
  readonly javaArtifactId?: string | undefined;
  /** Python distribution name (`--python-dist`); default: the routing name in PEP 503 form (`voa-crawl`, servers `voa-crawl-server`). */
  readonly pythonDist?: string | undefined;
  /** Python import package (`--python-package`); default: the routing name in snake case (`voa_crawl`). */
  readonly pythonPackage?: string | undefined;
  /** `<file.proto>=<module>` mappings (`--python-import`, repeatable): the caller imports that module instead of generating one. */
  readonly pythonImport?: readonly string[] | undefined;
  /** PROVISIONAL until the lead's plumbing: how generated packages get the runtime. */
  readonly runtime?: "bundled" | "registry" | undefined;
  /** PROVISIONAL until the lead's plumbing: version of the generated SDK. */
  readonly sdkVersion?: string | undefined;
}

/** One language + kind of output, e.g. the TypeScript server dev package. */
export interface Target {
  readonly kind: TargetKind;
  /** Language key used by `--lang`, e.g. `ts`, `python`. */
  readonly lang: string;
  /** One line for `--help` and docs. */
  readonly description: string;
  /**
   * Generate the files. Caller targets return paths relative to their own
   * language folder (`ts/…` is added by the pipeline); server targets return
   * paths relative to the package root.
   * Throw `UserError` for input the target cannot handle (e.g. no service).
   */
  generate(model: ProtoModel, options: TargetOptions): GeneratedFile[] | Promise<GeneratedFile[]>;
}
