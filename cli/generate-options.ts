/**
 * The options of `msec-gen server` and `msec-gen caller`, in one table: the
 * commands register their flags from it, and `msec-gen.yaml` entries take one
 * key per row (the long flag name, e.g. `go-module`), so a new option — or a
 * new language's row in `LANGUAGE_OPTIONS` — is a config key without further
 * work. Per-language rows come from generator/language-options.ts.
 */
import type { GenerateOptions } from "../generator/generate.js";
import { LANGUAGE_OPTIONS } from "../generator/language-options.js";
import type { RuntimeMode } from "../generator/runtime-artefact.js";
import { generatorVersion } from "../generator/package-root.js";
import type { LanguageSettings, TargetKind } from "../generator/target.js";

export interface GenerateOption {
  /** commander flag with short alias and value placeholder, e.g. `-I, --include <dir>`. */
  readonly flag: string;
  /** commander's attribute name (camelCase of the long flag). */
  readonly key: string;
  readonly kinds: readonly TargetKind[];
  readonly description: (kind: TargetKind) => string;
  /** Repeatable flag collecting a list; a list (or one string) in the config. */
  readonly repeatable?: boolean;
  readonly defaultValue?: string | string[];
  /**
   * Key in a `msec-gen.yaml` entry: the long flag name unless given here;
   * `null` for options of one run rather than of an output (`--quiet`, `--dir`).
   */
  readonly configKey?: string | null;
  /** The value names files or folders: relative to the config file in `msec-gen.yaml`. */
  readonly isPath?: boolean;
  /** The config accepts a list for this single-valued flag (joined with commas). */
  readonly commaList?: boolean;
}

const BOTH: readonly TargetKind[] = ["server", "caller"];

/** Options every generating command has, before the per-language ones. */
const COMMON_OPTIONS: readonly GenerateOption[] = [
  {
    flag: "-n, --name <Group.Service>",
    key: "name",
    kinds: BOTH,
    description: () =>
      'MSEC routing name: two levels, each 1-32 characters, a letter then [A-Za-z0-9_-] (default: <last package segment>.<first service without "Service">)',
  },
  {
    flag: "-I, --include <dir>",
    key: "include",
    kinds: BOTH,
    description: () => "include directory for imports (repeatable; default: each file's own directory)",
    repeatable: true,
    defaultValue: [],
    isPath: true,
  },
  { flag: "-o, --output <dir>", key: "output", kinds: BOTH, description: () => "output directory", defaultValue: ".", configKey: "out", isPath: true },
  {
    flag: "--dir",
    key: "dir",
    kinds: BOTH,
    description: () => "write the unpacked tree instead of a .tgz (regenerating keeps existing handler files)",
    configKey: null,
  },
  {
    flag: "--lang <langs>",
    key: "lang",
    kinds: BOTH,
    description: (kind) =>
      kind === "server"
        ? "target language (default: ts)"
        : "comma-separated target languages (default: all; a language this machine or input cannot produce is skipped with a warning)",
    commaList: true,
  },
  {
    flag: "--descriptor-set-in <file>",
    key: "descriptorSetIn",
    kinds: BOTH,
    description: () => "read a binary FileDescriptorSet instead of compiling .proto files",
    isPath: true,
  },
  {
    flag: "--version <version>",
    key: "version",
    kinds: BOTH,
    description: () => "version of the generated package(s), MAJOR.MINOR.PATCH[-pre] (default: 2.0.0 for a proto package ending in .v2, else 0.1.0)",
  },
  {
    flag: "--runtime <mode>",
    key: "runtime",
    kinds: BOTH,
    description: () =>
      `how packages reference the msec-gen runtime of their language: bundled (a copy of the runtime ${generatorVersion()} artefact in runtime/, installs before anything is published) or registry (plain registry references)`,
    defaultValue: "bundled",
  },
  { flag: "-q, --quiet", key: "quiet", kinds: BOTH, description: () => "no progress lines on stderr", configKey: null },
  {
    flag: "--json",
    key: "json",
    kinds: BOTH,
    description: () => "print one JSON document on stdout (see docs/cli.md) instead of the output path",
    configKey: null,
  },
];

/** Every option of `kind`'s command, common ones first, then the per-language rows. */
export function generateOptions(kind: TargetKind): GenerateOption[] {
  const languageRows: GenerateOption[] = LANGUAGE_OPTIONS.map((row) => ({
    flag: row.flag,
    key: row.key,
    kinds: row.kinds,
    description: () => (row.repeatable === true ? `${row.description} (repeatable)` : row.description),
    ...(row.repeatable === true ? { repeatable: true } : {}),
  }));
  return [...COMMON_OPTIONS, ...languageRows].filter((o) => o.kinds.includes(kind));
}

/** Every option of either command (for config keys that exist but not for this entry's kind). */
export function allGenerateOptions(): GenerateOption[] {
  const seen = new Map<string, GenerateOption>();
  for (const kind of BOTH) for (const o of generateOptions(kind)) if (!seen.has(o.key)) seen.set(o.key, { ...o, kinds: kindsOf(o.key) });
  return [...seen.values()];
}

function kindsOf(key: string): TargetKind[] {
  return BOTH.filter((kind) => generateOptions(kind).some((o) => o.key === key));
}

/** The long flag name, e.g. `go-module` for `--go-module <path>`. */
export function longName(option: GenerateOption): string {
  const long = option.flag.split(/[ ,]+/).find((part) => part.startsWith("--"));
  if (long === undefined) throw new Error(`option without a long flag: ${option.flag}`);
  return long.slice(2);
}

/** The `msec-gen.yaml` entry key of an option, or `null` when the option is not per entry. */
export function configKey(option: GenerateOption): string | null {
  return option.configKey === undefined ? longName(option) : option.configKey;
}

/**
 * `GenerateOptions` from option values keyed by commander attribute name
 * (command-line flags, or a `msec-gen.yaml` entry's keys mapped the same way).
 */
export function toGenerateOptions(kind: TargetKind, protos: readonly string[], values: Readonly<Record<string, unknown>>): GenerateOptions {
  const settings: Record<string, unknown> = {};
  for (const row of LANGUAGE_OPTIONS) {
    const value = values[row.key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    settings[row.key] = value;
  }
  return {
    kind,
    protos,
    includes: values.include as string[] | undefined,
    descriptorSetIn: values.descriptorSetIn as string | undefined,
    lang: values.lang as string | string[] | undefined,
    name: values.name as string | undefined,
    runtime: values.runtime as RuntimeMode | undefined,
    sdkVersion: values.version as string | undefined,
    ...(settings as LanguageSettings),
  };
}
