/**
 * Ports for processes the tests start later (servers, etcd, MariaDB).
 *
 * Asking the OS (`listen(0)`, read, close) hands out a port from the kernel's
 * ephemeral range — the range it also takes local ports of outgoing
 * connections from. Between the ask and the child's bind, any connection the
 * test makes (to etcd, to a server) may take that port, and the child fails
 * with EADDRINUSE (seen: MariaDB in the VOA example). Ports below the
 * ephemeral range are never taken that way, so they are picked from there,
 * checked free with a bind, and never handed out twice by one process.
 */
import { readFileSync } from "node:fs";
import net from "node:net";

const LOWEST = 10_000;
const handedOut = new Set<number>();

/** Lowest port of the kernel's ephemeral range (Linux default 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1, free now, outside the ephemeral range; distinct per call. */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  if (high - LOWEST < 1000) throw new Error(`ephemeral ports start at ${high}: no room below them for test ports`);
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free TCP port between ${LOWEST} and ${high} after 500 tries`);
}
