/**
 * `echo.EchoService` (fixtures/echo/echo.proto) on the msec-gen runtime,
 * written the way generated server code is: decode the request (binary or
 * JSON), run the handler, encode the response. Used by the echo server, the
 * runtime's tests and the benchmark.
 */
import { create, isFieldSet, toBinary, toJson } from "@bufbuild/protobuf";
import { type MethodDefinition, type RequestBody, type ResponseBody, SrpcError, decodeRequest } from "@msec-gen/runtime";
import type { CallContext } from "@msec-gen/runtime";
import { type EchoRequest, EchoRequestSchema, type EchoResponse, EchoResponseSchema } from "./gen/echo_pb.js";

/** Wire name of the one method. */
export const ECHO_METHOD = "echo.EchoService.Echo";

/** The handler: answers with the request's message; an unset message stays unset. */
export function echo(request: EchoRequest): EchoResponse {
  const response = create(EchoResponseSchema);
  if (isFieldSet(request, EchoRequestSchema.field.message)) response.message = request.message;
  return response;
}

/**
 * The request by the runtime's decoding rule (docs/request-decoding.md): -5 for a bad
 * binary body, -3 for bad JSON (invalid base64, unknown field, …). The envelope keeps
 * MSEC's text for the code (fixtures/vectors V8), so the detail is dropped here.
 */
function decodeEchoRequest(body: RequestBody): EchoRequest {
  try {
    return decodeRequest(EchoRequestSchema, body);
  } catch (e) {
    throw e instanceof SrpcError ? new SrpcError(e.code) : e;
  }
}

function encodeResponse(response: EchoResponse, ctx: CallContext): ResponseBody {
  return ctx.format === "binary"
    ? { format: "binary", bytes: toBinary(EchoResponseSchema, response) }
    : { format: "json", json: toJson(EchoResponseSchema, response, ctx.jsonWriteOptions) };
}

/** The method definitions to register with a server. */
export function echoMethods(): MethodDefinition[] {
  return [
    {
      name: ECHO_METHOD,
      invoke(body, ctx) {
        return encodeResponse(echo(decodeEchoRequest(body)), ctx);
      },
    },
  ];
}
