/**
 * Shared imported `.proto` files of the Java caller (`--java-proto-dep`).
 *
 * Two callers generated separately from protos that import the same file
 * (`common/types.proto`) would each compile that file's classes; one Maven
 * project using both would then hold two copies of `shop.common.Types` on its
 * classpath. A mapping `common/types.proto=com.acme:shop-common:1.0.0` tells a
 * caller that the file's classes live in that artifact: the caller does not
 * compile the file and depends on the artifact instead, and (with a bundled
 * runtime) writes the artifact's own Maven project under `proto-deps/`, so the
 * first install on a fresh machine needs nothing from a registry. Every caller
 * mapping the file writes the same project byte for byte (the file's Java
 * package never depends on the caller's routing name), and Maven resolves one
 * artifact per groupId:artifactId — so the consumer gets one copy.
 */
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";

/** Maven coordinates of an artifact. */
export interface MavenCoordinates {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
}

/** One artifact the caller depends on for shared `.proto` files. */
export interface ProtoDepArtifact extends MavenCoordinates {
  /** Import paths of the `.proto` files whose classes the artifact holds, sorted. */
  readonly files: readonly string[];
  /** Other proto-dep artifacts its files import, sorted by `groupId:artifactId`. */
  readonly dependencies: readonly MavenCoordinates[];
}

/**
 * Characters Maven accepts in a groupId, artifactId or version, starting with
 * a letter, digit or `_`: an artifactId names a folder (`proto-deps/<id>/`),
 * so `.`, `..` and a leading `-` are refused.
 */
const COORDINATE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `value` if it is a valid Maven coordinate part, else a `UserError` naming `what`. */
export function mavenCoordinate(what: string, value: string): string {
  if (!COORDINATE.test(value)) {
    throw new UserError(
      /^[A-Za-z0-9_.-]+$/.test(value)
        ? `invalid Java ${what} ${JSON.stringify(value)}: must start with a letter, digit or "_"`
        : `invalid Java ${what} ${JSON.stringify(value)}: use letters, digits, "_", "-" and "."`,
    );
  }
  return value;
}

/** The usage text every mapping error repeats. */
const USAGE = "--java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>";

/** Parses the mappings, by import path. Rejects malformed and repeated ones. */
export function parseProtoDeps(specs: readonly string[]): Map<string, MavenCoordinates> {
  const out = new Map<string, MavenCoordinates>();
  for (const spec of specs) {
    const eq = spec.lastIndexOf("=");
    const file = spec.slice(0, Math.max(eq, 0));
    const parts = spec.slice(eq + 1).split(":");
    if (eq <= 0 || !file.endsWith(".proto") || parts.length !== 3 || parts.some((p) => !COORDINATE.test(p))) {
      throw new UserError(`invalid ${JSON.stringify(spec)}: expected ${USAGE}, e.g. common/types.proto=com.example.shop:shop-common:1.0.0`);
    }
    if (file.startsWith("google/protobuf/")) {
      throw new UserError(`--java-proto-dep ${file}: well-known types are part of com.google.protobuf:protobuf-java and cannot be mapped`);
    }
    if (out.has(file)) throw new UserError(`--java-proto-dep ${file} is given twice`);
    const [groupId, artifactId, version] = parts as [string, string, string];
    out.set(file, { groupId, artifactId, version });
  }
  return out;
}

const key = (c: MavenCoordinates): string => `${c.groupId}:${c.artifactId}`;
const byKey = (a: MavenCoordinates, b: MavenCoordinates): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * Groups the mapped files into artifacts, in install order (an artifact after
 * the ones its files import, else by groupId:artifactId), and checks the mapping against the
 * files being compiled (`files`, the original descriptors, before msec-gen
 * filled in Java options): every mapped file is one of them; it has a
 * `package` or `java_package` (else its Java package would be derived from
 * the routing name and differ between callers); its imports are mapped too
 * (else the caller would compile them and the artifact would lack them); one
 * artifact has one version; artifacts do not import each other in a cycle; and
 * no artifact has the caller's own coordinates.
 */
export function planProtoDeps(
  mapping: ReadonlyMap<string, MavenCoordinates>,
  files: readonly FileDescriptorProto[],
  own: MavenCoordinates,
): ProtoDepArtifact[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  interface Draft {
    coords: MavenCoordinates;
    files: string[];
    deps: Map<string, MavenCoordinates>;
  }
  const artifacts = new Map<string, Draft>();
  for (const [file, coords] of mapping) {
    const desc = byName.get(file);
    if (desc === undefined) {
      const known = files.map((f) => f.name).filter((n) => !n.startsWith("google/protobuf/"));
      throw new UserError(`--java-proto-dep ${file}: not among the compiled files (${known.join(", ")})`);
    }
    if (desc.package === "" && !desc.options?.javaPackage) {
      throw new UserError(
        `--java-proto-dep ${file}: the file has neither a "package" nor "option java_package", so its Java package would depend on the routing name; add one of them`,
      );
    }
    if (key(coords) === key(own)) {
      throw new UserError(`--java-proto-dep ${file}: ${key(coords)} is this caller's own groupId:artifactId`);
    }
    const entry: Draft = artifacts.get(key(coords)) ?? { coords, files: [], deps: new Map() };
    if (entry.coords.version !== coords.version) {
      throw new UserError(`--java-proto-dep: ${key(coords)} is given two versions (${entry.coords.version} and ${coords.version})`);
    }
    entry.files.push(file);
    artifacts.set(key(coords), entry);
    for (const imported of desc.dependency) {
      if (imported.startsWith("google/protobuf/")) continue;
      const target = mapping.get(imported);
      if (target === undefined) {
        throw new UserError(`--java-proto-dep ${file}: it imports ${imported}, which is not mapped; map it too (${USAGE})`);
      }
      if (key(target) !== key(coords)) entry.deps.set(key(target), target);
    }
  }
  // Install order: an artifact after those it imports (Maven must resolve them);
  // artifacts importing each other in a cycle cannot be built at all.
  const state = new Map<string, "visiting" | "done">();
  const ordered: ProtoDepArtifact[] = [];
  const visit = (k: string, path: readonly string[]): void => {
    if (state.get(k) === "done") return;
    if (state.get(k) === "visiting") throw new UserError(`--java-proto-dep: the artifacts import each other in a cycle: ${[...path, k].join(" → ")}`);
    state.set(k, "visiting");
    const a = artifacts.get(k)!;
    const dependencies = [...a.deps.values()].sort(byKey);
    for (const d of dependencies) visit(key(d), [...path, k]);
    state.set(k, "done");
    ordered.push({ ...a.coords, files: [...a.files].sort(), dependencies });
  };
  for (const k of [...artifacts.keys()].sort()) visit(k, []);
  return ordered;
}
