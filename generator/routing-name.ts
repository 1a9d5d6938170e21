/**
 * MSEC routing names: two levels `Group.Service` (spec §4), used for name-based
 * routing only (not for dispatch, which uses `package.Service.Method`).
 */
import type { ProtoModel } from "./model.js";
import { UserError } from "./user-error.js";

/** Each level: letters, digits, `_` and `-`, at least one character. */
const ROUTING_NAME = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Throw `UserError` unless `name` is a valid two-level routing name. */
export function validateRoutingName(name: string): string {
  if (!ROUTING_NAME.test(name)) {
    throw new UserError(
      `invalid --name ${JSON.stringify(name)}: expected two non-empty levels "Group.Service" made of letters, digits, "_" and "-" (e.g. VOA.MainLogic)`,
    );
  }
  return name;
}

/**
 * The default routing name when `--name` is not given: the last segment of the
 * first service's package as the group, the first service's name without a
 * trailing `Service` as the second level (`crawl.CrawlService` → `crawl.Crawl`).
 * Without a package the group is `msec`; without a service the first file's
 * name is used.
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
  return validateRoutingName(`${group}.${sanitize(second) || "Service"}`);
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "_");
}
