/**
 * The explorer tests' TS server: `shop.OrderService` (test/browser/explorer.proto)
 * with handlers that need no generated code. `Place` answers a receipt
 * carrying the JSON body exactly as it arrived and the caller header, so a
 * test can assert what the page sent; `Cancel` always fails with -18.
 *
 *   node --import tsx test/browser/explorer-server.ts --port N [--openapi FILE]
 *
 * Without `--openapi` the server has no OpenAPI document (`/openapi.json` is 404).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type MethodDefinition, SrpcCode, SrpcError, startServer } from "@msec-gen/runtime";

/** `Place`: a receipt with the order's id (when the body is JSON with one) and the body as received. */
const place: MethodDefinition = {
  name: "shop.OrderService.Place",
  invoke(body, ctx) {
    if (body.format !== "json") throw new SrpcError(SrpcCode.InvalidPkg, "this test server answers JSON calls only");
    let id = "0";
    try {
      const order = JSON.parse(body.text) as { id?: unknown };
      if (typeof order.id === "string" || typeof order.id === "number") id = String(order.id);
    } catch {
      throw new SrpcError(SrpcCode.InvalidPkg);
    }
    return { format: "json", json: { id, received: body.text, caller: ctx.caller } };
  },
};

/** `Cancel`: always -18, as a handler that fails. */
const cancel: MethodDefinition = {
  name: "shop.OrderService.Cancel",
  invoke() {
    throw new SrpcError(SrpcCode.ServiceImplFailed);
  },
};

const { values } = parseArgs({ options: { port: { type: "string" }, openapi: { type: "string" } }, strict: true });
await startServer({
  serviceName: "shop.OrderService",
  configPath: "/dev/null",
  overrides: {
    host: "127.0.0.1",
    port: Number(values.port ?? 0),
    udp: false,
    ...(values.openapi !== undefined ? { openapi: readFileSync(values.openapi, "utf8") } : {}),
  },
  register(server) {
    server.register(place);
    server.register(cancel);
  },
});
