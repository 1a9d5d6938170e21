/**
 * The walkthrough's heterogeneous "Jsoup" service: plain TCP, each request
 * and reply a JSON document preceded by its byte length as 10 ASCII
 * characters (`"%-10d"`). Several requests may follow each other on one
 * connection. Serves the fixed catalogue of `catalogue.ts`.
 *
 *     node --import tsx examples/voa/jsoup/jsoup-server.ts [port]   # prints "jsoup listening on 127.0.0.1:<port>"
 *
 * Stops on SIGTERM or SIGINT.
 */
import net from "node:net";
import { checkJsonTcp, decodeJsonTcp, encodeJsonTcp } from "@msec-gen/runtime";
import { answer, loadCatalogue } from "./catalogue.js";

/** Largest request accepted; a longer (or malformed) prefix closes the connection. */
export const MAX_REQUEST_BYTES = 64 * 1024;

const catalogue = loadCatalogue();

const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const total = checkJsonTcp(pending);
      if (total < 0 || (total === 0 && pending.length > MAX_REQUEST_BYTES)) {
        socket.destroy();
        return;
      }
      if (total === 0) return;
      let reply: Record<string, unknown>;
      try {
        reply = answer(catalogue, decodeJsonTcp(pending.subarray(0, total)));
      } catch {
        socket.destroy();
        return;
      }
      socket.write(encodeJsonTcp(reply));
      pending = pending.subarray(total);
    }
  });
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, "127.0.0.1", () => {
  const address = server.address() as net.AddressInfo;
  console.log(`jsoup listening on 127.0.0.1:${address.port}`);
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
