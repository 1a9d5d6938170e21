// One SRPC call: route (resolvers + NLB balancer) → request head (spec §1.6)
// → multiplexed transport → reply checks (spec §1.8: frame, sequence,
// CRpcHead.err) → response body; the outcome is reported to the balancer.
//
// Two ways to call, one code path: asynchronous (CallRawAsync,
// CallMethodAsync: a callback, or a std::future) and blocking (CallRaw,
// CallMethod: the asynchronous call, waited for). Same routing, timeouts,
// retries and codes either way.
#ifndef MSEC_CALL_H_
#define MSEC_CALL_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <google/protobuf/message.h>

#include "msec/status.h"

namespace msec {

/** Default call timeout: 800 ms, as MSEC's C++ CallMethod. */
constexpr int kDefaultTimeoutMs = 800;
/** CRpcHead.caller when neither the options nor $MSEC_SERVICE_NAME name one. */
constexpr const char* kDefaultCaller = "cpp.client";
/** Environment variable naming this process's service (`Group.Service`), used as the caller name. */
constexpr const char* kServiceNameEnv = "MSEC_SERVICE_NAME";

/** Per-call settings beyond the timeout. */
struct CallOptions {
  /** Budget for the whole call (connect, send, reply) in ms; must be > 0. */
  int timeout_ms = kDefaultTimeoutMs;
  /** CRpcHead.caller; empty: $MSEC_SERVICE_NAME, else "cpp.client". */
  std::string caller;
  /** CRpcHead.coloring (1 = log this call chain at every level). */
  std::uint32_t coloring = 0;
  /** CRpcHead.flow_id; 0: ColorId(method) XOR sequence. */
  std::uint64_t flow_id = 0;
  /**
   * Routing names only: extra picks after a refused connection (the request
   * never reached a server, so it cannot run twice); never for literal
   * addresses or any other failure. All attempts share `timeout_ms`. A
   * refused connection also takes that server out of the balancer at once
   * for kRefusedHoldMs (5 s). Must be ≥ 0.
   */
  int retries = 0;
};

/** What an asynchronous call ends with: the status and, on success, the response. */
template <class T>
struct Result {
  Status status;
  T response;
};

/** Result of CallRawAsync's future: the status and the reply body. */
using RawResult = Result<std::string>;

/**
 * Completion of CallRawAsync: the call's status and the reply body (empty
 * when no reply arrived).
 */
using RawCallback = std::function<void(Status status, std::string response_body)>;

/** A fresh request sequence: random 32-bit start per process, then +1 per call, never 0. Thread-safe. */
std::uint64_t NewSequence();

/**
 * Calls `method` (wire name `package.Service.Method`) on `service` (a
 * routing name `Group.Service` or a literal `ip:port[@tcp|@udp]`) with a
 * serialized request body; on success `*response_body` holds the reply body.
 * Codes: -15 no route, -10/-12 timeouts, -13 connection refused or lost,
 * -3/-4 malformed reply, -16 reply for another sequence, -1 bad options, or
 * the server's CRpcHead.err (e.g. -6 unknown method). The request head
 * carries timeout_ms (field 70) = the budget left when it is written.
 * Every outcome of a routed call goes to the balancer: a reply (even with
 * err ≠ 0) is a success with its latency, a refused connection marks the
 * server dead at once, any other transport failure is a failure.
 * Thread-safe: calls from many threads share one connection per address.
 * Waits for CallRawAsync's completion.
 */
Status CallRaw(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
               const CallOptions& options = CallOptions());

/**
 * CallRaw without waiting: issues the call and returns at once; `done` runs
 * exactly once with what CallRaw would have returned (same routing, balancer
 * reports, timeout, retries and codes; invalid options fail with -1 through
 * `done` too). Where it runs:
 *  * on the reader thread of the call's connection, for a reply or a lost
 *    connection (replies of one connection complete one after the other);
 *  * on the runtime's timer thread, for a timeout or a failure found before
 *    the request was sent (no route, refused connection, bad options);
 *  * on a thread of its own, for a UDP address;
 *  * never on the calling thread inside CallRawAsync.
 * `done` must not throw and should return soon: the thread that runs it
 * completes other calls after it. It may issue further calls (the usual way to
 * keep N calls in flight); those issued on a reader thread are written together
 * once the batch of replies it is completing is done.
 * Thread-safe.
 */
void CallRawAsync(std::string_view service, std::string_view method, std::string request_body, RawCallback done,
                  const CallOptions& options = CallOptions());

/** CallRawAsync with a std::future of the status and reply body instead of a callback. */
std::future<RawResult> CallRawAsync(std::string_view service, std::string_view method, std::string request_body,
                                    const CallOptions& options = CallOptions());

namespace internal {
/** Serializes `request` (-8 when it misses required fields) and calls CallRawAsync with it. */
void CallMessageAsync(std::string_view service, std::string_view method, const google::protobuf::Message& request, RawCallback done,
                      const CallOptions& options);
/** Parses a reply body into `*response` (-5 when it does not parse or misses required fields). */
Status ParseReply(const std::string& body, google::protobuf::Message* response);
}  // namespace internal

/**
 * CallMethod without waiting: `done(status, response)` runs exactly once,
 * where and as CallRawAsync's callback does; `response` is the parsed reply
 * (a default `Response` on failure). Codes as CallMethod's. `Response` is the
 * generated protobuf message type of the reply.
 */
template <class Response>
void CallMethodAsync(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                     std::function<void(Status, Response)> done, const CallOptions& options = CallOptions()) {
  internal::CallMessageAsync(
      service, method, request,
      [done = std::move(done)](Status status, std::string body) {
        Response response;
        if (status.ok()) status = internal::ParseReply(body, &response);
        done(std::move(status), std::move(response));
      },
      options);
}

/** CallMethodAsync with a std::future of the status and response instead of a callback. */
template <class Response>
std::future<Result<Response>> CallMethodAsync(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                                              const CallOptions& options = CallOptions()) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  std::future<Result<Response>> future = promise->get_future();
  CallMethodAsync<Response>(
      service, method, request,
      [promise](Status status, Response response) { promise->set_value(Result<Response>{std::move(status), std::move(response)}); },
      options);
  return future;
}

/**
 * MSEC's CallMethod(service, method, request, response, timeout): CallRaw
 * plus message (de)serialization: -8 when the request misses required
 * fields, -5 when the reply body does not parse into `response`.
 */
Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, int timeout_ms = kDefaultTimeoutMs);

/** CallMethod with full options. */
Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, const CallOptions& options);

}  // namespace msec

#endif  // MSEC_CALL_H_
