// Calls to heterogeneous (non-SRPC) TCP services — MSEC's callmethod_tcp:
// route (resolvers + NLB balancer, which hears the outcome), connect, write
// the request, read until a completeness check says the reply is whole. One
// connection per call: such services define their own framing, so a
// connection cannot be assumed reusable. Plus the length-prefixed JSON
// protocol of the seed's Jsoup service (spec §5.5).
#ifndef MSEC_TCP_CALL_H_
#define MSEC_TCP_CALL_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "msec/call.h"
#include "msec/status.h"

namespace msec {

/**
 * Completeness check over everything received so far: < 0 the reply is
 * malformed, 0 more bytes are needed, > 0 the reply's total length.
 */
using ReplyCheck = std::function<long(std::string_view received)>;

/** First receive buffer size; it doubles as needed (as MSEC's TCP clients grow theirs). */
constexpr std::size_t kTcpInitialReceiveBytes = 64 * 1024;

/**
 * Sends `request` to `service` (a routing name or a literal `ip:port`; always
 * TCP) and stores the first `check(...) > 0` bytes of the reply in `*reply`.
 * `options.timeout_ms` covers route, connect, write and reply;
 * `options.retries` retries refused connections of routing names (caller,
 * coloring and flow id are SRPC head fields and are not used). Codes: -15 no
 * route; -14 an address that does not resolve; -13 refused (request_sent()
 * false), reset, or closed before the reply was whole; -3 the check returned
 * < 0 or threw; -10 timeout with nothing received, -12 with part of the reply
 * received; -1 bad options. Thread-safe.
 */
Status CallTcp(std::string_view service, const std::string& request, const ReplyCheck& check, std::string* reply,
               const CallOptions& options = CallOptions());

/** Width of the JSON protocol's length prefix. */
constexpr std::size_t kJsonTcpPrefixBytes = 10;

/** Frames JSON text: a 10-character left-justified decimal byte length (Python's "%-10d"), then the JSON. */
std::string EncodeJsonTcp(std::string_view json);

/**
 * Completeness of a length-prefixed JSON message (a ReplyCheck): 0 while the
 * prefix or body is incomplete, the total length once whole, -1 when the
 * prefix is not digits followed by spaces only.
 */
long CheckJsonTcp(std::string_view received);

/**
 * CallTcp with the length-prefixed JSON protocol: sends `json`, stores the
 * reply's JSON text in `*reply_json`. Codes as CallTcp, and -3 when the reply
 * body is not JSON.
 */
Status CallJsonTcp(std::string_view service, std::string_view json, std::string* reply_json,
                   const CallOptions& options = CallOptions());

}  // namespace msec

#endif  // MSEC_TCP_CALL_H_
