/**
 * Runs protoc-gen-go (google.golang.org/protobuf) as a plain protoc plugin:
 * msec-gen already holds the `FileDescriptorProto`s buf built, so it writes a
 * `CodeGeneratorRequest` to the plugin's stdin and reads the
 * `CodeGeneratorResponse` from its stdout — no protoc needed.
 *
 * The plugin is found as `$PROTOC_GEN_GO` (used as given), else the first
 * `protoc-gen-go` of version PROTOC_GEN_GO_VERSION on PATH or in
 * `$(go env GOPATH)/bin`, else built once with `go install` into msec-gen's
 * cache folder (so a user's own protoc-gen-go of another version is never
 * replaced).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type CodeGeneratorResponse,
  CodeGeneratorRequestSchema,
  CodeGeneratorResponseSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";

/** The protoc-gen-go release whose output the generated go.mod's runtime requirement matches. */
export const PROTOC_GEN_GO_VERSION = "v1.36.12";
/** Environment variable naming a protoc-gen-go binary to use as is. */
export const PROTOC_GEN_GO_ENV = "PROTOC_GEN_GO";
/** Upper bound for the plugin's output we buffer. */
const PLUGIN_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

let located: string | undefined;

/** Path of a usable protoc-gen-go, building it when none is found. Throws `UserError` when Go is missing. */
export async function locateProtocGenGo(progress: (message: string) => void): Promise<string> {
  const fromEnv = process.env[PROTOC_GEN_GO_ENV];
  if (fromEnv) return fromEnv;
  if (located !== undefined && existsSync(located)) return located;
  const candidates = (process.env["PATH"] ?? "").split(path.delimiter).filter((d) => d !== "").map((d) => path.join(d, "protoc-gen-go"));
  const gopath = await goEnv("GOPATH");
  if (gopath) candidates.push(...gopath.split(path.delimiter).map((d) => path.join(d, "bin", "protoc-gen-go")));
  const cached = path.join(cacheDir(), "protoc-gen-go");
  candidates.push(cached);
  for (const candidate of candidates) {
    if (existsSync(candidate) && (await pluginVersion(candidate)) === PROTOC_GEN_GO_VERSION) return (located = candidate);
  }
  if (gopath === undefined) {
    throw new UserError(
      `--lang go needs protoc-gen-go ${PROTOC_GEN_GO_VERSION}: install Go 1.23 or newer (https://go.dev/dl/) so msec-gen can build it, ` +
        `or set ${PROTOC_GEN_GO_ENV} to a protoc-gen-go binary`,
    );
  }
  progress(`building protoc-gen-go ${PROTOC_GEN_GO_VERSION} with go install (once; cached in ${cacheDir()})`);
  await run("go", ["install", `google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}`], { ...process.env, GOBIN: cacheDir() });
  return (located = cached);
}

/** Runs the plugin over `protoFiles` (all files of the set, dependencies first) and returns its response. */
export async function runProtocGenGo(
  binary: string,
  protoFiles: readonly FileDescriptorProto[],
  fileToGenerate: readonly string[],
  parameter: string,
): Promise<CodeGeneratorResponse> {
  const request = create(CodeGeneratorRequestSchema, {
    fileToGenerate: [...fileToGenerate],
    parameter,
    protoFile: [...protoFiles],
  });
  const stdout = await pipe(binary, toBinary(CodeGeneratorRequestSchema, request));
  const response = fromBinary(CodeGeneratorResponseSchema, stdout);
  if (response.error !== undefined && response.error !== "") {
    throw new UserError(`protoc-gen-go: ${response.error}`);
  }
  return response;
}

/** `$XDG_CACHE_HOME/msec-gen/protoc-gen-go-<version>` (default `~/.cache/…`). */
function cacheDir(): string {
  const base = process.env["XDG_CACHE_HOME"] || path.join(homedir(), ".cache");
  return path.join(base, "msec-gen", `protoc-gen-go-${PROTOC_GEN_GO_VERSION}`);
}

/** `go env NAME`, or undefined when Go is not installed. */
async function goEnv(name: string): Promise<string | undefined> {
  try {
    return (await run("go", ["env", name])).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The version a protoc-gen-go binary reports (`protoc-gen-go v1.36.12` → `v1.36.12`), or undefined. */
async function pluginVersion(binary: string): Promise<string | undefined> {
  try {
    return (await run(binary, ["--version"])).trim().split(/\s+/).pop();
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, maxBuffer: PLUGIN_MAX_OUTPUT_BYTES }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") reject(err);
      else if (err) reject(new UserError(`${command} ${args.join(" ")} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Writes `input` to the plugin's stdin and collects its stdout. */
function pipe(binary: string, input: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => reject(new UserError(`cannot run ${binary}: ${e.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new UserError(`${binary} exited with code ${code}: ${Buffer.concat(err).toString("utf8").trim()}`));
    });
    child.stdin.on("error", () => {}); // an early exit is reported by "close"
    child.stdin.end(input);
  });
}
