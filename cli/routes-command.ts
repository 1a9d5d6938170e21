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
import { UserError } from "../generator/user-error.js";
import {
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_WEIGHT,
  ENDPOINTS_ENV,
  PREFIX_ENV,
  type EtcdOptions,
  checkedAddress,
  checkedName,
  checkedWeight,
  connectRoutes,
  formatRouteLines,
  listRoutes,
  removeRoutes,
  setRoute,
} from "./route-store.js";

async function list(service: string | undefined, opts: EtcdOptions): Promise<void> {
  const store = connectRoutes(opts);
  const { routes, invalid } = await listRoutes(store, service === undefined ? undefined : checkedName(service));
  for (const bad of invalid) process.stderr.write(`msec-gen: warning: ${bad.key}: invalid value (${bad.reason})\n`);
  process.stdout.write(formatRouteLines(routes));
}

async function set(service: string, address: string, weightText: string | undefined, opts: EtcdOptions): Promise<void> {
  checkedName(service);
  checkedAddress(address);
  const weight = checkedWeight(weightText);
  const store = connectRoutes(opts);
  // `set` puts the instance into the routes: a disabled one (msec-gen console) is enabled
  const written = await setRoute(store, service, address, weight, "enabled");
  process.stdout.write(`set ${written.key}\n`);
}

async function rm(service: string, address: string | undefined, opts: EtcdOptions): Promise<void> {
  checkedName(service);
  if (address !== undefined) checkedAddress(address);
  const store = connectRoutes(opts);
  const deleted = await removeRoutes(store, service, address);
  if (deleted === 0) throw new UserError(`no route for ${service}${address === undefined ? "" : ` at ${address}`} in etcd (prefix ${store.prefix})`);
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
    .action((service: string | undefined, opts: EtcdOptions) => list(service, opts));
  common(
    routes
      .command("set")
      .argument("<Group.Service>")
      .argument("<ip:port[@tcp|@udp]>")
      .argument("[weight]", `static weight (default ${DEFAULT_ETCD_WEIGHT})`)
      .description("add an instance or change its weight (no lease: it stays until removed)"),
  ).action((service: string, address: string, weight: string | undefined, opts: EtcdOptions) => set(service, address, weight, opts));
  common(
    routes
      .command("rm")
      .argument("<Group.Service>")
      .argument("[ip:port]", "only this instance (default: every instance of the service)")
      .description("remove an instance, or the whole service"),
  ).action((service: string, address: string | undefined, opts: EtcdOptions) => rm(service, address, opts));
  for (const c of [routes, ...routes.commands]) c.exitOverride();
}
