/**
 * What the Java interop tests share: generating a Java caller package into a
 * cached folder (only changed files are rewritten, so Maven recompiles only
 * what changed between runs), building it with the real Maven + JDK 17
 * (dependencies come from Maven Central into the default `~/.m2`, so runs
 * after the first are offline-fast), and compiling and running small Java
 * programs against the built jar.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../../generator/generate.js";
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
 * `JAVA_CACHE/<folder>` and returns that folder (the Maven project).
 */
export async function generateJavaCaller(folder: string, protos: readonly string[], name: string): Promise<string> {
  const files = await generate({ kind: "caller", lang: "java", protos: protos.map((p) => path.join(REPO_ROOT, p)), name });
  const prefix = `${name}-caller/java/`;
  const dir = path.join(JAVA_CACHE, folder);
  for (const f of files) {
    if (f.path.startsWith(prefix)) writeIfChanged(path.join(dir, f.path.slice(prefix.length)), f.content);
  }
  return dir;
}

/** `mvn -q -B package` in `dir` (compiles, runs the package's JUnit tests, builds the jar); returns the jar path. */
export async function mavenPackage(dir: string): Promise<string> {
  await runOk("mvn", ["-q", "-B", "package"], { cwd: dir });
  const pom = readFileSync(path.join(dir, "pom.xml"), "utf8");
  const artifactId = /<artifactId>([^<]+)<\/artifactId>/.exec(pom.slice(pom.indexOf("</modelVersion>")))?.[1];
  const version = /<version>([^<]+)<\/version>/.exec(pom.slice(pom.indexOf("</modelVersion>")))?.[1];
  return path.join(dir, "target", `${artifactId}-${version}.jar`);
}

/** The surefire summary line of a test class, e.g. `Tests run: 11, Failures: 0, Errors: 0, Skipped: 0`. */
export function surefireSummary(dir: string, testClass: string): string {
  const report = readFileSync(path.join(dir, "target/surefire-reports", `${testClass}.txt`), "utf8");
  return /Tests run: \d+, Failures: \d+, Errors: \d+, Skipped: \d+/.exec(report)?.[0] ?? report;
}

/** Compiles `source` (class `mainClass`, default package) against `classpath` into `outDir`. */
export async function compileJavaProgram(outDir: string, mainClass: string, source: string, classpath: readonly string[]): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${mainClass}.java`);
  writeIfChanged(file, source);
  await runOk("javac", ["--release", "17", "-encoding", "UTF-8", "-cp", classpath.join(path.delimiter), "-d", outDir, file]);
}
