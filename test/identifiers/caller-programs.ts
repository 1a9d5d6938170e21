/**
 * Programs that call every rpc of the corpus through a generated Java or C++
 * caller, written as a user would write them: from the client classes,
 * method names (escaped as the language needs: `break_`, `andEq`, …) and
 * message types the package's README lists under "Services". Each program
 * prints one `<wire method name>\t<reply>` line per call (`error <code>
 * <message>` instead of a reply when the call fails); the test compares the
 * lines with echoReply (echo-server.ts). The README's list itself is checked
 * against the rpcs of the .proto text (corpusMethods), so a method left out
 * of the README, or of the program, fails the test.
 */
import type { CorpusMethod } from "./corpus.js";
import { echoReply, echoRequest } from "./echo-server.js";

/** One rpc as a caller README documents it. */
export interface ReadmeCall {
  /** The client class, fully qualified (`a.b.ErrorClient`, `a::b::ErrorClient`). */
  readonly client: string;
  /** The method of the client (escaped for the language). */
  readonly method: string;
  readonly input: string;
  readonly output: string;
  readonly wire: string;
}

const JAVA_SERVICE = /^### `([\w.]+)` — `[\w.]+`$/;
const JAVA_METHOD = /^\* `(\w+)\(([\w.]+)\) → ([\w.]+)` \(wire name `([\w.]+)`\)$/;
const CPP_SERVICE = /^### `([\w:]+)` — `[\w.]+`$/;
const CPP_METHOD = /^\* `(\w+)\(const ([\w:]+)&, ([\w:]+)\*, int timeout_ms = \d+\)` — wire name `([\w.]+)`$/;

/** The rpcs listed under "## Services" of a Java or C++ caller README, in order. */
export function readmeCalls(readme: string, lang: "java" | "cpp"): ReadmeCall[] {
  const [service, method] = lang === "java" ? [JAVA_SERVICE, JAVA_METHOD] : [CPP_SERVICE, CPP_METHOD];
  const section = readme.slice(readme.indexOf("\n## Services\n"));
  const calls: ReadmeCall[] = [];
  let client = "";
  for (const line of section.split("\n")) {
    if (line.startsWith("## ") && line !== "## Services") break;
    const s = service.exec(line);
    if (s !== null) client = s[1]!;
    const m = method.exec(line);
    if (m !== null) calls.push({ client, method: m[1]!, input: m[2]!, output: m[3]!, wire: m[4]! });
    else if (line.startsWith("* `")) throw new Error(`README line not understood: ${line}`);
  }
  return calls;
}

/** A call of the program with what it sends and the line it must print. */
export interface PlannedCall extends ReadmeCall {
  readonly field: CorpusMethod["field"];
  readonly sent: string | number;
  readonly expected: string;
}

/**
 * The README's calls joined with the corpus's rpcs: throws unless the README
 * lists every rpc of the corpus exactly once.
 */
export function planCalls(calls: readonly ReadmeCall[], methods: readonly CorpusMethod[]): PlannedCall[] {
  const byWire = new Map(methods.map((m) => [m.wire, m]));
  const listed = calls.map((c) => c.wire);
  const missing = methods.filter((m) => !listed.includes(m.wire)).map((m) => m.wire);
  const extra = listed.filter((w) => !byWire.has(w));
  const twice = listed.filter((w, i) => listed.indexOf(w) !== i);
  if (missing.length + extra.length + twice.length > 0) {
    throw new Error(`README services differ from the corpus: missing ${missing.join(", ") || "none"}; not in the corpus ${extra.join(", ") || "none"}; twice ${twice.join(", ") || "none"}`);
  }
  return calls.map((c, i) => {
    const m = byWire.get(c.wire)!;
    const sent = echoRequest(m, i);
    return { ...c, field: m.field, sent, expected: `${c.wire}\t${echoReply(m, sent)}` };
  });
}

/** Per-call timeout of the programs: generous, the machine may be busy. */
const CALL_TIMEOUT_MS = 20_000;

/** Calls grouped by client, in order of first appearance. */
function byClient(calls: readonly PlannedCall[]): Map<string, PlannedCall[]> {
  const groups = new Map<string, PlannedCall[]>();
  for (const c of calls) groups.set(c.client, [...(groups.get(c.client) ?? []), c]);
  return groups;
}

const upper = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** `CorpusCalls.java` (default package): `java CorpusCalls <ip:port>` calls `calls` on that literal address. */
export function javaProgram(calls: readonly PlannedCall[]): string {
  const L: string[] = [
    "// Calls every rpc of the identifier corpus through the generated Java caller (test/identifiers/caller-programs.ts).",
    "import io.github.msecgen.runtime.SrpcException;",
    "import java.util.function.Supplier;",
    "",
    "public final class CorpusCalls {",
    "    private static final StringBuilder out = new StringBuilder();",
    "",
    '    /** One line per call: the reply, or "error <code> <message>". */',
    "    private static void call(String wire, Supplier<Object> call) {",
    "        String reply;",
    "        try {",
    "            reply = String.valueOf(call.get());",
    "        } catch (SrpcException e) {",
    '            reply = "error " + e.code() + " " + e.getMessage();',
    "        }",
    '        out.append(wire).append("\\t").append(reply).append("\\n");',
    "    }",
    "",
    "    public static void main(String[] args) {",
  ];
  const groups = [...byClient(calls)];
  groups.forEach((_, i) => L.push(`        client${i}(args[0]);`));
  L.push("        System.out.print(out);", "    }");
  groups.forEach(([client, group], i) => {
    L.push("", `    private static void client${i}(String address) {`, `        ${client} c = new ${client}(address);`);
    for (const c of group) {
      const arg = c.field === "text" ? JSON.stringify(c.sent) : String(c.sent);
      L.push(`        call("${c.wire}", () -> c.${c.method}(${c.input}.newBuilder().set${upper(c.field)}(${arg}).build(), ${CALL_TIMEOUT_MS}).get${upper(c.field)}());`);
    }
    L.push("    }");
  });
  L.push("}", "");
  return L.join("\n");
}

/** `corpus_calls.cc`: `corpus_calls <ip:port>` calls `calls` on that literal address; `headers` are the package's client headers. */
export function cppProgram(calls: readonly PlannedCall[], headers: readonly string[]): string {
  const L: string[] = [
    "// Calls every rpc of the identifier corpus through the generated C++ caller (test/identifiers/caller-programs.ts).",
    "#include <iostream>",
    "#include <sstream>",
    "#include <string>",
    "",
    ...headers.map((h) => `#include "${h}"`),
    "",
    "namespace {",
    "",
    "std::ostringstream out;",
    "",
    '// One line per call: the reply, or "error <code> <message>".',
    "void Print(const std::string& wire, const msec::Status& status, const std::string& reply) {",
    '  out << wire << "\\t" << (status.ok() ? reply : "error " + std::to_string(status.code()) + " " + status.message()) << "\\n";',
    "}",
    "",
  ];
  const groups = [...byClient(calls)];
  groups.forEach(([client, group], i) => {
    L.push(`void Client${i}(const std::string& address) {`, `  ${client} c(address);`);
    for (const c of group) {
      const arg = c.field === "text" ? JSON.stringify(c.sent) : String(c.sent);
      const reply = c.field === "text" ? "reply.text()" : "std::to_string(reply.value())";
      L.push("  {", `    ${c.input} request;`, `    request.set_${c.field}(${arg});`, `    ${c.output} reply;`);
      L.push(`    msec::Status status = c.${c.method}(request, &reply, ${CALL_TIMEOUT_MS});`, `    Print("${c.wire}", status, ${reply});`, "  }");
    }
    L.push("}", "");
  });
  L.push("}  // namespace", "", "int main(int argc, char** argv) {", "  if (argc != 2) return 2;");
  groups.forEach((_, i) => L.push(`  Client${i}(argv[1]);`));
  L.push("  std::cout << out.str();", "  return 0;", "}", "");
  return L.join("\n");
}
