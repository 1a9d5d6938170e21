/**
 * The "ceiling" echo server: plain `node:net`, each message prefixed by its
 * length as a 4-byte big-endian integer; decodes the request with
 * `fromBinary(EchoRequestSchema)`, re-encodes `toBinary(EchoResponseSchema)`,
 * and does nothing else. It bounds what any protobuf-over-TCP server in Node
 * can do on this machine: the msec server's target is a share of it.
 */
import { createServer, type Socket } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EchoRequestSchema, EchoResponseSchema } from "../../../examples/echo/gen/echo_pb.js";
import { announceListening, exitOnSignal, parseListenArgs } from "./listen-args.js";

/** Bytes of the length prefix. */
const PREFIX = 4;

function answer(request: Uint8Array): Buffer {
  const req = fromBinary(EchoRequestSchema, request);
  const body = toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: req.message }));
  const out = Buffer.allocUnsafe(PREFIX + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, PREFIX);
  return out;
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer | undefined;
  socket.on("data", (chunk: Buffer) => {
    let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let at = 0;
    socket.cork();
    while (buf.length - at >= PREFIX) {
      const len = buf.readUInt32BE(at);
      if (buf.length - at - PREFIX < len) break;
      socket.write(answer(buf.subarray(at + PREFIX, at + PREFIX + len)));
      at += PREFIX + len;
    }
    socket.uncork();
    if (at < buf.length) pending = buf.subarray(at);
  });
  socket.on("error", () => socket.destroy());
}

const { host, port } = parseListenArgs();
const server = createServer(serve);
server.listen(port, host, () => {
  const address = server.address();
  announceListening(typeof address === "object" && address !== null ? address.port : port);
});
exitOnSignal(() => new Promise<void>((resolve) => server.close(() => resolve())));
