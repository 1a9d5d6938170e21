/**
 * The PHP caller library (`<name>-caller/php/`): a Composer package with the
 * message classes of every file of the set (protoc's PHP generator, see
 * protoc-php.ts) under `src/`, one typed client class per service beside its
 * file's messages, `composer.json` and a README. It depends on the runtime
 * (`msec-gen/runtime`, MSEC's `callmethod` and the client, routing, NLB) by
 * name and version, and on `google/protobuf`; the bundled runtime sits in
 * `runtime/` (with a `google/protobuf` stand-in for Debian's
 * php-google-protobuf in `runtime/debian-protobuf/`).
 */
import type { ProtoModel, ServiceModel } from "../../model.js";
import { runtimeFiles } from "../../runtime-artefact.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { composerName, freeName, PHP_RESERVED, phpNamespace, phpString } from "./php-names.js";
import { assertPhpRepresentable } from "./php-refusals.js";
import { messageClasses, protocPhp } from "./protoc-php.js";

export const phpCallerTarget: Target = {
  kind: "caller",
  lang: "php",
  description: "PHP caller library (Composer package, protoc --php_out messages, typed clients, MSEC's callmethod)",
  generate: generatePhpCaller,
};

/** Folder of the bundled runtime inside the package. */
const RUNTIME_FOLDER = "runtime";
/** Composer name of the runtime package (runtimes/php/composer.json). */
const RUNTIME_PACKAGE = "msec-gen/runtime";
/** Versions of google/protobuf the message code loads on (3.21 with the runtime's aliases, 4.x natively). */
const PROTOBUF_CONSTRAINT = "^3.21 || ^4.0";
/** Members of every client class; rpc method names are escaped around them. */
const CLIENT_MEMBERS = [
  "__construct", "callMany", "stream", "DEFAULT_SERVICE", "service", "timeoutMs", "client",
  // PHP magic methods: an rpc of that name would change what the class does
  "__destruct", "__call", "__callStatic", "__get", "__set", "__isset", "__unset", "__sleep", "__wakeup",
  "__serialize", "__unserialize", "__toString", "__invoke", "__set_state", "__clone", "__debugInfo",
];

interface ClientMethod {
  readonly member: string;
  readonly callMember: string;
  readonly wireName: string;
  readonly input: string;
  readonly output: string;
  readonly doc: string;
}

interface ClientClass {
  readonly namespace: string;
  readonly name: string;
  readonly fqcn: string;
  readonly doc: string;
  readonly serviceName: string;
  readonly methods: readonly ClientMethod[];
}

function docBlock(text: string, indent: string): string[] {
  const lines = text.replace(/\*\//g, "*\\/").split("\n");
  return [`${indent}/**`, ...lines.map((l) => (l.trim() === "" ? `${indent} *` : `${indent} * ${l.trimEnd()}`)), `${indent} */`];
}

/** The google/protobuf package's class of a well-known type (`google.protobuf.Empty` → `\\Google\\Protobuf\\GPBEmpty`). */
function wellKnownClass(typeName: string): string | undefined {
  if (!typeName.startsWith("google.protobuf.")) return undefined;
  const parts = typeName.slice("google.protobuf.".length).split(".");
  return "\\Google\\Protobuf\\" + parts.map((p) => (PHP_RESERVED.has(p.toLowerCase()) ? `GPB${p}` : p)).join("\\");
}

function lcfirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function clientClass(service: ServiceModel, model: ProtoModel, classes: ReadonlyMap<string, string>): ClientClass {
  const file = model.registry.getFile(service.file);
  if (file === undefined) throw new Error(`no descriptor for ${service.file}`);
  const namespace = phpNamespace(file);
  const siblings = new Set([...classes.values()].filter((c) => c.slice(1, c.lastIndexOf("\\")) === namespace).map((c) => c.slice(c.lastIndexOf("\\") + 1).toLowerCase()));
  const name = freeName(`${service.name}Client`, siblings);
  const members = new Set(CLIENT_MEMBERS.map((m) => m.toLowerCase()));
  const classOf = (typeName: string): string => {
    const c = classes.get(typeName) ?? wellKnownClass(typeName);
    if (c === undefined) throw new Error(`protoc wrote no PHP class for ${typeName}`);
    return c;
  };
  const methods = service.methods.map((m) => {
    const member = freeName(lcfirst(m.name), members);
    members.add(member.toLowerCase());
    const callMember = freeName(`${member}Call`, members);
    members.add(callMember.toLowerCase());
    return {
      member,
      callMember,
      wireName: m.wireName,
      input: classOf(m.input.typeName),
      output: classOf(m.output.typeName),
      doc: (m.comments.leading ?? m.comments.trailing ?? "").trim(),
    };
  });
  return { namespace, name, fqcn: `\\${namespace === "" ? "" : namespace + "\\"}${name}`, doc: (service.comments.leading ?? "").trim(), serviceName: service.typeName, methods };
}

function clientFile(c: ClientClass, routingName: string, head: string): string {
  const out: string[] = ["<?php", "", `// ${head}`, "", "declare(strict_types=1);", ""];
  if (c.namespace !== "") out.push(`namespace ${c.namespace};`, "");
  const classDoc = [
    ...(c.doc === "" ? [] : [c.doc, ""]),
    `Typed client of \`${c.serviceName}\`. Failures throw \\Msec\\SrpcError (getCode() is the SRPC code).`,
    "",
    "`$service` is a routing name (`Group.Service`, resolved through etcd or the routes file) or a",
    "literal address `ip:port[@tcp|@udp]`. `$client` is the runtime client whose connections the",
    "calls use (default: the process-wide one). `$timeoutMs` is the default per-call budget",
    "(null: the runtime's 800 ms).",
  ].join("\n");
  out.push(...docBlock(classDoc, ""));
  out.push(`final class ${c.name}`, "{");
  out.push("    /** Routing name called unless the constructor is given another name or a literal address. */");
  out.push(`    public const DEFAULT_SERVICE = ${phpString(routingName)};`, "");
  out.push("    private readonly \\Msec\\Client $client;", "");
  out.push("    public function __construct(");
  out.push("        public readonly string $service = self::DEFAULT_SERVICE,");
  out.push("        ?\\Msec\\Client $client = null,");
  out.push("        public readonly ?int $timeoutMs = null,");
  out.push("    ) {");
  out.push("        $this->client = $client ?? \\Msec\\Client::shared();");
  out.push("    }");
  for (const m of c.methods) {
    const doc = `${m.doc === "" ? "" : m.doc + "\n\n"}Calls \`${m.wireName}\`.\n\n@param int|null $timeoutMs whole-call budget (null: the client's default)\n@param int $retries extra picks after a refused connection (routing names only)\n@throws \\Msec\\SrpcError`;
    out.push("");
    out.push(...docBlock(doc, "    "));
    out.push(`    public function ${m.member}(${m.input} $request, ?int $timeoutMs = null, int $retries = 0): ${m.output}`);
    out.push("    {");
    out.push(`        return $this->client->call($this->service, ${phpString(m.wireName)}, $request, ${m.output}::class, $timeoutMs ?? $this->timeoutMs, $retries);`);
    out.push("    }");
    out.push("");
    out.push(...docBlock(`\`${m.member}()\` as a \\Msec\\Call for callMany(): several calls in flight at once.`, "    "));
    out.push(`    public function ${m.callMember}(${m.input} $request, ?int $timeoutMs = null, int $retries = 0): \\Msec\\Call`);
    out.push("    {");
    out.push(`        return new \\Msec\\Call($this->service, ${phpString(m.wireName)}, $request, ${m.output}::class, $timeoutMs ?? $this->timeoutMs, $retries);`);
    out.push("    }");
  }
  out.push("");
  out.push(...docBlock("Issues every call at once (calls to one address share its connection) and waits for all.\n\n@param list<\\Msec\\Call> $calls\n@return list<\\Google\\Protobuf\\Internal\\Message|string|\\Msec\\SrpcError> the reply or the error of each call, in order", "    "));
  out.push("    public function callMany(array $calls): array");
  out.push("    {");
  out.push("        return $this->client->callMany($calls);");
  out.push("    }");
  out.push("");
  out.push(...docBlock("Runs `$calls` with up to `$window` in flight, yielding each outcome as it arrives (key: the call's position).\n\n@param iterable<\\Msec\\Call> $calls\n@return \\Generator<int, \\Google\\Protobuf\\Internal\\Message|string|\\Msec\\SrpcError>", "    "));
  out.push("    public function stream(iterable $calls, int $window = 64): \\Generator");
  out.push("    {");
  out.push("        return $this->client->stream($calls, $window);");
  out.push("    }");
  out.push("}");
  return out.join("\n") + "\n";
}

/** The files of the Composer package, paths relative to `php/`. */
export async function generatePhpCaller(model: ProtoModel, options: TargetOptions): Promise<GeneratedFile[]> {
  if (model.services.length === 0) throw new UserError("the PHP caller needs at least one service in the requested files");
  assertPhpRepresentable(model);
  const version = options.generatorVersion;
  const protoNames = model.descriptorSet.file.map((f) => f.name).filter((n) => !n.startsWith("google/protobuf/"));
  const sources = await protocPhp(model.descriptorSet, protoNames);
  const classes = messageClasses(sources);
  const files: GeneratedFile[] = sources.map((s) => ({ path: `src/${s.path}`, content: s.content }));

  const clients: ClientClass[] = [];
  const taken = new Set(sources.map((s) => s.path.toLowerCase()));
  for (const file of model.files) {
    for (const service of file.services) {
      const c = clientClass(service, model, classes);
      const rel = `src/${c.namespace === "" ? "" : c.namespace.replace(/\\/g, "/") + "/"}${c.name}.php`;
      if (taken.has(rel.slice(4).toLowerCase())) throw new UserError(`${service.typeName}: client class ${c.fqcn} would overwrite protoc's ${rel}`);
      taken.add(rel.slice(4).toLowerCase());
      files.push({ path: rel, content: clientFile(c, options.name, `Code generated by msec-gen v${version} from ${file.name}. DO NOT EDIT.`) });
      clients.push(c);
    }
  }

  // PSR-4: one entry per top-level folder of src/ (namespaces protoc and the clients use).
  const roots = [...new Set(files.map((f) => f.path.split("/")[1]!).filter((seg) => !seg.endsWith(".php")))].sort();
  const rootFiles = files.some((f) => f.path.split("/").length === 2);
  const bundled = options.runtime === "bundled";
  const pkg = composerName(options.name);
  const composer = {
    name: pkg,
    description: `Caller library of the MSEC service ${options.name}: protobuf messages and typed clients (generated by msec-gen v${version}).`,
    type: "library",
    version: options.sdkVersion,
    require: { php: ">=8.1", [RUNTIME_PACKAGE]: options.runtimeVersion, "google/protobuf": PROTOBUF_CONSTRAINT },
    autoload: {
      "psr-4": Object.fromEntries([...roots.map((r) => [`${r}\\`, `src/${r}/`]), ...(rootFiles ? [["", "src/"]] : [])]),
    },
  };
  files.push({ path: "composer.json", content: JSON.stringify(composer, null, 4) + "\n" });
  if (bundled) files.push(...runtimeFiles("php", RUNTIME_FOLDER, (rel) => !rel.startsWith("tests/") && rel !== "test.sh"));

  const first = clients[0]!;
  const firstMethod = first.methods[0];
  const data = {
    version,
    name: options.name,
    pkg,
    sdkVersion: options.sdkVersion,
    runtimePackage: RUNTIME_PACKAGE,
    runtimeVersion: options.runtimeVersion,
    protobufConstraint: PROTOBUF_CONSTRAINT,
    bundled,
    runtimeFolder: RUNTIME_FOLDER,
    protoFiles: model.files.map((f) => f.name),
    clients: clients.map((c) => ({ fqcn: c.fqcn.slice(1), methods: c.methods })),
    example:
      firstMethod === undefined
        ? { hasMethod: false }
        : { hasMethod: true, client: first.fqcn.slice(1), method: firstMethod.member, callMember: firstMethod.callMember, request: firstMethod.input.slice(1), wireName: firstMethod.wireName },
  };
  files.push({ path: "README.md", content: renderTemplate("caller/php/README.md.hbs", data) });
  return files;
}
