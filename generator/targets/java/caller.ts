/**
 * The Java caller library (`<name>-caller/java/`): a Maven project (Java 17)
 * with protoc-generated message classes and one client class per service
 * (blocking and `CompletableFuture` calls). It depends on the Java runtime
 * `io.github.msecgen:msec-runtime` (`runtimes/java/`) by version and holds
 * none of its source; with a bundled runtime it carries the runtime's Maven
 * project in `runtime/` (installed first, as its README says). Shared imported
 * files can come from other artifacts instead of being compiled here
 * (`--java-proto-dep`, see `proto-deps.ts`).
 */
import { clone, create } from "@bufbuild/protobuf";
import { type FileDescriptorProto, type FileDescriptorSet, FileDescriptorSetSchema, FileOptionsSchema } from "@bufbuild/protobuf/wkt";
import type { MethodModel, ProtoModel, ServiceModel } from "../../model.js";
import { fileOptionLocation } from "../../proto-location.js";
import { runtimeFiles } from "../../runtime-artefact.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { requiredSetters } from "./example-request.js";
import {
  defaultOuterClassName,
  isJavaIdentifier,
  isJavaPackage,
  type JavaFileNames,
  type JavaFileTable,
  javaClassName,
  javaPackageFrom,
  routingPackage,
  safeJavaIdentifier,
  safeMethodName,
  underscoresToCamelCase,
} from "./java-names.js";
import { assertJavaCompilable } from "./java-refusals.js";
import { type MavenCoordinates, mavenCoordinate, parseProtoDeps, planProtoDeps, type ProtoDepArtifact } from "./proto-deps.js";
import { PROTOBUF_JAVA_VERSION, PROTOC_VERSION, protocJava } from "./protoc-java.js";

/** Maven coordinates and package of the Java runtime (`runtimes/java/pom.xml`). */
export const JAVA_RUNTIME = { groupId: "io.github.msecgen", artifactId: "msec-runtime", javaPackage: "io.github.msecgen.runtime" } as const;

/** Maven plugins pinned in the generated pom (all from Maven Central, org.apache.maven.plugins). */
export const MAVEN_PLUGINS: ReadonlyArray<{ artifactId: string; version: string }> = [
  { artifactId: "maven-clean-plugin", version: "3.4.0" },
  { artifactId: "maven-resources-plugin", version: "3.3.1" },
  { artifactId: "maven-compiler-plugin", version: "3.13.0" },
  { artifactId: "maven-surefire-plugin", version: "3.5.2" },
  { artifactId: "maven-jar-plugin", version: "3.4.2" },
  { artifactId: "maven-install-plugin", version: "3.1.3" },
];

/** Files under `.proto` import paths that protobuf-java already contains. */
function isWellKnown(file: string): boolean {
  return file.startsWith("google/protobuf/");
}

/** The runtime's files a generated package carries: its Maven project without its tests. */
function isRuntimeArtefactFile(rel: string): boolean {
  return rel === "pom.xml" || rel === "README.md" || rel.startsWith("src/main/");
}

/**
 * Default groupId: `com.example.msec.<group>` (like the Go caller's
 * `example.com/msec/...` module path) — a placeholder the README tells the
 * user to replace with their own reverse domain (`--java-group-id`).
 */
export function defaultGroupId(routingName: string): string {
  return `com.example.msec.${routingName.split(".")[0]!.toLowerCase()}`;
}

/** Default artifactId: `<service>-caller`, lower-cased. */
export function defaultArtifactId(routingName: string): string {
  return `${routingName.split(".")[1]!.toLowerCase()}-caller`;
}

export const javaCallerTarget: Target = {
  kind: "caller",
  lang: "java",
  description: "Java caller library (Maven project, protobuf-java, typed clients)",
  async generate(model: ProtoModel, options: TargetOptions): Promise<GeneratedFile[]> {
    const basePackage = routingPackage(options.name);
    const own: MavenCoordinates = {
      groupId: mavenCoordinate("groupId", options.javaGroupId ?? defaultGroupId(options.name)),
      artifactId: mavenCoordinate("artifactId", options.javaArtifactId ?? defaultArtifactId(options.name)),
      version: mavenCoordinate("version", options.sdkVersion),
    };
    const protoDeps = planProtoDeps(parseProtoDeps(options.javaProtoDep ?? []), model.descriptorSet.file, own);
    const mapped = new Set(protoDeps.flatMap((a) => a.files));
    const bundled = options.runtime === "bundled";

    checkJavaFileOptions(model, mapped);
    const { set, table, generated } = javaDescriptorSet(model, basePackage);
    assertJavaCompilable(model, new Set(generated.filter((f) => !mapped.has(f))));
    const sources = await protocJava(set, generated.filter((f) => !mapped.has(f)));

    const services = javaServices(model, table);
    const first = services.find((s) => s.methods.length > 0);
    const firstMethod = first?.methods[0];
    const data = {
      version: options.generatorVersion,
      name: options.name,
      groupId: own.groupId,
      artifactId: own.artifactId,
      sdkVersion: own.version,
      groupIdIsDefault: options.javaGroupId === undefined,
      hasServices: services.length > 0,
      runtime: { ...JAVA_RUNTIME, version: options.runtimeVersion },
      bundled,
      protoDeps,
      protocVersion: PROTOC_VERSION,
      protobufJavaVersion: PROTOBUF_JAVA_VERSION,
      plugins: MAVEN_PLUGINS,
      protoFiles: model.files.map((f) => f.name),
      services,
      example:
        first !== undefined && firstMethod !== undefined
          ? exampleData(first, firstMethod)
          : false,
    };

    const files: GeneratedFile[] = [
      { path: "pom.xml", content: renderTemplate("caller/java/pom.xml.hbs", data) },
      { path: "README.md", content: renderTemplate("caller/java/README.md.hbs", data) },
      { path: ".gitignore", content: renderTemplate("caller/java/gitignore.hbs", data) },
    ];
    for (const s of sources) files.push({ path: `src/main/java/${s.path}`, content: s.content });
    for (const s of services) {
      const dir = s.javaPackage === "" ? "" : `${s.javaPackage.replace(/\./g, "/")}/`;
      files.push({ path: `src/main/java/${dir}${s.className}.java`, content: renderTemplate("caller/java/Client.java.hbs", { ...data, ...s }) });
    }
    for (const [name, content] of [...model.sources].filter(([n]) => !isWellKnown(n) && !mapped.has(n)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      files.push({ path: `proto/${name}`, content });
    }
    if (bundled) {
      if (data.hasServices) files.push(...runtimeFiles("java", "runtime", isRuntimeArtefactFile));
      for (const artifact of protoDeps) files.push(...(await protoDepProject(artifact, set, model, options.generatorVersion)));
    }
    return files;
  },
};

/**
 * `java_package` and `java_outer_classname` become folders and file names of
 * the Java sources: refuse values that are not Java names (`../../etc`, `a/b`)
 * before anything is generated, pointing at the option in the `.proto` file.
 */
function checkJavaFileOptions(model: ProtoModel, mapped: ReadonlySet<string>): void {
  for (const file of model.descriptorSet.file) {
    if (isWellKnown(file.name) || mapped.has(file.name)) continue;
    const pkg = file.options?.javaPackage;
    if (pkg !== undefined && pkg !== "" && !isJavaPackage(pkg)) {
      throw new UserError(
        `${fileOptionLocation(model, file, "java_package")}: option java_package ${JSON.stringify(pkg)} is not a Java package name (dot-separated Java identifiers, e.g. com.example.crawl)`,
      );
    }
    const outer = file.options?.javaOuterClassname;
    if (outer !== undefined && outer !== "" && !isJavaIdentifier(outer)) {
      throw new UserError(
        `${fileOptionLocation(model, file, "java_outer_classname")}: option java_outer_classname ${JSON.stringify(outer)} is not a Java class name (letters, digits, _ and $, not starting with a digit)`,
      );
    }
  }
}

/**
 * The Maven project of one `--java-proto-dep` artifact (`proto-deps/<artifactId>/`):
 * the mapped files' message classes, their `.proto` sources and a pom depending
 * on protobuf-java and on the other proto-dep artifacts its files import.
 * Nothing in it depends on the caller, so every caller writes the same bytes.
 */
async function protoDepProject(artifact: ProtoDepArtifact, set: FileDescriptorSet, model: ProtoModel, version: string): Promise<GeneratedFile[]> {
  const dir = `proto-deps/${artifact.artifactId}`;
  const data = { version, artifact, protocVersion: PROTOC_VERSION, protobufJavaVersion: PROTOBUF_JAVA_VERSION, plugins: MAVEN_PLUGINS };
  const files: GeneratedFile[] = [{ path: `${dir}/pom.xml`, content: renderTemplate("caller/java/proto-deps/pom.xml.hbs", data) }];
  for (const s of await protocJava(set, artifact.files)) files.push({ path: `${dir}/src/main/java/${s.path}`, content: s.content });
  for (const name of artifact.files) {
    const content = model.sources.get(name);
    if (content !== undefined) files.push({ path: `${dir}/proto/${name}`, content });
  }
  return files;
}

/**
 * The descriptor set protoc generates from: each non-well-known file gets an
 * explicit `java_package` (its own, else the escaped proto package, else the
 * routing name's package) and `java_outer_classname` (protoc's default), and
 * loses `java_generic_services` (the generated clients replace it).
 */
function javaDescriptorSet(model: ProtoModel, basePackage: string) {
  const set = clone(FileDescriptorSetSchema, model.descriptorSet);
  const table = new Map<string, JavaFileNames>();
  const generated: string[] = [];
  for (const file of set.file) {
    const opts = file.options ?? create(FileOptionsSchema);
    if (!isWellKnown(file.name)) {
      if (!opts.javaOuterClassname) opts.javaOuterClassname = defaultOuterClassName(file);
      if (!opts.javaPackage) opts.javaPackage = derivedJavaPackage(file, opts.javaOuterClassname, basePackage);
      opts.javaGenericServices = false;
      file.options = opts;
      escapeEnumValues(file);
      generated.push(file.name);
    }
    table.set(file.name, {
      javaPackage: opts.javaPackage || file.package,
      outerClass: opts.javaOuterClassname || defaultOuterClassName(file),
      multipleFiles: opts.javaMultipleFiles === true,
    });
  }
  return { set, table: table as JavaFileTable, generated };
}

/**
 * protoc's Java generator writes enum value names verbatim, so a value named
 * like a Java keyword (`new = 1;`) does not compile; such values get a `_`
 * suffix in the descriptor protoc sees (numbers, and so the wire, are
 * unchanged; only Java's text/JSON names of that value carry the suffix).
 */
function escapeEnumValues(file: FileDescriptorProto): void {
  const fix = (enums: FileDescriptorProto["enumType"]): void => {
    for (const e of enums) for (const v of e.value) v.name = safeJavaIdentifier(v.name);
  };
  const visit = (messages: FileDescriptorProto["messageType"]): void => {
    for (const m of messages) {
      fix(m.enumType);
      visit(m.nestedType);
    }
  };
  fix(file.enumType);
  visit(file.messageType);
}

/**
 * The Java package of a file without `java_package`: its escaped proto package,
 * else the routing name's package. When the first segment equals a class of the
 * package (`package MainLogic;` with outer class `MainLogic`), javac would read
 * `MainLogic.MainLogic.X` as a nested class of that class, so such a package is
 * lower-cased (the Java convention), and suffixed with `_` if it still clashes.
 */
function derivedJavaPackage(file: FileDescriptorProto, outerClass: string, basePackage: string): string {
  let pkg = file.package ? javaPackageFrom(file.package) : basePackage;
  const classes = new Set([outerClass, ...file.messageType.map((m) => m.name), ...file.enumType.map((e) => e.name), ...file.service.map((s) => `${s.name}Client`)]);
  const first = (p: string): string => p.split(".")[0]!;
  if (classes.has(first(pkg))) pkg = pkg.toLowerCase();
  while (classes.has(first(pkg))) pkg = pkg.replace(/^[^.]+/, (seg) => `${seg}_`);
  return pkg;
}

interface JavaMethod {
  readonly name: string;
  readonly wireName: string;
  readonly javaName: string;
  readonly asyncName: string;
  readonly inputClass: string;
  readonly outputClass: string;
  readonly requestSetters: string;
  readonly comment: readonly string[];
}

interface JavaService {
  readonly typeName: string;
  readonly protoFile: string;
  readonly javaPackage: string;
  /** `javaPackage + "."`, or `""` in the default package. */
  readonly javaPackageDot: string;
  readonly className: string;
  readonly qualifiedName: string;
  readonly comment: readonly string[];
  readonly methods: readonly JavaMethod[];
}

function javaServices(model: ProtoModel, table: JavaFileTable): JavaService[] {
  const taken = new Set<string>();
  return model.services.map((service) => {
    const facts = table.get(service.file);
    const javaPackage = facts?.javaPackage ?? "";
    let className = `${service.name}Client`;
    for (let n = 2; taken.has(`${javaPackage}.${className}`); n++) className = `${service.name}Client${n}`;
    taken.add(`${javaPackage}.${className}`);
    return {
      typeName: service.typeName,
      protoFile: service.file,
      javaPackage,
      javaPackageDot: javaPackage === "" ? "" : `${javaPackage}.`,
      className,
      qualifiedName: javaPackage === "" ? className : `${javaPackage}.${className}`,
      comment: javadocLines([service.comments.leading, service.comments.trailing]),
      methods: javaMethods(service, table),
    };
  });
}

function javaMethods(service: ServiceModel, table: JavaFileTable): JavaMethod[] {
  const taken = new Set<string>();
  const unique = (name: string): string => {
    let n = name;
    while (taken.has(n)) n = `${n}_`;
    taken.add(n);
    return n;
  };
  return service.methods.map((m: MethodModel) => {
    const base = underscoresToCamelCase(m.name, false);
    return {
      name: m.name,
      wireName: m.wireName,
      javaName: unique(safeMethodName(base)),
      asyncName: unique(`${base}Async`),
      inputClass: javaClassName(m.input.desc, table),
      outputClass: javaClassName(m.output.desc, table),
      requestSetters: requiredSetters(m.input.desc, table),
      comment: javadocLines([m.comments.leading, m.comments.trailing]),
    };
  });
}

/**
 * `.proto` comment lines made safe inside a Javadoc block: no `*\/`, no `@` tags, HTML
 * special characters escaped, and no backslash (javac reads `\u` escapes even in comments).
 */
function javadocLines(comments: ReadonlyArray<string | undefined>): string[] {
  return comments
    .filter((c): c is string => c !== undefined)
    .flatMap((c) => c.replace(/\n$/, "").split("\n"))
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => l.replace(/&/g, "&amp;").replace(/\\/g, "&#92;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\*\//g, "*&#47;").replace(/@/g, "&#64;"));
}

/** `java.lang` classes an example must not shadow with an import of a message class of the same simple name. */
const JAVA_LANG_NAMES = new Set([
  "Boolean", "Byte", "Character", "Class", "Double", "Enum", "Error", "Exception", "Float", "Integer", "Iterable",
  "Long", "Math", "Number", "Object", "Override", "Process", "Record", "Runnable", "Runtime", "RuntimeException",
  "Short", "String", "StringBuilder", "System", "Thread", "Throwable", "Void",
]);

/**
 * The README's usage example: imports for the client and the message classes,
 * except where an import would shadow `java.lang` or clash with another simple
 * name, in which case the example spells the class out in full.
 */
function exampleData(service: JavaService, method: JavaMethod) {
  const imports = [service.qualifiedName];
  const taken = new Map<string, string>([[service.className, service.qualifiedName], ["SrpcException", ""]]);
  const ref = (qualified: string): string => {
    const simple = qualified.slice(qualified.lastIndexOf(".") + 1);
    const owner = taken.get(simple);
    if (owner === qualified) return simple;
    if (owner !== undefined || JAVA_LANG_NAMES.has(simple) || !qualified.includes(".")) return qualified;
    taken.set(simple, qualified);
    imports.push(qualified);
    return simple;
  };
  const input = ref(method.inputClass);
  const output = ref(method.outputClass);
  return { imports, clientSimpleName: service.className, method: method.javaName, input, output, requestSetters: method.requestSetters };
}
