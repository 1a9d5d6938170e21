/**
 * msec-gen's own TypeScript service code, written as an ECMAScript plugin so
 * imports, symbol names and escaping match the protoc-gen-es message code
 * next to it.
 *
 * Server kind (`<file>_msec.ts` in the server package): per service a typed
 * handler interface and a `register<Service>()` function that builds the
 * runtime's `MethodDefinition`s (binary/JSON decode, handler call, encode).
 * Caller kind (`<file>_msec.ts` in the caller package): per service a client
 * class whose methods call `callMethodRaw` and decode the typed response.
 */
import type { DescFile, DescMethod, DescService } from "@bufbuild/protobuf";
import type { GeneratedFile, Plugin } from "@bufbuild/protoplugin";
import { createEcmaScriptPlugin, getComments } from "../../protoplugin.js";
import { lowerFirst, safeMemberName, safeTopLevelName } from "./safe-identifier.js";

/** Module specifier of the runtime in generated code. */
export const RUNTIME_MODULE = "@msec-gen/runtime";

export interface ServicePluginOptions {
  readonly kind: "server" | "caller";
  /** Routing name clients use when none is passed (`--name`). */
  readonly defaultService: string;
  readonly version: string;
}

/** Generated names for one service, shared by the plugin and the file templates. */
export interface ServiceNames {
  /** `MainLogicServiceHandler` */
  readonly handler: string;
  /** `registerMainLogicService` */
  readonly register: string;
  /** `MainLogicServiceClient` */
  readonly client: string;
  /** `mainLogicService`: the handler object exported by the skeleton. */
  readonly implementation: string;
  /** `MainLogicServiceMethods`: wire names and schemas by handler method. */
  readonly methods: string;
}

export function serviceNames(service: DescService): ServiceNames {
  return {
    handler: safeTopLevelName(`${service.name}Handler`),
    register: safeTopLevelName(`register${service.name}`),
    client: safeTopLevelName(`${service.name}Client`),
    implementation: safeTopLevelName(lowerFirst(service.name)),
    methods: safeTopLevelName(`${service.name}Methods`),
  };
}

/** The member name of a method in handler interfaces and client classes (`getMP3List`). */
export function methodMemberName(method: DescMethod): string {
  return safeMemberName(lowerFirst(method.name));
}

/** Output file name (relative to the gen folder) of a proto file's service code. */
export function serviceFileName(file: DescFile): string {
  return `${file.name}_msec.ts`;
}

export function createServicePlugin(options: ServicePluginOptions): Plugin {
  return createEcmaScriptPlugin({
    name: "msec-gen",
    version: `v${options.version}`,
    generateTs(schema) {
      for (const file of schema.files) {
        if (file.services.length === 0) continue;
        const f = schema.generateFile(serviceFileName(file));
        if (options.kind === "server") {
          printServerFile(f, file);
        } else {
          printCallerFile(f, file, options.defaultService);
        }
      }
    },
  });
}

function docLines(desc: DescService | DescMethod, extra: string[]): string[] {
  const c = getComments(desc);
  const lines: string[] = [];
  if (c.leading !== undefined) lines.push(...trimComment(c.leading));
  if (c.trailing !== undefined) lines.push(...trimComment(c.trailing));
  if (lines.length > 0 && extra.length > 0) lines.push("");
  lines.push(...extra);
  return lines;
}

function trimComment(text: string): string[] {
  const lines = text.replace(/\n$/, "").split("\n").map((l) => (l.startsWith(" ") ? l.slice(1) : l).trimEnd());
  return lines.map((l) => l.replace(/\*\//g, "*\\/"));
}

function printDoc(f: GeneratedFile, lines: string[], indent: string): void {
  f.print(indent, "/**");
  for (const line of lines) f.print(indent, line === "" ? " *" : ` * ${line}`);
  f.print(indent, " */");
}

/**
 * Names of the globals `Promise` and `String` as generated code must write
 * them: `globalThis.X` when a message of that name is imported into the file
 * (and would shadow the global), plain `X` otherwise.
 */
function globalNames(file: DescFile): { P: string; S: string } {
  const imported = new Set(file.services.flatMap((s) => s.methods.flatMap((m) => [m.input.name, m.output.name])));
  return {
    P: imported.has("Promise") ? "globalThis.Promise" : "Promise",
    S: imported.has("String") ? "globalThis.String" : "String",
  };
}

function printServerFile(f: GeneratedFile, file: DescFile): void {
  const { P, S } = globalNames(file);
  const MessageInitShape = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const MessageShape = f.import("MessageShape", "@bufbuild/protobuf", true);
  const DescMessage = f.import("DescMessage", "@bufbuild/protobuf", true);
  const create = f.import("create", "@bufbuild/protobuf");
  const toBinary = f.import("toBinary", "@bufbuild/protobuf");
  const toJson = f.import("toJson", "@bufbuild/protobuf");
  const CallContext = f.import("CallContext", RUNTIME_MODULE, true);
  const MethodDefinition = f.import("MethodDefinition", RUNTIME_MODULE, true);
  const MethodRegistry = f.import("MethodRegistry", RUNTIME_MODULE, true);
  const RequestBody = f.import("RequestBody", RUNTIME_MODULE, true);
  const ResponseBody = f.import("ResponseBody", RUNTIME_MODULE, true);
  const decodeRequest = f.import("decodeRequest", RUNTIME_MODULE);
  const registerTypes = f.import("registerTypes", RUNTIME_MODULE);

  f.print("// Lets the runtime's typed callMethod() find these messages by method name.");
  f.print(registerTypes, "(", f.importSchema(file), ");");
  f.print();
  for (const service of file.services) {
    const names = serviceNames(service);
    printDoc(f, docLines(service, [
      `Implement this interface to serve ${service.typeName}; pass it to ${names.register}().`,
      "",
      `@generated from service ${service.typeName}`,
    ]), "");
    f.print(f.export("interface", names.handler), " {");
    for (const method of service.methods) {
      printDoc(f, docLines(method, [`Wire name: \`${service.typeName}.${method.name}\`.`]), "  ");
      const output = f.importSchema(method.output, true);
      f.print("  ", methodMemberName(method), "(request: ", f.importShape(method.input), ", ctx: ", CallContext, "): ", P, "<", MessageInitShape, "<typeof ", output, ">> | ", MessageInitShape, "<typeof ", output, ">;");
    }
    f.print("}");
    f.print();
    printDoc(f, [`Wire names and message schemas of ${service.typeName}, by handler method.`], "");
    f.print(f.export("const", names.methods), " = {");
    for (const method of service.methods) {
      f.print("  ", methodMemberName(method), ": { name: ", f.string(`${service.typeName}.${method.name}`), ", input: ", f.importSchema(method.input), ", output: ", f.importSchema(method.output), " },");
    }
    f.print("} as const;");
    f.print();
    printDoc(f, [
      `Register every method of ${service.typeName} with the server's dispatcher.`,
      "Requests are decoded from protobuf (SRPC) or JSON (HTTP) and answered in the same format.",
    ], "");
    f.print(f.export("function", names.register), "(server: ", MethodRegistry, ", impl: ", names.handler, "): void {");
    for (const method of service.methods) {
      const member = methodMemberName(method);
      f.print("  server.register(unaryMethod(", names.methods, ".", member, ", (request, ctx) => impl.", member, "(request, ctx)));");
    }
    f.print("}");
    f.print();
  }
  f.print("/**");
  f.print(" * One unary method: decode the request (protobuf → -5 on failure, strict JSON → -3,");
  f.print(" * missing required fields rejected; docs/request-decoding.md), run the handler,");
  f.print(" * encode its response in the request's format.");
  f.print(" */");
  f.print("function unaryMethod<I extends ", DescMessage, ", O extends ", DescMessage, ">(");
  f.print("  { name, input, output }: { name: string; input: I; output: O },");
  f.print("  handle: (request: ", MessageShape, "<I>, ctx: ", CallContext, ") => ", P, "<", MessageInitShape, "<O>> | ", MessageInitShape, "<O>,");
  f.print("): ", MethodDefinition, " {");
  f.print("  return {");
  f.print("    name,");
  f.print("    async invoke(body: ", RequestBody, ", ctx: ", CallContext, "): ", P, "<", ResponseBody, "> {");
  f.print("      const request = ", decodeRequest, "(input, body);");
  f.print("      const response = ", create, "(output, await handle(request, ctx));");
  f.print("      return body.format === \"binary\"");
  f.print("        ? { format: \"binary\", bytes: ", toBinary, "(output, response) }");
  f.print("        : { format: \"json\", json: ", toJson, "(output, response, ctx.jsonWriteOptions) };");
  f.print("    },");
  f.print("  };");
  f.print("}");
}

function printCallerFile(f: GeneratedFile, file: DescFile, defaultService: string): void {
  const { P, S } = globalNames(file);
  const MessageInitShape = f.import("MessageInitShape", "@bufbuild/protobuf", true);
  const create = f.import("create", "@bufbuild/protobuf");
  const fromBinary = f.import("fromBinary", "@bufbuild/protobuf");
  const toBinary = f.import("toBinary", "@bufbuild/protobuf");
  const CallOptions = f.import("CallOptions", RUNTIME_MODULE, true);
  const callMethodRaw = f.import("callMethodRaw", RUNTIME_MODULE);
  const withDefaults = f.import("withDefaults", RUNTIME_MODULE);
  const SrpcError = f.import("SrpcError", RUNTIME_MODULE);
  const SrpcCode = f.import("SrpcCode", RUNTIME_MODULE);

  for (const service of file.services) {
    const names = serviceNames(service);
    printDoc(f, docLines(service, [
      `Typed client of ${service.typeName}.`,
      "",
      "```ts",
      `const client = new ${names.client}(); // service ${JSON.stringify(defaultService)}`,
      "```",
      "",
      `@generated from service ${service.typeName}`,
    ]), "");
    f.print(f.export("class", names.client), " {");
    f.print("  /** Routing name (`Group.Service`) or literal address (`ip:port[@tcp|@udp]`) the calls go to. */");
    f.print("  readonly service: string;");
    f.print("  /** Options applied to every call; per-call options override them. */");
    f.print("  readonly defaults: ", CallOptions, ";");
    f.print();
    f.print("  constructor(options: { service?: string; defaults?: ", CallOptions, " } = {}) {");
    f.print("    this.service = options.service ?? ", f.string(defaultService), ";");
    f.print("    this.defaults = options.defaults ?? {};");
    f.print("  }");
    for (const method of service.methods) {
      f.print();
      printDoc(f, docLines(method, [`Calls \`${service.typeName}.${method.name}\`.`]), "  ");
      const input = f.importSchema(method.input);
      const output = f.importSchema(method.output);
      f.print("  async ", methodMemberName(method), "(request: ", MessageInitShape, "<typeof ", input, ">, options?: ", CallOptions, "): ", P, "<", f.importShape(method.output), "> {");
      f.print("    // `options` over `this.defaults`, with no new object when either is empty.");
      f.print("    const bytes = await ", callMethodRaw, "(this.service, ", f.string(`${service.typeName}.${method.name}`), ", ", toBinary, "(", input, ", ", create, "(", input, ", request)), ", withDefaults, "(this.defaults, options));");
      f.print("    try {");
      f.print("      return ", fromBinary, "(", output, ", bytes);");
      f.print("    } catch (e) {");
      f.print("      throw new ", SrpcError, "(", SrpcCode, ".InvalidPkgBody, `cannot decode ", method.output.typeName, ": ${", S, "(e)}`);");
      f.print("    }");
      f.print("  }");
    }
    f.print("}");
    f.print();
  }
}
