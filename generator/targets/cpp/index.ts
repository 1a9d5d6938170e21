/**
 * The C++ caller library (`<name>-caller/cpp/`): an installable, versioned
 * CMake package (`find_package(<Package>)`, target `<Package>::<Package>`)
 * that compiles the service's `.proto` files with the system protoc at build
 * time (so message code always matches the libprotobuf it links) and declares
 * one blocking client class per service in the proto package's namespace.
 *
 * It links the runtime package MsecRuntime (`msec::runtime`, runtimes/cpp) by
 * name and version: an installed one when find_package finds it, else the
 * copy carried in `runtime/` (not written with `--runtime registry`).
 *
 * Shared imports: each .proto file's message code is its own target
 * `msec_pb::<protoc-escaped import path>`, defined only when no other package
 * in the consumer project has defined it, and installed in its own export
 * file, so two callers whose protos import the same file link one copy of its
 * message code (protobuf aborts on a file registered twice).
 */
import { createHash } from "node:crypto";
import type { MethodModel, ProtoModel, ServiceModel } from "../../model.js";
import { runtimeFiles } from "../../runtime-artefact.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { CLIENT_SERVICE_MEMBER, CPP_RESERVED, cppMessageType, cppNamespace, cppStringLiteral, escapeCppIdentifier, namespaceNames } from "./cpp-names.js";
import { assertCppCompilable } from "./cpp-refusals.js";
import { zeroInitStatements } from "./zero-init.js";

/** Template folder of this target, relative to `templates/`. */
const TEMPLATE_DIR = "caller/cpp";

/** A `--cpp-package` value: a CMake package name that is also a C identifier (it names the target and the include folder). */
const CPP_PACKAGE_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

interface CppMethodData {
  readonly member: string;
  /** The asynchronous member: `<member>Async`, escaped against every other member name of the class. */
  readonly asyncMember: string;
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
  /** Client header, relative to `include/`: `<package>/<proto stem>.msec.h`. */
  readonly header: string;
  /** Client source, relative to the package: `src/<proto stem>.msec.cc`. */
  readonly source: string;
  readonly pbHeader: string;
  readonly guard: string;
  readonly namespaces: readonly string[];
  /** `namespaces` innermost first, for the closing braces. */
  readonly namespacesReversed: readonly string[];
  /** C++ literal of the routing name clients use when given none. */
  readonly defaultService: string;
  readonly services: readonly CppServiceData[];
}

/** One .proto file whose message code is its own CMake target `msec_pb::<id>`. */
interface CppProtoData {
  /** Import path, e.g. `common/types.proto`. */
  readonly path: string;
  /** Import path escaped as protoc does for its descriptor tables: `common_2ftypes_2eproto`. */
  readonly id: string;
  /** SHA-256 of the .proto text: two packages may share the target only when built from the same file. */
  readonly sha256: string;
  /** Ids of the imported (non-well-known) files. */
  readonly deps: readonly string[];
  readonly content: string;
}

export const cppCallerTarget: Target = {
  kind: "caller",
  lang: "cpp",
  description: "C++ caller library (installable CMake package, protoc at build time, blocking clients)",
  generate(model: ProtoModel, options: TargetOptions): GeneratedFile[] {
    assertCppCompilable(model);
    const cppPackage = options.cppPackage ?? defaultCppPackage(options.name);
    if (!CPP_PACKAGE_RE.test(cppPackage)) {
      throw new UserError(`--cpp-package ${JSON.stringify(cppPackage)}: expected a CMake package name of letters, digits and _ starting with a letter`);
    }
    const sdkVersion = options.sdkVersion;
    const runtimeVersion = options.runtimeVersion;
    const bundled = options.runtime === "bundled";
    const protos = protoFiles(model);
    const clientNamespace = options.cppNamespace === undefined ? undefined : parseCppNamespace(options.cppNamespace);
    // With --cpp-namespace every file's clients share one namespace, so their names are taken across files.
    const sharedTaken = clientNamespace === undefined ? undefined : namespaceNames(model.registry, clientNamespace.join("."));
    const files = model.files
      .filter((f) => f.services.length > 0)
      .map((f) => {
        // Validates the proto package even when clients go elsewhere: protoc's message code must compile.
        cppNamespace(f.packageName);
        const namespaces = clientNamespace ?? (f.packageName === "" ? [] : f.packageName.split("."));
        const taken = sharedTaken ?? namespaceNames(model.registry, f.packageName);
        return fileData(options.name, cppPackage, f.stem, f.name, namespaces, taken, f.services);
      });
    const first = files[0]?.services[0];
    const firstMethod = first?.methods[0];
    const firstService = model.services[0];
    const cmakeVersion = numericVersion(sdkVersion);
    const data = {
      name: options.name,
      generatorVersion: options.generatorVersion,
      version: sdkVersion,
      cmakeVersion,
      // 0.x: a minor version may break the API, so 0.1 accepts 0.1.y only.
      compatibility: cmakeVersion.startsWith("0.") ? "SameMinorVersion" : "SameMajorVersion",
      compatibilityNote: cmakeVersion.startsWith("0.") ? "in 0.x a minor version may change the API" : "a major version may change the API",
      requestVersion: cmakeVersion.split(".").slice(0, 2).join("."),
      runtimeVersion: numericVersion(runtimeVersion),
      runtimeRequest: numericVersion(runtimeVersion).split(".").slice(0, 2).join("."),
      bundled,
      package: cppPackage,
      protos,
      protoTargets: protos.map((p) => `msec_pb::${p.id}`),
      clientSources: files.map((f) => f.source),
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
      { path: `cmake/${cppPackage}Config.cmake`, content: t("Config.cmake") },
      { path: "README.md", content: t("README.md") },
      { path: ".gitignore", content: "build/\n" },
    ];
    for (const f of files) {
      const render = (name: string): string => renderTemplate(`${TEMPLATE_DIR}/${name}.hbs`, { ...f, version: options.generatorVersion });
      out.push({ path: `include/${f.header}`, content: render("client.h") });
      out.push({ path: f.source, content: render("client.cc") });
    }
    for (const p of protos) out.push({ path: `proto/${p.path}`, content: p.content });
    // The runtime's CMake package source, without its tests (they read msec-gen's fixtures).
    if (bundled) out.push(...runtimeFiles("cpp", "runtime", (rel) => !rel.startsWith("tests/") && rel !== "test.sh"));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  },
};

/** Default CMake package name: `VOA.Crawl` → `VOACrawlCaller`, `shop-x.billing_v2` → `ShopXBillingV2Caller`. */
export function defaultCppPackage(routingName: string): string {
  const words = routingName.split(/[^A-Za-z0-9]+/).filter((w) => w !== "");
  const name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("") + "Caller";
  return /^[A-Za-z]/.test(name) ? name : `Msec${name}`;
}

/** `1.2.3-rc.1+b` → `1.2.3` (CMake versions are numeric). */
function numericVersion(version: string): string {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version);
  if (m === null) throw new UserError(`version ${JSON.stringify(version)}: a C++ package version must start with major.minor.patch digits`);
  return `${m[1]}.${m[2] ?? "0"}.${m[3] ?? "0"}`;
}

/** protoc's escaping of a file name into an identifier (`descriptor_table_<id>`): non-alphanumerics as `_` + hex. */
export function protoTargetId(protoPath: string): string {
  let out = "";
  for (const ch of Buffer.from(protoPath, "utf8")) {
    const c = String.fromCharCode(ch);
    out += /[A-Za-z0-9]/.test(c) ? c : `_${ch.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/**
 * The `.proto` files protoc compiles at build time: every non-well-known file
 * of the set, by import path. Their source text must be known (protoc needs
 * it), so a prebuilt descriptor set without sources cannot produce C++.
 */
function protoFiles(model: ProtoModel): CppProtoData[] {
  const byName = new Map(model.descriptorSet.file.map((f) => [f.name, f]));
  const wellKnown = (name: string): boolean => name.startsWith("google/protobuf/");
  const out: CppProtoData[] = [];
  const seen = new Set<string>();
  // Imports first: find_package includes the targets in this order.
  const visit = (name: string): void => {
    if (seen.has(name) || wellKnown(name)) return;
    seen.add(name);
    const file = byName.get(name);
    if (file === undefined) throw new Error(`${name}: not in the descriptor set`);
    for (const dep of file.dependency) visit(dep);
    const content = model.sources.get(name);
    if (content === undefined) {
      throw new UserError(
        `${name}: the C++ caller compiles .proto sources with protoc at build time, but this input has no source for it ` +
          `(a descriptor set?); generate from the .proto files or without --lang cpp`,
      );
    }
    out.push({
      path: name,
      id: protoTargetId(name),
      sha256: createHash("sha256").update(content, "utf8").digest("hex"),
      deps: file.dependency.filter((d) => !wellKnown(d)).map(protoTargetId),
      content,
    });
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return out;
}

/** `--cpp-namespace a::b` → `["a", "b"]`; `UserError` unless every part is a C++ identifier that is not a keyword. */
export function parseCppNamespace(text: string): string[] {
  const parts = text.split("::");
  const bad = parts.find((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) || CPP_RESERVED.has(p));
  if (bad !== undefined) {
    throw new UserError(
      `--cpp-namespace ${JSON.stringify(text)}: expected C++ namespace names separated by :: (e.g. voa::sdk), ` +
        `not ${bad === "" ? "an empty name" : JSON.stringify(bad)}`,
    );
  }
  return parts;
}

function fileData(
  routingName: string,
  cppPackage: string,
  stem: string,
  protoFile: string,
  namespaces: readonly string[],
  taken: Set<string>,
  services: readonly ServiceModel[],
): CppFileData {
  const ns = namespaces.map((n) => `::${n}`).join("");
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
      methods: methodsData(service.methods, memberTaken),
    };
  });
  return {
    protoFile,
    header: `${cppPackage}/${stem}.msec.h`,
    source: `src/${stem}.msec.cc`,
    pbHeader: `${stem}.pb.h`,
    guard: `MSEC_GEN_${cppPackage.toUpperCase()}_${stem.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_MSEC_H_`,
    namespaces,
    namespacesReversed: [...namespaces].reverse(),
    defaultService: cppStringLiteral(routingName),
    services: data,
  };
}

/** The client members of a service's rpcs: blocking ones first, then the `…Async` ones, none clashing with another. */
function methodsData(methods: readonly MethodModel[], taken: ReadonlySet<string>): CppMethodData[] {
  const named = methods.map((m) => ({ method: m, member: escapeCppIdentifier(m.name, taken) }));
  const used = new Set([...taken, ...named.map((n) => n.member)]);
  return named.map(({ method, member }) => {
    const asyncMember = escapeCppIdentifier(`${member}Async`, used);
    used.add(asyncMember);
    return methodData(method, member, asyncMember);
  });
}

function methodData(method: MethodModel, member: string, asyncMember: string): CppMethodData {
  return {
    member,
    asyncMember,
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
