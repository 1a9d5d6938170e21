/**
 * Per-language options of generated packages (SDK identity and the like), in
 * one table: the CLI registers a flag per row (shown only for the commands in
 * `kinds`), plugin mode accepts the same keys in snake_case, and `generate`
 * rejects an option whose language is not being generated instead of
 * silently ignoring it.
 *
 * Adding an option: one row here, one optional field of the same name in
 * `LanguageSettings` (target.ts), and its use in the language's target.
 */
import type { LanguageSettings, TargetKind } from "./target.js";

export type LanguageOptionKey = keyof LanguageSettings;

export interface LanguageOption {
  /** commander flag with its value placeholder, e.g. `--go-module <path>`. */
  readonly flag: string;
  /** Field of `LanguageSettings` the value goes to. */
  readonly key: LanguageOptionKey;
  /** The language it applies to (`--lang` key). */
  readonly lang: string;
  /** The commands it applies to. */
  readonly kinds: readonly TargetKind[];
  /** One line for `--help`, including the default. */
  readonly description: string;
  /** Repeatable flag collecting a list (e.g. import mappings). */
  readonly repeatable?: boolean;
}

export const LANGUAGE_OPTIONS: readonly LanguageOption[] = [
  {
    flag: "--npm-name <name>",
    key: "npmName",
    lang: "ts",
    kinds: ["server", "caller"],
    description: "npm package name of the TypeScript package (default: <group>.<service>-server or -caller, lower-case, e.g. voa.crawl-caller)",
  },
  {
    flag: "--ts-import <file.proto=package>",
    key: "tsImport",
    lang: "ts",
    kinds: ["caller"],
    description: "TypeScript caller: take an imported .proto's message code from another generated caller package (e.g. common/types.proto=shop.billing-caller) instead of generating a copy",
    repeatable: true,
  },
  {
    flag: "--go-module <path>",
    key: "goModule",
    lang: "go",
    kinds: ["caller"],
    description: "Go module path of the Go caller (default: example.com/msec/<group>/<service>, lower-case; override it)",
  },
  {
    flag: "--go-import <file.proto=path>",
    key: "goImport",
    lang: "go",
    kinds: ["caller"],
    description:
      "Go import path of an imported .proto file's message code, like protoc-gen-go's M flag (default: its go_package, else example.com/msec/proto/<package as path>)",
    repeatable: true,
  },
  {
    flag: "--java-group-id <id>",
    key: "javaGroupId",
    lang: "java",
    kinds: ["caller"],
    description: "Maven groupId of the Java caller (default: com.example.msec.<group>, lower-case; override it)",
  },
  {
    flag: "--java-artifact-id <id>",
    key: "javaArtifactId",
    lang: "java",
    kinds: ["caller"],
    description: "Maven artifactId of the Java caller (default: <service>-caller, lower-case)",
  },
  {
    flag: "--cpp-package <name>",
    key: "cppPackage",
    lang: "cpp",
    kinds: ["caller"],
    description:
      "CMake package name of the C++ caller: find_package(<name>), target <name>::<name>, headers under include/<name>/ (default: the routing name in CamelCase + Caller, e.g. VOACrawlCaller)",
  },
  {
    flag: "--cpp-namespace <ns>",
    key: "cppNamespace",
    lang: "cpp",
    kinds: ["caller"],
    description: "C++ namespace of the C++ caller's client classes, e.g. voa::sdk (default: the proto package's, where protoc puts the messages)",
  },
  {
    flag: "--python-dist <name>",
    key: "pythonDist",
    lang: "python",
    kinds: ["server", "caller"],
    description: "Python distribution name (default: the routing name, e.g. voa-crawl; servers voa-crawl-server)",
  },
  {
    flag: "--python-package <name>",
    key: "pythonPackage",
    lang: "python",
    kinds: ["server", "caller"],
    description: "Python import package (default: the routing name in snake case, e.g. voa_crawl)",
  },
  {
    flag: "--python-import <file.proto=module>",
    key: "pythonImport",
    lang: "python",
    kinds: ["caller"],
    description: "Python caller: load a shared .proto's messages from an existing module (e.g. another caller's) instead of generating a copy",
    repeatable: true,
  },
  {
    flag: "--java-proto-dep <file.proto=groupId:artifactId:version>",
    key: "javaProtoDep",
    lang: "java",
    kinds: ["caller"],
    description: "take the classes of an imported .proto file from that Maven artifact instead of compiling them (shared imports of several callers)",
    repeatable: true,
  },
];

/** The long flag name without dashes and placeholder, e.g. `go-module`. */
export function optionName(option: LanguageOption): string {
  return option.flag.replace(/^--/, "").split(" ")[0]!;
}

/** The plugin-mode parameter key of an option, e.g. `go_module`. */
export function pluginKey(option: LanguageOption): string {
  return optionName(option).replace(/-/g, "_");
}
