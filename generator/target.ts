/**
 * The contract between the pipeline and a language target.
 *
 * A target turns the language-neutral model into files; it never touches the
 * file system. The pipeline packs the files (tarball or directory) afterwards.
 */
import type { ProtoModel } from "./model.js";
import type { RuntimeMode } from "./runtime-artefact.js";

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
  /**
   * A file of the runtime's artefact carried in the package's `runtime/` folder
   * (see runtime-artefact.ts); golden trees leave these out.
   */
  readonly runtimeArtefact?: boolean;
}

/**
 * Per-language settings (SDK identity and the like); each field is one row of
 * `LANGUAGE_OPTIONS` (language-options.ts), which gives its flag and default.
 */
export interface LanguageSettings {
  /** npm package name of the TypeScript package (`--npm-name`). */
  readonly npmName?: string | undefined;
  /** `<file.proto>=<npm package>` mappings of the TypeScript caller (`--ts-import`): take that file's message code from the package. */
  readonly tsImport?: readonly string[] | undefined;
  /** Go module path of the Go caller (`--go-module`). */
  readonly goModule?: string | undefined;
  /** `--go-import <file.proto>=<import path>[;<name>]` mappings of imported files (Go caller). */
  readonly goImport?: readonly string[] | undefined;
  /** Maven groupId of the Java caller (`--java-group-id`). */
  readonly javaGroupId?: string | undefined;
  /** Maven artifactId of the Java caller (`--java-artifact-id`). */
  readonly javaArtifactId?: string | undefined;
  /** CMake package name of the C++ caller (`--cpp-package`). */
  readonly cppPackage?: string | undefined;
  /** C++ namespace of the C++ caller's client classes (`--cpp-namespace`). */
  readonly cppNamespace?: string | undefined;
  /** Python distribution name (`--python-dist`); default: the routing name in PEP 503 form (`voa-crawl`, servers `voa-crawl-server`). */
  readonly pythonDist?: string | undefined;
  /** Python import package (`--python-package`); default: the routing name in snake case (`voa_crawl`). */
  readonly pythonPackage?: string | undefined;
  /** `<file.proto>=<module>` mappings of the Python caller (`--python-import`): import that module instead of generating one. */
  readonly pythonImport?: readonly string[] | undefined;
  /** Imported files whose Java classes come from another artifact (`--java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>`). */
  readonly javaProtoDep?: readonly string[] | undefined;
}

/** Options every target receives, already validated by the pipeline. */
export interface TargetOptions extends LanguageSettings {
  /** Routing name `Group.Service` (two levels, `[A-Za-z0-9_-]`). */
  readonly name: string;
  /** Version of msec-gen that generates the files (goes into headers and dependencies). */
  readonly generatorVersion: string;
  /**
   * `bundled` (default): the package carries its runtime artefact under
   * `runtime/` and its manifest points there, so it installs before anything is
   * published. `registry`: plain references to the published runtime.
   */
  readonly runtime: RuntimeMode;
  /** Version of every runtime (locked to msec-gen's version). */
  readonly runtimeVersion: string;
  /** Version of the generated package (`--version`; default from the proto package, else 0.1.0). */
  readonly sdkVersion: string;
  /** Progress lines for steps that take long (e.g. building a toolchain plugin); absent when quiet. */
  readonly onProgress?: ((message: string) => void) | undefined;
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
