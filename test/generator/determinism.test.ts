/**
 * Same inputs, same bytes: tarballs from two runs on copies of the inputs with
 * different file mtimes and a different umask have the same sha256.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createTarball } from "../../generator/tarball.js";
import { REPO_ROOT } from "./golden-cases.js";
import { runCli } from "./run-cli.js";

let work: string;

before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-determinism-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function sha256(file: string): Promise<string> {
  return createHash("sha256").update(await fs.readFile(file)).digest("hex");
}

/** Copy the fixtures to a fresh directory and stamp every file with `mtime`. */
async function copyFixtures(name: string, mtime: Date): Promise<string> {
  const dir = path.join(work, name);
  await fs.cp(path.join(REPO_ROOT, "fixtures"), dir, { recursive: true });
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    await fs.utimes(path.join(entry.parentPath, entry.name), mtime, mtime);
  }
  return dir;
}

const cases: Array<{ kind: string; args: string[]; tgz: string }> = [
  { kind: "server", args: ["voa/MainLogic.proto", "--name", "VOA.MainLogic"], tgz: "VOA.MainLogic-server-ts.tgz" },
  { kind: "caller", args: ["voa/Crawl.proto", "--name", "VOA.Crawl"], tgz: "VOA.Crawl-caller.tgz" },
  { kind: "server", args: ["-I", "edge/include", "edge/users.proto", "edge/orders.proto", "--name", "Shop.Users"], tgz: "Shop.Users-server-ts.tgz" },
];

for (const c of cases) {
  test(`msec-gen ${c.kind} ${c.args.join(" ")} gives the same sha256 across runs, mtimes and umasks`, async () => {
    const a = await copyFixtures(`a-${c.tgz}`, new Date("2001-02-03T04:05:06Z"));
    const b = await copyFixtures(`b-${c.tgz}`, new Date("2024-12-31T23:59:59Z"));
    const outA = path.join(a, "out");
    const outB = path.join(b, "out");
    const first = await runCli([c.kind, ...c.args, "-o", outA, "--quiet"], { cwd: a, shellPrefix: "umask 022;" });
    const second = await runCli([c.kind, ...c.args, "-o", outB, "--quiet"], { cwd: b, shellPrefix: "umask 077;" });
    const third = await runCli([c.kind, ...c.args, "-o", path.join(a, "out2"), "--quiet"], { cwd: a, shellPrefix: "umask 002;" });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(third.code, 0, third.stderr);
    const hash = await sha256(path.join(outA, c.tgz));
    assert.equal(await sha256(path.join(outB, c.tgz)), hash);
    assert.equal(await sha256(path.join(a, "out2", c.tgz)), hash);
  });
}

test("createTarball does not depend on the order files are given in", () => {
  const files = [
    { path: "p/b.txt", content: "b\n" },
    { path: "p/a/x.txt", content: "x\n" },
    { path: "p/run.sh", content: "#!/bin/sh\n", executable: true },
  ];
  const one = createTarball(files);
  const two = createTarball([...files].reverse());
  assert.deepEqual(Buffer.from(one), Buffer.from(two));
});

test("createTarball rejects absolute paths and parent references", () => {
  for (const bad of ["/etc/passwd", "p/../x", "p//x", "./p", "p\\x"]) {
    assert.throws(() => createTarball([{ path: bad, content: "" }]), /unsafe path/, bad);
  }
});
