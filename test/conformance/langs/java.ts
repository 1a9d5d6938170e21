/**
 * Java runner: the caller generated for conformance.proto (`msec-gen caller
 * --lang java`, default bundled runtime) and the runtime project it carries in
 * `runtime/` are built with Maven in one reactor run (as test/interop/java-*
 * do: the README's two projects, without installing into the shared ~/.m2),
 * then runners/java/ is compiled with javac against the jars.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PROTOBUF_JAR, REPO_ROOT, generateJavaCaller, mavenReactorPackage, runOk, runtimeJar } from "../../interop/java-toolchain.js";
import type { Language } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

/** The runner's own libraries (not the caller's): Gson reads the scenario and writes observations. */
const RUNNER_LIBRARIES = [
  ["com.google.code.gson", "gson", "2.13.1"],
  // Gson's annotations, on the class path so javac -Xlint:all finds them.
  ["com.google.errorprone", "error_prone_annotations", "2.38.0"],
] as const;

/** Fetches the runner's libraries into Maven's local repository (once) and returns their jars. */
async function runnerLibraries(): Promise<string[]> {
  const jars = RUNNER_LIBRARIES.map(([group, artifact, version]) =>
    path.join(homedir(), ".m2/repository", ...group.split("."), artifact, version, `${artifact}-${version}.jar`),
  );
  if (!jars.every((jar) => existsSync(jar))) {
    const [group, artifact, version] = RUNNER_LIBRARIES[0];
    await runOk("mvn", ["-q", "-B", "dependency:get", `-Dartifact=${group}:${artifact}:${version}`]);
  }
  return jars;
}

export const language: Language = {
  name: "java",
  async build(work) {
    const dir = await generateJavaCaller("conformance", [CONFORMANCE_PROTO], CONFORMANCE_SERVICE);
    const [jar] = (await mavenReactorPackage("conformance-reactor", [dir])) as [string];
    const classpath = [jar, runtimeJar(dir), PROTOBUF_JAR, ...(await runnerLibraries())];
    const classes = path.join(work, "classes");
    mkdirSync(classes, { recursive: true });
    const sources = [path.join(REPO_ROOT, "test/conformance/runners/java/Runner.java")];
    await runOk("javac", ["--release", "17", "-encoding", "UTF-8", "-Xlint:all", "-Werror", "-cp", classpath.join(path.delimiter), "-d", classes, ...sources]);
    return { command: "java", args: ["-cp", [classes, ...classpath].join(path.delimiter), "Runner"] };
  },
  async unavailable() {
    for (const tool of ["java", "javac", "mvn"]) {
      try {
        await promisify(execFile)(tool, ["-version"]);
      } catch {
        return `${tool} is not installed (scripts/setup.sh installs JDK 17 and Maven)`;
      }
    }
    return undefined;
  },
  unsupported: {},
  expectedFailures: {},
};
