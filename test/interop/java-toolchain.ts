/**
 * What the Java interop tests share: generating a Java caller package into a
 * cached folder (only changed files are rewritten, so Maven recompiles only
 * what changed between runs), building packages and the runtime they carry in
 * one Maven reactor run with the real Maven + JDK 17 (dependencies come from
 * Maven Central into the default `~/.m2`, so runs after the first are
 * offline-fast), and compiling and running small Java programs against the jars.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type GenerateOptions, generate } from "../../generator/generate.js";
import { runtimeVersion } from "../../generator/runtime-artefact.js";
import { PROTOBUF_JAVA_VERSION } from "../../generator/targets/java/protoc-java.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Generated packages and their Maven `target/` trees, kept between runs (as a build directory would be). */
export const JAVA_CACHE = path.join(tmpdir(), "msec-gen-java-interop");

/** Longest a single toolchain step may take (a cold `~/.m2` downloads the plugins once). */
const STEP_TIMEOUT_MS = 300_000;

/** `protobuf-java` in Maven's default local repository, where `mvn package` put it. */
export const PROTOBUF_JAR = path.join(
  homedir(),
  ".m2/repository/com/google/protobuf/protobuf-java",
  PROTOBUF_JAVA_VERSION,
  `protobuf-java-${PROTOBUF_JAVA_VERSION}.jar`,
);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...(options.env ?? process.env) };
    delete env.NODE_TEST_CONTEXT;
    execFile(cmd, args, { cwd: options.cwd, env, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") {
        reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stdout}\n${stderr}`));
        return;
      }
      resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
    });
  });
}

/** Runs a program and fails with its output unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Writes `content` unless the file already holds exactly it (keeps mtimes for incremental builds). */
function writeIfChanged(file: string, content: string | Uint8Array): void {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
  try {
    if (readFileSync(file).equals(bytes)) return;
  } catch {
    // missing: write it
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

/**
 * Generates the Java caller of `protos` (repo-relative) named `name` into
 * `JAVA_CACHE/<folder>` and returns that folder (the Maven project; with the
 * default bundled runtime, the runtime's Maven project is in its `runtime/`).
 */
export async function generateJavaCaller(folder: string, protos: readonly string[], name: string, options: Partial<GenerateOptions> = {}): Promise<string> {
  const files = await generate({ kind: "caller", lang: "java", protos: protos.map((p) => path.join(REPO_ROOT, p)), name, ...options });
  const prefix = `${name}-caller/java/`;
  const dir = path.join(JAVA_CACHE, folder);
  const wanted = new Set<string>();
  for (const f of files) {
    if (!f.path.startsWith(prefix)) continue;
    wanted.add(f.path.slice(prefix.length));
    writeIfChanged(path.join(dir, f.path.slice(prefix.length)), f.content);
  }
  removeStale(dir, wanted);
  return dir;
}

/** Deletes files under `dir` (outside Maven `target/` folders) that the generator no longer writes. */
function removeStale(dir: string, wanted: ReadonlySet<string>): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    if (!wanted.has(rel) && !/(^|\/)target\//.test(rel)) rmSync(path.join(dir, rel));
  }
}

/**
 * Builds generated Maven projects in ONE Maven run (a JVM start and the
 * dependency resolution cost seconds each on a busy machine): an aggregator
 * pom `JAVA_CACHE/<name>/pom.xml` lists the runtime project carried in the
 * first package (`runtime/`) and every package, so the packages resolve
 * `msec-runtime` from the same reactor without installing anything into
 * `~/.m2`. Returns each package's jar path, in order.
 */
export async function mavenReactorPackage(name: string, dirs: readonly string[]): Promise<string[]> {
  const root = path.join(JAVA_CACHE, name);
  const modules = [path.join(dirs[0]!, "runtime"), ...dirs].map((d) => path.relative(root, d).split(path.sep).join("/"));
  writeIfChanged(
    path.join(root, "pom.xml"),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<project xmlns="http://maven.apache.org/POM/4.0.0">',
      "  <modelVersion>4.0.0</modelVersion>",
      "  <groupId>test.msecgen</groupId>",
      `  <artifactId>${name}-reactor</artifactId>`,
      "  <version>0</version>",
      "  <packaging>pom</packaging>",
      "  <modules>",
      ...modules.map((m) => `    <module>${m}</module>`),
      "  </modules>",
      "</project>",
      "",
    ].join("\n"),
  );
  await runOk("mvn", ["-q", "-B", "package"], { cwd: root });
  return dirs.map((dir) => {
    const { artifactId, version } = pomCoordinates(readFileSync(path.join(dir, "pom.xml"), "utf8"));
    return path.join(dir, "target", `${artifactId}-${version}.jar`);
  });
}

/** The project's own groupId, artifactId and version (the first ones after `</modelVersion>`). */
export function pomCoordinates(pom: string): { groupId: string; artifactId: string; version: string } {
  const own = pom.slice(pom.indexOf("</modelVersion>"));
  const field = (tag: string): string => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(own)?.[1] ?? "";
  return { groupId: field("groupId"), artifactId: field("artifactId"), version: field("version") };
}

/** The jar of `io.github.msecgen:msec-runtime` a reactor build made from `<first package>/runtime`. */
export function runtimeJar(firstPackage: string): string {
  return path.join(firstPackage, "runtime", "target", `msec-runtime-${runtimeVersion()}.jar`);
}

/** The entries of a jar (zip), via the JDK's `jar` tool. */
export async function jarEntries(jar: string): Promise<string[]> {
  return (await runOk("jar", ["tf", jar])).split("\n").filter((l) => l !== "");
}

/** Compiles `source` (class `mainClass`, default package) against `classpath` into `outDir`. */
export async function compileJavaProgram(outDir: string, mainClass: string, source: string, classpath: readonly string[]): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${mainClass}.java`);
  writeIfChanged(file, source);
  await runOk("javac", ["--release", "17", "-encoding", "UTF-8", "-cp", classpath.join(path.delimiter), "-d", outDir, file]);
}

/**
 * Every ```java block of a generated README as one compilable class: the
 * blocks' `import` lines on top, their statements in a method body.
 */
export function readmeJavaProgram(readme: string, className: string): string {
  const blocks = [...readme.matchAll(/```java\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines = blocks.flatMap((b) => b.split("\n"));
  const imports = lines.filter((l) => l.startsWith("import "));
  const body = lines.filter((l) => !l.startsWith("import ") && l.trim() !== "");
  return [...imports, "", `final class ${className} {`, "    static void run() {", ...body.map((l) => `        ${l}`), "    }", "}", ""].join("\n");
}
