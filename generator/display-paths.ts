/**
 * The path a user knows a `.proto` file by — as given on the command line,
 * relative to the current directory — for messages about its contents.
 * `buildModel` records it for the files of its registry, so code that holds
 * only a descriptor (refusals naming `file:line:col`) names the file the way
 * buf's compile errors and the file-option messages do.
 */
import type { DescFile, FileRegistry } from "@bufbuild/protobuf";

const shownPaths = new WeakMap<DescFile, string>();

/** Remember, for each file of `registry` read from disk, the path the user knows it by. */
export function rememberDisplayPaths(registry: FileRegistry, displayPaths: ReadonlyMap<string, string>): void {
  for (const [importPath, shown] of displayPaths) {
    const file = registry.getFile(importPath);
    if (file !== undefined) shownPaths.set(file, shown);
  }
}

/** The path the user knows `file` by, else its import path. */
export function displayPath(file: DescFile): string {
  return shownPaths.get(file) ?? file.proto.name;
}
