/**
 * The deterministic example a mock answers when no response is scripted:
 * one message built from the output type's schema alone, the same on every
 * run and for every call (docs/mock.md, "The example rule").
 *
 * * `string`: the field's name; `bytes`: the field's name in UTF-8.
 * * Integers: the field number; `float` / `double`: the field number + 0.5.
 * * `bool`: true.
 * * Enums: the first value (in declaration order) whose number is not 0, or
 *   the zero value when it is the only one.
 * * Messages: filled by the same rule, while the nesting stays within
 *   {@link EXAMPLE_MAX_DEPTH} levels and the type occurs fewer than
 *   {@link EXAMPLE_TYPE_REPEATS} times on the way down (so a recursive type
 *   shows one level of recursion).
 * * `repeated`: one element; `map`: one entry, its key and value built by the
 *   rule for the entry's `key` (number 1) and `value` (number 2) fields:
 *   `"key"`, 1 or true, then `"value"`, 2, …
 * * `oneof`: only its first member (in declaration order) that can be set.
 * * proto2 `required` message fields are set even past those limits; a type
 *   whose required fields lead back to itself can never be complete and is an
 *   {@link ExampleError}.
 * * `google.protobuf.Any` stays empty (its JSON form needs a resolvable type).
 */
import { type DescEnum, type DescField, type DescMessage, type Message, ScalarType } from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";

/** Deepest message nesting filled, the response itself being level 1. */
export const EXAMPLE_MAX_DEPTH = 8;
/** How often one message type may occur on a path from the response down. */
export const EXAMPLE_TYPE_REPEATS = 2;

/** `FeatureSet_FieldPresence.LEGACY_REQUIRED`: proto2 `required`. */
const LEGACY_REQUIRED = 3;

/** A type no finite message of which can have all its `required` fields set. */
export class ExampleError extends Error {
  override readonly name = "ExampleError";
}

/** The example message of `desc` (see the module comment for the rule). */
export function exampleMessage(desc: DescMessage): Message {
  const cycle = requiredCycle(desc);
  if (cycle !== undefined) {
    throw new ExampleError(
      `${desc.typeName} can never be complete: its required fields lead to a cycle (${cycle})`,
    );
  }
  return fill(desc, []).message;
}

function fill(desc: DescMessage, above: readonly DescMessage[]): ReflectMessage {
  const message = reflect(desc);
  if (desc.typeName === "google.protobuf.Any") return message;
  const path = [...above, desc];
  const oneofsSet = new Set<unknown>();
  for (const field of desc.fields) {
    if (field.oneof !== undefined && oneofsSet.has(field.oneof)) continue;
    if (setField(message, field, path) && field.oneof !== undefined) oneofsSet.add(field.oneof);
  }
  return message;
}

/**
 * Whether an optional, repeated or map field of type `desc` is filled below
 * `path`: within the limits, and never with a type that cannot be complete.
 */
function canEnter(desc: DescMessage, path: readonly DescMessage[]): boolean {
  return (
    path.length < EXAMPLE_MAX_DEPTH &&
    path.filter((d) => d === desc).length < EXAMPLE_TYPE_REPEATS &&
    requiredCycle(desc) === undefined
  );
}

/** Sets `field` by the rule; false when it stays unset (a message past the limits). */
function setField(message: ReflectMessage, field: DescField, path: readonly DescMessage[]): boolean {
  switch (field.fieldKind) {
    case "scalar":
      message.set(field, scalarExample(field.scalar, field.name, field.number));
      return true;
    case "enum":
      message.set(field, enumExample(field.enum));
      return true;
    case "message":
      if (field.presence !== LEGACY_REQUIRED && !canEnter(field.message, path)) return false;
      message.set(field, fill(field.message, path));
      return true;
    case "list": {
      const list = message.get(field);
      if (field.listKind === "scalar") list.add(scalarExample(field.scalar, field.name, field.number));
      else if (field.listKind === "enum") list.add(enumExample(field.enum));
      else if (canEnter(field.message, path)) list.add(fill(field.message, path));
      else return false;
      return true;
    }
    case "map": {
      const map = message.get(field);
      const key = scalarExample(field.mapKey, "key", 1);
      if (field.mapKind === "scalar") map.set(key, scalarExample(field.scalar, "value", 2));
      else if (field.mapKind === "enum") map.set(key, enumExample(field.enum));
      else if (canEnter(field.message, path)) map.set(key, fill(field.message, path));
      else return false;
      return true;
    }
  }
}

/** The example scalar of a field named `name` with number `number`. */
function scalarExample(type: ScalarType, name: string, number: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return name;
    case ScalarType.BYTES:
      return new TextEncoder().encode(name);
    case ScalarType.BOOL:
      return true;
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return number + 0.5;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return BigInt(number);
    default:
      return number;
  }
}

function enumExample(desc: DescEnum): number {
  return (desc.values.find((v) => v.number !== 0) ?? desc.values[0]!).number;
}

const cycles = new WeakMap<DescMessage, string | null>();

/**
 * A chain of `required` message fields from `desc` that comes back to a type
 * already on it (`a.A.b → a.B.a → a.A`), or undefined when every chain ends
 * (cached per type).
 */
function requiredCycle(desc: DescMessage): string | undefined {
  let known = cycles.get(desc);
  if (known === undefined) {
    known = findRequiredCycle(desc) ?? null;
    cycles.set(desc, known);
  }
  return known ?? undefined;
}

function findRequiredCycle(desc: DescMessage): string | undefined {
  const done = new Set<DescMessage>();
  const visit = (d: DescMessage, chain: readonly { type: DescMessage; via: string }[]): string | undefined => {
    const at = chain.findIndex((c) => c.type === d);
    if (at >= 0) return [...chain.slice(at).map((c) => c.via), d.typeName].join(" → ");
    if (done.has(d)) return undefined;
    for (const field of d.fields) {
      if (field.fieldKind !== "message" || field.presence !== LEGACY_REQUIRED) continue;
      const found = visit(field.message, [...chain, { type: d, via: `${d.typeName}.${field.name}` }]);
      if (found !== undefined) return found;
    }
    done.add(d);
    return undefined;
  };
  return visit(desc, []);
}
