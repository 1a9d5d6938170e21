/**
 * Compares a runner's observation with a scenario's expectation
 * (fixtures/conformance/scenarios.json). Matching is exact: objects must have
 * the same keys, arrays the same length, scalars the same value — except
 * where the expectation holds one matcher object:
 *
 * | matcher | matches |
 * |---|---|
 * | `{"$any": true}` | any value (the key must be present) |
 * | `{"$ge": n}`, `{"$gt": n}`, `{"$le": n}`, `{"$lt": n}` (combinable) | a number in that range |
 * | `{"$contains": "s"}` | a string containing `s` |
 * | `{"$oneOf": [v…]}` | a value equal to one of them |
 * | `{"$bind": "name"}` | any value the first time `name` is seen in the scenario; the same value afterwards |
 * | `{"$partial": {…}}` | an object having at least these keys (each matched), others ignored |
 *
 * `match` returns the mismatches as `path: expected …, observed …` lines; an
 * empty list means the observation matches.
 */

/** Values bound by `$bind` so far in one scenario run. */
export type Bindings = Map<string, unknown>;

const RANGE_KEYS = ["$ge", "$gt", "$le", "$lt"] as const;
const MATCHER_KEYS = new Set(["$any", "$contains", "$oneOf", "$bind", "$partial", ...RANGE_KEYS]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isMatcher(v: unknown): v is Record<string, unknown> {
  return isObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => MATCHER_KEYS.has(k));
}

function show(v: unknown): string {
  return v === undefined ? "(absent)" : JSON.stringify(v);
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return jsonEqual(ka, kb) && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return a === b;
}

function matchMatcher(m: Record<string, unknown>, observed: unknown, at: string, bindings: Bindings): string[] {
  if (observed === undefined) return [`${at}: expected ${show(m)}, observed (absent)`];
  if ("$any" in m) return [];
  if ("$partial" in m) {
    const want = m["$partial"];
    if (!isObject(want)) throw new Error(`${at}: $partial needs an object`);
    if (!isObject(observed)) return [`${at}: expected an object with ${show(want)}, observed ${show(observed)}`];
    return Object.entries(want).flatMap(([k, v]) => match(v, observed[k], `${at}.${k}`, bindings));
  }
  if ("$bind" in m) {
    const name = String(m["$bind"]);
    if (!bindings.has(name)) {
      bindings.set(name, observed);
      return [];
    }
    const bound = bindings.get(name);
    return jsonEqual(bound, observed) ? [] : [`${at}: expected the same value as before (${name} = ${show(bound)}), observed ${show(observed)}`];
  }
  if ("$contains" in m) {
    const part = String(m["$contains"]);
    return typeof observed === "string" && observed.includes(part) ? [] : [`${at}: expected a string containing ${show(part)}, observed ${show(observed)}`];
  }
  if ("$oneOf" in m) {
    const options = m["$oneOf"];
    if (!Array.isArray(options)) throw new Error(`${at}: $oneOf needs an array`);
    return options.some((o) => jsonEqual(o, observed)) ? [] : [`${at}: expected one of ${show(options)}, observed ${show(observed)}`];
  }
  if (typeof observed !== "number") return [`${at}: expected a number ${show(m)}, observed ${show(observed)}`];
  const ok =
    (m["$ge"] === undefined || observed >= Number(m["$ge"])) &&
    (m["$gt"] === undefined || observed > Number(m["$gt"])) &&
    (m["$le"] === undefined || observed <= Number(m["$le"])) &&
    (m["$lt"] === undefined || observed < Number(m["$lt"]));
  return ok ? [] : [`${at}: expected a number ${show(m)}, observed ${show(observed)}`];
}

/** Mismatches between `expected` and `observed` at `at` (a JSON path for messages). */
export function match(expected: unknown, observed: unknown, at: string, bindings: Bindings): string[] {
  if (isMatcher(expected)) return matchMatcher(expected, observed, at, bindings);
  if (Array.isArray(expected)) {
    if (!Array.isArray(observed)) return [`${at}: expected an array of ${expected.length}, observed ${show(observed)}`];
    if (observed.length !== expected.length) return [`${at}: expected ${expected.length} items, observed ${observed.length}: ${show(observed)}`];
    return expected.flatMap((e, i) => match(e, observed[i], `${at}[${i}]`, bindings));
  }
  if (isObject(expected)) {
    if (!isObject(observed)) return [`${at}: expected ${show(expected)}, observed ${show(observed)}`];
    const extra = Object.keys(observed).filter((k) => !(k in expected));
    const problems = Object.entries(expected).flatMap(([k, v]) => match(v, observed[k], `${at}.${k}`, bindings));
    if (extra.length > 0) problems.push(`${at}: unexpected key(s) ${extra.join(", ")} in ${show(observed)}`);
    return problems;
  }
  return expected === observed ? [] : [`${at}: expected ${show(expected)}, observed ${show(observed)}`];
}
