/**
 * The Go caller library (`<name>-caller/go/`): a Go module with message code
 * from protoc-gen-go, one client file per `.proto` file with services, the
 * small SRPC runtime (`msec/`, with its tests and a copy of the shared wire
 * vectors), `go.mod`, a fixed `go.sum` and a README.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ProtoModel } from "../../model.js";
import { packageRoot } from "../../package-root.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { clientFile } from "./client-file.js";
import { goCamelCase, topLevelNames } from "./go-identifier.js";
import { checkModulePath, defaultModulePath, type GoPackage, goPackageOf, isWellKnown, RUNTIME_DIR } from "./go-package.js";
import { locateProtocGenGo, PROTOC_GEN_GO_VERSION, runProtocGenGo } from "./protoc-gen-go.js";

/** `go` directive of the generated go.mod: google.golang.org/protobuf v1.36.12 declares go 1.23. */
export const GO_VERSION = "1.23";

export const goCallerTarget: Target = {
  kind: "caller",
  lang: "go",
  description: "Go caller library (Go module, protoc-gen-go messages, typed clients)",
  async generate(model: ProtoModel, options: TargetOptions): Promise<GeneratedFile[]> {
    return generateGoCaller(model, options, options.onProgress ?? (() => {}));
  },
};

/** The files of the Go module, paths relative to `go/`. */
export async function generateGoCaller(model: ProtoModel, options: TargetOptions, progress: (message: string) => void): Promise<GeneratedFile[]> {
  const modulePath = options.goModule !== undefined ? checkModulePath(options.goModule) : defaultModulePath(options.name);
  const generated = model.descriptorSet.file.filter((f) => !isWellKnown(f.name));
  const packages = new Map<string, GoPackage>(generated.map((f) => [f.name, goPackageOf(f, modulePath)]));
  const parameter = [
    `module=${modulePath}`,
    ...generated.map((f) => {
      const pkg = packages.get(f.name)!;
      return `M${f.name}=${pkg.importPath};${pkg.name}`;
    }),
  ].join(",");

  const plugin = await locateProtocGenGo(progress);
  const response = await runProtocGenGo(plugin, model.descriptorSet.file, generated.map((f) => f.name), parameter);

  const files: GeneratedFile[] = [];
  const taken = new Map<string, Set<string>>(); // Go package dir → declared names
  for (const f of response.file) {
    files.push({ path: f.name, content: f.content });
    const dir = path.posix.dirname(f.name);
    const names = taken.get(dir) ?? new Set<string>();
    for (const n of topLevelNames(f.content)) names.add(n);
    taken.set(dir, names);
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
        modulePath,
        pkg,
        services: file.services,
        routingName: options.name,
        taken: names,
      }),
    });
  }

  const data = {
    version: options.generatorVersion,
    name: options.name,
    modulePath,
    goVersion: GO_VERSION,
    protobufVersion: PROTOC_GEN_GO_VERSION,
    protoFiles: model.files.map((f) => f.name),
    packages: model.files.map((f) => ({ proto: f.name, importPath: packages.get(f.name)!.importPath, name: packages.get(f.name)!.name })),
    example: exampleData(model, packages),
  };
  files.push(
    { path: "go.mod", content: renderTemplate("caller/go/go.mod.hbs", data) },
    { path: "go.sum", content: readFileSync(path.join(templateDir(), "go.sum"), "utf8") },
    { path: "README.md", content: renderTemplate("caller/go/README.md.hbs", data) },
  );
  for (const rel of runtimeFiles()) {
    files.push({ path: `${RUNTIME_DIR}/${rel}`, content: readFileSync(path.join(templateDir(), RUNTIME_DIR, rel), "utf8") });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Names for the README's usage example: the first service with a method whose
 * request type is declared in the service's own Go package.
 */
function exampleData(model: ProtoModel, packages: ReadonlyMap<string, GoPackage>) {
  for (const service of model.services) {
    const pkg = packages.get(service.file)!;
    const method = service.methods.find((m) => m.input.file === service.file);
    if (method === undefined) continue;
    const protoPackage = method.input.desc.file.proto.package;
    const relative = protoPackage === "" ? method.input.typeName : method.input.typeName.slice(protoPackage.length + 1);
    return {
      pkg: pkg.name,
      importPath: pkg.importPath,
      ctor: `New${goCamelCase(service.name)}Client`,
      method: goCamelCase(method.name),
      input: goCamelCase(relative),
      wireName: method.wireName,
    };
  }
  return undefined;
}

function templateDir(): string {
  return path.join(packageRoot(), "templates", "caller", "go");
}

/** The runtime's files (sources, tests, testdata), copied verbatim, sorted. */
function runtimeFiles(): string[] {
  const root = path.join(templateDir(), RUNTIME_DIR);
  const walk = (rel: string): string[] =>
    readdirSync(path.join(root, rel), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.posix.join(rel, e.name)) : [path.posix.join(rel, e.name)]))
      .sort();
  return walk("");
}
