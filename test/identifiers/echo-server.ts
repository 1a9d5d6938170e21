/**
 * The corpus's TS server as the callers' tests run it: the handler files
 * msec-gen created (src/handlers/*.ts, "yours: created once") are edited as
 * a user would, each skeleton's `return {};` becoming a reply that names the
 * method, so a caller's test can check every reply exactly and see a call
 * that reached the wrong method:
 * * a message with `text` (Req, Resp, the top-level messages) gets
 *   `text = "<wire method name> <request text>"`;
 * * a nested message (`Nested.X`, which carries `int32 value`) gets
 *   `value = request value + the sum of the method name's character codes`.
 * The skeleton's typed members (with their escaped names, e.g. `new$`) stay
 * what is compiled and called.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CorpusMethod } from "./corpus.js";

/** The sum of `wire`'s UTF-16 code units: what a value reply adds to the request's value. */
function codeSum(wire: string): number {
  let sum = 0;
  for (let i = 0; i < wire.length; i++) sum += wire.charCodeAt(i);
  return sum;
}

/** What a call of `method` carrying `sent` gets back from the echo server, as its caller's program prints it. */
export function echoReply(method: CorpusMethod, sent: string | number): string {
  return method.field === "text" ? `${method.wire} ${sent}` : String(Number(sent) + codeSum(method.wire));
}

/** The request a caller's program sends in call number `index` (0-based): distinct per call. */
export function echoRequest(method: CorpusMethod, index: number): string | number {
  return method.field === "text" ? `t${index}` : index + 1;
}

const ECHO_TS = `// The reply of every corpus method (written by test/identifiers/echo-server.ts).
import type { CallContext } from "@msec-gen/runtime";

/** \`text\` → "<method> <text>"; \`value\` → value + the sum of the method name's character codes. */
export function echo<T>(request: { readonly text?: string; readonly value?: number }, ctx: CallContext): T {
  if (request.value !== undefined) {
    let sum = 0;
    for (let i = 0; i < ctx.method.length; i++) sum += ctx.method.charCodeAt(i);
    return { value: request.value + sum } as T;
  }
  return { text: \`\${ctx.method} \${request.text ?? ""}\` } as T;
}
`;

/**
 * Edits the generated handler files of the TS server package in `dir` into
 * echo handlers (before it is built); returns how many methods were edited.
 */
export function useEchoHandlers(dir: string): number {
  const handlers = path.join(dir, "src/handlers");
  let methods = 0;
  for (const name of readdirSync(handlers).filter((f) => f.endsWith(".ts"))) {
    const file = path.join(handlers, name);
    const text = readFileSync(file, "utf8");
    const edited = text.replaceAll("return {};", "return echo(request, ctx);");
    methods += (text.length - text.replaceAll("return {};", "").length) / "return {};".length;
    const lastImport = edited.lastIndexOf("\nimport ");
    const at = edited.indexOf("\n", lastImport + 1) + 1;
    writeFileSync(file, `${edited.slice(0, at)}import { echo } from "./echo.js";\n${edited.slice(at)}`);
  }
  writeFileSync(path.join(handlers, "echo.ts"), ECHO_TS);
  return methods;
}
