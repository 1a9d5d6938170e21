/**
 * The length-prefixed JSON protocol of the seed's Jsoup service (spec §5.5):
 * a 10-character, left-justified, space-padded ASCII decimal byte length
 * (Python's `"%-10d"`), then that many bytes of UTF-8 JSON. Same framing both
 * ways.
 */
import { SrpcCode } from "./errors.js";
import { SrpcCallError } from "./client/call-error.js";
import { type TcpCallOptions, callTcp } from "./tcp.js";

/** Width of the length prefix. */
export const JSON_TCP_PREFIX_BYTES = 10;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Frames a JSON value: `"%-10d%s" % (len(json), json)` with the length in bytes. */
export function encodeJsonTcp(value: unknown): Uint8Array {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("value cannot be encoded as JSON");
  const body = utf8.encode(json);
  const prefix = String(body.length).padEnd(JSON_TCP_PREFIX_BYTES, " ");
  const out = new Uint8Array(JSON_TCP_PREFIX_BYTES + body.length);
  out.set(utf8.encode(prefix), 0);
  out.set(body, JSON_TCP_PREFIX_BYTES);
  return out;
}

/**
 * Completeness of a length-prefixed JSON message: 0 while the prefix or
 * body is incomplete, the total length once whole, -1 when the prefix is not
 * a decimal number (digits, then spaces only).
 */
export function checkJsonTcp(buf: Uint8Array): number {
  if (buf.length < JSON_TCP_PREFIX_BYTES) return 0;
  let text = "";
  for (let i = 0; i < JSON_TCP_PREFIX_BYTES; i++) text += String.fromCharCode(buf[i]!);
  const match = /^([0-9]+) *$/.exec(text);
  if (!match) return -1;
  const total = JSON_TCP_PREFIX_BYTES + Number(match[1]);
  return buf.length >= total ? total : 0;
}

/** The JSON value of one complete message (as `checkJsonTcp` measured it). */
export function decodeJsonTcp(message: Uint8Array): unknown {
  return JSON.parse(utf8Decoder.decode(message.subarray(JSON_TCP_PREFIX_BYTES)));
}

/**
 * Sends `value` as length-prefixed JSON and returns the reply's JSON value.
 * Errors as `callTcp`, plus -3 when the reply body is not JSON.
 */
export async function callJsonTcp(serviceOrAddr: string, value: unknown, options: TcpCallOptions = {}): Promise<unknown> {
  const reply = await callTcp(serviceOrAddr, encodeJsonTcp(value), checkJsonTcp, options);
  try {
    return decodeJsonTcp(reply);
  } catch (err) {
    throw new SrpcCallError(SrpcCode.InvalidPkg, `reply is not JSON: ${(err as Error).message}`, { address: serviceOrAddr, requestSent: true });
  }
}
