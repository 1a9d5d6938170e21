/**
 * The TypeScript server dev package: generated message and service code, one
 * handler skeleton per service (user-owned), a main entry, config, a smoke
 * test over real sockets, build/test/package scripts.
 */
import type { ProtoModel } from "../../model.js";
import { assertTsCompilable } from "./ts-refusals.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { genImports, chosenNpmName, PROTOBUF_ES_RANGE, protoSources, tsServices } from "./package-model.js";
import { RUNTIME_PACKAGE, tsRuntimeDependency } from "./runtime-dependency.js";
import { generateTsCode } from "./ts-code.js";
import { openApiJson } from "../../openapi.js";

export const tsServerTarget: Target = {
  kind: "server",
  lang: "ts",
  description: "TypeScript server dev package (Node >= 20, msec-gen runtime)",
  generate(model: ProtoModel, options: TargetOptions): GeneratedFile[] {
    if (model.services.length === 0) {
      throw new UserError(
        `${model.files.map((f) => f.name).join(", ")}: no service to serve; a server needs at least one "service" declaration`,
      );
    }
    assertTsCompilable(model);
    const services = tsServices(model);
    const runtime = tsRuntimeDependency(options);
    const imports = genImports(services);
    const protos = protoSources(model);
    const data = {
      version: options.generatorVersion,
      name: options.name,
      npmName: chosenNpmName(options.npmName, options.name, "server"),
      sdkVersion: options.sdkVersion,
      runtimeVersion: options.runtimeVersion,
      runtimePackage: RUNTIME_PACKAGE,
      runtimeSpec: runtime.spec,
      runtimeArchive: runtime.archive ?? false,
      protobufRange: PROTOBUF_ES_RANGE,
      protoFiles: model.files.map((f) => f.name),
      protos: protos.map((p) => p.path),
      hasProtos: protos.length > 0,
      services,
      genImports: imports,
    };
    const t = (file: string): string => renderTemplate(`server/ts/${file}.hbs`, data);
    const files: GeneratedFile[] = [
      { path: "package.json", content: t("package.json") },
      { path: "tsconfig.json", content: t("tsconfig.json") },
      { path: "README.md", content: t("README.md") },
      { path: ".gitignore", content: t("gitignore") },
      // configuration is the user's once written: regeneration keeps it
      { path: "etc/config.ini", content: t("etc/config.ini"), userOwned: true },
      { path: "etc/routes.conf", content: t("etc/routes.conf"), userOwned: true },
      { path: "src/main.ts", content: t("src/main.ts") },
      // the JSON mode's OpenAPI document, served by src/main.ts at GET /openapi.json
      { path: "openapi.json", content: openApiJson(model, { name: options.name, version: options.sdkVersion, generatorVersion: options.generatorVersion }) },
      { path: "test/smoke.test.ts", content: t("test/smoke.test.ts") },
    ];
    files.push(...runtime.files);
    for (const p of protos) files.push({ path: `proto/${p.path}`, content: p.content });
    for (const f of generateTsCode(model, "server", options.name, options.generatorVersion)) {
      files.push({ path: `src/gen/${f.path}`, content: f.content });
    }
    for (const service of services) {
      files.push({
        path: `src/handlers/${service.handlerModule}.ts`,
        content: renderTemplate("server/ts/src/handler.ts.hbs", { ...data, service }),
        userOwned: true,
      });
    }
    return files;
  },
};
