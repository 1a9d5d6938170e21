/**
 * The Java caller library (`<name>-caller/java/`): a Maven project (Java 17)
 * with protoc-generated message classes, one client class per service
 * (blocking and `CompletableFuture` calls), a small SRPC runtime in
 * `<group>.<service>.srpc`, and JUnit tests of that runtime against the shared
 * wire vectors.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { clone, create } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorSetSchema, FileOptionsSchema } from "@bufbuild/protobuf/wkt";
import type { MethodModel, ProtoModel, ServiceModel } from "../../model.js";
import { packageRoot } from "../../package-root.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { requiredSetters } from "./example-request.js";
import {
  defaultOuterClassName,
  type JavaFileNames,
  type JavaFileTable,
  javaClassName,
  javaPackageFrom,
  routingPackage,
  safeJavaIdentifier,
  safeMethodName,
  underscoresToCamelCase,
} from "./java-names.js";
import { PROTOBUF_JAVA_VERSION, PROTOC_VERSION, protocJava } from "./protoc-java.js";

/** JUnit of the package's own tests (test scope only). */
export const JUNIT_VERSION = "5.11.4";

/** Maven plugins pinned in the generated pom (all from Maven Central, org.apache.maven.plugins). */
export const MAVEN_PLUGINS: ReadonlyArray<{ artifactId: string; version: string }> = [
  { artifactId: "maven-clean-plugin", version: "3.4.0" },
  { artifactId: "maven-resources-plugin", version: "3.3.1" },
  { artifactId: "maven-compiler-plugin", version: "3.13.0" },
  { artifactId: "maven-surefire-plugin", version: "3.5.2" },
  { artifactId: "maven-jar-plugin", version: "3.4.2" },
  { artifactId: "maven-install-plugin", version: "3.1.3" },
];

/** Runtime classes shipped in every package (`templates/caller/java/runtime/<Name>.java.hbs`). */
const RUNTIME_CLASSES = [
  "CallOptions",
  "ColorId",
  "Connection",
  "ConnectionPool",
  "Frame",
  "Route",
  "RoutesFile",
  "RpcHead",
  "SrpcClient",
  "SrpcCode",
  "SrpcException",
  "UdpExchange",
];

/** Test classes of the runtime (`templates/caller/java/test/<Name>.java.hbs`). */
const TEST_CLASSES = ["FrameVectorsTest", "Json", "RoutingTest"];

/** Files under `.proto` import paths that protobuf-java already contains. */
function isWellKnown(file: string): boolean {
  return file.startsWith("google/protobuf/");
}

export const javaCallerTarget: Target = {
  kind: "caller",
  lang: "java",
  description: "Java caller library (Maven project, protobuf-java, typed clients)",
  async generate(model: ProtoModel, options: TargetOptions): Promise<GeneratedFile[]> {
    const basePackage = routingPackage(options.name);
    const runtimePackage = `${basePackage}.srpc`;
    const [group, service] = options.name.split(".") as [string, string];
    const groupId = mavenCoordinate("groupId", options.javaGroupId ?? group.toLowerCase());
    const artifactId = mavenCoordinate("artifactId", options.javaArtifactId ?? `${service.toLowerCase()}-caller`);

    const { set, table, generated } = javaDescriptorSet(model, basePackage);
    const sources = await protocJava(set, generated);

    const services = javaServices(model, table);
    const first = services.find((s) => s.methods.length > 0);
    const firstMethod = first?.methods[0];
    const data = {
      version: options.generatorVersion,
      name: options.name,
      groupId,
      artifactId,
      runtimePackage,
      protocVersion: PROTOC_VERSION,
      protobufJavaVersion: PROTOBUF_JAVA_VERSION,
      junitVersion: JUNIT_VERSION,
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
    const runtimeDir = runtimePackage.replace(/\./g, "/");
    for (const cls of RUNTIME_CLASSES) {
      files.push({ path: `src/main/java/${runtimeDir}/${cls}.java`, content: renderTemplate(`caller/java/runtime/${cls}.java.hbs`, data) });
    }
    for (const cls of TEST_CLASSES) {
      files.push({ path: `src/test/java/${runtimeDir}/${cls}.java`, content: renderTemplate(`caller/java/test/${cls}.java.hbs`, data) });
    }
    const vectorsDir = path.join(packageRoot(), "templates", "caller", "java", "vectors");
    for (const name of readdirSync(vectorsDir).sort()) {
      files.push({ path: `src/test/resources/vectors/${name}`, content: readFileSync(path.join(vectorsDir, name), "utf8") });
    }
    for (const s of sources) files.push({ path: `src/main/java/${s.path}`, content: s.content });
    for (const s of services) {
      const dir = s.javaPackage === "" ? "" : `${s.javaPackage.replace(/\./g, "/")}/`;
      files.push({ path: `src/main/java/${dir}${s.className}.java`, content: renderTemplate("caller/java/Client.java.hbs", { ...data, ...s }) });
    }
    for (const [name, content] of [...model.sources].filter(([n]) => !isWellKnown(n)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      files.push({ path: `proto/${name}`, content });
    }
    return files;
  },
};

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

/** Maven coordinates: letters, digits, `_`, `-` and `.` (the characters Maven accepts in ids). */
function mavenCoordinate(what: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw new UserError(`invalid Java ${what} ${JSON.stringify(value)}: use letters, digits, "_", "-" and "."`);
  }
  return value;
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
