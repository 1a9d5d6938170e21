/**
 * The TypeScript caller library (`<name>-caller/ts/`): message code, one typed
 * client class per service on the runtime's `callMethodRaw`, an index, build
 * scripts producing `dist/` with type declarations.
 */
import type { ProtoModel } from "../../model.js";
import { assertTsCompilable } from "./ts-refusals.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { genImports, chosenNpmName, PROTOBUF_ES_RANGE, protoSources, tsServices } from "./package-model.js";
import { RUNTIME_PACKAGE, tsRuntimeDependency } from "./runtime-dependency.js";
import { generateTsCode } from "./ts-code.js";
import { parseTsImports } from "./ts-import.js";

export const tsCallerTarget: Target = {
  kind: "caller",
  lang: "ts",
  description: "TypeScript caller library (npm package, typed clients)",
  generate(model: ProtoModel, options: TargetOptions): GeneratedFile[] {
    assertTsCompilable(model);
    const imports = parseTsImports(options.tsImport, model);
    const code = generateTsCode(model, "caller", options.name, options.generatorVersion, imports);
    const protos = protoSources(model);
    const runtime = tsRuntimeDependency(options);
    const data = {
      version: options.generatorVersion,
      name: options.name,
      npmName: chosenNpmName(options.npmName, options.name, "caller"),
      sdkVersion: options.sdkVersion,
      runtimeVersion: options.runtimeVersion,
      runtimePackage: RUNTIME_PACKAGE,
      runtimeSpec: runtime.spec,
      runtimeArchive: runtime.archive ?? false,
      tsImports: imports.map((i) => ({ file: i.file, pkg: i.pkg })),
      providers: [...new Set(imports.map((i) => i.pkg))].sort(),
      protobufRange: PROTOBUF_ES_RANGE,
      protoFiles: model.files.map((f) => f.name),
      protos: protos.map((p) => p.path),
      hasProtos: protos.length > 0,
      modules: reExports(code),
      services: tsServices(model),
    };
    const t = (file: string): string => renderTemplate(`caller/ts/${file}.hbs`, data);
    const files: GeneratedFile[] = [
      { path: "package.json", content: t("package.json") },
      { path: "tsconfig.json", content: t("tsconfig.json") },
      { path: "README.md", content: t("README.md") },
      { path: ".gitignore", content: t("gitignore") },
      { path: "src/index.ts", content: t("src/index.ts") },
    ];
    files.push(...runtime.files);
    for (const p of protos) files.push({ path: `proto/${p.path}`, content: p.content });
    for (const f of code) files.push({ path: `src/gen/${f.path}`, content: f.content });
    return files;
  },
};

/**
 * How src/index.ts re-exports each generated module: `export *` when no
 * other module exports one of its names; otherwise (two .proto files that
 * declare the same names, where `export *` of both does not compile) its
 * unambiguous names one by one plus the whole module as a namespace named
 * after its path (`proto2/None_pb.ts` → `proto2_None_pb`).
 */
function reExports(code: ReadonlyArray<{ path: string; content: string | Uint8Array }>): Array<{ module: string; star: boolean; values: string[]; types: string[]; namespace: string }> {
  const exported = code.map((f) => {
    const text = typeof f.content === "string" ? f.content : Buffer.from(f.content).toString("utf8");
    const values: string[] = [];
    const types: string[] = [];
    for (const m of text.matchAll(/^export (?:declare )?(?:abstract )?(const|let|class|enum|function|type|interface) ([A-Za-z_$][A-Za-z0-9_$]*)/gm)) {
      (m[1] === "type" || m[1] === "interface" ? types : values).push(m[2]!);
    }
    return { path: f.path, values, types };
  });
  const count = new Map<string, number>();
  for (const e of exported) for (const n of new Set([...e.values, ...e.types])) count.set(n, (count.get(n) ?? 0) + 1);
  return exported.map((e) => {
    const unique = (n: string): boolean => count.get(n) === 1;
    const star = [...e.values, ...e.types].every(unique);
    return {
      module: e.path.replace(/\.ts$/, ".js"),
      star,
      values: star ? [] : [...new Set(e.values.filter(unique))],
      types: star ? [] : [...new Set(e.types.filter(unique))],
      namespace: e.path.replace(/\.ts$/, "").replace(/[^A-Za-z0-9_$]/g, "_"),
    };
  });
}
