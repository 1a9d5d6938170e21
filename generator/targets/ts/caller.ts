/**
 * The TypeScript caller library (`<name>-caller/ts/`): message code, one typed
 * client class per service on the runtime's `callMethodRaw`, an index, build
 * scripts producing `dist/` with type declarations.
 */
import type { ProtoModel } from "../../model.js";
import { assertTsCompilable } from "./ts-refusals.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { genImports, npmPackageName, PROTOBUF_ES_VERSION, protoSources, tsServices } from "./package-model.js";
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
      npmName: options.npmName ?? npmPackageName(options.name, "caller"),
      sdkVersion: options.sdkVersion,
      runtimeVersion: options.runtimeVersion,
      runtimePackage: RUNTIME_PACKAGE,
      runtimeSpec: runtime.spec,
      runtimeArchive: runtime.archive ?? false,
      tsImports: imports.map((i) => ({ file: i.file, pkg: i.pkg })),
      providers: [...new Set(imports.map((i) => i.pkg))].sort(),
      protobufVersion: PROTOBUF_ES_VERSION,
      protoFiles: model.files.map((f) => f.name),
      protos: protos.map((p) => p.path),
      hasProtos: protos.length > 0,
      modules: code.map((f) => f.path.replace(/\.ts$/, ".js")),
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
