/**
 * The runtime `MethodDefinition`s of a mock: each method decodes its request
 * exactly as a generated server does (the runtime's `decodeRequest`: -5 for a
 * bad protobuf body, -3 for bad JSON), then answers its scripted answers in
 * turn (round robin, in order of arrival) or, when none are scripted, the
 * example message of its output type. A scripted `delay_ms` holds the answer
 * back; a scripted error is thrown as an `SrpcError`, which the runtime
 * answers with that code and message over SRPC and in the JSON envelope.
 */
import { type DescMessage, type Message, toBinary, toJson } from "@bufbuild/protobuf";
// Self-contained runtime modules, compiled into the CLI (see cli/mock-command.ts).
import type { CallContext, MethodDefinition, RequestBody, ResponseBody } from "../../runtimes/ts/src/handler.js";
import { SrpcCode, SrpcError } from "../../runtimes/ts/src/errors.js";
import { decodeRequest } from "../../runtimes/ts/src/request-decoding.js";
import type { ScriptedAnswer } from "./scripted-responses.js";

/** What one mocked method answers. */
export interface MockMethod {
  /** Wire name `package.Service.Method`. */
  readonly name: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
  /** Answers given in turn; one entry for a fixed answer (the example or a single scripted answer). */
  readonly answers: readonly ScriptedAnswer[];
}

/** A prepared answer: replies encoded to protobuf once, at start. */
type Prepared = ScriptedAnswer & { readonly bytes?: Uint8Array };

/** The `MethodDefinition` that serves `method`. */
export function mockMethodDefinition(method: MockMethod): MethodDefinition {
  const { name, input, output } = method;
  if (method.answers.length === 0) throw new Error(`${name}: no answers`);
  const answers: Prepared[] = method.answers.map((a) => (a.kind === "reply" ? { ...a, bytes: toBinary(output, a.message) } : a));
  let turn = 0;
  return {
    name,
    async invoke(body: RequestBody, ctx: CallContext): Promise<ResponseBody> {
      decodeRequest(input, body);
      const answer = answers[turn]!;
      turn = (turn + 1) % answers.length;
      if (answer.delayMs > 0) await delay(answer.delayMs, ctx.signal);
      if (answer.kind === "error") throw new SrpcError(answer.code, answer.message);
      return body.format === "binary"
        ? { format: "binary", bytes: answer.bytes! }
        : { format: "json", json: toJson(output, answer.message, ctx.jsonWriteOptions) };
    },
  };
}

/** The answers of a method answered by one message (the example). */
export function fixedReply(message: Message): ScriptedAnswer[] {
  return [{ kind: "reply", message, delayMs: 0 }];
}

/**
 * Waits `ms`, or rejects when the call ends first (its deadline passed, and
 * the runtime has already answered -10, or the caller went away, and nobody
 * reads the answer): an `SrpcError`, so the runtime logs nothing.
 */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const ended = () => {
      clearTimeout(timer);
      reject(new SrpcError(SrpcCode.Timeout, `the call ended during its scripted delay of ${ms} ms`));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", ended);
      resolve();
    }, ms);
    if (signal.aborted) ended();
    else signal.addEventListener("abort", ended, { once: true });
  });
}
