/**
 * `POST /api/generate` of `msec-gen console` (a real console process, real
 * HTTP): the same `.tgz` bytes as `msec-gen caller|server` for the same input,
 * compile errors as JSON with file:line:col, the upload limit (413), bad
 * requests (400), the Host / Origin guard (403), the warning for a
 * non-loopback bind, and nothing left in the console's TMPDIR.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type ConsoleProcess, REPO, removeDir, runBuiltCli, startConsoleProcess, testDir } from "./console-process.js";

const CRAWL = path.join(REPO, "fixtures/voa/Crawl.proto");
const EDGE = path.join(REPO, "fixtures/edge");
/** A proto3 file with a missing `;` reported at line 5, column 1. */
const BROKEN = 'syntax = "proto3";\npackage broken;\nmessage Req {\n  string name = 1\n}\nservice BrokenService { rpc Get(Req) returns (Req); }\n';

/** The `.tgz` the CLI writes for `args` (into a fresh folder). */
async function cliTarball(args: readonly string[]): Promise<{ bytes: Buffer; name: string }> {
  const out = testDir("console-cli-out-");
  try {
    const r = await runBuiltCli([...args, "-o", out, "-q"]);
    assert.equal(r.code, 0, r.stderr);
    const file = r.stdout.trim();
    return { bytes: readFileSync(file), name: path.basename(file) };
  } finally {
    removeDir(out);
  }
}

async function post(base: string, query: string, body: string | Buffer, headers: Record<string, string> = { "content-type": "text/plain" }) {
  // a Buffer is a valid fetch body in Node; the DOM typings of this TypeScript version do not say so
  const res = await fetch(`${base}/api/generate?${query}`, { method: "POST", body: body as unknown as BodyInit, headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe("msec-gen console: POST /api/generate", () => {
  let consoleProc: ConsoleProcess;

  before(async () => {
    consoleProc = await startConsoleProcess(["--protos", path.join(EDGE, "include"), "--max-upload", "65536"]);
  });
  after(async () => {
    await consoleProc?.stop();
  });

  test("text/plain Crawl.proto, caller ts,python: the CLI's bytes, twice the same", async () => {
    const cli = await cliTarball(["caller", CRAWL, "--name", "VOA.Crawl", "--lang", "ts,python"]);
    const text = readFileSync(CRAWL, "utf8");
    const first = await post(consoleProc.base, "kind=caller&name=VOA.Crawl&lang=ts,python&file=Crawl.proto", text);
    assert.equal(first.res.status, 200, first.bytes.toString());
    assert.equal(first.res.headers.get("content-type"), "application/gzip");
    assert.equal(first.res.headers.get("content-disposition"), `attachment; filename="${cli.name}"`);
    assert.equal(cli.name, "VOA.Crawl-caller.tgz");
    assert.ok(first.bytes.equals(cli.bytes), `console ${first.bytes.length} bytes, CLI ${cli.bytes.length} bytes`);
    const second = await post(consoleProc.base, "kind=caller&name=VOA.Crawl&lang=ts,python&file=Crawl.proto", text);
    assert.ok(second.bytes.equals(cli.bytes), "a second request gives the same bytes");
  });

  test("JSON form with an import among the uploaded files and per-language options: the CLI's bytes", async () => {
    const cli = await cliTarball(["caller", path.join(EDGE, "orders.proto"), "-I", path.join(EDGE, "include"), "--lang", "ts,python", "--npm-name", "orders-sdk", "--version", "1.2.3"]);
    const body = JSON.stringify({
      kind: "caller",
      lang: "ts,python",
      files: [
        { name: "orders.proto", content: readFileSync(path.join(EDGE, "orders.proto"), "utf8") },
        { name: "common/types.proto", content: readFileSync(path.join(EDGE, "include/common/types.proto"), "utf8") },
      ],
      options: { "npm-name": "orders-sdk", version: "1.2.3" },
    });
    const { res, bytes } = await post(consoleProc.base, "", body, { "content-type": "application/json" });
    assert.equal(res.status, 200, bytes.toString());
    assert.ok(bytes.equals(cli.bytes), `console ${bytes.length} bytes, CLI ${cli.bytes.length} bytes`);
  });

  test("multipart/form-data from curl -F (files with folders, settings as fields): the CLI's bytes", async () => {
    const cli = await cliTarball(["caller", path.join(EDGE, "orders.proto"), "-I", path.join(EDGE, "include"), "--lang", "ts", "--name", "Shop.Orders", "--version", "2.0.1"]);
    const out = testDir("console-curl-");
    try {
      const { stdout, stderr } = await promisify(execFile)("curl", [
        "-sS", "-o", path.join(out, "got.tgz"), "-w", "%{http_code}",
        "-F", `files=@${path.join(EDGE, "orders.proto")}`,
        "-F", `files=@${path.join(EDGE, "include/common/types.proto")};filename=common/types.proto`,
        "-F", "lang=ts", "-F", "name=Shop.Orders", "-F", "version=2.0.1",
        `${consoleProc.base}/api/generate?kind=caller`,
      ]);
      assert.equal(stdout, "200", stderr + readFileSync(path.join(out, "got.tgz"), "utf8"));
      assert.ok(readFileSync(path.join(out, "got.tgz")).equals(cli.bytes));
    } finally {
      removeDir(out);
    }
    const broken = await post(consoleProc.base, "", "--x\r\nno headers", { "content-type": "multipart/form-data; boundary=x" });
    assert.equal(broken.res.status, 400);
    assert.match((JSON.parse(broken.bytes.toString()) as { error: { message: string } }).error.message, /^the multipart body is not closed/);
  });

  test("an import found in --protos DIR; server kind: the CLI's bytes", async () => {
    const cli = await cliTarball(["server", path.join(EDGE, "orders.proto"), "-I", path.join(EDGE, "include"), "--name", "Shop.Orders"]);
    const { res, bytes } = await post(consoleProc.base, "kind=server&name=Shop.Orders&file=orders.proto", readFileSync(path.join(EDGE, "orders.proto")));
    assert.equal(res.status, 200, bytes.toString());
    assert.ok(bytes.equals(cli.bytes), `console ${bytes.length} bytes, CLI ${cli.bytes.length} bytes`);
  });

  test("a compile error is a 400 with file, line and col; the CLI names the same place", async () => {
    const { res, bytes } = await post(consoleProc.base, "kind=caller&lang=ts&file=Broken.proto", BROKEN);
    assert.equal(res.status, 400);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const { error } = JSON.parse(bytes.toString()) as { error: { message: string; file: string; line: number; col: number; errors: string[] } };
    assert.equal(error.file, "Broken.proto");
    assert.equal(error.line, 5);
    assert.equal(error.col, 1);
    assert.equal(error.errors[0], `Broken.proto:5:1: ${error.message}`);
    const dir = testDir("console-broken-");
    try {
      writeFileSync(path.join(dir, "Broken.proto"), BROKEN);
      const r = await runBuiltCli(["caller", "Broken.proto", "--lang", "ts", "-q", "-o", dir], dir);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `${error.errors.join("\n")}\n`);
    } finally {
      removeDir(dir);
    }
  });

  test("bad requests are 400s naming what is wrong", async () => {
    const cases: Array<[string, string | Buffer, Record<string, string>, RegExp]> = [
      ["kind=caller&lang=cobol&file=Crawl.proto", readFileSync(CRAWL), { "content-type": "text/plain" }, /unknown --lang "cobol" for caller; available: ts, /],
      ["kind=daemon", "x", { "content-type": "text/plain" }, /kind must be caller or server, not "daemon"/],
      ["file=../evil.proto", "x", { "content-type": "text/plain" }, /invalid file name "\.\.\/evil\.proto"/],
      ["kind=caller&colour=red", readFileSync(CRAWL), { "content-type": "text/plain" }, /unknown setting "colour" for a caller/],
      ["", "{not json", { "content-type": "application/json" }, /the JSON body does not parse/],
      ["", JSON.stringify({ files: [{ name: "a.proto", content: "x" }], protos: ["b.proto"] }), { "content-type": "application/json" }, /protos names "b\.proto", which is not among the uploaded files \(a\.proto\)/],
      ["kind=server&lang=ts,python", readFileSync(CRAWL), { "content-type": "text/plain" }, /a server is generated for one language at a time/],
    ];
    for (const [query, body, headers, expected] of cases) {
      const { res, bytes } = await post(consoleProc.base, query, body, headers);
      assert.equal(res.status, 400, `${query}: ${bytes.toString()}`);
      assert.match((JSON.parse(bytes.toString()) as { error: { message: string } }).error.message, expected, query);
    }
  });

  test("a body over --max-upload is a 413 with the limit named; the console keeps serving", async () => {
    const big = Buffer.alloc(65537, "/");
    const { res, bytes } = await post(consoleProc.base, "file=big.proto", big);
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(bytes.toString()) as { error: { message: string } }).error.message, "request body larger than the upload limit of 64 KiB (start the console with a larger --max-upload)");
    // Without a Content-Length (chunked), the limit is counted while reading.
    const chunked = await fetch(`${consoleProc.base}/api/generate?file=big.proto`, {
      method: "POST",
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(8192).fill(47));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 413);
    await chunked.arrayBuffer().catch(() => undefined);
    const meta = await fetch(`${consoleProc.base}/api/meta`);
    assert.equal(meta.status, 200);
  });

  test("Host and Origin: foreign ones are refused with 403, the console's own pass", async () => {
    const foreignHost = await rawRequest(consoleProc.port, "GET", "/api/meta", { Host: `evil.example:${consoleProc.port}` });
    assert.equal(foreignHost.status, 403);
    assert.match((JSON.parse(foreignHost.body) as { error: { message: string } }).error.message, /^Host "evil\.example:\d+" is not this console/);
    const otherPort = await rawRequest(consoleProc.port, "GET", "/", { Host: "127.0.0.1:1" });
    assert.equal(otherPort.status, 403);
    const crossOrigin = await post(consoleProc.base, "file=Crawl.proto&lang=ts", readFileSync(CRAWL), { "content-type": "text/plain", origin: "http://evil.example" });
    assert.equal(crossOrigin.res.status, 403);
    assert.match((JSON.parse(crossOrigin.bytes.toString()) as { error: { message: string } }).error.message, /^Origin "http:\/\/evil\.example" may not change anything here/);
    const crossSite = await post(consoleProc.base, "file=Crawl.proto&lang=ts", readFileSync(CRAWL), { "content-type": "text/plain", "sec-fetch-site": "cross-site" });
    assert.equal(crossSite.res.status, 403);
    const sameOrigin = await post(consoleProc.base, "file=Crawl.proto&lang=ts&name=VOA.Crawl", readFileSync(CRAWL), { "content-type": "text/plain", origin: consoleProc.base });
    assert.equal(sameOrigin.res.status, 200);
    const localhost = await rawRequest(consoleProc.port, "GET", "/", { Host: `localhost:${consoleProc.port}` });
    assert.equal(localhost.status, 200);
    assert.match(localhost.body, /<title>msec-gen console<\/title>/);
  });

  test("assets are served from the package; unknown paths are 404", async () => {
    for (const [file, type] of [["/", "text/html"], ["/app.js", "text/javascript"], ["/style.css", "text/css"]] as const) {
      const res = await fetch(`${consoleProc.base}${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get("content-type") ?? "", new RegExp(`^${type}`));
      assert.equal(Buffer.from(await res.arrayBuffer()).toString(), readFileSync(path.join(REPO, "cli/console/assets", file === "/" ? "index.html" : file), "utf8"));
    }
    assert.equal((await fetch(`${consoleProc.base}/../package.json`)).status, 404);
    assert.equal((await fetch(`${consoleProc.base}/%2e%2e/package.json`)).status, 404);
    assert.equal((await fetch(`${consoleProc.base}/api/nothing`)).status, 404);
    const meta = (await (await fetch(`${consoleProc.base}/api/meta`)).json()) as { kinds: { caller: { languages: string[] } }; etcd: unknown };
    assert.deepEqual(meta.kinds.caller.languages, ["ts", "cpp", "java", "go", "python", "php"]);
    assert.equal(meta.etcd, null);
  });

  test("every temp folder is removed (the console's TMPDIR is empty)", async () => {
    assert.deepEqual(consoleProc.leftovers(), []);
  });
});

describe("msec-gen console: binding", () => {
  test("--host 0.0.0.0 prints a warning; the default binds loopback only, quietly", async () => {
    const wide = await startConsoleProcess(["--host", "0.0.0.0"]);
    try {
      assert.match(wide.stderr, /^msec-gen console: warning: listening on 0\.0\.0\.0, not loopback: anyone who can reach this address can generate packages; the console has no login\n$/);
    } finally {
      await wide.stop();
    }
    const local = await startConsoleProcess();
    try {
      assert.equal(local.stderr, "");
      assert.equal(local.stdout, `msec-gen console: listening on http://127.0.0.1:${local.port}/ (no etcd: services view off)\n`);
    } finally {
      assert.equal(await local.stop(), 0);
    }
  });
});

describe("msec-gen console: bad options", () => {
  test("exit 1 with the reason: --protos not a folder, a bad --port, a port in use", async () => {
    let r = await runBuiltCli(["console", "--port", "0", "--protos", CRAWL]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, "", `msec-gen: error: --protos ${CRAWL}: not a directory\n`]);
    r = await runBuiltCli(["console", "--port", "70000"]);
    assert.deepEqual([r.code, r.stderr], [1, 'msec-gen: error: --port "70000": expected 0..65535\n']);
    const busy = await startConsoleProcess();
    try {
      r = await runBuiltCli(["console", "--port", String(busy.port)]);
      assert.deepEqual([r.code, r.stderr], [1, `msec-gen: error: cannot listen on 127.0.0.1:${busy.port}: EADDRINUSE\n`]);
    } finally {
      await busy.stop();
    }
  });
});

describe("msec-gen console: packaging", () => {
  test("npm pack carries every asset of the page (package.json files)", async () => {
    const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const packed = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    const assets = readdirSync(path.join(REPO, "cli/console/assets")).sort();
    assert.deepEqual(assets, ["api.js", "app.js", "dom.js", "generate.js", "index.html", "services.js", "style.css"]);
    for (const file of assets) assert.ok(packed.has(`cli/console/assets/${file}`), `cli/console/assets/${file} is not in the package`);
    assert.ok(packed.has("dist/cli/console/server.js"));
  });
});

/** An HTTP/1.1 request with headers fetch would not let us set (Host). */
async function rawRequest(port: number, method: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}Connection: close\r\n\r\n`);
    });
    let data = "";
    socket.on("data", (c: Buffer) => (data += c.toString()));
    socket.on("error", reject);
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]);
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
  });
}
