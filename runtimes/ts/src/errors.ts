/**
 * SRPC framework error codes and their texts (spec §2), and the one error
 * class the runtime throws. Every wire representation (CRpcHead `err`, the
 * JSON envelope `ret`) is mapped from `SrpcError.code`.
 */

/** The SRPC error codes of MSEC's `srpc_comm.h`. */
export const SrpcCode = {
  Success: 0,
  ParaError: -1,
  SystemError: -2,
  InvalidPkg: -3,
  InvalidPkgHead: -4,
  InvalidPkgBody: -5,
  InvalidMethodName: -6,
  HeaderUninit: -7,
  BodyUninit: -8,
  NoMemory: -9,
  Timeout: -10,
  Network: -11,
  RecvTimeout: -12,
  SendRecvFailed: -13,
  InvalidEndpoint: -14,
  GetRouteFailed: -15,
  InvalidSequence: -16,
  NoBody: -17,
  ServiceImplFailed: -18,
  Backend: -19,
  PhpFailed: -20,
  PythonFailed: -21,
} as const;

/** Texts of MSEC's `errmsg()`, verbatim including the original typos. */
const errorTexts: ReadonlyMap<number, string> = new Map([
  [0, "success"],
  [-1, "invalid parameter"],
  [-2, "system error"],
  [-3, "invalid package"],
  [-4, "invalid package header"],
  [-5, "invalid package body"],
  [-6, "invalid method name"],
  [-7, "package header uninitialized"],
  [-8, "package body uninitialized"],
  [-9, "no memory"],
  [-10, "timeout"],
  [-11, "network error"],
  [-12, "recevice timeout"],
  [-13, "network sendrecv failed"],
  [-14, "invalid endpoint"],
  [-15, "get route failed"],
  [-16, "invalid sequence"],
  [-17, "no package body"],
  [-18, "service implement failed"],
  [-19, "backend process failed, use GetErrText get more information"],
  [-20, "php error"],
  [-21, "python error"],
]);

/** The MSEC text for `code` (spec §2); `"unkown error"` (sic) for any other code. */
export function errorText(code: number): string {
  return errorTexts.get(code) ?? "unkown error";
}

/** An error carrying an SRPC code; the message defaults to the code's MSEC text. */
export class SrpcError extends Error {
  readonly code: number;

  constructor(code: number, message?: string) {
    super(message ?? errorText(code));
    this.name = "SrpcError";
    this.code = code;
  }
}
