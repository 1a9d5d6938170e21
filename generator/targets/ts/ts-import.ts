/**
 * `--ts-import <file.proto>=<npm package>`: take an imported file's message
 * code from another generated caller package instead of generating a copy,
 * so a program using several callers has one `common/types_pb` (issue 10).
 *
 * The providing caller exports its message modules by proto path
 * (`<package>/common/types_pb.js`); the importing caller's generated code is
 * rewritten to import from there (protoplugin's `rewrite_imports`), and the
 * package declares the provider as a peer dependency.
 */
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";

/** npm package names: optional scope, lower-case URL-safe characters, at most 214 characters (npm's limit). */
const NPM_NAME = /^(?=.{1,214}$)(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** Is `name` a valid npm package name (`shop.billing-caller`, `@acme/crawl`)? */
export function isNpmName(name: string): boolean {
  return NPM_NAME.test(name);
}

export interface TsImport {
  /** Import path of the .proto file, e.g. `common/types.proto`. */
  readonly file: string;
  /** npm package that provides its message code. */
  readonly pkg: string;
}

/** Parse and check `--ts-import` values against the model; `UserError` naming the bad value. */
export function parseTsImports(values: readonly string[] | undefined, model: ProtoModel): TsImport[] {
  const requested = new Set(model.files.map((f) => f.name));
  const known = new Set(model.descriptorSet.file.map((f) => f.name));
  const seen = new Set<string>();
  return (values ?? []).map((value) => {
    const eq = value.indexOf("=");
    const file = eq < 0 ? "" : value.slice(0, eq);
    const pkg = eq < 0 ? "" : value.slice(eq + 1);
    if (!file.endsWith(".proto") || pkg === "") {
      throw new UserError(`--ts-import ${JSON.stringify(value)}: expected <file.proto>=<npm package>, e.g. common/types.proto=shop.billing-caller`);
    }
    if (!NPM_NAME.test(pkg)) throw new UserError(`--ts-import ${JSON.stringify(value)}: ${JSON.stringify(pkg)} is not an npm package name`);
    if (!known.has(file) || file.startsWith("google/protobuf/")) {
      throw new UserError(`--ts-import ${JSON.stringify(value)}: ${file} is not a file this input imports`);
    }
    if (requested.has(file)) {
      throw new UserError(`--ts-import ${JSON.stringify(value)}: ${file} is one of the files being generated; only imported files can come from another package`);
    }
    if (seen.has(file)) throw new UserError(`--ts-import: ${file} is mapped twice`);
    seen.add(file);
    return { file, pkg };
  });
}

/** The `rewrite_imports` plugin options that send `./<file>_pb.js` to the providing package. */
export function rewriteImportsParameter(imports: readonly TsImport[]): string {
  return imports.map((i) => `,rewrite_imports=./${i.file.replace(/\.proto$/, "_pb.js")}:${i.pkg}`).join("");
}
