/**
 * Locates the buf CLI shipped inside the `@bufbuild/buf` npm package.
 *
 * The platform binary (`@bufbuild/buf-<platform>-<arch>/bin/buf`) is called
 * directly: it is about 3x faster than the package's JS shim (which spawns it
 * anyway). The shim is the fallback for platforms whose package layout differs.
 */
import { createRequire } from "node:module";

/** How to run buf: a command and the arguments that precede buf's own. */
export interface BufCommand {
  readonly command: string;
  readonly prefixArgs: readonly string[];
}

let cached: BufCommand | undefined;

/** Resolve buf once per process. Throws when neither the binary nor the shim is installed. */
export function bufCommand(): BufCommand {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const exe = process.platform === "win32" ? "buf.exe" : "buf";
  const arch = process.arch;
  const platform = process.platform === "win32" ? "win32" : process.platform;
  try {
    cached = { command: require.resolve(`@bufbuild/buf-${platform}-${arch}/bin/${exe}`), prefixArgs: [] };
  } catch {
    cached = { command: process.execPath, prefixArgs: [require.resolve("@bufbuild/buf/bin/buf")] };
  }
  return cached;
}
