/**
 * Every refusal of a hostile identifier (issue 12), one fixture each under
 * fixtures/identifiers/refused/: the exact message (file:line:col of the
 * identifier, what it is, the language), exit 1 and nothing written when the
 * language is named; for a caller whose languages come from the default set,
 * the language is skipped with the same message as a warning.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { msecGen } from "../interop/ts-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-ids-refused-"));
after(() => rmSync(work, { recursive: true, force: true }));

const REFUSALS: ReadonlyArray<{ file: string; lang: string; kinds: ReadonlyArray<"server" | "caller">; message: string }> = [
  {
    file: "ts_type.proto",
    lang: "ts",
    kinds: ["server", "caller"],
    message: 'ts_type.proto:6:9: message refused.ts.any: "any" cannot name a TypeScript type; protoc-gen-es uses it as a type name unescaped, which cannot compile — rename it or generate without --lang ts',
  },
  {
    file: "ts_extension.proto",
    lang: "ts",
    kinds: ["caller"],
    message: 'ts_extension.proto:11:18: extension refused.tsext.await: "await" cannot name a constant of a TypeScript module; protoc-gen-es uses it unescaped, which cannot compile — rename it or generate without --lang ts',
  },
  {
    file: "ts_rpc_case.proto",
    lang: "ts",
    kinds: ["server", "caller"],
    message: "ts_rpc_case.proto:12:7: rpc refused.tsrpc.S.new: protoc-gen-es names it new, like New, which cannot compile — rename one of them or generate without --lang ts",
  },
  {
    file: "python_member.proto",
    lang: "python",
    kinds: ["server", "caller"],
    message: `python_member.proto:7:11: message refused.py.M.Clear: "Clear" would replace the message class's Clear, which protobuf-python's message code relies on — rename it or generate without --lang python`,
  },
  {
    file: "go_protoreflect.proto",
    lang: "go",
    kinds: ["caller"],
    message: "go_protoreflect.proto:7:10: field refused.go.M.ProtoReflect: its Go name ProtoReflect is also the method protoc-gen-go declares on every message, which cannot compile — rename it or generate without --lang go",
  },
  {
    file: "java_record.proto",
    lang: "java",
    kinds: ["caller"],
    message: `java_record.proto:6:9: message refused.java.record: "record" is not allowed as a Java type name; protoc's Java code uses it as a class name unescaped, which cannot compile — rename it or generate without --lang java`,
  },
  {
    file: "java_accessors.proto",
    lang: "java",
    kinds: ["caller"],
    message: `java_accessors.proto:8:22: field refused.javamap.M.mutable: protoc's Java code declares getMutableMap() for it and for map, which cannot compile — rename one of them or generate without --lang java`,
  },
  {
    file: "cpp_std.proto",
    lang: "cpp",
    kinds: ["caller"],
    message: `cpp_std.proto:6:9: message refused.cpp.std: "std" in namespace refused::cpp hides the namespace std protoc's C++ code uses unqualified, which cannot compile — rename it or generate without --lang cpp`,
  },
  {
    file: "cpp_macro.proto",
    lang: "cpp",
    kinds: ["caller"],
    message: `cpp_macro.proto:7:9: field refused.cppmacro.M.EOF: "EOF" is a C++ keyword or macro that protoc's C++ code does not escape, which cannot compile — rename it or generate without --lang cpp`,
  },
  {
    file: "cpp_accessors.proto",
    lang: "cpp",
    kinds: ["caller"],
    message: `cpp_accessors.proto:10:9: oneof refused.cppacc.M.clear: protoc's C++ code declares clear_case() for it and for case, which cannot compile — rename one of them or generate without --lang cpp`,
  },
  {
    file: "cpp_package.proto",
    lang: "cpp",
    kinds: ["caller"],
    message: `cpp_package.proto:4:1: package refused.class: "class" is a C++ keyword; protoc's C++ code puts it into a namespace unescaped, which cannot compile — rename the package or generate without --lang cpp`,
  },
];

for (const r of REFUSALS) {
  for (const kind of r.kinds) {
    test(`${kind} --lang ${r.lang} refuses ${r.file}: exit 1, file:line:col and the language, nothing written`, async () => {
      const out = path.join(work, `${kind}-${r.file}`);
      const res = await msecGen([kind, `fixtures/identifiers/refused/${r.file}`, "--name", "Id.Refused", "--lang", r.lang, "--dir", "-o", out, "-q"]);
      // The file is named as it was given on the command line (as buf's compile errors name it).
      assert.equal(res.stderr, `msec-gen: error: fixtures/identifiers/refused/${r.message}\n`);
      assert.equal(res.code, 1);
      assert.equal(existsSync(out), false);
    });
  }
}

test("a caller from the default language set skips a refused language with that message as a warning and writes the others", async () => {
  const out = path.join(work, "defaulted");
  const res = await msecGen(["caller", "fixtures/identifiers/refused/go_protoreflect.proto", "--name", "Id.Refused", "--dir", "-o", out, "-q"]);
  assert.equal(res.code, 0, res.stderr);
  const go = REFUSALS.find((r) => r.lang === "go")!;
  assert.equal(res.stderr, `msec-gen: warning: skipping the go caller: fixtures/identifiers/refused/${go.message} (name languages with --lang)\n`);
  assert.deepEqual(readdirSync(path.join(out, "Id.Refused-caller")).sort(), ["README.md", "cpp", "java", "php", "python", "ts"]);
});
