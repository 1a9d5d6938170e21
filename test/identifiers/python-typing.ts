/**
 * A virtualenv with protobuf and its type stubs (types-protobuf), for running
 * `mypy --strict` on generated Python packages; mypy itself is the one
 * scripts/setup.sh installs. Made once per test file.
 */
import path from "node:path";
import { runOk } from "../interop/ts-server.js";

let venv: Promise<string> | undefined;

/** The venv's python (`<dir>/typing-venv/bin/python`), created on first use. */
export function typingPython(dir: string): Promise<string> {
  venv ??= (async () => {
    const root = path.join(dir, "typing-venv");
    await runOk("python3", ["-m", "venv", root]);
    const python = path.join(root, "bin/python");
    await runOk(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "protobuf>=4.21", "types-protobuf"]);
    return python;
  })();
  return venv;
}

/** `mypy --strict` over `files` (relative to `cwd`), imports checked against the typing venv. */
export async function mypyStrict(work: string, cwd: string, files: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const python = await typingPython(work);
  const args = ["-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", "--cache-dir=/dev/null", "--python-executable", python, ...files];
  await runOk("python3", args, { cwd, env });
}
