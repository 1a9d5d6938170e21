/**
 * Scenario 3's database: Debian's MariaDB, started by the example on
 * loopback with its own data folder (fresh on every run, so the output is
 * the same every time), one database and one user for MainLogic.
 * scripts/setup.sh installs `mariadb-server` where it is missing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runOk } from "./build.js";
import { startChild } from "./children.js";

/** The account and database MainLogic's cache uses (handlers/ts/mp3-cache.ts, handlers/python/…). */
export const DB_USER = "msec";
export const DB_PASSWORD = "msec@anyhost";
export const DB_NAME = "voa";

export interface Database {
  readonly port: number;
  /** Runs SQL as root over the Unix socket; resolves the tab-separated rows. */
  query(sql: string): Promise<string>;
}

/** Data folders made by startMariaDb, for removeDataFolders. */
const folders: string[] = [];

/** Deletes every data folder made so far; call after the servers stopped (also when a start was interrupted). */
export function removeDataFolders(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Initialises a data folder, starts `mariadbd` on 127.0.0.1:`port` and creates the database and user. */
export async function startMariaDb(port: number): Promise<Database> {
  // The socket path must stay under ~100 bytes, so the folder lives in the system temp folder.
  const dir = mkdtempSync(path.join(tmpdir(), "voa-db-"));
  folders.push(dir);
  const data = path.join(dir, "data");
  const socket = path.join(dir, "mysqld.sock");
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  await runOk("mariadb-install-db", ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...asRoot]);
  await startChild(
    "mariadb",
    "mariadbd",
    ["--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, "--skip-networking=0", "--bind-address=127.0.0.1", `--pid-file=${path.join(dir, "mariadbd.pid")}`, ...asRoot],
    { readyLine: /ready for connections/, readyPort: port },
  );
  const query = (sql: string): Promise<string> => runOk("mariadb", ["--no-defaults", "-uroot", `--socket=${socket}`, "--batch", "--skip-column-names", "-e", sql]);
  await query(
    `CREATE DATABASE ${DB_NAME}; CREATE USER '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${DB_PASSWORD}'; GRANT ALL ON ${DB_NAME}.* TO '${DB_USER}'@'127.0.0.1';`,
  );
  return { port, query };
}
