/**
 * File skeletons are handlebars templates under `templates/<kind>/<lang>/`.
 *
 * One isolated Handlebars instance: `noEscape` (we write code, not HTML) and
 * `strict` (a missing field is an error, not silently empty text). Because
 * `noEscape` does not make values safe inside string literals, templates put
 * values into literals only through the escaping helpers below.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Handlebars from "handlebars";
import { packageRoot } from "./package-root.js";

const engine = Handlebars.create();

/** `{{json value}}`: a JSON (and TypeScript/JavaScript) literal, e.g. a double-quoted string. */
engine.registerHelper("json", (value: unknown) => JSON.stringify(value));
/** `{{ini value}}`: a value safe on one INI line (line breaks removed). */
engine.registerHelper("ini", (value: unknown) => String(value).replace(/[\r\n]+/g, " "));
/** `{{md value}}`: text safe inside Markdown inline code (backticks removed). */
engine.registerHelper("md", (value: unknown) => String(value).replace(/`/g, "'"));

/** `{{concat a b …}}`: string concatenation, for building literals passed to `json`. */
engine.registerHelper("concat", (...args: unknown[]) => args.slice(0, -1).map(String).join(""));

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Render `templates/<relPath>` with `data`. */
export function renderTemplate(relPath: string, data: object): string {
  let template = compiled.get(relPath);
  if (template === undefined) {
    const source = readFileSync(path.join(packageRoot(), "templates", relPath), "utf8");
    template = engine.compile(source, { noEscape: true, strict: true });
    compiled.set(relPath, template);
  }
  return template(data);
}
