/**
 * `msec-gen routes list | set | rm`: the MSEC console's scale-out / scale-in
 * (spec §11) against etcd. Endpoints come from `--etcd URL[,URL]` or
 * `$MSEC_ETCD_ENDPOINTS`; the key prefix from `--prefix` or
 * `$MSEC_ETCD_PREFIX` (default `/msec`). Entries written here carry no lease:
 * they stay until removed, like the console's routes (servers register
 * themselves under a lease instead).
 *
 * `list` prints routes-file lines (`<Group.Service> <ip:port[@udp]> weight=N`),
 * so its output is also a valid `etc/routes.conf` for callers that read the
 * routes file.
 */
import type { Command } from "commander";
// The etcd gateway client and key layout are the runtime's (runtimes/ts/src/etcd/, no imports of
// their own): compiled into the CLI, so msec-gen needs no runtime package to manage routes.
import { EtcdGateway, EtcdResponseError, EtcdUnreachableError, parseEndpoints } from "../runtimes/ts/src/etcd/gateway.js";
import {
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_WEIGHT,
  checkServiceName,
  formatInstanceValue,
  instanceAddress,
  instanceKey,
  parseInstanceAddress,
  parseInstanceKey,
  parseInstanceValue,
  servicePrefix,
  servicesPrefix,
} from "../runtimes/ts/src/etcd/key-layout.js";
import { UserError } from "../generator/user-error.js";

/** Environment variables read when the options are not given (the runtime reads the same). */
const ENDPOINTS_ENV = "MSEC_ETCD_ENDPOINTS";
const PREFIX_ENV = "MSEC_ETCD_PREFIX";

interface RoutesOptions {
  etcd?: string;
  prefix?: string;
}

function connect(opts: RoutesOptions): { gateway: EtcdGateway; prefix: string } {
  const text = opts.etcd ?? process.env[ENDPOINTS_ENV];
  if (text === undefined || text.trim() === "") throw new UserError(`no etcd endpoints: pass --etcd URL[,URL] or set ${ENDPOINTS_ENV}`);
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(text);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return { gateway: new EtcdGateway(endpoints), prefix: opts.prefix ?? (process.env[PREFIX_ENV] || DEFAULT_ETCD_PREFIX) };
}

/** etcd failures are the user's environment, not a bug: exit 1 with the reason. */
async function userErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof EtcdUnreachableError || e instanceof EtcdResponseError) throw new UserError(e.message);
    throw e;
  }
}

function checkedName(service: string): string {
  try {
    checkServiceName(service);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return service;
}

async function list(service: string | undefined, opts: RoutesOptions): Promise<void> {
  const { gateway, prefix } = connect(opts);
  const folder = service === undefined ? servicesPrefix(prefix) : servicePrefix(prefix, checkedName(service));
  const { kvs } = await userErrors(() => gateway.getPrefix(folder));
  const rows: string[][] = [];
  for (const kv of kvs) {
    const where = parseInstanceKey(prefix, kv.key);
    if (!where) continue;
    try {
      const v = parseInstanceValue(kv.value);
      rows.push([where.service, `${instanceAddress(v.ip, v.port)}${v.protocol === "udp" ? "@udp" : ""}`, `weight=${v.weight}`]);
    } catch (e) {
      process.stderr.write(`msec-gen: warning: ${kv.key}: invalid value (${(e as Error).message})\n`);
    }
  }
  const width = [0, 1].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]}\n`);
}

async function set(service: string, address: string, weightText: string | undefined, opts: RoutesOptions): Promise<void> {
  checkedName(service);
  let addr;
  try {
    addr = parseInstanceAddress(address);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const weight = weightText === undefined ? DEFAULT_ETCD_WEIGHT : Number(weightText);
  if (!/^[0-9]+$/.test(weightText ?? "1") || !Number.isInteger(weight) || weight < 1) {
    throw new UserError(`invalid weight "${weightText}" (expected an integer ≥ 1)`);
  }
  const { gateway, prefix } = connect(opts);
  const key = instanceKey(prefix, service, addr.ip, addr.port);
  await userErrors(() => gateway.put(key, formatInstanceValue({ ...addr, weight })));
  process.stdout.write(`set ${key}\n`);
}

async function rm(service: string, address: string | undefined, opts: RoutesOptions): Promise<void> {
  checkedName(service);
  const { gateway, prefix } = connect(opts);
  let deleted: number;
  if (address === undefined) {
    deleted = await userErrors(() => gateway.deletePrefix(servicePrefix(prefix, service)));
  } else {
    let addr;
    try {
      addr = parseInstanceAddress(address);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    deleted = await userErrors(() => gateway.delete(instanceKey(prefix, service, addr.ip, addr.port)));
  }
  if (deleted === 0) throw new UserError(`no route for ${service}${address === undefined ? "" : ` at ${address}`} in etcd (prefix ${prefix})`);
  process.stdout.write(`removed ${deleted} instance${deleted === 1 ? "" : "s"} of ${service}\n`);
}

/** Adds `routes list | set | rm` to the program. */
export function addRoutesCommand(program: Command): void {
  const routes = program
    .command("routes")
    .summary("list, add or remove service instances in etcd (scale-out / scale-in)")
    .description(
      `Routes in etcd under <prefix>/services/<Group.Service>/<ip:port>.\n` +
        `Endpoints: --etcd URL[,URL] or $${ENDPOINTS_ENV}; prefix: --prefix or $${PREFIX_ENV} (default ${DEFAULT_ETCD_PREFIX}).`,
    );
  const common = (c: Command) =>
    c.option("--etcd <urls>", `comma-separated etcd client URLs (default: $${ENDPOINTS_ENV})`).option("--prefix <prefix>", `key prefix of the msec instance (default: $${PREFIX_ENV} or ${DEFAULT_ETCD_PREFIX})`);
  common(routes.command("list").argument("[Group.Service]", "only this service").description("print every instance as a routes-file line"))
    .action((service: string | undefined, opts: RoutesOptions) => list(service, opts));
  common(
    routes
      .command("set")
      .argument("<Group.Service>")
      .argument("<ip:port[@tcp|@udp]>")
      .argument("[weight]", `static weight (default ${DEFAULT_ETCD_WEIGHT})`)
      .description("add an instance or change its weight (no lease: it stays until removed)"),
  ).action((service: string, address: string, weight: string | undefined, opts: RoutesOptions) => set(service, address, weight, opts));
  common(
    routes
      .command("rm")
      .argument("<Group.Service>")
      .argument("[ip:port]", "only this instance (default: every instance of the service)")
      .description("remove an instance, or the whole service"),
  ).action((service: string, address: string | undefined, opts: RoutesOptions) => rm(service, address, opts));
  for (const c of [routes, ...routes.commands]) c.exitOverride();
}
