/** Small real-socket clients for the server tests. */
import { connect, type Socket } from "node:net";
import { createSocket } from "node:dgram";
import { Writable } from "node:stream";
import { FrameDecoder, createLogger, type Logger } from "@msec-gen/runtime";

/** Opens a TCP connection to 127.0.0.1:port. */
export function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Reads `count` SRPC frames from a socket (rejects if it closes first or after `timeoutMs`). */
export function readFrames(socket: Socket, count: number, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    const timer = setTimeout(() => finish(new Error(`timed out with ${frames.length}/${count} frames`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) frames.push(Buffer.from(f));
      if (frames.length >= count) finish();
    };
    const onClose = () => finish(new Error(`closed after ${frames.length}/${count} frames`));
    function finish(err?: Error) {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve(frames);
    }
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/** Reads until the peer closes; resolves with everything received. */
export function readUntilClosed(socket: Socket, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error("socket was not closed by the server")), timeoutMs);
    socket.on("data", (c: Buffer) => parts.push(c));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
  });
}

/** Reads until `length` bytes arrived. */
export function readBytes(socket: Socket, length: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => finish(new Error(`timed out after ${got}/${length} bytes`)), timeoutMs);
    const onData = (c: Buffer) => {
      parts.push(c);
      got += c.length;
      if (got >= length) finish();
    };
    const onClose = () => finish(new Error(`closed after ${got}/${length} bytes: ${Buffer.concat(parts).toString("latin1")}`));
    function finish(err?: Error) {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(parts));
    }
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/** Sends one datagram and waits for one answer (or `undefined` after `timeoutMs`). */
export function udpCall(port: number, bytes: Uint8Array, timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on("message", (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg);
    });
    s.send(bytes, port, "127.0.0.1");
  });
}

/** A logger that keeps its lines for assertions. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      cb();
    },
  });
  return { logger: createLogger({ level: "ERROR", destination }), lines };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
