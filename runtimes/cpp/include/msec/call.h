// One SRPC call: route (resolvers + NLB balancer) → request head (spec §1.6)
// → multiplexed transport → reply checks (spec §1.8: frame, sequence,
// CRpcHead.err) → response body; the outcome is reported to the balancer.
#ifndef MSEC_CALL_H_
#define MSEC_CALL_H_

#include <cstdint>
#include <string>
#include <string_view>

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
 */
Status CallRaw(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
               const CallOptions& options = CallOptions());

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
