/**
 * The facts the TypeScript file templates (package.json, main, handler
 * skeletons, smoke test, READMEs) are rendered from.
 */
import type { ProtoModel, ServiceModel } from "../../model.js";
import { methodMemberName, type ServiceNames, serviceNames } from "./service-plugin.js";
import { isNpmName } from "./ts-import.js";
import { zeroInitLiteral } from "./zero-init.js";
import { UserError } from "../../user-error.js";

/** `@bufbuild/protobuf` version generated packages depend on: the one msec-gen and its runtime are built with. */
export const PROTOBUF_ES_VERSION = "2.13.0";

export interface TsMethodData {
  readonly name: string;
  readonly member: string;
  readonly wireName: string;
  readonly inputType: string;
  readonly outputType: string;
  /** Object literal with every required request field at its zero value. */
  readonly requestInit: string;
  /** Object literal with every required response field at its zero value. */
  readonly responseInit: string;
  /** `.proto` comment lines of the rpc (may be empty). */
  readonly comment: readonly string[];
}

export interface TsServiceData {
  readonly name: string;
  readonly typeName: string;
  readonly protoFile: string;
  /** `MainLogic_msec.js` path relative to `src/gen/`, without `./`. */
  readonly genModule: string;
  /**
   * Namespace the templates import the service module under (`MainLogic_msec`).
   * The `_msec` suffix keeps it apart from every fixed name the templates use.
   */
  readonly genAlias: string;
  /** Handler skeleton module name (file `src/handlers/<handlerModule>.ts`). */
  readonly handlerModule: string;
  /** Namespace the templates import the handler module under (`MainLogicService_handler`). */
  readonly handlerAlias: string;
  readonly names: ServiceNames;
  readonly methods: readonly TsMethodData[];
}

export function tsServices(model: ProtoModel): TsServiceData[] {
  const taken = new Set<string>();
  return model.services.map((service) => {
    let handlerModule = service.name;
    if (taken.has(handlerModule)) handlerModule = `${service.typeName.replace(/\./g, "_")}`;
    taken.add(handlerModule);
    return serviceData(service, handlerModule);
  });
}

function serviceData(service: ServiceModel, handlerModule: string): TsServiceData {
  const stem = service.file.replace(/\.proto$/, "");
  return {
    name: service.name,
    typeName: service.typeName,
    protoFile: service.file,
    genModule: `${stem}_msec.js`,
    genAlias: `${identifierPart(stem)}_msec`,
    handlerModule,
    handlerAlias: `${identifierPart(handlerModule)}_handler`,
    names: serviceNames(service.desc),
    methods: service.methods.map((m) => ({
      name: m.name,
      member: methodMemberName(m.desc),
      wireName: m.wireName,
      inputType: m.input.typeName,
      outputType: m.output.typeName,
      requestInit: zeroInitLiteral(m.input.desc),
      responseInit: zeroInitLiteral(m.output.desc),
      comment: [m.comments.leading, m.comments.trailing]
        .filter((c): c is string => c !== undefined)
        .flatMap((c) => c.replace(/\n$/, "").split("\n"))
        .map((l) => l.trim())
        .filter((l) => l !== ""),
    })),
  };
}

/** `foo/bar-baz` → `foo_bar_baz`: usable inside an identifier. */
function identifierPart(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

/** The distinct service modules, for one namespace import each. */
export function genImports(services: readonly TsServiceData[]): Array<{ alias: string; module: string }> {
  const seen = new Map<string, string>();
  for (const s of services) seen.set(s.genAlias, s.genModule);
  return [...seen].map(([alias, module]) => ({ alias, module }));
}

/** npm package names are lower case and may not start with `.` or `_`. */
export function npmPackageName(routingName: string, suffix: string): string {
  return `${routingName.toLowerCase().replace(/^[._]+/, "")}-${suffix}`;
}

/** `--npm-name` if given (checked), else the default from the routing name. */
export function chosenNpmName(npmName: string | undefined, routingName: string, suffix: string): string {
  if (npmName === undefined) return npmPackageName(routingName, suffix);
  if (!isNpmName(npmName)) {
    throw new UserError(
      `--npm-name ${JSON.stringify(npmName)} is not an npm package name (lower-case letters, digits, ".", "_", "~" and "-", not starting with "." or "_", optionally @scope/, at most 214 characters; e.g. voa.crawl-caller)`,
    );
  }
  return npmName;
}

/** `.proto` sources copied into packages, sorted by import path (well-known types excluded). */
export function protoSources(model: ProtoModel): Array<{ path: string; content: string }> {
  return [...model.sources.entries()]
    .filter(([name]) => !name.startsWith("google/protobuf/"))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, content]) => ({ path: name, content }));
}
