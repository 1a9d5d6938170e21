/**
 * generator/managed-output.ts as a library, on real folders: the manifest's
 * content, unchanged files not rewritten, a conflicting path refused before
 * anything changes, a missing output folder built whole, checkOutput's
 * findings. (The CLI-level behaviour is in test/cli/.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MANIFEST_FILE, type ManagedPackage, checkOutput, formatManifest, manifestFor, syncOutput } from "../../generator/managed-output.js";
import type { GeneratedFile } from "../../generator/target.js";
import { UserError } from "../../generator/user-error.js";

let work: string;
before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-managed-"));
});
after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

function pkg(files: GeneratedFile[]): ManagedPackage {
  return { root: "P-caller", kind: "caller", name: "P", languages: ["ts"], files };
}

const FILES: GeneratedFile[] = [
  { path: "P-caller/README.md", content: "readme\n" },
  { path: "P-caller/ts/run.sh", content: "#!/bin/sh\n", executable: true },
  { path: "P-caller/ts/src/handler.ts", content: "// yours\n", userOwned: true },
  { path: "P-caller/ts/bin.dat", content: new Uint8Array([0, 1, 2]) },
];

const sha = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else out[p] = `${sha(await fs.readFile(path.join(dir, p)))} ${((await fs.lstat(path.join(dir, p))).mode & 0o777).toString(8)}`;
    }
  }
  await walk("");
  return out;
}

describe("managed output folders", () => {
  test("the manifest lists every file with sha256, user-owned and executable flags, in a stable form", () => {
    const m = manifestFor([pkg(FILES)], "9.9.9");
    assert.equal(
      formatManifest(m),
      `${JSON.stringify(
        {
          generator: "msec-gen",
          version: "9.9.9",
          packages: [{ root: "P-caller", kind: "caller", name: "P", languages: ["ts"] }],
          files: {
            "P-caller/README.md": { sha256: sha("readme\n") },
            "P-caller/ts/bin.dat": { sha256: sha(new Uint8Array([0, 1, 2])) },
            "P-caller/ts/run.sh": { sha256: sha("#!/bin/sh\n"), executable: true },
            "P-caller/ts/src/handler.ts": { sha256: sha("// yours\n"), userOwned: true },
          },
        },
        null,
        2,
      )}\n`,
    );
  });

  test("a new folder is built whole with modes; a second sync rewrites nothing", async () => {
    const dir = path.join(work, "new", "out");
    const first = await syncOutput(dir, [pkg(FILES)], "1.0.0");
    assert.deepEqual(first.written, FILES.map((f) => f.path).sort());
    const t = await tree(dir);
    assert.deepEqual(Object.keys(t).sort(), [MANIFEST_FILE, ...FILES.map((f) => f.path)].sort());
    assert.match(t["P-caller/ts/run.sh"]!, / 755$/);
    assert.match(t["P-caller/README.md"]!, / 644$/);
    assert.deepEqual(await fs.readdir(path.dirname(dir)), ["out"], "no temporary folder left");
    const mtime = (await fs.stat(path.join(dir, "P-caller/README.md"))).mtimeMs;
    const second = await syncOutput(dir, [pkg(FILES)], "1.0.0");
    assert.deepEqual([second.written, second.kept, second.removed], [[], ["P-caller/ts/src/handler.ts"], []]);
    assert.equal(second.unchanged.length, 3);
    assert.equal((await fs.stat(path.join(dir, "P-caller/README.md"))).mtimeMs, mtime);
    assert.deepEqual(await tree(dir), t);
  });

  test("a file where a generated folder must go is refused before anything changes, stale files included", async () => {
    const dir = path.join(work, "conflict");
    await syncOutput(dir, [pkg(FILES)], "1.0.0");
    await fs.writeFile(path.join(dir, "P-caller/lib"), "my file named like a folder\n");
    const before = await tree(dir);
    // the next version drops README.md (stale) and adds lib/x.ts under the user's file "lib"
    const next = [...FILES.filter((f) => f.path !== "P-caller/README.md"), { path: "P-caller/lib/x.ts", content: "x\n" }];
    await assert.rejects(
      syncOutput(dir, [pkg(next)], "1.0.0"),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === `cannot write ${path.join(dir, "P-caller/lib/x.ts")}: ${path.join(dir, "P-caller/lib")} is a file, not a folder; move it away and generate again (nothing was changed)`,
    );
    assert.deepEqual(await tree(dir), before, "nothing removed, nothing written, no staging folder left");
  });

  test("checkOutput reports changed content and mode, missing and stale files, and strays, without writing", async () => {
    const dir = path.join(work, "check");
    await syncOutput(dir, [pkg(FILES)], "1.0.0");
    await fs.chmod(path.join(dir, "P-caller/ts/run.sh"), 0o644);
    await fs.writeFile(path.join(dir, "P-caller/ts/bin.dat"), new Uint8Array([9]));
    await fs.writeFile(path.join(dir, "P-caller/ts/src/handler.ts"), "// my implementation\n");
    await fs.mkdir(path.join(dir, "P-caller/node_modules/x"), { recursive: true });
    await fs.writeFile(path.join(dir, "P-caller/node_modules/x/i.js"), "");
    const before = await tree(dir);
    const next = FILES.filter((f) => f.path !== "P-caller/README.md").concat({ path: "P-caller/NEW.md", content: "new\n" });
    const r = await checkOutput(dir, [pkg(next)], "1.0.0");
    assert.deepEqual(
      r.changed.map((f) => [f.path, f.reason]),
      [
        [MANIFEST_FILE, "manifest differs"],
        ["P-caller/ts/bin.dat", "content differs"],
        ["P-caller/ts/run.sh", "not executable"],
      ],
    );
    assert.deepEqual(r.missing.map((f) => [f.path, f.reason]), [["P-caller/NEW.md", "missing"]]);
    assert.deepEqual(r.stale.map((f) => [f.path, f.reason]), [["P-caller/README.md", "no longer generated (generate removes it)"]]);
    assert.deepEqual(r.stray, ["P-caller/node_modules/"]);
    assert.equal(r.matching, 1, "the edited user-owned handler matches: it is the user's");
    assert.deepEqual(await tree(dir), before);
  });
});
