/**
 * What the C++ interop tests share: generating a C++ caller library into a
 * cached folder (only changed files are rewritten, so CMake rebuilds only
 * what changed between runs), building it with the real cmake + g++ +
 * Debian protobuf, and running programs.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../../generator/generate.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/**
 * Generated packages and CMake build trees, kept between runs (as a build directory would be).
 * Keyed by the checkout: a CMake cache remembers its source folder and refuses another one,
 * so two clones on one machine (a work tree and CI's) must not share it.
 */
export const CPP_CACHE = path.join(
  tmpdir(),
  `msec-gen-cpp-interop-${createHash("sha256").update(REPO_ROOT).digest("hex").slice(0, 12)}`,
);
/** Consumer CMake project and test programs. */
export const CPP_TEST_DIR = path.join(REPO_ROOT, "test/interop/cpp");

/** Longest a single toolchain step may take. */
const STEP_TIMEOUT_MS = 240_000;
/** A cache lock older than this is left over from a killed run and is taken over. */
const STALE_LOCK_MS = 600_000;

/**
 * Runs `fn` holding the lock of cache entry `id`, so test files running in
 * parallel processes never generate into or build the same tree at once.
 */
export async function withCacheLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(CPP_CACHE, `${id}.lock`);
  mkdirSync(CPP_CACHE, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The environment for cmake/protoc: PATH without node_modules/.bin, where an
 * npm-installed `protoc` (a different protobuf version) would shadow the
 * system one that matches libprotobuf.
 */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const entries = (process.env.PATH ?? "").split(path.delimiter).filter((p) => !p.includes(`node_modules${path.sep}.bin`));
  return { ...process.env, PATH: entries.join(path.delimiter), ...extra };
}

/** Result of a finished program. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: options.cwd, env: options.env ?? toolEnv(), timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") {
          reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a program and fails with its output unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Writes `content` unless the file already holds exactly that (keeps mtimes for incremental builds). */
export function writeIfChanged(file: string, content: string | Uint8Array): void {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
  try {
    if (readFileSync(file).equals(bytes)) return;
  } catch {
    // missing: write it
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
}

/** A generated C++ caller package on disk. */
export interface CppCaller {
  /** The `cpp/` folder. */
  dir: string;
  /** Generated files by path relative to `dir`. */
  files: Map<string, string>;
}

/** Generates `<name>-caller/cpp/` for `protos` (repo-relative) into `CPP_CACHE/<id>/cpp`. */
export function generateCppCaller(id: string, protos: readonly string[], name: string, includes?: readonly string[]): Promise<CppCaller> {
  return withCacheLock(id, () => generateUnlocked(id, protos, name, includes));
}

async function generateUnlocked(id: string, protos: readonly string[], name: string, includes?: readonly string[]): Promise<CppCaller> {
  const generated = await generate({ kind: "caller", protos, includes, name, lang: "cpp", cwd: REPO_ROOT });
  const prefix = `${name}-caller/cpp/`;
  const dir = path.join(CPP_CACHE, id, "cpp");
  const files = new Map<string, string>();
  for (const f of generated) {
    if (!f.path.startsWith(prefix)) continue;
    const rel = f.path.slice(prefix.length);
    const text = typeof f.content === "string" ? f.content : Buffer.from(f.content).toString("utf8");
    files.set(rel, text);
    writeIfChanged(path.join(dir, rel), f.content);
  }
  return { dir, files };
}

/**
 * Configures (once) and builds the consumer project of test/interop/cpp with
 * the caller pulled in by add_subdirectory (so its bundled runtime/ is built
 * too); returns the build directory (`client` is the program, `caller/` the
 * library's own tree). `cppPackage` is the caller's CMake package name.
 */
export function buildConsumer(id: string, caller: CppCaller, cppPackage: string, source: string, readmeExample = false): Promise<string> {
  return withCacheLock(id, () => buildUnlocked(id, caller, cppPackage, source, readmeExample));
}

async function buildUnlocked(id: string, caller: CppCaller, cppPackage: string, source: string, readmeExample: boolean): Promise<string> {
  const build = path.join(CPP_CACHE, id, "build");
  let readme = "";
  if (readmeExample) {
    const block = /```cpp\n([\s\S]*?)```/.exec(caller.files.get("README.md") ?? "");
    if (block === null) throw new Error("no ```cpp block in the generated README");
    readme = path.join(CPP_CACHE, id, "readme_example.cc");
    writeIfChanged(readme, block[1]!);
  }
  await runOk("cmake", [
    "-S",
    CPP_TEST_DIR,
    "-B",
    build,
    `-DCALLER_DIR=${caller.dir}`,
    `-DCALLER_PACKAGE=${cppPackage}`,
    `-DCLIENT_SOURCE=${path.join(CPP_TEST_DIR, source)}`,
    `-DREADME_SOURCE=${readme}`,
  ]);
  await runOk("cmake", ["--build", build, "-j", "2"]);
  return build;
}

/** The runtime project of this checkout (runtimes/cpp) built with its tests, and installed. */
export interface CppRuntimeBuild {
  /** Its build tree (`frame_vectors_test`, ctest). */
  build: string;
  /** An install prefix holding MsecRuntime (for `-DCMAKE_PREFIX_PATH`). */
  prefix: string;
}

/** Builds (incrementally) and installs runtimes/cpp once per checkout, under the cache. */
export function buildRuntime(): Promise<CppRuntimeBuild> {
  return withCacheLock("runtime", async () => {
    const build = path.join(CPP_CACHE, "runtime", "build");
    const prefix = path.join(CPP_CACHE, "runtime", "prefix");
    await runOk("cmake", ["-S", path.join(REPO_ROOT, "runtimes/cpp"), "-B", build, "-DMSEC_RUNTIME_BUILD_TESTS=ON"]);
    await runOk("cmake", ["--build", build, "-j", "2"]);
    await runOk("cmake", ["--install", build, "--prefix", prefix]);
    return { build, prefix };
  });
}
