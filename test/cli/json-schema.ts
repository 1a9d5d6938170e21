/**
 * A validator for the JSON Schema subset docs/cli-result.schema.json uses
 * (type, const, enum, properties, required, additionalProperties: false,
 * items, minimum, $ref to #/$defs/…), so tests check `--json` documents
 * against the documented schema itself. Returns every violation with its
 * JSON pointer; an unsupported keyword is a violation too, so the schema
 * cannot grow a rule this validator silently ignores.
 */
type Schema = Record<string, unknown>;

const SUPPORTED = new Set([
  "$schema", "$id", "$defs", "title", "description",
  "type", "const", "enum", "properties", "required", "additionalProperties", "items", "minimum", "$ref",
]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const check = (schema: Schema, v: unknown, at: string): void => {
    for (const key of Object.keys(schema)) if (!SUPPORTED.has(key)) errors.push(`${at}: schema keyword ${key} is not supported by this validator`);
    if (typeof schema.$ref === "string") {
      const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
      const target = name === undefined ? undefined : (root.$defs as Record<string, Schema> | undefined)?.[name];
      if (target === undefined) errors.push(`${at}: unresolvable $ref ${schema.$ref}`);
      else check(target, v, at);
      return;
    }
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
      if (!types.some((t) => matchesType(v, t))) {
        errors.push(`${at}: expected ${types.join(" or ")}, got ${typeOf(v)}`);
        return;
      }
    }
    if ("const" in schema && v !== schema.const) errors.push(`${at}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(v)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(schema.enum)}`);
    if (typeof schema.minimum === "number" && typeof v === "number" && v < schema.minimum) errors.push(`${at}: ${v} < ${schema.minimum}`);
    if (typeOf(v) === "object") {
      const obj = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing required ${r}`);
      for (const [k, child] of Object.entries(obj)) {
        if (props[k] !== undefined) check(props[k]!, child, `${at}/${k}`);
        else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property ${k}`);
      }
    }
    if (Array.isArray(v) && schema.items !== undefined) v.forEach((item, i) => check(schema.items as Schema, item, `${at}/${i}`));
  };
  check(root, value, "");
  return errors;
}
