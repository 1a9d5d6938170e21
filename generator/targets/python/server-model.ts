/**
 * The facts the Python server templates are rendered from: the import
 * package's name, the `_pb2` module of every `.proto` file, the dispatch
 * module of every requested file, and per service its handler module, class
 * and methods.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel, ServiceModel } from "../../model.js";
import { defaultPythonModuleName } from "./pb2-module.js";
import { isPythonKeyword, pythonClassPath, pythonPackageName, safeMemberName, safeTopLevelName, snakeCase } from "./safe-identifier.js";
import { zeroInitKwargs } from "./zero-init.js";
import { UserError } from "../../user-error.js";

/**
 * Top-level names of the package root that the import package must not take:
 * the runtime's packages, the bundled runtime's folder, the entry, build script and tests.
 */
const ROOT_NAMES = new Set(["msec", "msec_impl", "runtime", "main", "build", "tests", "proto", "etc"]);

/** Names `from msec.msec_impl import *` brings into a handler module (its `__all__`), plus `CallContext`. */
const HANDLER_MODULE_NAMES = new Set([
  "CallContext", "CallMethod", "call_method_async", "srpc_serialize", "srpc_check_pkg", "srpc_deserialize",
  "srpc_sendrcv", "getroute", "updateroute", "callmethod_tcp", "callmethod_tcp_async", "log_error", "log_info",
  "log_debug", "log_fatal", "log_set_option", "get_config", "attr_report", "attr_set", "monitor_add", "monitor_set",
]);

/** A `.proto` file's `_pb2` module inside the package. */
export interface Pb2Module {
  /** `.proto` import path, e.g. `foo/bar.proto`. */
  readonly proto: string;
  /** Absolute module name, e.g. `voa_crawl.gen.foo.bar_pb2`. */
  readonly module: string;
  /** File path relative to the package root, e.g. `voa_crawl/gen/foo/bar_pb2.py`. */
  readonly path: string;
  /** `from voa_crawl.gen.foo import bar_pb2 as <alias>`: the parts of that line. */
  readonly from: string;
  readonly name: string;
  readonly alias: string;
  /** `from voa_crawl.gen import Crawl_pb2` (with ` as <alias>` when the alias differs). */
  readonly importStatement: string;
}

export interface PyMethodData {
  /** rpc name as declared (`GetMP3List`). */
  readonly name: string;
  /** Method of the handler class: the rpc name, `_`-escaped when it is a keyword. */
  readonly member: string;
  readonly wireName: string;
  readonly inputType: string;
  readonly outputType: string;
  /** Python expression of the request class, e.g. `Crawl_pb2.GetMP3ListRequest`. */
  readonly inputClass: string;
  readonly outputClass: string;
  /** Keyword arguments setting every required request / response field to zero. */
  readonly requestInit: string;
  readonly responseInit: string;
  readonly comment: readonly string[];
}

export interface PyServiceData {
  readonly name: string;
  readonly typeName: string;
  readonly protoFile: string;
  /** Handler module under `<pkg>/handlers/` (file `<handlerModule>.py`). */
  readonly handlerModule: string;
  /** Class of the handler skeleton. */
  readonly className: string;
  /** Dispatch module under `<pkg>/gen/` of the service's file (`Crawl_msec`). */
  readonly dispatchModule: string;
  /** Function of the dispatch module building this service's method table. */
  readonly methodsFunction: string;
  /** `_pb2` modules the handler skeleton imports (those of its request and response types). */
  readonly imports: readonly Pb2Module[];
  readonly methods: readonly PyMethodData[];
}

export interface PyDispatchData {
  readonly protoFile: string;
  readonly module: string;
  readonly imports: readonly Pb2Module[];
  readonly services: readonly PyServiceData[];
}

export interface PyServerData {
  readonly pkg: string;
  readonly pb2: readonly Pb2Module[];
  readonly services: readonly PyServiceData[];
  readonly dispatch: readonly PyDispatchData[];
  /** `_pb2` modules of every method's request and response types (what the smoke test imports). */
  readonly imports: readonly Pb2Module[];
  /** Sub-packages (`voa_crawl/gen/foo`) that need an `__init__.py`, sorted. */
  readonly subPackages: readonly string[];
}

/**
 * The default import package of a server: the routing name in snake case plus
 * `_server` (`VOA.Crawl` → `voa_crawl_server`, as the distribution is
 * `voa-crawl-server`), so it never clashes with the caller of the same service
 * (`voa_crawl`) in one venv.
 */
export function serverPackageName(routingName: string): string {
  return safeMemberName(`${pythonPackageName(routingName)}_server`, ROOT_NAMES);
}

/** Checks a `--python-package` of a server: it must not clash with the package root's own names. */
export function checkServerPackageName(pkg: string): string {
  if (ROOT_NAMES.has(pkg)) throw new UserError(`--python-package ${JSON.stringify(pkg)}: the server package's folder already has ${pkg}; choose another name`);
  return pkg;
}

export function isWellKnown(protoPath: string): boolean {
  return protoPath.startsWith("google/protobuf/");
}

/** The absolute module of a `.proto` file: well-known types from the protobuf package, the rest under `<pkg>.gen`. */
export function pb2ModuleName(pkg: string, protoPath: string): string {
  const base = defaultPythonModuleName(protoPath);
  if (isWellKnown(protoPath)) return base;
  // a folder named by a keyword (`class/x.proto`) is a sub-package `class_` (the module itself ends in `_pb2`)
  const parts = base.split(".");
  return `${pkg}.gen.${parts.map((p, i) => (i < parts.length - 1 && isPythonKeyword(p) ? `${p}_` : p)).join(".")}`;
}

export function serverData(model: ProtoModel, pkg: string): PyServerData {
  const pb2 = pb2Modules(model, pkg);
  const byProto = new Map(pb2.map((m) => [m.proto, m]));
  const moduleOf = (protoPath: string): Pb2Module => {
    const known = byProto.get(protoPath);
    if (known !== undefined) return known;
    // a well-known type: imported from the protobuf package
    const module = defaultPythonModuleName(protoPath);
    const dot = module.lastIndexOf(".");
    return withImport({ proto: protoPath, module, path: "", from: module.slice(0, dot), name: module.slice(dot + 1), alias: aliasOf(module) });
  };

  const handlerModules = new Set<string>();
  const dispatchNames = new Map<string, Set<string>>();
  const services = model.services.map((service) => {
    let handlerModule = safeMemberName(service.name);
    if (handlerModules.has(handlerModule)) handlerModule = safeMemberName(service.typeName.replace(/\./g, "_"));
    handlerModules.add(handlerModule);
    const dispatchModule = dispatchModuleName(service.file);
    const taken = dispatchNames.get(dispatchModule) ?? new Set<string>();
    dispatchNames.set(dispatchModule, taken);
    const methodsFunction = safeTopLevelName(`${snakeCase(service.name)}_methods`, taken);
    taken.add(methodsFunction);
    return serviceData(service, { handlerModule, dispatchModule, methodsFunction, moduleOf });
  });

  const dispatch = model.files
    .filter((f) => f.services.length > 0)
    .map((f) => {
      const own = services.filter((s) => s.protoFile === f.name);
      return {
        protoFile: f.name,
        module: dispatchModuleName(f.name),
        imports: uniqueModules(own.flatMap((s) => s.imports)),
        services: own,
      };
    });

  const subPackages = new Set<string>();
  for (const m of pb2) {
    const parts = m.path.split("/").slice(0, -1);
    for (let i = 3; i <= parts.length; i++) subPackages.add(parts.slice(0, i).join("/"));
  }
  return { pkg, pb2, services, dispatch, imports: uniqueModules(services.flatMap((s) => s.imports)), subPackages: [...subPackages].sort() };
}

/** `foo/bar-baz.proto` → `foo_bar_baz_msec` (dispatch modules sit flat in `gen/`). */
function dispatchModuleName(protoPath: string): string {
  return `${protoPath.replace(/\.proto$/, "").replace(/[^A-Za-z0-9_]/g, "_")}_msec`;
}

/** A `_pb2` module for every non-well-known file of the set, in descriptor-set order. */
function pb2Modules(model: ProtoModel, pkg: string): Pb2Module[] {
  const files = model.descriptorSet.file.filter((f) => !isWellKnown(f.name));
  const lastNames = new Map<string, number>();
  for (const f of files) {
    const name = lastPart(pb2ModuleName(pkg, f.name));
    lastNames.set(name, (lastNames.get(name) ?? 0) + 1);
  }
  return files.map((f) => {
    const module = pb2ModuleName(pkg, f.name);
    const dot = module.lastIndexOf(".");
    const name = module.slice(dot + 1);
    const alias = lastNames.get(name) === 1 ? name : aliasOf(module.slice(`${pkg}.gen.`.length));
    return withImport({ proto: f.name, module, path: `${module.replace(/\./g, "/")}.py`, from: module.slice(0, dot), name, alias });
  });
}

function withImport(m: Omit<Pb2Module, "importStatement">): Pb2Module {
  return { ...m, importStatement: `from ${m.from} import ${m.name}${m.alias === m.name ? "" : ` as ${m.alias}`}` };
}

function lastPart(module: string): string {
  return module.slice(module.lastIndexOf(".") + 1);
}

/** protoc's import alias (`foo.bar_pb2` → `foo_dot_bar__pb2`). */
function aliasOf(module: string): string {
  return module.replace(/_/g, "__").replace(/\./g, "_dot_");
}

function uniqueModules(modules: readonly Pb2Module[]): Pb2Module[] {
  const seen = new Map<string, Pb2Module>();
  for (const m of modules) seen.set(m.module, m);
  return [...seen.values()].sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}

interface ServiceNaming {
  readonly handlerModule: string;
  readonly dispatchModule: string;
  readonly methodsFunction: string;
  readonly moduleOf: (protoPath: string) => Pb2Module;
}

function serviceData(service: ServiceModel, naming: ServiceNaming): PyServiceData {
  const imports = uniqueModules(service.methods.flatMap((m) => [naming.moduleOf(m.input.file), naming.moduleOf(m.output.file)]));
  const taken = new Set([...HANDLER_MODULE_NAMES, ...imports.map((m) => m.alias)]);
  const classOf = (desc: DescMessage, file: string): string => classExpression(naming.moduleOf(file).alias, desc);
  const members = new Set<string>();
  return {
    name: service.name,
    typeName: service.typeName,
    protoFile: service.file,
    handlerModule: naming.handlerModule,
    className: safeTopLevelName(service.name, taken),
    dispatchModule: naming.dispatchModule,
    methodsFunction: naming.methodsFunction,
    imports,
    methods: service.methods.map((m) => {
      const member = safeMemberName(m.name, members);
      members.add(member);
      return {
        name: m.name,
        member,
        wireName: m.wireName,
        inputType: m.input.typeName,
        outputType: m.output.typeName,
        inputClass: classOf(m.input.desc, m.input.file),
        outputClass: classOf(m.output.desc, m.output.file),
        requestInit: zeroInitKwargs(m.input.desc),
        responseInit: zeroInitKwargs(m.output.desc),
        comment: [m.comments.leading, m.comments.trailing]
          .filter((c): c is string => c !== undefined)
          .flatMap((c) => c.replace(/\n$/, "").split("\n"))
          .map((l) => l.trim())
          .filter((l) => l !== ""),
      };
    }),
  };
}

/**
 * The class of a message as a Python expression: `alias.Outer.Inner`, with
 * the `_pb2` module's `<name>_` alias for a name that is a Python keyword
 * (`alias.None_`).
 */
function classExpression(alias: string, desc: DescMessage): string {
  return `${alias}.${pythonClassPath(desc)}`;
}
