/**
 * Real etcd processes for the routing tests: each member listens on loopback
 * on ports the OS picked as free, keeps its data in its own temp folder, and
 * is started by polling `/health` (never a blind sleep). `stop()` kills every
 * member and removes the data folders; call it in `after`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How long a member may take to report healthy (etcd 3.4 starts in 0.1–1 s here). */
export const ETCD_START_TIMEOUT_MS = 15_000;
/** Pause between health polls. */
export const HEALTH_POLL_MS = 50;

/** A port for a process started later (below the ephemeral range: test/free-port.ts). */
import { freePort } from "../free-port.js";
export { freePort };

/** One etcd member. */
export interface EtcdMember {
  name: string;
  /** Client URL, e.g. `http://127.0.0.1:41234`. */
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process: ChildProcess | undefined;
  /** Output of the process, for failure messages. */
  log: string[];
}

/** A running etcd (one member or a cluster). */
export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs of every member. */
  endpoints: string[];
  /** SIGKILLs one member and waits for it to exit. */
  kill(member: EtcdMember): Promise<void>;
  /** Starts a member again on its same ports and data; resolves when it is healthy. */
  restart(member: EtcdMember): Promise<void>;
  /** Kills every member and removes the data folders. */
  stop(): Promise<void>;
}

/** True when `GET <url>/health` answers `{"health":"true"}`. */
export async function isHealthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === "true";
  } catch {
    return false;
  }
}

async function waitHealthy(member: EtcdMember): Promise<void> {
  const deadline = Date.now() + ETCD_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (member.process?.exitCode !== null && member.process?.exitCode !== undefined) {
      throw new Error(`etcd ${member.name} exited (${member.process.exitCode}):\n${member.log.join("")}`);
    }
    if (await isHealthy(member.clientUrl)) return;
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  throw new Error(`etcd ${member.name} not healthy after ${ETCD_START_TIMEOUT_MS} ms:\n${member.log.join("")}`);
}

function launch(member: EtcdMember, initialCluster: string, state: "new" | "existing"): void {
  const child = spawn(
    "etcd",
    [
      "--name", member.name,
      "--data-dir", member.dataDir,
      "--listen-client-urls", member.clientUrl,
      "--advertise-client-urls", member.clientUrl,
      "--listen-peer-urls", member.peerUrl,
      "--initial-advertise-peer-urls", member.peerUrl,
      "--initial-cluster", initialCluster,
      "--initial-cluster-state", state,
      "--initial-cluster-token", `msec-test-${process.pid}`,
      "--log-level", "error",
      "--logger", "zap",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  member.process = child;
  const keep = (chunk: Buffer) => {
    member.log.push(chunk.toString());
    if (member.log.length > 200) member.log.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts `size` etcd members (default 1) forming one cluster; resolves when all are healthy. */
export async function startEtcd(size = 1): Promise<EtcdCluster> {
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: mkdtempSync(join(tmpdir(), "msec-etcd-")),
      process: undefined,
      log: [],
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async kill(member) {
      const child = member.process;
      if (!child) return;
      child.kill("SIGKILL");
      await waitExit(child);
    },
    async restart(member) {
      launch(member, initialCluster, "existing");
      await waitHealthy(member);
    },
    async stop() {
      for (const m of members) {
        if (m.process) {
          m.process.kill("SIGKILL");
          await waitExit(m.process);
        }
        rmSync(m.dataDir, { recursive: true, force: true });
      }
    },
  };
  try {
    for (const m of members) launch(m, initialCluster, "new");
    for (const m of members) await waitHealthy(m);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
