// The VOA example's MySQL cache of Crawl's mp3 lists (scenario 3), copied
// into MainLogic's src/handlers/ by the example's build step. The database is
// found by routing name, as the walkthrough's getroute("Database.mysql").
import { type CallContext, getRoute } from "@msec-gen/runtime";
import { type Pool, type RowDataPacket, createPool } from "mysql2/promise";

/** Routing name of the database. */
export const DATABASE = "Database.mysql";
/** Account and schema the example creates (the walkthrough's user and password). */
export const DB_USER = "msec";
export const DB_PASSWORD = "msec@anyhost";
export const DB_NAME = "voa";
/** Connections MainLogic keeps to the database. */
const POOL_SIZE = 4;

export interface Mp3 {
  title: string;
  url: string;
}

let pool: Promise<Pool | undefined> | undefined;

/** The pool, created on first use; undefined when no database is routed (then nothing is cached). */
function database(ctx: CallContext): Promise<Pool | undefined> {
  pool ??= (async () => {
    let route;
    try {
      route = await getRoute(DATABASE);
    } catch {
      ctx.log.info("no route to the database: the mp3 list is not cached", { service: DATABASE });
      return undefined;
    }
    const created = createPool({ host: route.ip, port: route.port, user: DB_USER, password: DB_PASSWORD, database: DB_NAME, connectionLimit: POOL_SIZE });
    await created.query(
      "CREATE TABLE IF NOT EXISTS mp3_cache (type VARCHAR(191) NOT NULL, position INT NOT NULL, title VARCHAR(255) NOT NULL, url VARCHAR(1024) NOT NULL, PRIMARY KEY (type, position))",
    );
    return created;
  })().catch((err: Error) => {
    ctx.log.error("database unavailable: the mp3 list is not cached", { error: err.message });
    pool = undefined; // try again on the next call
    return undefined;
  });
  return pool;
}

/** The cached list of `type`, or undefined when it is not cached (or there is no database). */
export async function cachedList(type: string, ctx: CallContext): Promise<Mp3[] | undefined> {
  const db = await database(ctx);
  if (db === undefined) return undefined;
  try {
    const [rows] = await db.query<Array<RowDataPacket & Mp3>>("SELECT title, url FROM mp3_cache WHERE type = ? ORDER BY position", [type]);
    return rows.length === 0 ? undefined : rows.map((r) => ({ title: r.title, url: r.url }));
  } catch (err) {
    ctx.log.error("cache read failed", { error: (err as Error).message });
    return undefined;
  }
}

/** Stores the list of `type` (replacing any older one); failures are logged, not returned. */
export async function storeList(type: string, mp3s: readonly Mp3[], ctx: CallContext): Promise<void> {
  const db = await database(ctx);
  if (db === undefined || mp3s.length === 0) return;
  try {
    await db.query("DELETE FROM mp3_cache WHERE type = ?", [type]);
    await db.query("INSERT INTO mp3_cache (type, position, title, url) VALUES ?", [mp3s.map((m, i) => [type, i, m.title, m.url])]);
  } catch (err) {
    ctx.log.error("cache write failed", { error: (err as Error).message });
  }
}
