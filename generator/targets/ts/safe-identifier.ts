/**
 * TypeScript identifier escaping for names msec-gen derives from `.proto`
 * declarations (handler and client members, exported constants).
 *
 * Message, enum and field names are escaped by protoc-gen-es itself
 * (`safeIdentifier` / `localName`); this file covers our own generated names,
 * following the same convention: a reserved name gets a `$` suffix.
 */
import { safeIdentifier } from "../../protoplugin.js";

/**
 * Member names that do not compile, break at run time or clash with what the
 * generated classes and objects rely on: `new` in an interface declares a
 * construct signature instead of a method (rpc `New` → `new`), `then` makes an object a thenable
 * (`await client` would call it), `constructor` and `__proto__` are special in
 * class bodies and object literals, `service` and `defaults` are the client's own fields, and
 * Object.prototype members would shadow inherited behaviour.
 */
const RESERVED_MEMBERS = new Set([
  "new",
  "then",
  "constructor",
  "__proto__",
  "service",
  "defaults",
  "toString",
  "toJSON",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
]);

/** Lower-case the first character: `GetMP3List` → `getMP3List` (protobuf-es method naming). */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** A method or property name of a generated interface, class or object literal. */
export function safeMemberName(name: string): string {
  return RESERVED_MEMBERS.has(name) ? `${name}$` : name;
}

/** A top-level identifier (const, function, class, interface). */
export function safeTopLevelName(name: string): string {
  return safeIdentifier(name);
}
