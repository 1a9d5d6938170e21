/**
 * Levelled, structured logs with MSEC's request colouring (spec §9.2).
 *
 * One JSON object per line (JSON Lines), to stderr by default:
 * `{"time":"…","level":"INFO","flowId":"…","method":"…","caller":"…","msg":"…",…fields}`.
 * JSON rather than logfmt because every log pipeline parses it and field
 * values need no quoting rules of their own.
 *
 * A record is written when its level is at or above the threshold, OR when it
 * is coloured: its fields (the logger's bound fields plus the record's own)
 * carry `coloring` = 1, or match one of the `[COLOR] FieldNameN/FieldValueN`
 * pairs. Colouring is decided per record from its fields, which is why this
 * is a small writer of our own and not pino: pino decides by level alone,
 * before the record's fields are known.
 */
import type { Config } from "./config.js";

/** Log levels in increasing severity; NONE as a threshold silences everything not coloured. */
export type LogLevel = "TRACE" | "DEBUG" | "INFO" | "ERROR" | "FATAL" | "NONE";

/** Levels in MSEC's order (TRACE=0 … NONE=5). */
export const LOG_LEVELS: readonly LogLevel[] = ["TRACE", "DEBUG", "INFO", "ERROR", "FATAL", "NONE"];

/** Threshold when `[LOG] Level` is not set (MSEC default). */
export const DEFAULT_LOG_LEVEL: LogLevel = "ERROR";

/** Highest `[COLOR] FieldName<i>` index read (MSEC reads at most 1000 pairs). */
export const MAX_COLOR_RULES = 1000;

/** Field values a logger can bind with `child`. */
export type LogFieldValue = string | number | bigint;

/** A `[COLOR]` condition: field name and the value that colours a record. */
export type ColorRule = [field: string, value: string];

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  fatal(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose records all carry `fields` (e.g. flowId, method, caller, coloring). */
  child(fields: Record<string, LogFieldValue>): Logger;
  /**
   * Whether a record at `level` would be written — by level, by `coloring`
   * = 1, or because the bound fields match a colour rule. Use it to skip
   * building expensive messages.
   */
  isEnabled(level: LogLevel, coloring?: number): boolean;
}

export interface LoggerOptions {
  /** Threshold; default `DEFAULT_LOG_LEVEL` (ERROR). */
  level?: LogLevel;
  /** `[COLOR]` conditions (see `logOptionsFromConfig`). */
  colors?: ColorRule[];
  /** Where lines go; default `process.stderr`. */
  destination?: NodeJS.WritableStream;
  /** Clock for the `time` field; default `() => new Date()`. */
  now?: () => Date;
}

/** A config value that cannot be used, named with its file, section and key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const levelRank: ReadonlyMap<LogLevel, number> = new Map(LOG_LEVELS.map((level, i) => [level, i]));

/**
 * Parses a level name, case-insensitively, as `[LOG] Level` is read. Throws
 * `ConfigError` for anything else (MSEC fails the config load too).
 */
export function parseLogLevel(text: string, where = "[LOG] Level"): LogLevel {
  const upper = text.trim().toUpperCase() as LogLevel;
  if (!levelRank.has(upper)) {
    throw new ConfigError(`${where}: invalid log level "${text}" (expected one of ${LOG_LEVELS.join(", ")})`);
  }
  return upper;
}

/**
 * Logger options from a config: `[LOG] Level` (default ERROR) and the
 * `[COLOR] FieldName0/FieldValue0`, `FieldName1/FieldValue1`, … pairs up to the
 * first missing name.
 */
export function logOptionsFromConfig(config: Config): { level: LogLevel; colors: ColorRule[] } {
  const levelText = config.get("LOG", "Level");
  const level = levelText === undefined ? DEFAULT_LOG_LEVEL : parseLogLevel(levelText, `${config.source}: [LOG] Level`);
  const colors: ColorRule[] = [];
  for (let i = 0; i < MAX_COLOR_RULES; i++) {
    const name = config.get("COLOR", `FieldName${i}`);
    if (name === undefined) break;
    colors.push([name, config.get("COLOR", `FieldValue${i}`) ?? ""]);
  }
  return { level, colors };
}

/** MSEC log header names (as used in `[COLOR]` rules) and the fields our runtime binds for them. */
const msecFieldAliases: ReadonlyMap<string, string> = new Map([
  ["ReqID", "flowId"],
  ["RPCName", "method"],
  ["Caller", "caller"],
  ["ServiceName", "service"],
  ["ClientIP", "peer"],
  ["Coloring", "coloring"],
]);

function fieldValue(fields: Record<string, unknown>, name: string): unknown {
  if (name in fields) return fields[name];
  const alias = msecFieldAliases.get(name);
  return alias === undefined ? undefined : fields[alias];
}

function isColoured(fields: Record<string, unknown>, colors: readonly ColorRule[]): boolean {
  const coloring = fields["coloring"];
  if (coloring !== undefined && String(coloring) === "1") return true;
  for (const [name, value] of colors) {
    const v = fieldValue(fields, name);
    if (v !== undefined && v !== null && String(v) === value) return true;
  }
  return false;
}

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out["code"] = code;
    return out;
  }
  return value;
}

/** The keys every line starts with, in this order. */
const FIXED_KEYS = new Set(["time", "level", "flowId", "method", "caller", "msg"]);

class JsonLinesLogger implements Logger {
  private readonly threshold: number;
  private readonly colouredByBinding: boolean;

  constructor(
    private readonly level: LogLevel,
    private readonly colors: readonly ColorRule[],
    private readonly destination: NodeJS.WritableStream,
    private readonly now: () => Date,
    private readonly bound: Record<string, LogFieldValue>,
  ) {
    this.threshold = levelRank.get(level)!;
    this.colouredByBinding = isColoured(bound, colors);
  }

  trace(msg: string, fields?: Record<string, unknown>): void {
    this.write("TRACE", msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write("DEBUG", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write("INFO", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write("ERROR", msg, fields);
  }
  fatal(msg: string, fields?: Record<string, unknown>): void {
    this.write("FATAL", msg, fields);
  }

  child(fields: Record<string, LogFieldValue>): Logger {
    return new JsonLinesLogger(this.level, this.colors, this.destination, this.now, { ...this.bound, ...fields });
  }

  isEnabled(level: LogLevel, coloring?: number): boolean {
    return levelRank.get(level)! >= this.threshold || coloring === 1 || this.colouredByBinding;
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (level === "NONE") return;
    if (!this.isEnabled(level) && !(fields !== undefined && isColoured({ ...this.bound, ...fields }, this.colors))) {
      return;
    }
    const all: Record<string, unknown> = { ...this.bound, ...fields };
    const record: Record<string, unknown> = {
      time: this.now().toISOString(),
      level,
      flowId: all["flowId"] ?? "",
      method: all["method"] ?? "",
      caller: all["caller"] ?? "",
      msg,
    };
    for (const key of Object.keys(all)) {
      if (!FIXED_KEYS.has(key)) record[key] = all[key];
    }
    this.destination.write(JSON.stringify(record, jsonValue) + "\n");
  }
}

/** Creates a logger writing JSON lines (see the module comment for the line layout). */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLinesLogger(
    options.level ?? DEFAULT_LOG_LEVEL,
    options.colors ?? [],
    options.destination ?? process.stderr,
    options.now ?? (() => new Date()),
    {},
  );
}
