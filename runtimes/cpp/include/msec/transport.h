// Moving one request to a server and its reply back (docs/runtime-client.md,
// "Connections"): one persistent TCP connection per address carrying many
// calls at once, or one UDP datagram each way. POSIX sockets.
//
// TCP: calls are multiplexed on a connection by sequence number; a reader
// thread per connection reads reply frames and completes the call whose
// sequence each carries, in whatever order they come back. Calls are
// asynchronous underneath (ExchangeAsync): a call's deadline is a task on the
// runtime's timer thread; the blocking Exchange waits for ExchangeAsync's
// completion. A call issued while its connection is still connecting is
// written by the reader thread once it is open. Failure mapping (spec §2
// codes), as the TypeScript runtime:
//  * timeout → -10, or -12 when part of that call's reply had arrived (the
//    connection is then closed if no other call is waiting on it: the stream
//    stopped mid-frame);
//  * connection refused → -13 with request_sent() false; reset or closed → -13
//    for every call in flight; the next call opens a new connection;
//  * a reply whose sequence matches no call in flight: dropped quietly if it
//    belongs to a call that already timed out (the last
//    kAbandonedSequencesKept per connection are remembered); otherwise, if
//    exactly one call is in flight, that call fails with -16; otherwise it is
//    dropped and logged to stderr (it cannot be attributed);
//  * a reply head that does not parse → -4, attributed the same way;
//  * a byte stream that is not SRPC → -3 for every call in flight, and the
//    connection is closed.
#ifndef MSEC_TRANSPORT_H_
#define MSEC_TRANSPORT_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "msec/route.h"
#include "msec/rpc_head.pb.h"
#include "msec/status.h"

namespace msec {

/** Largest reply frame accepted over TCP (a longer one fails with -3). */
constexpr std::size_t kMaxReplyFrameBytes = 16 * 1024 * 1024;
/** Largest request frame sent over UDP (the IPv4 UDP payload limit; MSEC servers read 64 KiB). */
constexpr std::size_t kMaxUdpFrameBytes = 65507;
/** Sequences of timed-out calls remembered per connection, so their late replies are dropped quietly. */
constexpr std::size_t kAbandonedSequencesKept = 1024;
/** A connection attempt lasts at least this long, even for a call with less time left (later calls use it). */
constexpr int kMinConnectMs = 3000;

/** The point in time a call gives up. */
using Deadline = std::chrono::steady_clock::time_point;

/**
 * Sends one request (`head` must carry the sequence and method) to `route`
 * and waits for its reply until `deadline` (`timeout_ms` is the call's whole
 * timeout, named in messages). Writes `head.timeout_ms` (field
 * 70) = the remaining budget in ms (≥ 1) as the request is encoded. On
 * success `*reply_head` and `*reply_body` hold the decoded reply (its `err` is
 * the caller's to check). Codes: -10, -12, -13, -16, -3, -4 (see above), -14
 * for an address that does not resolve, -1 for a UDP request over
 * kMaxUdpFrameBytes, -7 for a head missing required fields. The status carries
 * address() and request_sent(). Thread-safe.
 */
Status Exchange(const Route& route, srpc::CRpcHead head, const std::string& body, Deadline deadline, int timeout_ms,
                srpc::CRpcHead* reply_head, std::string* reply_body);

/**
 * Completion of ExchangeAsync: the status (with address() and request_sent())
 * and, when it is ok, the decoded reply (its `err` is the caller's to check).
 */
using ExchangeCallback = std::function<void(Status status, srpc::CRpcHead reply_head, std::string reply_body)>;

/**
 * Exchange without waiting: issues the request and returns; `done` runs
 * exactly once, with the same outcomes and codes as Exchange — on the
 * connection's reader thread for a reply or a lost connection, on the
 * runtime's timer thread for a timeout or a failure found before sending, on
 * a thread of its own for UDP; never inside ExchangeAsync itself. `done` must
 * not throw, and should return soon (the reader thread completes the other
 * calls of its connection after it); it may issue new calls (those issued on
 * the reader thread are written together after the batch of replies being
 * completed, as far as the socket takes them: the reader never waits to
 * write, it writes the rest when the socket has room, reading replies
 * meanwhile). Thread-safe.
 */
void ExchangeAsync(const Route& route, srpc::CRpcHead head, const std::string& body, Deadline deadline, int timeout_ms,
                   ExchangeCallback done);

/** Closes every pooled connection; calls in flight on them fail with -13. */
void CloseConnections();

/** Same as CloseConnections (the name of earlier versions). */
inline void CloseIdleConnections() { CloseConnections(); }

/** A pooled connection, for diagnostics and tests. */
struct ConnectionInfo {
  std::string address;        // ip:port
  std::string local_address;  // this side's ip:port, empty while connecting
  std::size_t in_flight = 0;  // calls waiting for a reply
};

/** The open pooled connections. */
std::vector<ConnectionInfo> OpenConnections();

}  // namespace msec

#endif  // MSEC_TRANSPORT_H_
