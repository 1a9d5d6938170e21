/**
 * The C++ caller library (`<name>-caller/cpp/`): a CMake project that
 * compiles the service's `.proto` files with the system protoc at build time
 * (so message code always matches the libprotobuf it links), a small SRPC
 * runtime (framing, routing, pooled TCP / UDP transport with timeouts) and one
 * blocking client class per service in the proto package's namespace.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { MethodModel, ProtoModel, ServiceModel } from "../../model.js";
import { packageRoot } from "../../package-root.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { CLIENT_SERVICE_MEMBER, cppMessageType, cppNamespace, cppStringLiteral, escapeCppIdentifier, namespaceNames } from "./cpp-names.js";
import { zeroInitStatements } from "./zero-init.js";

/** Template folder of this target, relative to `templates/`. */
const TEMPLATE_DIR = "caller/cpp";
/** Folders copied verbatim into every package (the runtime and its framing test). */
const STATIC_DIRS = ["runtime", "tests"];

interface CppMethodData {
  readonly member: string;
  readonly wireName: string;
  readonly wireLiteral: string;
  readonly inputType: string;
  readonly outputType: string;
  readonly comment: readonly string[];
}

interface CppServiceData {
  readonly name: string;
  readonly typeName: string;
  readonly className: string;
  /** `crawl::CrawlServiceClient` (no leading `::`), for docs. */
  readonly qualifiedName: string;
  readonly comment: readonly string[];
  readonly methods: readonly CppMethodData[];
}

interface CppFileData {
  readonly protoFile: string;
  readonly header: string;
  readonly pbHeader: string;
  readonly guard: string;
  readonly namespaces: readonly string[];
  /** `namespaces` innermost first, for the closing braces. */
  readonly namespacesReversed: readonly string[];
  /** C++ literal of the routing name clients use when given none. */
  readonly defaultService: string;
  readonly services: readonly CppServiceData[];
}

export const cppCallerTarget: Target = {
  kind: "caller",
  lang: "cpp",
  description: "C++ caller library (CMake project, protoc at build time, blocking clients)",
  generate(model: ProtoModel, options: TargetOptions): GeneratedFile[] {
    const protos = protoFiles(model);
    const files = model.files.filter((f) => f.services.length > 0).map((f) => fileData(model, options.name, f.stem, f.name, f.packageName, f.services));
    const library = libraryName(options.name);
    const first = files[0]?.services[0];
    const firstMethod = first?.methods[0];
    const firstService = model.services[0];
    const data = {
      name: options.name,
      version: options.generatorVersion,
      cmakeVersion: options.generatorVersion.replace(/[-+].*$/, ""),
      library,
      protos: protos.map((p) => p.path),
      clientSources: files.map((f) => `src/${f.header.replace(/\.h$/, ".cc")}`),
      files,
      example:
        first !== undefined && firstMethod !== undefined && firstService !== undefined
          ? {
              header: files[0]!.header,
              client: first.qualifiedName,
              method: firstMethod.member,
              request: firstMethod.inputType.replace(/^::/, ""),
              response: firstMethod.outputType.replace(/^::/, ""),
              wireName: firstMethod.wireName,
              requestInit: zeroInitStatements(firstService.methods[0]!.input.desc, "request"),
            }
          : undefined,
      hasExample: first !== undefined && firstMethod !== undefined,
      services: files.flatMap((f) => f.services),
    };
    const t = (file: string): string => renderTemplate(`${TEMPLATE_DIR}/${file}.hbs`, data);
    const out: GeneratedFile[] = [
      { path: "CMakeLists.txt", content: t("CMakeLists.txt") },
      { path: "README.md", content: t("README.md") },
      { path: ".gitignore", content: "build/\n" },
    ];
    for (const f of files) {
      const render = (name: string): string => renderTemplate(`${TEMPLATE_DIR}/${name}.hbs`, { ...f, version: options.generatorVersion });
      out.push({ path: `include/${f.header}`, content: render("client.h") });
      out.push({ path: `src/${f.header.replace(/\.h$/, ".cc")}`, content: render("client.cc") });
    }
    for (const p of protos) out.push({ path: `proto/${p.path}`, content: p.content });
    for (const dir of STATIC_DIRS) out.push(...staticFiles(dir));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
};

/** CMake target / project name: `VOA.Crawl` → `voa_crawl_caller`. */
export function libraryName(routingName: string): string {
  return `${routingName.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")}_caller`;
}

/**
 * The `.proto` files protoc compiles at build time: every non-well-known file
 * of the set, by import path. Their source text must be known (protoc needs
 * it), so a prebuilt descriptor set without sources cannot produce C++.
 */
function protoFiles(model: ProtoModel): Array<{ path: string; content: string }> {
  const out: Array<{ path: string; content: string }> = [];
  for (const file of model.descriptorSet.file) {
    if (file.name.startsWith("google/protobuf/")) continue;
    const content = model.sources.get(file.name);
    if (content === undefined) {
      throw new UserError(
        `${file.name}: the C++ caller compiles .proto sources with protoc at build time, but this input has no source for it ` +
          `(a descriptor set?); generate from the .proto files or without --lang cpp`,
      );
    }
    out.push({ path: file.name, content });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function fileData(model: ProtoModel, routingName: string, stem: string, protoFile: string, packageName: string, services: readonly ServiceModel[]): CppFileData {
  const ns = cppNamespace(packageName);
  const taken = namespaceNames(model.registry, packageName);
  const data: CppServiceData[] = services.map((service) => {
    const className = escapeCppIdentifier(`${service.name}Client`, taken);
    taken.add(className);
    const memberTaken = new Set([className, CLIENT_SERVICE_MEMBER]);
    return {
      name: service.name,
      typeName: service.typeName,
      className,
      qualifiedName: `${ns}::${className}`.replace(/^::/, ""),
      comment: commentLines(service.comments.leading, service.comments.trailing),
      methods: service.methods.map((m) => methodData(m, memberTaken)),
    };
  });
  return {
    protoFile,
    header: `${stem}.msec.h`,
    pbHeader: `${stem}.pb.h`,
    guard: `MSEC_GEN_${stem.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_MSEC_H_`,
    namespaces: packageName === "" ? [] : packageName.split("."),
    namespacesReversed: packageName === "" ? [] : packageName.split(".").reverse(),
    defaultService: cppStringLiteral(routingName),
    services: data,
  };
}

function methodData(method: MethodModel, taken: ReadonlySet<string>): CppMethodData {
  return {
    member: escapeCppIdentifier(method.name, taken),
    wireName: method.wireName,
    wireLiteral: cppStringLiteral(method.wireName),
    inputType: cppMessageType(method.input.desc),
    outputType: cppMessageType(method.output.desc),
    comment: commentLines(method.comments.leading, method.comments.trailing),
  };
}

/** `.proto` comment text as lines safe inside a C++ block comment. */
function commentLines(...comments: Array<string | undefined>): string[] {
  return comments
    .filter((c): c is string => c !== undefined)
    .flatMap((c) => c.replace(/\n$/, "").split("\n"))
    .map((l) => l.trim().replace(/\*\//g, "* /"))
    .filter((l) => l !== "");
}

/** Files of `templates/caller/cpp/<dir>`, verbatim, in path order. */
function staticFiles(dir: string): GeneratedFile[] {
  const root = path.join(packageRoot(), "templates", TEMPLATE_DIR);
  const out: GeneratedFile[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else out.push({ path: child, content: readFileSync(path.join(root, child), "utf8") });
    }
  };
  walk(dir);
  return out;
}
