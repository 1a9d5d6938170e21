/**
 * The process's open-file soft limit (`RLIMIT_NOFILE`). Node has no
 * `getrlimit`; on Linux `/proc/self/limits` states it ("Max open files").
 * Elsewhere, or when the file cannot be read, the limit is unknown and
 * nothing is capped by it.
 */
import { readFileSync } from "node:fs";

/** Parses the "Max open files" soft limit from the text of `/proc/<pid>/limits`; `undefined` when absent or unlimited. */
export function parseOpenFileSoftLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (!m || m[1] === "unlimited") return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The soft limit on open files of this process, or `undefined` when it cannot be known. */
export function openFileSoftLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
  return parseOpenFileSoftLimit(text);
}
