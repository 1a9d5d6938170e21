/**
 * The gRPC peer: `@grpc/grpc-js` serving `echo.EchoService/Echo` over
 * cleartext HTTP/2. Messages are (de)serialized with `@bufbuild/protobuf`, the
 * same codec every other peer uses, so the comparison is about the transport.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type EchoRequest, EchoRequestSchema, type EchoResponse, EchoResponseSchema } from "../../../examples/echo/gen/echo_pb.js";
import { announceListening, exitOnSignal, parseListenArgs } from "./listen-args.js";

const echoService: grpc.ServiceDefinition = {
  echo: {
    path: "/echo.EchoService/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: EchoRequest) => Buffer.from(toBinary(EchoRequestSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(EchoRequestSchema, b),
    responseSerialize: (m: EchoResponse) => Buffer.from(toBinary(EchoResponseSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(EchoResponseSchema, b),
  },
};

const { host, port } = parseListenArgs();
const server = new grpc.Server();
server.addService(echoService, {
  echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, callback: grpc.sendUnaryData<EchoResponse>) => {
    callback(null, create(EchoResponseSchema, { message: call.request.message }));
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  announceListening(bound);
});
exitOnSignal(() => {
  server.forceShutdown();
});
