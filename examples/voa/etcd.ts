/**
 * The example's etcd: Debian's `etcd` binary, started by the example on free
 * loopback ports with its own data folder in the work folder (fresh on every
 * run), ready once `GET /health` says so. Both msec instances share it, each
 * under its own key prefix. scripts/setup.sh installs etcd where it is missing.
 */
import { rmSync } from "node:fs";
import { startChild } from "./children.js";

/** How long etcd may take to report healthy (it starts in well under a second here). */
export const ETCD_READY_TIMEOUT_MS = 15_000;
/** Pause between health polls. */
const HEALTH_POLL_MS = 50;

/** Data folders made by startEtcd, for removeEtcdData. */
const folders: string[] = [];

/** Deletes the data folder; call after etcd stopped (also when its start was interrupted). */
export function removeEtcdData(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Starts one etcd member on 127.0.0.1 (`clientPort`, `peerPort`) keeping its data in `dataDir`; resolves its client URL once healthy. */
export async function startEtcd(clientPort: number, peerPort: number, dataDir: string): Promise<string> {
  folders.push(dataDir);
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const { child } = await startChild(
    "etcd",
    "etcd",
    [
      "--name", "voa",
      "--data-dir", dataDir,
      "--listen-client-urls", clientUrl,
      "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", `voa=${peerUrl}`,
      "--log-level", "error",
      "--logger", "zap",
    ],
    {},
  );
  const deadline = Date.now() + ETCD_READY_TIMEOUT_MS;
  while (!(await isHealthy(clientUrl))) {
    const proc = child.process;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`etcd exited (${proc.exitCode ?? proc.signalCode}) before it was healthy:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`etcd not healthy within ${ETCD_READY_TIMEOUT_MS} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  return clientUrl;
}

/** True when `GET <url>/health` answers `{"health":"true"}`. */
async function isHealthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}
