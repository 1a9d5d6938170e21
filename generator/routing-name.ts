/**
 * MSEC routing names: two levels `Group.Service` (spec §4), used for name-based
 * routing only (not for dispatch, which uses `package.Service.Method`).
 *
 * msec-gen also builds names from them: the output folder and tarball
 * (`<name>-server-ts`), npm, Python, Java, Go and CMake package names. So a
 * level must be safe in all of those: it starts with a letter (never `-`, which
 * a shell or `tar` would read as an option, nor `.`), continues with letters,
 * digits, `_` and `-`, and is at most {@link MAX_LEVEL_LENGTH} characters,
 * which keeps every top folder within the 100 bytes a ustar entry name holds.
 */
import type { ProtoModel } from "./model.js";
import { UserError } from "./user-error.js";

/** Longest level of a routing name. */
export const MAX_LEVEL_LENGTH = 32;

const LEVEL = `[A-Za-z][A-Za-z0-9_-]{0,${MAX_LEVEL_LENGTH - 1}}`;
const ROUTING_NAME = new RegExp(`^${LEVEL}\\.${LEVEL}$`);

/** The rule, as error messages and docs state it. */
export const ROUTING_NAME_RULE =
  `two levels "Group.Service", each 1-${MAX_LEVEL_LENGTH} characters: a letter, then letters, digits, "_" or "-" (e.g. VOA.MainLogic)`;

/** Throw `UserError` unless `name` is a valid two-level routing name. */
export function validateRoutingName(name: string): string {
  if (!ROUTING_NAME.test(name)) throw new UserError(`invalid --name ${JSON.stringify(name)}: expected ${ROUTING_NAME_RULE}`);
  return name;
}

/**
 * The default routing name when `--name` is not given: the last segment of the
 * first service's package as the group, the first service's name without a
 * trailing `Service` as the second level (`crawl.CrawlService` → `crawl.Crawl`).
 * Without a package the group is `msec`; without a service the first file's
 * name is used. Characters a level cannot hold become `_`, leading ones that
 * are not letters are dropped; a level that is still too long asks for `--name`.
 */
export function defaultRoutingName(model: ProtoModel): string {
  const file = model.files[0];
  const service = model.services[0];
  const pkg = service?.desc.file.proto.package ?? file?.packageName ?? "";
  const group = sanitize(pkg.split(".").pop() ?? "") || "msec";
  let second = service?.name ?? file?.stem.split("/").pop() ?? "";
  if (second.endsWith("Service") && second.length > "Service".length) {
    second = second.slice(0, -"Service".length);
  }
  const name = `${group}.${sanitize(second) || "Service"}`;
  if (!ROUTING_NAME.test(name)) {
    throw new UserError(`the default routing name ${JSON.stringify(name)} (from the first service and its package) is not valid; give one with --name: ${ROUTING_NAME_RULE}`);
  }
  return name;
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[^A-Za-z]+/, "");
}
