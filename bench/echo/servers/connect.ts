/**
 * The Connect peer: `@connectrpc/connect-node` serving `EchoService` on a
 * cleartext HTTP/2 (`node:http2`) server. The adapter answers the Connect,
 * gRPC and gRPC-Web protocols on the same port; the load generator picks one.
 */
import { createServer } from "node:http2";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EchoResponseSchema, EchoService } from "../../../examples/echo/gen/echo_pb.js";
import { announceListening, exitOnSignal, parseListenArgs } from "./listen-args.js";

const { host, port } = parseListenArgs();
const handler = connectNodeAdapter({
  routes: (router) => {
    router.service(EchoService, {
      echo: (request) => create(EchoResponseSchema, { message: request.message }),
    });
  },
});
const server = createServer(handler);
server.listen(port, host, () => {
  const address = server.address();
  announceListening(typeof address === "object" && address !== null ? address.port : port);
});
exitOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())));
