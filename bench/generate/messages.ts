/**
 * One large `.proto` file for the generator's scaling case: `n` messages and
 * a service using every one of them (`rpc CallK(MsgK) returns (MsgK+1)` for
 * each even K), shaped like MSEC IDL (proto2, `required`/`optional`/`repeated`
 * scalars, an enum, a nested message every tenth, references to the previous
 * message, comments). The same `n` gives the same bytes.
 *
 * `node bench/generate/messages.ts N > big.proto` prints it.
 */

const SCALARS = ["int32", "int64", "uint32", "string", "bytes", "bool", "double", "fixed64"] as const;

/** The file's text. */
export function buildMessagesFile(messages: number): string {
  const lines = [
    `// ${messages} messages and a service using them: the generator's scaling benchmark.`,
    'syntax = "proto2";',
    "",
    "package bench.big;",
    "",
    "option cc_generic_services = true;",
    "option java_generic_services = true;",
    "",
    "// The kind of a record.",
    "enum Kind {",
    "  KIND_NONE = 0;",
    "  KIND_ONE = 1;",
    "  KIND_TWO = 2;",
    "}",
    "",
  ];
  for (let i = 0; i < messages; i++) {
    lines.push(`// Record ${i}.`, `message Msg${i} {`);
    if (i % 10 === 0) lines.push(`  message Part {`, `    optional string label = 1;`, `    repeated int64 ids = 2;`, `  }`, `  optional Part part = 9;`);
    lines.push(`  required int32 id = 1;`);
    lines.push(`  // The name of record ${i}.`, `  optional string name = 2 [default = "none"];`);
    lines.push(`  repeated ${SCALARS[i % SCALARS.length]} values = 3;`);
    lines.push(`  optional Kind kind = 4;`);
    if (i > 0) lines.push(`  optional Msg${i - 1} previous = 5;`);
    lines.push("}", "");
  }
  lines.push(`// Uses every message: Msg<k> in, Msg<k+1> out.`, "service BigService {");
  for (let i = 0; i < messages; i += 2) {
    const output = i + 1 < messages ? i + 1 : i;
    lines.push(`  // Step ${i / 2}.`, `  rpc Call${i}(Msg${i}) returns (Msg${output});`);
  }
  lines.push("}", "");
  return lines.join("\n");
}

if (process.argv[1] !== undefined && /messages\.[jt]s$/.test(process.argv[1])) {
  const n = Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 1) throw new Error("usage: messages.ts N");
  process.stdout.write(buildMessagesFile(n));
}
