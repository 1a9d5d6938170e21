/**
 * A Go consumer module set up exactly as a generated Go caller's README says:
 * `go mod init`, then the README's `go mod edit …` / `go mod tidy` lines with
 * `./path/to/this/folder` replaced by the caller folder's path from the
 * consumer's go.mod. Shared by the Go interop and shared-import tests.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { runOk } from "./ts-server.js";

/** The placeholder every generated Go README uses for the caller folder. */
export const FOLDER_PLACEHOLDER = "./path/to/this/folder";

/** The shell lines of the README's Install block (`go mod edit …`, `go mod tidy`). */
export function installLines(callerDir: string): string[] {
  const readme = readFileSync(path.join(callerDir, "README.md"), "utf8");
  const block = /^## Install\n[\s\S]*?^```sh\n([\s\S]*?)^```$/m.exec(readme);
  assert.ok(block, `${callerDir}/README.md has an Install sh block`);
  return block[1]!.split("\n").filter((l) => l !== "");
}

/**
 * Runs in `consumer` (after `go mod init <modulePath>`) the README install lines
 * of each caller folder (paths relative to `consumer`): every `go mod edit` line
 * of every caller first, then `go mod tidy` once, as a user adding several
 * callers does. Returns the commands run.
 */
export async function addCallers(consumer: string, modulePath: string, callerRelDirs: readonly string[]): Promise<string[]> {
  await runOk("go", ["mod", "init", modulePath], { cwd: consumer });
  const edits: string[][] = [];
  let tidy: string[] | undefined;
  for (const rel of callerRelDirs) {
    const relPath = rel.startsWith("../") ? rel : `./${rel}`;
    for (const line of installLines(path.join(consumer, rel))) {
      const args = line.split(" ").map((a) => a.replaceAll(FOLDER_PLACEHOLDER, relPath));
      assert.equal(args[0], "go", line);
      if (line === "go mod tidy") tidy = args;
      else edits.push(args);
    }
  }
  assert.ok(tidy, "the README ends with go mod tidy");
  const ran: string[] = [];
  for (const args of [...edits, tidy]) {
    await runOk("go", args.slice(1), { cwd: consumer });
    ran.push(args.join(" "));
  }
  return ran;
}
