/**
 * `msec-gen mock X.proto [-I DIR] [--port N] [--host H] [--responses FILE]
 * [--name Group.Service --etcd URLS]`: a server for any `.proto` with no
 * handler code (docs/mock.md). Every method of every service in the files
 * answers SRPC over TCP and UDP and JSON over HTTP on one port, exactly as a
 * generated TypeScript server does, because it is the same server: the
 * runtime's `createServer` (runtimes/ts/src/server/, self-contained, compiled
 * into the CLI as cli/routes-command.ts does with runtimes/ts/src/etcd/).
 *
 * The descriptors come from the generator's front end (buf, or a descriptor
 * set) as @bufbuild/protobuf descriptors (`createFileRegistry`); each method
 * answers the example of its output type (cli/mock/example-message.ts) or
 * the answers scripted for it (cli/mock/scripted-responses.ts). Unknown
 * methods answer -6 and bad requests -5 / -3, as from a real server;
 * `GET /openapi.json`, `/explorer` (the API explorer), `/health` and
 * `/metrics` are served as well.
 *
 * With `--name` and etcd endpoints (`--etcd` or `$MSEC_ETCD_ENDPOINTS`) the
 * mock registers itself under a lease as a real server does
 * (runtimes/ts/src/route/etcd/registration.ts) and, on SIGINT / SIGTERM,
 * deregisters first and then drains.
 *
 * Standard output gets one JSON line once the mock is ready (listening and,
 * when asked, registered); standard error a summary of what it serves.
 */
import path from "node:path";
import type { Command } from "commander";
import type { DescMessage } from "@bufbuild/protobuf";
import { defaultSdkVersion, loadModel } from "../generator/generate.js";
import type { ProtoModel } from "../generator/model.js";
import { openApiJson } from "../generator/openapi.js";
import { generatorVersion } from "../generator/package-root.js";
import { defaultRoutingName, validateRoutingName } from "../generator/routing-name.js";
import { UserError } from "../generator/user-error.js";
// The runtime's server, logger and etcd registration: self-contained modules (no imports of the
// runtime package or of the generator), compiled into the CLI so `msec-gen mock` needs no install.
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HOST, DEFAULT_PORT, type Server, createServer } from "../runtimes/ts/src/server/server.js";
import { createLogger } from "../runtimes/ts/src/log.js";
import { parseEndpoints } from "../runtimes/ts/src/etcd/gateway.js";
import { DEFAULT_ETCD_PREFIX } from "../runtimes/ts/src/etcd/key-layout.js";
import { type EtcdRegistration, registerInEtcd } from "../runtimes/ts/src/route/etcd/registration.js";
import { ETCD_ENDPOINTS_ENV, ETCD_PREFIX_ENV, advertisedIp } from "../runtimes/ts/src/route/etcd/etcd-config.js";
import { ExampleError, exampleMessage } from "./mock/example-message.js";
import { type MockMethod, fixedReply, mockMethodDefinition } from "./mock/mock-methods.js";
import { type Script, loadScript } from "./mock/scripted-responses.js";

interface MockOptions {
  include: string[];
  descriptorSetIn?: string;
  port: string;
  host: string;
  udp: boolean;
  responses?: string;
  name?: string;
  etcd?: string;
  prefix?: string;
  advertise?: string;
  canonicalJson?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw new UserError(`invalid --port ${JSON.stringify(text)} (expected 0-65535; 0 picks a free port)`);
  return Number(text);
}

/** The path a user knows `file` by: relative to the current directory when inside it. */
function shownPath(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(file) : rel;
}

/** Every method of every service, with its answers: scripted, or the example of its output. */
function mockMethods(model: ProtoModel, script: Script | undefined): MockMethod[] {
  const methods: MockMethod[] = [];
  for (const service of model.services) {
    for (const method of service.methods) {
      let answers = script?.get(method.wireName);
      if (answers === undefined) {
        try {
          answers = fixedReply(exampleMessage(method.output.desc));
        } catch (e) {
          if (!(e instanceof ExampleError)) throw e;
          throw new UserError(`${method.wireName}: no example response: ${e.message}`);
        }
      }
      methods.push({ name: method.wireName, input: method.input.desc, output: method.output.desc, answers });
    }
  }
  return methods;
}

/** One summary line per method: what it answers. */
function describeAnswers(method: MockMethod, scripted: boolean): string {
  if (!scripted) return `example ${method.output.typeName}`;
  const n = method.answers.length;
  const one = (a: MockMethod["answers"][number]) =>
    (a.kind === "reply" ? `reply ${method.output.typeName}` : `error ${a.code}`) + (a.delayMs > 0 ? ` after ${a.delayMs} ms` : "");
  return n === 1 ? `scripted: ${one(method.answers[0]!)}` : `scripted: ${n} answers in turn (${method.answers.map(one).join("; ")})`;
}

async function run(protos: string[], opts: MockOptions): Promise<void> {
  if (protos.length === 0 && opts.descriptorSetIn === undefined) {
    throw new UserError("no .proto file given (usage: msec-gen mock X.proto [options]; see msec-gen mock --help)");
  }
  const port = parsePort(opts.port);
  if (opts.name !== undefined) validateRoutingName(opts.name);
  const endpointsText = opts.etcd ?? (process.env[ETCD_ENDPOINTS_ENV] || undefined);
  if (opts.etcd !== undefined && opts.name === undefined) {
    throw new UserError("--etcd registers the mock under a routing name: give --name Group.Service too");
  }
  let endpoints: string[] | undefined;
  if (endpointsText !== undefined && opts.name !== undefined) {
    try {
      endpoints = parseEndpoints(endpointsText);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }

  const model = await loadModel({ kind: "server", protos, includes: opts.include, descriptorSetIn: opts.descriptorSetIn });
  if (model.services.length === 0) {
    throw new UserError(`${model.files.map((f) => f.name).join(", ")}: no service to mock; the file needs at least one "service" declaration`);
  }
  const outputs = new Map<string, DescMessage>(model.services.flatMap((s) => s.methods.map((m) => [m.wireName, m.output.desc] as const)));
  const responsesShown = opts.responses === undefined ? undefined : shownPath(opts.responses);
  const script = opts.responses === undefined ? undefined : await loadScript(path.resolve(opts.responses), responsesShown!, outputs);
  const methods = mockMethods(model, script);
  const name = opts.name ?? defaultRoutingName(model);
  const openapi = openApiJson(model, { name, version: defaultSdkVersion(model), generatorVersion: generatorVersion() });

  const server = createServer({
    host: opts.host,
    port,
    udp: opts.udp,
    openapi,
    serviceName: name,
    canonicalJson: opts.canonicalJson === true,
  });
  for (const method of methods) server.register(mockMethodDefinition(method));
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot listen on ${opts.host}:${port}: ${code ?? (e as Error).message}`);
  }

  let registration: EtcdRegistration | undefined;
  if (endpoints !== undefined) {
    try {
      registration = await registerInEtcd({
        endpoints,
        prefix: opts.prefix ?? (process.env[ETCD_PREFIX_ENV] || DEFAULT_ETCD_PREFIX),
        service: name,
        ip: opts.advertise ?? advertisedIp(bound.host),
        port: bound.port,
        onError: (err) => process.stderr.write(`msec-gen mock: etcd lease renewal failed (retrying): ${err.message}\n`),
      });
    } catch (e) {
      await server.close({ drainTimeoutMs: 0 });
      throw new UserError(`cannot register ${name} in etcd (${endpoints.join(",")}): ${(e as Error).message}`);
    }
  }

  const transports = opts.udp ? "tcp+udp" : "tcp";
  const lines = [`msec-gen mock: ${name} on ${bound.host}:${bound.port} (${transports}; JSON over HTTP on the same port)`];
  const width = Math.max(...methods.map((m) => m.name.length));
  for (const method of methods) lines.push(`  ${method.name.padEnd(width)}  ${describeAnswers(method, script?.has(method.name) === true)}`);
  if (script !== undefined) lines.push(`  answers scripted in ${responsesShown}; other methods answer their example`);
  lines.push("  unknown methods answer -6; GET /openapi.json, /explorer, /health, /metrics");
  if (registration !== undefined) lines.push(`  registered ${registration.key} in etcd (removed on SIGINT/SIGTERM)`);
  process.stderr.write(lines.join("\n") + "\n");
  // The ready line, last: a JSON line in the runtime's log layout, on stdout so scripts can wait for it.
  createLogger({ level: "INFO", destination: process.stdout }).info("listening", {
    service: name,
    host: bound.host,
    port: bound.port,
    transports,
    methods: methods.length,
    ...(registration === undefined ? {} : { etcdKey: registration.key }),
  });

  await untilSignalled(server, registration);
}

/** Resolves once a SIGINT/SIGTERM has deregistered the mock and drained it; a second signal exits at once. */
function untilSignalled(server: Server, registration: EtcdRegistration | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`msec-gen mock: ${signal} again: exiting without waiting\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`msec-gen mock: ${signal}: ${registration === undefined ? "" : "deregistering, "}draining\n`);
      // Deregister before draining, so callers stop picking this instance while it finishes.
      const deregistered = registration === undefined
        ? Promise.resolve()
        : registration.close().catch((e: Error) => process.stderr.write(`msec-gen mock: etcd deregistration failed: ${e.message}\n`));
      deregistered
        .then(() => server.close({ drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS }))
        .then(() => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        }, reject);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** Adds `mock` to the program. */
export function addMockCommand(program: Command): void {
  program
    .command("mock")
    .summary("serve any .proto with example or scripted responses (SRPC over TCP and UDP, JSON over HTTP)")
    .description(
      "Serve every method of every service in the given files with no handler code: SRPC over TCP and UDP and " +
        "JSON over HTTP on one port, as a generated TypeScript server does. Each method answers a deterministic " +
        "example built from its output message (docs/mock.md), or the answers scripted for it in --responses. " +
        "Unknown methods answer -6; GET /openapi.json, /explorer, /health and /metrics are served. SIGINT/SIGTERM drain.",
    )
    .argument("[protos...]", ".proto files (or, with --descriptor-set-in, import paths of files in the set)")
    .option("-I, --include <dir>", "include directory for imports (repeatable; default: each file's own directory)", collect, [])
    .option("--descriptor-set-in <file>", "read a binary FileDescriptorSet instead of compiling .proto files")
    .option("-p, --port <n>", "TCP and UDP port (0 picks a free one)", String(DEFAULT_PORT))
    .option("--host <address>", "listen address", DEFAULT_HOST)
    .option("--no-udp", "answer SRPC over TCP only")
    .option("-r, --responses <file>", "scripted answers per method (JSON or YAML; see docs/mock.md)")
    .option("-n, --name <Group.Service>", "MSEC routing name: registered in etcd, the OpenAPI title (default: as for msec-gen server)")
    .option("--etcd <urls>", `register in etcd under --name (comma-separated client URLs; default: $${ETCD_ENDPOINTS_ENV} when --name is given)`)
    .option("--prefix <prefix>", `etcd key prefix (default: $${ETCD_PREFIX_ENV} or ${DEFAULT_ETCD_PREFIX})`)
    .option("--advertise <ip>", "IP registered in etcd (default: the listen address, or the first non-loopback IPv4 on 0.0.0.0)")
    .option("--canonical-json", "write JSON responses as canonical ProtoJSON (lowerCamel names, enum names)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  msec-gen mock fixtures/echo/echo.proto --port 7963\n" +
        "  msec-gen mock Crawl.proto --responses crawl-answers.yaml --name VOA.Crawl --etcd http://127.0.0.1:2379\n",
    )
    .action((protos: string[], opts: MockOptions) => run(protos, opts))
    .exitOverride();
}
