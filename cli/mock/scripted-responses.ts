/**
 * The responses file of `msec-gen mock --responses FILE` (docs/mock.md): per
 * wire method name one answer, or a list of answers given in turn.
 *
 * ```yaml
 * echo.EchoService.Echo:
 *   reply: {message: aGk=}          # the response as ProtoJSON
 *   delay_ms: 50                    # optional: answer this much later
 * echo.EchoService.Other:
 *   - reply: {}
 *   - error: {code: -7, message: not yet}
 * ```
 *
 * JSON is YAML 1.2, so one parser reads both (with positions for every
 * value; duplicate keys rejected). Replies are checked against the method's
 * output message by the rule JSON requests are (the runtime's
 * `checkJsonRequest`: unknown fields, a oneof set twice, bad base64, unknown
 * enum values are errors), then converted with `fromJson` and checked for
 * proto2 `required` fields. Every mistake is reported as `file:line:col: message`,
 * all of them at once.
 */
import { promises as fs } from "node:fs";
import { type DescField, type DescMessage, type Message, fromJson, toBinary } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { type Document, LineCounter, type Node, type Pair, type YAMLMap, isAlias, isMap, isScalar, isSeq, parseDocument } from "yaml";
// Self-contained runtime modules, compiled into the CLI (as cli/routes-command.ts does with runtimes/ts/src/etcd/):
// the reply is checked by the very rule the server applies to JSON requests.
import { errorText } from "../../runtimes/ts/src/errors.js";
import { checkJsonRequest } from "../../runtimes/ts/src/json-request-check.js";
import { missingRequiredField } from "../../runtimes/ts/src/request-decoding.js";
import { CompileError, UserError } from "../../generator/user-error.js";

/** Longest `delay_ms` accepted (10 minutes). */
export const MAX_DELAY_MS = 600_000;
/** Entry keys. */
const ENTRY_KEYS = ["reply", "error", "delay_ms"] as const;

/** One scripted answer. */
export type ScriptedAnswer =
  | { readonly kind: "reply"; readonly message: Message; readonly delayMs: number }
  | { readonly kind: "error"; readonly code: number; readonly message: string; readonly delayMs: number };

/** Answers by wire method name, in the file's order; a method not named here is answered by the example rule. */
export type Script = ReadonlyMap<string, readonly ScriptedAnswer[]>;

/** Reads and checks `file` (shown as `shown` in messages) against the output types by wire method name. */
export async function loadScript(file: string, shown: string, outputs: ReadonlyMap<string, DescMessage>): Promise<Script> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === "ENOENT" ? `responses file not found: ${shown}` : `cannot read responses file ${shown}: ${code ?? (e as Error).message}`);
  }
  return parseScript(text, shown, outputs, file.toLowerCase().endsWith(".json"));
}

type Located = Node | Pair["key"] | null | undefined;

/**
 * Checks responses-file `text` (named `shown` in messages); `CompileError`
 * listing every mistake. `json`: the file is named `*.json`, so it must be
 * JSON (trailing commas, comments and other YAML are errors there).
 */
export function parseScript(text: string, shown: string, outputs: ReadonlyMap<string, DescMessage>, json = false): Script {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: string[] = [];
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${shown}:${line}:${col}`;
  };
  if (json) {
    try {
      JSON.parse(text);
    } catch (e) {
      const message = (e as Error).message;
      const position = /at position (\d+)/.exec(message);
      throw new CompileError(`${position === null ? shown : at(Number(position[1]))}: not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`);
    }
  }
  const fail = (node: Located, message: string): void => {
    const range = node !== null && node !== undefined && typeof node === "object" && "range" in node ? (node.range as [number, number, number] | null | undefined) : undefined;
    errors.push(`${at(range?.[0] ?? 0)}: ${message}`);
  };
  for (const e of doc.errors) errors.push(`${at(e.pos[0])}: ${e.message.split("\n")[0]}`);
  if (errors.length > 0) throw new CompileError(errors.join("\n"));

  const root = doc.contents;
  const known = [...outputs.keys()].join(", ");
  if (!isMap(root) || root.items.length === 0) {
    fail(root, `expected a mapping of wire method names to responses (methods: ${known})`);
    throw new CompileError(errors.join("\n"));
  }
  const script = new Map<string, ScriptedAnswer[]>();
  for (const pair of root.items) {
    const method = isScalar(pair.key) ? String(pair.key.value) : "";
    const output = outputs.get(method);
    if (output === undefined) {
      fail(pair.key, `unknown method ${JSON.stringify(method)} (methods: ${known})`);
      continue;
    }
    const value = pair.value as Node | null;
    const items: Located[] = isSeq(value) ? (value.items as Node[]) : [value];
    if (isSeq(value) && items.length === 0) {
      fail(value, `${method}: the list of answers is empty`);
      continue;
    }
    const answers: ScriptedAnswer[] = [];
    for (const item of items) {
      const answer = parseAnswer(item ?? pair.key, method, output, doc, fail);
      if (answer !== undefined) answers.push(answer);
    }
    if (answers.length === items.length) script.set(method, answers);
  }
  if (errors.length > 0) throw new CompileError(errors.join("\n"));
  return script;
}

type Fail = (node: Located, message: string) => void;

/** The node an alias (`*name`) stands for; any other node as it is. */
function deref(node: Located, doc: Document): Located {
  return isAlias(node) ? ((node.resolve(doc) as Node | undefined) ?? node) : node;
}

function parseAnswer(item: Located, method: string, output: DescMessage, doc: Document, fail: Fail): ScriptedAnswer | undefined {
  const node = deref(item, doc);
  const shape = `{reply: {…}} or {error: {code: N, message: "…"}}, optional delay_ms`;
  if (!isMap(node)) {
    fail(node, `${method}: an answer must be a mapping: ${shape}`);
    return undefined;
  }
  const pairs = new Map<string, Pair>();
  let ok = true;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
      fail(pair.key, `${method}: unknown key ${JSON.stringify(key)} (an answer has ${ENTRY_KEYS.join(", ")})`);
      ok = false;
    } else pairs.set(key, pair);
  }
  const reply = pairs.get("reply");
  const error = pairs.get("error");
  if ((reply === undefined) === (error === undefined)) {
    fail(node, `${method}: an answer has exactly one of "reply" and "error": ${shape}`);
    return undefined;
  }
  const delayMs = parseDelay(pairs.get("delay_ms"), method, fail);
  if (!ok || delayMs === undefined) return undefined;
  if (reply !== undefined) {
    const message = parseReply(reply, method, output, doc, fail);
    return message === undefined ? undefined : { kind: "reply", message, delayMs };
  }
  const parsed = parseError(error!, method, doc, fail);
  return parsed === undefined ? undefined : { kind: "error", ...parsed, delayMs };
}

function parseDelay(pair: Pair | undefined, method: string, fail: Fail): number | undefined {
  if (pair === undefined) return 0;
  const value = isScalar(pair.value) ? pair.value.value : undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_MS) {
    fail((pair.value as Node | null) ?? pair.key, `${method}: delay_ms must be an integer from 0 to ${MAX_DELAY_MS} (milliseconds)`);
    return undefined;
  }
  return value;
}

function parseError(pair: Pair, method: string, doc: Document, fail: Fail): { code: number; message: string } | undefined {
  const node = deref(pair.value as Node | null, doc);
  if (!isMap(node)) {
    fail(node ?? pair.key, `${method}: error must be a mapping {code: N, message: "…"}`);
    return undefined;
  }
  let code: number | undefined;
  let message: string | undefined;
  let ok = true;
  for (const item of node.items) {
    const key = isScalar(item.key) ? String(item.key.value) : "";
    const value = isScalar(item.value) ? item.value.value : undefined;
    const where = (item.value as Node | null) ?? item.key;
    if (key === "code") {
      if (typeof value !== "number" || !Number.isInteger(value) || value === 0 || value < -(2 ** 31) || value >= 2 ** 31) {
        fail(where, `${method}: error.code must be a non-zero 32-bit integer (an SRPC code such as -7, or the service's own)`);
        ok = false;
      } else code = value;
    } else if (key === "message") {
      if (typeof value !== "string") {
        fail(where, `${method}: error.message must be a string`);
        ok = false;
      } else message = value;
    } else {
      fail(item.key, `${method}: unknown key ${JSON.stringify(key)} in error (it has code, message)`);
      ok = false;
    }
  }
  if (code === undefined) {
    if (ok) fail(node, `${method}: error needs a code`);
    return undefined;
  }
  return ok ? { code, message: message ?? errorText(code) } : undefined;
}

function parseReply(pair: Pair, method: string, output: DescMessage, doc: Document, fail: Fail): Message | undefined {
  const node = deref(pair.value as Node | null, doc);
  // `reply:` with nothing after it is the empty message.
  if (node === null || (isScalar(node) && node.value === null)) return convert({}, node ?? pair.key, method, output, fail);
  if (!isMap(node)) {
    fail(node, `${method}: reply must be a mapping (the ${output.typeName} response as ProtoJSON)`);
    return undefined;
  }
  let json: unknown;
  try {
    // toJS with the document resolves aliases (`*name`) to their anchored values.
    json = node.toJS(doc);
  } catch (e) {
    fail(node, `${method}: reply: ${(e as Error).message}`);
    return undefined;
  }
  try {
    json = checkJsonRequest(output, json as never);
  } catch (e) {
    const text = (e as Error).message;
    fail(locate(node, output, text), `${method}: reply: ${text}`);
    return undefined;
  }
  return convert(json, node, method, output, fail);
}

/** `fromJson`, then the proto2 `required` check and a trial encoding. */
function convert(json: unknown, node: Located, method: string, output: DescMessage, fail: Fail): Message | undefined {
  let message: Message;
  try {
    message = fromJson(output, json as never);
  } catch (e) {
    fail(node, `${method}: reply: ${(e as Error).message}`);
    return undefined;
  }
  const missing = missingRequiredField(reflect(output, message), output.typeName);
  if (missing !== undefined) {
    fail(node, `${method}: reply: ${missing}: missing required field`);
    return undefined;
  }
  try {
    toBinary(output, message);
  } catch (e) {
    fail(node, `${method}: reply: ${(e as Error).message}`);
    return undefined;
  }
  return message;
}

/**
 * The YAML node an error of `checkJsonRequest` is about: its message starts
 * with a path such as `echo.Resp.items[2].name` or `echo.Resp.tags["a"]`,
 * followed by the fields' YAML keys (proto or JSON names); the deepest node
 * found on the way (the key of a field, the item of a list).
 */
function locate(reply: YAMLMap, output: DescMessage, errorText: string): Located {
  const path = errorText.startsWith(`${output.typeName}`) ? errorText.slice(output.typeName.length).split(": ", 1)[0]! : "";
  let node: Node = reply;
  let where: Located = reply;
  let desc: DescMessage | undefined = output;
  let field: DescField | undefined;
  for (const m of path.matchAll(/\.([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (m[1] !== undefined) {
      if (!isMap(node)) break;
      const name = m[1];
      field = desc?.fields.find((f) => f.name === name);
      const pair = node.items.find((p) => isScalar(p.key) && (String(p.key.value) === name || String(p.key.value) === field?.jsonName));
      if (pair === undefined) break;
      where = pair.key as Node;
      if (!(pair.value && typeof pair.value === "object")) break;
      node = pair.value as Node;
      desc = field?.message;
    } else if (m[2] !== undefined) {
      const item: unknown = isSeq(node) ? node.items[Number(m[2])] : undefined;
      if (item === undefined || item === null) break;
      node = item as Node;
      where = node;
    } else {
      if (!isMap(node)) break;
      const key = JSON.parse(m[3]!) as string;
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair === undefined) break;
      where = pair.key as Node;
      if (!(pair.value && typeof pair.value === "object")) break;
      node = pair.value as Node;
    }
  }
  return where;
}
