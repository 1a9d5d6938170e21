/**
 * The pipeline: front end → model → targets → files (paths under the
 * package's top folder). Writing them is `writeOutput`'s job, so `generate`
 * has no side effects besides running buf in a temp directory.
 */
import { compileProtos, readDescriptorSet } from "./front-end.js";
import { buildModel, type ProtoModel } from "./model.js";
import { generatorVersion } from "./package-root.js";
import { defaultRoutingName, validateRoutingName } from "./routing-name.js";
import { LANGUAGE_OPTIONS, optionName } from "./language-options.js";
import { RUNTIME_MODES, type RuntimeMode, runtimeVersion } from "./runtime-artefact.js";
import type { GeneratedFile, LanguageSettings, Target, TargetKind, TargetOptions } from "./target.js";
import { findTarget, targetLanguages } from "./target-registry.js";
import { renderTemplate } from "./template-engine.js";
import { UserError } from "./user-error.js";

export interface GenerateOptions extends LanguageSettings {
  /** `server` (dev package) or `caller` (client libraries). */
  readonly kind: TargetKind;
  /** `.proto` files to compile; with `descriptorSetIn`, import paths of the set's files to generate (empty: all). */
  readonly protos?: readonly string[] | undefined;
  /** Include directories (`-I`). */
  readonly includes?: readonly string[] | undefined;
  /** A binary `FileDescriptorSet` to read instead of compiling `.proto` files. */
  readonly descriptorSetIn?: string | undefined;
  /**
   * Languages. A server takes exactly one (default `ts`). A caller defaults to every
   * registered caller language; a language that cannot be generated for this input or
   * on this machine is then skipped with a warning (`onWarning`), while a language named
   * explicitly fails the run.
   */
  readonly lang?: string | readonly string[] | undefined;
  /** Routing name `Group.Service`; default derived from the first service (see `defaultRoutingName`). */
  readonly name?: string | undefined;
  /** How manifests reference the runtime: `bundled` (default, carried under `runtime/`) or `registry`. */
  readonly runtime?: RuntimeMode | undefined;
  /** Version of the generated package; default from the proto package (`foo.v2` → 2.0.0), else 0.1.0. */
  readonly sdkVersion?: string | undefined;
  /** Base for relative paths (default `process.cwd()`). */
  readonly cwd?: string | undefined;
  /** Called with a short line before each step that takes time. */
  readonly onProgress?: ((message: string) => void) | undefined;
  /** Called when a defaulted caller language is skipped; default: nothing is reported. */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/** Language folders and titles for the caller tarball's top README. */
const LANGUAGE_TITLES: Record<string, string> = {
  ts: "TypeScript (npm package)",
  python: "Python",
  go: "Go",
  java: "Java",
  cpp: "C++",
  php: "PHP (Composer package)",
};

/**
 * Generate the files of a server dev package (`<name>-server-<lang>/…`) or a
 * caller tarball (`<name>-caller/<lang>/…` plus a top README). Throws
 * `UserError` for bad input.
 */
export async function generate(options: GenerateOptions): Promise<GeneratedFile[]> {
  resolveTargets(options); // reject bad options before compiling anything
  const model = await loadModel(options, options.onProgress);
  return generateFromModel(model, options);
}

/** The part of `generate` after the front end, for inputs that already are a model (plugin mode). */
export async function generateFromModel(
  model: ProtoModel,
  options: Omit<GenerateOptions, "protos" | "includes" | "descriptorSetIn" | "cwd">,
): Promise<GeneratedFile[]> {
  const progress = options.onProgress ?? (() => {});
  const { targets } = resolveTargets(options);
  const name = options.name ?? defaultRoutingName(model);
  const version = generatorVersion();
  const settings: Record<string, unknown> = {};
  for (const row of LANGUAGE_OPTIONS) settings[row.key] = options[row.key];
  const targetOptions: TargetOptions = {
    ...(settings as LanguageSettings),
    name,
    generatorVersion: version,
    runtime: options.runtime ?? "bundled",
    runtimeVersion: runtimeVersion(),
    sdkVersion: options.sdkVersion ?? defaultSdkVersion(model),
    onProgress: options.onProgress,
  };

  const out: GeneratedFile[] = [];
  if (options.kind === "server") {
    const target = targets[0]!;
    progress(`generating ${target.description} for ${name}`);
    const top = `${name}-server-${target.lang}`;
    for (const f of await target.generate(model, targetOptions)) out.push({ ...f, path: `${top}/${f.path}` });
    return out;
  }
  const top = `${name}-caller`;
  const generated: string[] = [];
  const skipped: UserError[] = [];
  for (const target of targets) {
    progress(`generating ${target.description} for ${name}`);
    let files: GeneratedFile[];
    try {
      files = await target.generate(model, targetOptions);
    } catch (err) {
      // Only languages the user did not ask for by name may be left out.
      if (options.lang !== undefined || !(err instanceof UserError)) throw err;
      options.onWarning?.(`skipping the ${target.lang} caller: ${err.message} (name languages with --lang)`);
      skipped.push(err);
      continue;
    }
    generated.push(target.lang);
    for (const f of files) out.push({ ...f, path: `${top}/${target.lang}/${f.path}` });
  }
  if (generated.length === 0 && skipped[0] !== undefined) throw skipped[0];
  out.push({
    path: `${top}/README.md`,
    content: renderTemplate("caller/README.md.hbs", {
      name,
      version,
      protoFiles: model.files.map((f) => f.name),
      languages: generated.map((lang) => ({ folder: lang, title: LANGUAGE_TITLES[lang] ?? lang })),
    }),
  });
  return out;
}

/** Compile or read the input and build the model. */
export async function loadModel(options: GenerateOptions, onProgress?: (message: string) => void): Promise<ProtoModel> {
  const progress = onProgress ?? (() => {});
  const protos = options.protos ?? [];
  if (options.descriptorSetIn !== undefined) {
    progress(`reading descriptor set ${options.descriptorSetIn}`);
    return buildModel(await readDescriptorSet(options.descriptorSetIn, protos, options.cwd));
  }
  progress(`compiling ${protos.length} .proto file${protos.length === 1 ? "" : "s"} with buf`);
  return buildModel(await compileProtos({ protos, includes: options.includes, cwd: options.cwd }));
}

/** Validate `lang`, `name` and every other option and look the targets up; `UserError` when invalid. */
function resolveTargets(options: Omit<GenerateOptions, "protos" | "includes" | "descriptorSetIn" | "cwd">): { langs: string[]; targets: Target[] } {
  const langs = parseLangs(options.lang ?? (options.kind === "caller" ? targetLanguages("caller") : ["ts"]));
  const targets = langs.map((lang) => findTarget(options.kind, lang));
  if (options.kind === "server" && targets.length !== 1) {
    throw new UserError(`a server is generated for one language at a time (got --lang ${langs.join(",")})`);
  }
  if (options.name !== undefined) validateRoutingName(options.name);
  if (options.runtime !== undefined && !RUNTIME_MODES.includes(options.runtime)) {
    throw new UserError(`--runtime must be ${RUNTIME_MODES.join(" or ")}, not ${JSON.stringify(options.runtime)}`);
  }
  if (options.sdkVersion !== undefined) validateSdkVersion(options.sdkVersion);
  for (const row of LANGUAGE_OPTIONS) {
    if (options[row.key] === undefined) continue;
    const flag = `--${optionName(row)}`;
    if (!row.kinds.includes(options.kind)) {
      throw new UserError(`${flag} applies to ${row.kinds.join(" and ")} packages, not to ${options.kind} packages`);
    }
    if (!langs.includes(row.lang)) {
      throw new UserError(`${flag} applies to the ${row.lang} ${options.kind}, which is not being generated (--lang ${langs.join(",")})`);
    }
  }
  return { langs, targets };
}

/** Semantic version `MAJOR.MINOR.PATCH` with an optional `-prerelease`: every ecosystem accepts it. */
const SDK_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z]+(\.[0-9A-Za-z]+)*)?$/;

function validateSdkVersion(version: string): void {
  if (!SDK_VERSION.test(version)) {
    throw new UserError(`--version ${JSON.stringify(version)} is not a version of the form MAJOR.MINOR.PATCH[-pre] (e.g. 1.2.0)`);
  }
}

/**
 * The generated package's default version: a versioned proto package
 * (`shop.billing.v2`, the buf convention) gives `2.0.0`; anything else `0.1.0`.
 */
export function defaultSdkVersion(model: ProtoModel): string {
  for (const file of model.files) {
    const last = file.proto.package.split(".").pop() ?? "";
    const m = /^v([1-9]\d*)(?:(?:alpha|beta)\d*)?$/.exec(last);
    if (m !== null) return `${m[1]}.0.0`;
  }
  return "0.1.0";
}

function parseLangs(lang: string | readonly string[]): string[] {
  const list = (typeof lang === "string" ? [lang] : [...lang])
    .flatMap((l) => l.split(","))
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (list.length === 0) throw new UserError("--lang is empty");
  return [...new Set(list)];
}
