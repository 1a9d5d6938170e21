/**
 * The Go caller library (`<name>-caller/go/`): a Go module with the message
 * code of the requested files (protoc-gen-go) and one client file per
 * `.proto` file with services, importing the runtime module
 * github.com/msec-gen/msec-gen/runtimes/go (package msec). Bundled mode
 * (default) carries that module in `runtime/` and points go.mod at it with a
 * `replace`; `--runtime registry` leaves both out. Imported files' message
 * code is written as shared modules under `shared/<import path>/` (see
 * go-package.ts), each with a `replace` in go.mod.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type DescFile, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { ProtoModel } from "../../model.js";
import { runtimeDir, runtimeFiles } from "../../runtime-artefact.js";
import { fileOptionLocation } from "../../proto-location.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { clientFile } from "./client-file.js";
import { assertGoCompilable } from "./go-refusals.js";
import { goCamelCase, goString, topLevelNames } from "./go-identifier.js";
import {
  checkModulePath,
  defaultModulePath,
  type GoPackage,
  isWellKnown,
  ownPackageOf,
  parseGoImports,
  RUNTIME_DIR,
  RUNTIME_MODULE,
  SHARED_VERSION,
  sharedPackageOf,
  wellKnownPackageOf,
} from "./go-package.js";
import { locateProtocGenGo, PROTOC_GEN_GO_VERSION, runProtocGenGo } from "./protoc-gen-go.js";

/**
 * The runtime module's go.mod (runtimes/go/go.mod): its `go` directive and
 * its requirements. Every generated go.mod takes that `go` version (Go
 * refuses a main module older than a dependency; the runtime's etcd client
 * go.etcd.io/etcd/client/v3 v3.7.3 declares go 1.26.0) and lists the
 * runtime's requirements as `// indirect` (Go ≥ 1.17 main modules list
 * every module their build uses), exactly what `go mod tidy` would add.
 */
function runtimeGoMod(): { goVersion: string; requires: { path: string; version: string }[] } {
  const text = readFileSync(path.join(runtimeDir("go"), "go.mod"), "utf8");
  const goVersion = /^go (\S+)$/m.exec(text)?.[1];
  if (goVersion === undefined) throw new Error("runtimes/go/go.mod has no go directive");
  const requires: { path: string; version: string }[] = [];
  for (const m of text.matchAll(/^(?:require )?\t?([a-z0-9.-]+\.[a-z]+\/\S+) (v\S+)/gm)) requires.push({ path: m[1]!, version: m[2]! });
  return { goVersion, requires };
}
const RUNTIME_GO_MOD = runtimeGoMod();
/** `go` directive of every generated go.mod: the runtime module's. */
export const GO_VERSION = RUNTIME_GO_MOD.goVersion;
/** The protobuf module every generated module requires. */
const PROTOBUF_MODULE = "google.golang.org/protobuf";

export const goCallerTarget: Target = {
  kind: "caller",
  lang: "go",
  description: "Go caller library (Go module, protoc-gen-go messages, typed clients)",
  async generate(model: ProtoModel, options: TargetOptions): Promise<GeneratedFile[]> {
    assertGoCompilable(model);
    return generateGoCaller(model, options, options.onProgress ?? (() => {}));
  },
};

/** A Go module version `v<semver>` from a version string, or a user error. */
function goVersionOf(version: string, what: string): string {
  if (!/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new UserError(`${what} ${JSON.stringify(version)} is not a semantic version (e.g. 0.1.0) usable as a Go module version`);
  }
  return `v${version}`;
}

/** The files of the Go module, paths relative to `go/`. */
export async function generateGoCaller(model: ProtoModel, options: TargetOptions, progress: (message: string) => void): Promise<GeneratedFile[]> {
  const sdkVersion = goVersionOf(options.sdkVersion, "--version");
  const runtimeVersion = goVersionOf(options.runtimeVersion, "the runtime version");
  const bundled = options.runtime === "bundled";
  const major = Number(sdkVersion.slice(1).split(".")[0]);
  let modulePath = options.goModule !== undefined ? checkModulePath(options.goModule) : defaultModulePath(options.name);
  if (major >= 2 && options.goModule === undefined) modulePath = `${modulePath}/v${major}`;
  if (major >= 2 && !modulePath.endsWith(`/v${major}`)) {
    throw new UserError(`--go-module ${modulePath}: Go requires the module path of version ${sdkVersion} to end in /v${major}`);
  }
  const goImports = parseGoImports(options.goImport);
  const own = new Set(model.files.map((f) => f.name));
  for (const file of goImports.keys()) {
    if (own.has(file)) throw new UserError(`--go-import ${file}: the file is one of the requested files; --go-import maps imported files only`);
    if (!model.descriptorSet.file.some((f) => f.name === file)) throw new UserError(`--go-import ${file}: no such file is imported`);
  }
  const generated = model.descriptorSet.file.filter((f) => !isWellKnown(f.name));
  const packages = new Map<string, GoPackage>(
    generated.map((f) => [f.name, own.has(f.name) ? ownPackageOf(f, modulePath) : sharedPackageOf(f, modulePath, goImports, fileOptionLocation(model, f, "go_package"))]),
  );
  const packageOf = (file: DescFile): GoPackage => packages.get(file.proto.name) ?? wellKnownPackageOf(file);
  const byImportPath = new Map<string, GoPackage>();
  for (const [file, pkg] of packages) {
    const seen = byImportPath.get(pkg.importPath);
    if (seen !== undefined && seen.name !== pkg.name) {
      throw new UserError(`${file}: Go package ${pkg.importPath} is named both ${seen.name} and ${pkg.name}; name it with --go-import ${file}=${pkg.importPath};<name>`);
    }
    byImportPath.set(pkg.importPath, pkg);
  }
  const parameter = generated
    .map((f) => {
      const pkg = packages.get(f.name)!;
      return `M${f.name}=${pkg.importPath};${pkg.name}`;
    })
    .join(",");

  const plugin = await locateProtocGenGo(progress);
  const response = await runProtocGenGo(plugin, model.descriptorSet.file, generated.map((f) => f.name), parameter);

  const files: GeneratedFile[] = [];
  const taken = new Map<string, Set<string>>(); // Go package dir → declared names
  for (const f of response.file) {
    const importPath = path.posix.dirname(f.name);
    const pkg = byImportPath.get(importPath);
    if (pkg === undefined) throw new Error(`protoc-gen-go wrote ${f.name} outside every mapped package`);
    files.push({ path: `${pkg.dir}/${path.posix.basename(f.name)}`, content: f.content });
    const names = taken.get(pkg.dir) ?? new Set<string>();
    for (const n of topLevelNames(f.content)) names.add(n);
    taken.set(pkg.dir, names);
  }

  for (const file of model.files) {
    if (file.services.length === 0) continue;
    const pkg = packages.get(file.name)!;
    const names = taken.get(pkg.dir) ?? new Set<string>();
    taken.set(pkg.dir, names);
    const stem = file.stem.split("/").pop()!;
    files.push({
      path: `${pkg.dir}/${stem}_msec.go`,
      content: clientFile({
        protoFile: file.name,
        generatorVersion: options.generatorVersion,
        pkg,
        packageOf,
        services: file.services,
        routingName: options.name,
        taken: names,
      }),
    });
  }

  // Shared modules: one go.mod (and go.sum) per shared Go package, requiring the shared packages it imports.
  const shared = [...byImportPath.values()].filter((p) => p.shared).sort((a, b) => compare(a.importPath, b.importPath));
  // The runtime module's go.sum: the hashes of google.golang.org/protobuf (and go-cmp in its graph),
  // the same module requirement every generated module has.
  const goSum = readFileSync(path.join(runtimeDir("go"), "go.sum"), "utf8");
  for (const pkg of shared) {
    const deps = new Set<string>();
    for (const f of generated) {
      if (packages.get(f.name) !== pkg) continue;
      for (const dep of f.dependency) {
        const depPkg = packages.get(dep);
        if (depPkg?.shared && depPkg.importPath !== pkg.importPath) deps.add(depPkg.importPath);
      }
    }
    const requires = [...[...deps].sort().map((p) => ({ path: p, version: SHARED_VERSION })), { path: PROTOBUF_MODULE, version: PROTOC_GEN_GO_VERSION }];
    files.push({ path: `${pkg.dir}/go.mod`, content: goMod(pkg.importPath, requires, []) }, { path: `${pkg.dir}/go.sum`, content: goSum });
  }

  const requires = [
    ...shared.map((p) => ({ path: p.importPath, version: SHARED_VERSION })),
    { path: RUNTIME_MODULE, version: runtimeVersion },
    { path: PROTOBUF_MODULE, version: PROTOC_GEN_GO_VERSION },
  ].sort((a, b) => compare(a.path, b.path));
  const indirect = RUNTIME_GO_MOD.requires.filter((r) => r.path !== PROTOBUF_MODULE).sort((a, b) => compare(a.path, b.path));
  const replaces = [
    ...shared.map((p) => ({ path: p.importPath, dir: `./${p.dir}` })),
    ...(bundled ? [{ path: RUNTIME_MODULE, dir: `./${RUNTIME_DIR}` }] : []),
  ].sort((a, b) => compare(a.path, b.path));

  const data = {
    version: options.generatorVersion,
    name: options.name,
    modulePath,
    lastSegment: options.name.split(".").pop()!.toLowerCase(),
    sdkVersion,
    runtimeModule: RUNTIME_MODULE,
    runtimeVersion,
    bundled,
    goVersion: GO_VERSION,
    protobufVersion: PROTOC_GEN_GO_VERSION,
    protoFiles: model.files.map((f) => f.name),
    packages: [...byImportPath.entries()]
      .filter(([, p]) => !p.shared)
      .map(([, p]) => p)
      .concat(shared)
      .map((p) => ({
        protos: generated.filter((f) => packages.get(f.name) === p).map((f) => f.name),
        importPath: p.importPath,
        name: p.name,
        shared: p.shared,
        dir: p.dir,
      })),
    shared: shared.map((p) => ({ importPath: p.importPath, dir: p.dir, version: SHARED_VERSION })),
    sharedVersion: SHARED_VERSION,
    example: exampleData(model, packages),
  };
  files.push(
    { path: "go.mod", content: goMod(modulePath, requires, replaces, indirect) },
    { path: "go.sum", content: goSum },
    { path: "README.md", content: renderTemplate("caller/go/README.md.hbs", data) },
  );
  if (bundled) files.push(...runtimeFiles("go", RUNTIME_DIR, isRuntimeModuleFile));
  return files.sort((a, b) => compare(a.path, b.path));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A go.mod as `go mod edit -fmt` writes it. */
function goMod(
  module: string,
  requires: readonly { path: string; version: string }[],
  replaces: readonly { path: string; dir: string }[],
  indirect: readonly { path: string; version: string }[] = [],
): string {
  const lines = [`module ${module}`, "", `go ${GO_VERSION}`, ""];
  if (requires.length === 1) lines.push(`require ${requires[0]!.path} ${requires[0]!.version}`);
  else lines.push("require (", ...requires.map((r) => `\t${r.path} ${r.version}`), ")");
  if (indirect.length > 0) lines.push("", "require (", ...indirect.map((r) => `\t${r.path} ${r.version} // indirect`), ")");
  if (replaces.length === 1) lines.push("", `replace ${replaces[0]!.path} => ${replaces[0]!.dir}`);
  else if (replaces.length > 1) lines.push("", "replace (", ...replaces.map((r) => `\t${r.path} => ${r.dir}`), ")");
  return `${lines.join("\n")}\n`;
}

/** Go expression of the zero value of a required scalar field (proto2 pointer fields), by ScalarType. */
const REQUIRED_ZERO: Readonly<Record<number, string>> = {
  [ScalarType.STRING]: 'proto.String("")',
  [ScalarType.BOOL]: "proto.Bool(false)",
  [ScalarType.INT32]: "proto.Int32(0)",
  [ScalarType.SINT32]: "proto.Int32(0)",
  [ScalarType.SFIXED32]: "proto.Int32(0)",
  [ScalarType.INT64]: "proto.Int64(0)",
  [ScalarType.SINT64]: "proto.Int64(0)",
  [ScalarType.SFIXED64]: "proto.Int64(0)",
  [ScalarType.UINT32]: "proto.Uint32(0)",
  [ScalarType.FIXED32]: "proto.Uint32(0)",
  [ScalarType.UINT64]: "proto.Uint64(0)",
  [ScalarType.FIXED64]: "proto.Uint64(0)",
  [ScalarType.FLOAT]: "proto.Float32(0)",
  [ScalarType.DOUBLE]: "proto.Float64(0)",
  [ScalarType.BYTES]: "[]byte{}",
};

/**
 * `Field: value` pairs that set every required field of `message` (so the
 * example's request encodes instead of failing with -8), or undefined when a
 * required field is not a scalar.
 */
function requiredFields(message: DescMessage): string[] | undefined {
  const out: string[] = [];
  for (const field of message.fields) {
    if (field.presence !== FeatureSet_FieldPresence.LEGACY_REQUIRED) continue;
    if (field.fieldKind !== "scalar") return undefined;
    out.push(`${goCamelCase(field.name)}: ${REQUIRED_ZERO[field.scalar]}`);
  }
  return out;
}

/**
 * Names for the README's usage example: the first method of a requested file
 * whose request type is declared in the service's own Go package and has no
 * required fields other than scalars (those are set to zero values).
 */
function exampleData(model: ProtoModel, packages: ReadonlyMap<string, GoPackage>) {
  for (const service of model.services) {
    const pkg = packages.get(service.file)!;
    for (const method of service.methods) {
      if (method.input.file !== service.file) continue;
      const fields = requiredFields(method.input.desc);
      if (fields === undefined) continue;
      const protoPackage = method.input.desc.file.proto.package;
      const relative = protoPackage === "" ? method.input.typeName : method.input.typeName.slice(protoPackage.length + 1);
      return {
        pkg: pkg.name,
        ctor: `New${goCamelCase(service.name)}Client`,
        method: goCamelCase(method.name),
        request: `&${pkg.name}.${goCamelCase(relative)}{${fields.join(", ")}}`,
        imports: [
          `msec ${goString(RUNTIME_MODULE)}`,
          goString(pkg.importPath),
          ...(fields.some((f) => f.includes("proto.")) ? [goString("google.golang.org/protobuf/proto")] : []),
        ].sort((x, y) => compare(x.slice(x.indexOf('"')), y.slice(y.indexOf('"')))),
        wireName: method.wireName,
      };
    }
  }
  return undefined;
}

/**
 * The runtime module's files a generated caller carries in `runtime/`: its
 * sources, go.mod and go.sum; not its tests (they read the vectors from the
 * msec-gen checkout), test.sh or README.
 */
function isRuntimeModuleFile(rel: string): boolean {
  return !rel.includes("/") && ((rel.endsWith(".go") && !rel.endsWith("_test.go")) || rel === "go.mod" || rel === "go.sum");
}
