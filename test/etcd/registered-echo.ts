/** The echo server (examples/echo) as a separate process that registers itself in etcd, for the routing tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repo = new URL("../..", import.meta.url).pathname;

/** Starts the echo server (examples/echo) registering itself in etcd; resolves with its port once registered. */
export function startEchoServer(endpoints: readonly string[], prefix: string, ttl: number): Promise<{ child: ChildProcess; port: number; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), "etcd-echo-"));
  const config = join(dir, "config.ini");
  writeFileSync(config, `[SRPC]\nlisten=127.0.0.1:0/tcp\n[ROUTE]\netcd=${endpoints.join(",")}\netcd_prefix=${prefix}\netcd_ttl=${ttl}\n`);
  const child = spawn(process.execPath, ["--import", "tsx", "examples/echo/echo-server.ts", "--port", "0", "--config", config], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const key = /registered (\S+) in etcd/.exec(out);
      if (port && key) resolve({ child, port: Number(port[1]), key: key[1]! });
    });
    child.once("exit", (code) => reject(new Error(`echo server exited with ${code}: ${out}${err}`)));
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

