/**
 * The error of a request that breaks the decoding rules of docs/request-decoding.md;
 * its message starts with the offending field's path (`crawl.Req.items[2].url: …`).
 * `decodeRequest` turns it into an `SrpcError` (-3 JSON, -5 binary).
 */
export class RequestFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestFieldError";
  }
}
