/**
 * The echo benchmark's request: an `echo.EchoRequest` whose `message` is a
 * fixed, deterministic run of bytes (the "payload"), 100 bytes by default.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { EchoRequestSchema } from "../../examples/echo/gen/echo_pb.js";

/** Payload size the issue asks for. */
export const DEFAULT_PAYLOAD_BYTES = 100;

/** Full wire method name of the echo call (SRPC) — gRPC/Connect path is `/echo.EchoService/Echo`. */
export const ECHO_METHOD = "echo.EchoService.Echo";

/** Encoded `EchoRequest` carrying `payloadBytes` bytes of message. */
export function encodeEchoRequest(payloadBytes: number): Uint8Array {
  const message = new Uint8Array(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) message[i] = 0x61 + (i % 26);
  return toBinary(EchoRequestSchema, create(EchoRequestSchema, { message }));
}
