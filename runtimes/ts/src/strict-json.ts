/**
 * A strict JSON parser for request bodies (RFC 8259), used instead of
 * `JSON.parse` because a request must not change on its way in
 * (docs/request-decoding.md):
 *
 * * nesting deeper than `maxDepth` arrays/objects is an error (a named limit,
 *   the same in the Python runtime), not a stack overflow;
 * * a key given twice in one object is an error (`JSON.parse` keeps the last);
 * * an integer literal beyond 2^53 is kept as its text (`BigIntegerLiteral`)
 *   so 64-bit fields receive it exactly; `JSON.parse` would round it.
 */

/** An integer literal too large for a double to hold exactly; the caller decides what it becomes. */
export class BigIntegerLiteral {
  constructor(readonly text: string) {}
}

/** What `parseStrictJson` returns: JSON values, with `BigIntegerLiteral` for unsafe integers. */
export type StrictJsonValue =
  | null
  | boolean
  | number
  | string
  | BigIntegerLiteral
  | StrictJsonValue[]
  | { [key: string]: StrictJsonValue };

/** A JSON syntax error, or a limit of this parser exceeded. */
export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StrictJsonError";
  }
}

const numberPattern = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const literals: ReadonlyArray<readonly [string, StrictJsonValue]> = [["true", true], ["false", false], ["null", null]];

/**
 * Parses `text` as one JSON value. Objects are built with a null prototype, so
 * a key `__proto__` is an ordinary key.
 */
export function parseStrictJson(text: string, maxDepth: number): StrictJsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at offset ${pos}`);
  };

  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };

  const parseString = (): string => {
    const start = pos; // at the opening quote
    let escaped = false;
    for (pos++; pos < text.length; pos++) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        const raw = text.slice(start, pos);
        // Escapes are rare; JSON.parse decodes them exactly as RFC 8259 says.
        return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      }
      if (c === 0x5c) {
        escaped = true;
        pos++;
      } else if (c < 0x20) {
        fail("control character in string");
      }
    }
    return fail("unterminated string");
  };

  const parseValue = (depth: number): StrictJsonValue => {
    skipSpace();
    const c = text.charCodeAt(pos);
    if (c === 0x7b || c === 0x5b) {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      return c === 0x7b ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === 0x22) return parseString();
    for (const [word, value] of literals) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    numberPattern.lastIndex = pos;
    const m = numberPattern.exec(text);
    if (m === null) return fail(pos < text.length ? "unexpected character" : "unexpected end");
    pos += m[0].length;
    const value = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(value)) return new BigIntegerLiteral(m[0]);
    return value;
  };

  const parseObject = (depth: number): StrictJsonValue => {
    const obj: { [key: string]: StrictJsonValue } = Object.create(null);
    pos++;
    skipSpace();
    if (text.charCodeAt(pos) === 0x7d) {
      pos++;
      return obj;
    }
    for (;;) {
      skipSpace();
      if (text.charCodeAt(pos) !== 0x22) fail("expected a string key");
      const key = parseString();
      if (Object.hasOwn(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`);
      skipSpace();
      if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'");
      pos++;
      obj[key] = parseValue(depth);
      skipSpace();
      const c = text.charCodeAt(pos);
      if (c !== 0x2c && c !== 0x7d) fail("expected ',' or '}'");
      pos++;
      if (c === 0x7d) return obj;
    }
  };

  const parseArray = (depth: number): StrictJsonValue => {
    const arr: StrictJsonValue[] = [];
    pos++;
    skipSpace();
    if (text.charCodeAt(pos) === 0x5d) {
      pos++;
      return arr;
    }
    for (;;) {
      arr.push(parseValue(depth));
      skipSpace();
      const c = text.charCodeAt(pos);
      if (c !== 0x2c && c !== 0x5d) fail("expected ',' or ']'");
      pos++;
      if (c === 0x5d) return arr;
    }
  };

  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) fail("unexpected data after the JSON value");
  return value;
}
