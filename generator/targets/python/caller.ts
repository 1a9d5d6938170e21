/**
 * The Python caller library (`<name>-caller/python/`): an installable
 * package named after the routing name (`VOA.Crawl` → distribution `voa-crawl`,
 * import `voa_crawl`) holding the `_pb2` modules with `.pyi` stubs, one client
 * module per `.proto` file with services (sync and asyncio client classes),
 * MSEC's Python API re-exported, `pyproject.toml` and a README. It depends on
 * the runtime (`msec-gen-runtime`) by name and version; the bundled runtime's
 * source tree sits in `runtime/`, outside the package.
 *
 * A `.proto` imported by several services (e.g. `common/types.proto`) must
 * be loaded once per program: `--python-import <file.proto>=<module>` makes
 * this caller import an existing module (another caller's) instead of
 * generating its own copy.
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { MethodModel, ProtoModel, ServiceModel } from "../../model.js";
import type { GeneratedFile, Target, TargetOptions } from "../../target.js";
import { renderTemplate } from "../../template-engine.js";
import { UserError } from "../../user-error.js";
import { bundledRuntime, normalizedDist, pythonIdentity, RUNTIME_FOLDER, RUNTIME_PACKAGES } from "./identity.js";
import { writePb2Module } from "./pb2-module.js";
import { assertPythonRepresentable } from "./python-refusals.js";
import { docstring, writePb2Stub } from "./pb2-stub.js";
import { isPythonKeyword, PYTHON_KEYWORDS, pythonClassPath, pythonPackageName, safeMemberName, safeTopLevelName, snakeCase } from "./safe-identifier.js";
import { zeroInitKwargs } from "./zero-init.js";

export const pythonCallerTarget: Target = {
  kind: "caller",
  lang: "python",
  description: "Python caller library (pip package, _pb2 modules with stubs, sync and asyncio clients)",
  generate: generatePythonCaller,
};

/** Members of the generated client classes; rpc method names are escaped around them. */
const CLIENT_MEMBERS: ReadonlySet<string> = new Set([
  "service", "timeout_ms", "retries", "close",
  // names the class body refers to after the methods (annotations): a method of that name would shadow them
  "str", "int", "float", "object", "Optional", "Future", "Client", "AsyncClient", "DEFAULT_SERVICE",
]);

/** MSEC's Python functions (spec §5.5) re-exported at the package top, from the runtime's `msec_impl`. */
const MSEC_FUNCTIONS = ["CallMethod", "call_method_async", "callmethod_tcp", "getroute", "srpc_check_pkg", "srpc_deserialize", "srpc_serialize"];

/** Runtime names re-exported at the package top beside the MSEC functions. */
const RUNTIME_EXPORTS = ["AsyncClient", "Client", "SrpcError"];

function isWellKnown(file: DescFile): boolean {
  return file.name.startsWith("google/protobuf/");
}

/**
 * Flat module stem of a `.proto` file inside the package: `/`, `-` and `.`
 * become `_` (`shop/order-v1.proto` → `shop_order_v1`); a leading digit gets `_`.
 */
export function moduleStem(protoName: string): string {
  const stem = (protoName.endsWith(".proto") ? protoName.slice(0, -6) : protoName).replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(stem) ? `_${stem}` : stem;
}

/** `.proto` path → module another package provides for it (`--python-import`). */
type ImportMap = ReadonlyMap<string, string>;

/**
 * Python module of a `.proto` path: the mapped module (`--python-import`), the
 * protobuf package's for well-known types, else relative to the package.
 */
function pb2ModuleName(protoName: string, imported: ImportMap): string {
  const mapped = imported.get(protoName);
  if (mapped !== undefined) return mapped;
  if (protoName.startsWith("google/protobuf/")) return `${protoName.slice(0, -6).replace(/\//g, ".")}_pb2`;
  return `.${moduleStem(protoName)}_pb2`;
}

/**
 * Parses `--python-import <file.proto>=<module>` values against the files of the set.
 * A mapped file gets no `_pb2` module here; everything that uses it imports `<module>`.
 */
export function parsePythonImports(values: readonly string[], model: ProtoModel): Map<string, string> {
  const known = new Set(model.descriptorSet.file.map((f) => f.name));
  const out = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const file = eq < 0 ? "" : value.slice(0, eq);
    const module = eq < 0 ? "" : value.slice(eq + 1);
    if (file === "" || module === "") throw new UserError(`--python-import ${JSON.stringify(value)}: want <file.proto>=<python.module>, e.g. common/types.proto=shop_billing.common_types_pb2`);
    if (!known.has(file)) throw new UserError(`--python-import ${JSON.stringify(value)}: ${file} is not among the compiled files (${[...known].sort().join(", ")})`);
    if (file.startsWith("google/protobuf/")) throw new UserError(`--python-import ${JSON.stringify(value)}: well-known types always come from the protobuf package`);
    const parts = module.split(".");
    if (parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) || isPythonKeyword(p))) {
      throw new UserError(`--python-import ${JSON.stringify(value)}: ${JSON.stringify(module)} is not a dotted Python module name`);
    }
    if (RUNTIME_PACKAGES.has(parts[0]!)) throw new UserError(`--python-import ${JSON.stringify(value)}: ${parts[0]} is the runtime's package`);
    const before = out.get(file);
    if (before !== undefined && before !== module) throw new UserError(`--python-import maps ${file} twice (${before}, ${module})`);
    out.set(file, module);
  }
  return out;
}

/** Import line and alias by which generated modules refer to the `_pb2` module of `protoName`. */
function pb2Import(protoName: string, imported: ImportMap): { line: string; alias: string } {
  const mod = pb2ModuleName(protoName, imported);
  const alias = `_${mod.replace(/^\./, "").replace(/\./g, "_")}`;
  const lastDot = mod.lastIndexOf(".");
  const from = mod.startsWith(".") ? "." : mod.slice(0, lastDot);
  return { line: `from ${from} import ${mod.slice(lastDot + 1)} as ${alias}`, alias };
}

function header(version: string, protoNames: readonly string[]): string[] {
  return [`Code generated by msec-gen v${version} from ${protoNames.join(", ")}. DO NOT EDIT.`];
}

function comment(lines: readonly string[]): string {
  return lines.map((l) => `# ${l}`).join("\n") + "\n";
}

/** Python expression of a message class, from a module that imported its `_pb2` module. */
function messageExpr(ref: MethodModel["input"], imported: ImportMap): { expr: string; importLine: string } {
  const imp = pb2Import(ref.file, imported);
  return { expr: `${imp.alias}.${pythonClassPath(ref.desc)}`, importLine: imp.line };
}

interface ClientMethod {
  readonly member: string;
  /** The blocking client's method returning a `concurrent.futures.Future` (`<member>_future`, escaped). */
  readonly futureMember: string;
  readonly wireName: string;
  readonly input: string;
  readonly output: string;
  readonly doc: string;
  /** The request: `.proto` file, class path inside its module, keyword arguments setting every required field. */
  readonly inputFile: string;
  readonly inputLocal: string;
  readonly inputInit: string;
}

interface ClientClass {
  readonly sync: string;
  readonly async: string;
  readonly doc: string;
  readonly methods: readonly ClientMethod[];
}

/** Client class names and method members of a service, escaped and unique. */
function clientClass(service: ServiceModel, imports: Set<string>, taken: Set<string>, imported: ImportMap): ClientClass {
  const sync = safeTopLevelName(`${service.name}Client`, taken);
  taken.add(sync);
  const asyncName = safeTopLevelName(`Async${service.name}Client`, taken);
  taken.add(asyncName);
  const members = new Set(CLIENT_MEMBERS);
  const methods = service.methods.map((m) => {
    const member = safeMemberName(snakeCase(m.name), members);
    members.add(member);
    const input = messageExpr(m.input, imported);
    const output = messageExpr(m.output, imported);
    imports.add(input.importLine);
    imports.add(output.importLine);
    const c = m.comments;
    return {
      member,
      futureMember: "",
      wireName: m.wireName,
      input: input.expr,
      output: output.expr,
      doc: c.leading ?? c.trailing ?? "",
      inputFile: m.input.file,
      inputLocal: pythonClassPath(m.input.desc),
      inputInit: zeroInitKwargs(m.input.desc),
    };
  });
  // Future variants are named after every rpc member is taken, so an rpc named `EchoFuture` keeps its name.
  const withFutures = methods.map((m) => {
    const futureMember = safeMemberName(`${m.member}_future`, members);
    members.add(futureMember);
    return { ...m, futureMember };
  });
  return { sync, async: asyncName, doc: service.comments.leading ?? "", methods: withFutures };
}

/** The client module (`<stem>_msec.py`) of one `.proto` file and its stub. */
function clientModule(classes: readonly ClientClass[], imports: ReadonlySet<string>, routingName: string, head: readonly string[]): { py: string; pyi: string } {
  const py: string[] = [];
  const pyi: string[] = [];
  const common = [
    "from concurrent.futures import Future",
    "from typing import Optional",
    "",
    "from msec.client import AsyncClient, Client",
    ...[...imports].sort(),
  ];
  py.push(comment(head).trimEnd(), '"""Typed SRPC clients (blocking and asyncio); failures raise SrpcError with the SRPC code."""', ...common, "");
  py.push(`#: Routing name the clients call unless given another name or a literal \`ip:port[@tcp|@udp]\`.`);
  py.push(`DEFAULT_SERVICE = ${JSON.stringify(routingName)}`);
  pyi.push(comment(head).trimEnd(), ...common, "", "DEFAULT_SERVICE: str");
  for (const c of classes) {
    for (const kind of ["sync", "async"] as const) {
      const isAsync = kind === "async";
      const name = isAsync ? c.async : c.sync;
      const runtime = isAsync ? "AsyncClient" : "Client";
      const aw = isAsync ? "await " : "";
      const ad = isAsync ? "async " : "";
      const classDoc = `${c.doc === "" ? "" : c.doc.trim() + "\n\n"}${isAsync ? "asyncio" : "Blocking"} client of ${c.sync.replace(/Client_*$/, "")}.\n\n\`service\` is a routing name (\`Group.Service\`, resolved through the routes file) or a literal\naddress \`ip:port[@tcp|@udp]\`. \`client\` shares a runtime ${runtime} (its connections) between\nclients; by default each client owns one. \`timeout_ms\` is the default per-call timeout\n(None or <= 0: 5000 ms); \`retries\` the default number of extra picks after a refused connection\n(routing names only; None: the runtime ${runtime}'s, default 0).`;
      py.push("", "");
      py.push(`class ${name}:`);
      py.push(...docstring(classDoc, "    "), "");
      py.push(`    def __init__(self, service: str = DEFAULT_SERVICE, *, client: Optional[${runtime}] = None, timeout_ms: Optional[float] = None, retries: Optional[int] = None) -> None:`);
      py.push("        self.service = service");
      py.push("        self.timeout_ms = timeout_ms");
      py.push("        self.retries = retries");
      py.push(`        self._owns_client = client is None`);
      py.push(`        self._client = client if client is not None else ${runtime}()`);
      pyi.push("", "");
      pyi.push(`class ${name}:`);
      pyi.push("    service: str");
      pyi.push("    timeout_ms: Optional[float]");
      pyi.push("    retries: Optional[int]");
      pyi.push(`    def __init__(self, service: str = ..., *, client: Optional[${runtime}] = ..., timeout_ms: Optional[float] = ..., retries: Optional[int] = ...) -> None: ...`);
      for (const m of c.methods) {
        py.push("");
        py.push(`    ${ad}def ${m.member}(self, request: ${m.input}, timeout_ms: Optional[float] = None, retries: Optional[int] = None) -> ${m.output}:`);
        py.push(...docstring(`${m.doc === "" ? "" : m.doc.trim() + "\n\n"}Calls \`${m.wireName}\`.`, "        "));
        py.push(`        return ${aw}self._client.call_message(`);
        py.push(`            self.service, ${JSON.stringify(m.wireName)}, request, ${m.output},`);
        py.push("            timeout_ms if timeout_ms is not None else self.timeout_ms,");
        py.push("            retries=retries if retries is not None else self.retries,");
        py.push("        )");
        pyi.push(`    ${ad}def ${m.member}(self, request: ${m.input}, timeout_ms: Optional[float] = ..., retries: Optional[int] = ...) -> ${m.output}: ...`);
        if (isAsync) continue;
        py.push("");
        py.push(`    def ${m.futureMember}(self, request: ${m.input}, timeout_ms: Optional[float] = None, retries: Optional[int] = None) -> "Future[${m.output}]":`);
        py.push(...docstring(`Calls \`${m.wireName}\` without waiting: a future of the reply, completed on the runtime's\nreader thread (its exception: the SrpcError \`${m.member}\` would raise). Keep callbacks short.`, "        "));
        py.push(`        return self._client.call_message_future(`);
        py.push(`            self.service, ${JSON.stringify(m.wireName)}, request, ${m.output},`);
        py.push("            timeout_ms if timeout_ms is not None else self.timeout_ms,");
        py.push("            retries=retries if retries is not None else self.retries,");
        py.push("        )");
        pyi.push(`    def ${m.futureMember}(self, request: ${m.input}, timeout_ms: Optional[float] = ..., retries: Optional[int] = ...) -> Future[${m.output}]: ...`);
      }
      py.push("");
      py.push(`    ${ad}def close(self) -> None:`);
      py.push(`        """Closes the connections of the runtime client this client owns (a shared one stays open)."""`);
      py.push("        if self._owns_client:");
      py.push(`            ${aw}self._client.close()`);
      pyi.push(`    ${ad}def close(self) -> None: ...`);
      const [enter, exit] = isAsync ? ["__aenter__", "__aexit__"] : ["__enter__", "__exit__"];
      py.push("");
      py.push(`    ${ad}def ${enter}(self) -> "${name}":`);
      py.push("        return self");
      py.push("");
      py.push(`    ${ad}def ${exit}(self, *exc: object) -> None:`);
      py.push(`        ${aw}self.close()`);
      pyi.push(`    ${ad}def ${enter}(self) -> ${name}: ...`);
      pyi.push(`    ${ad}def ${exit}(self, *exc: object) -> None: ...`);
    }
  }
  return { py: py.join("\n") + "\n", pyi: pyi.join("\n") + "\n" };
}

/**
 * The writer names the module's classes' `__module__` after the module's own
 * name without the leading dot (`'Crawl_pb2'`); inside a package the real name
 * is dotted (`voa_crawl.Crawl_pb2`), and pickle and `typing.get_type_hints`
 * need the real one. `__name__` is that name wherever the package is installed.
 */
function packagedPb2Module(text: string, stem: string): string {
  const literal = `_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, '${stem}_pb2', _globals)`;
  if (!text.includes(literal)) throw new Error(`pb2 writer output changed: ${literal} not found`);
  return text.replace(literal, "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, __name__, _globals)");
}

/** The files of the Python package, paths relative to `python/`. */
export function generatePythonCaller(model: ProtoModel, options: TargetOptions): GeneratedFile[] {
  assertPythonRepresentable(model);
  const defaultPkg = pythonPackageName(options.name);
  const identity = pythonIdentity(options, {
    dist: normalizedDist(options.name),
    pkg: RUNTIME_PACKAGES.has(defaultPkg) ? `${defaultPkg}_` : defaultPkg,
  });
  const pkg = identity.pkg;
  const version = options.generatorVersion;
  const imported = parsePythonImports(options.pythonImport ?? [], model);
  const files: GeneratedFile[] = [];

  // Message modules and stubs for every file of the set except the well-known types
  // (protobuf ships those as google.protobuf.*_pb2).
  const stems = new Map<string, string>();
  for (const proto of model.descriptorSet.file) {
    const desc = model.registry.getFile(proto.name);
    if (desc === undefined || isWellKnown(desc) || imported.has(proto.name)) continue;
    const stem = moduleStem(proto.name);
    const clash = stems.get(stem);
    if (clash !== undefined) throw new UserError(`${proto.name} and ${clash} map to the same Python module ${stem}_pb2`);
    stems.set(stem, proto.name);
    const head = header(version, [proto.name]);
    const moduleNameOf = (p: string): string => pb2ModuleName(p, imported);
    files.push({ path: `${pkg}/${stem}_pb2.py`, content: packagedPb2Module(writePb2Module({ file: proto, header: head, moduleNameOf }), stem) });
    files.push({ path: `${pkg}/${stem}_pb2.pyi`, content: writePb2Stub({ file: desc, header: head, imports: { moduleOf: (f) => pb2Import(f.name + ".proto", imported) } }) });
  }

  // Client modules, one per requested file with services.
  // Client classes must not shadow what the client modules and __init__ import or define.
  const taken = new Set<string>([...RUNTIME_EXPORTS, ...MSEC_FUNCTIONS, "Optional", "DEFAULT_SERVICE"]);
  // `from` is relative to the package (`.Crawl_msec`) or, for a mapped file, absolute.
  const exports: Array<{ from: string; names: string[] }> = [];
  const serviceDocs: Array<{ sync: string; async: string; methods: readonly ClientMethod[] }> = [];
  for (const file of model.files) {
    if (file.services.length === 0) continue;
    const imports = new Set<string>();
    const classes = file.services.map((s) => clientClass(s, imports, taken, imported));
    const stem = moduleStem(file.name);
    const mod = clientModule(classes, imports, options.name, header(version, [file.name]));
    files.push({ path: `${pkg}/${stem}_msec.py`, content: mod.py });
    files.push({ path: `${pkg}/${stem}_msec.pyi`, content: mod.pyi });
    exports.push({ from: `.${stem}_msec`, names: classes.flatMap((c) => [c.sync, c.async]) });
    serviceDocs.push(...classes);
  }
  if (serviceDocs.length === 0) throw new UserError("the Python caller needs at least one service in the requested files");

  // Messages of the requested files, re-exported by simple name when unambiguous.
  const messageCount = new Map<string, number>();
  for (const file of model.files) {
    for (const m of file.desc.messages) messageCount.set(m.name, (messageCount.get(m.name) ?? 0) + 1);
  }
  for (const file of model.files) {
    const names = file.desc.messages
      .map((m) => m.name)
      .filter((n) => messageCount.get(n) === 1 && !taken.has(n) && !PYTHON_KEYWORDS.has(n))
      .sort();
    for (const n of names) taken.add(n);
    if (names.length > 0) exports.push({ from: pb2ModuleName(file.name, imported), names });
  }

  files.push({ path: `${pkg}/__init__.py`, content: initModule(options.name, exports, header(version, model.files.map((f) => f.name))) });
  files.push({
    path: `${pkg}/msec_impl.py`,
    content:
      comment(header(version, model.files.map((f) => f.name))) +
      `"""MSEC's Python API (\`msec_impl\`, spec §5.5) with its original contracts: \`from ${pkg}.msec_impl import *\`."""\n` +
      `from msec.msec_impl import *  # noqa: F401,F403\n` +
      `from msec.msec_impl import __all__ as __all__  # noqa: F401\n`,
  });
  files.push({ path: `${pkg}/py.typed`, content: "" });
  files.push(...bundledRuntime(identity));

  const first = serviceDocs[0]!;
  const firstMethod = first.methods[0];
  const data = {
    version,
    name: options.name,
    pkg,
    distName: identity.dist,
    sdkVersion: identity.version,
    runtimeRequirement: identity.runtimeRequirement,
    runtimeVersion: identity.runtimeVersion,
    bundled: identity.bundled,
    runtimeFolder: RUNTIME_FOLDER,
    protoFiles: model.files.map((f) => f.name),
    services: serviceDocs,
    // Every `.proto` and the module its messages load from: what another caller passes to --python-import.
    modules: model.descriptorSet.file
      .filter((f) => !f.name.startsWith("google/protobuf/"))
      .map((f) => ({ proto: f.name, module: pb2ModuleName(f.name, imported).replace(/^\./, `${pkg}.`), imported: imported.has(f.name) })),
    imported: [...imported].map(([proto, module]) => ({ proto, module })),
    hasImported: imported.size > 0,
    example: firstMethod === undefined ? { hasMethod: false } : exampleData(pkg, first, firstMethod, exports, imported),
  };
  files.push({ path: "pyproject.toml", content: renderTemplate("caller/python/pyproject.toml.hbs", data) });
  files.push({ path: "README.md", content: renderTemplate("caller/python/README.md.hbs", data) });
  return files;
}

/** The README's example: imports, a request with every required field set (an unset one fails with -8). */
function exampleData(pkg: string, client: { readonly sync: string; readonly async: string }, method: ClientMethod, exports: ReadonlyArray<{ from: string; names: string[] }>, imported: ImportMap): object {
  const top = method.inputLocal.split(".")[0]!;
  const reExported = exports.some((e) => e.from === pb2ModuleName(method.inputFile, imported) && e.names.includes(top));
  const module = pb2ModuleName(method.inputFile, imported).replace(/^\./, `${pkg}.`);
  return {
    hasMethod: true,
    client: client.sync,
    asyncClient: client.async,
    method: method.member,
    request: `${method.inputLocal}(${method.inputInit})`,
    imports: reExported
      ? [`from ${pkg} import ${client.sync}, ${client.async}, ${top}, SrpcError`]
      : [`from ${pkg} import ${client.sync}, ${client.async}, SrpcError`, `from ${module} import ${top}`],
  };
}

function initModule(routingName: string, exports: ReadonlyArray<{ from: string; names: string[] }>, head: readonly string[]): string {
  const lines: string[] = [comment(head).trimEnd()];
  lines.push(`"""Caller library of the MSEC service ${routingName}: typed clients, messages and MSEC's Python API."""`);
  lines.push(`from msec import ${RUNTIME_EXPORTS.join(", ")}`);
  lines.push(`from msec.msec_impl import ${MSEC_FUNCTIONS.join(", ")}`);
  for (const e of exports) lines.push(`from ${e.from} import ${e.names.join(", ")}`);
  const all = [...RUNTIME_EXPORTS, ...MSEC_FUNCTIONS, ...exports.flatMap((e) => e.names)];
  lines.push("");
  lines.push("__all__ = [");
  for (const n of all) lines.push(`    ${JSON.stringify(n)},`);
  lines.push("]");
  return lines.join("\n") + "\n";
}
