// Moving one request frame to a server and its reply frame back: a pool of
// persistent TCP connections per address, or one UDP datagram each way.
// POSIX sockets, every wait bounded by poll() against the call's deadline.
#ifndef MSEC_TRANSPORT_H_
#define MSEC_TRANSPORT_H_

#include <cstddef>
#include <string>

#include "msec/route.h"
#include "msec/status.h"

namespace msec {

/** Largest reply frame accepted over TCP (a longer one fails with -3). */
constexpr std::size_t kMaxReplyFrameBytes = 16 * 1024 * 1024;
/** Idle TCP connections kept per address; more are closed when returned. */
constexpr std::size_t kMaxIdleConnectionsPerAddress = 8;
/** Largest request frame sent over UDP (the IPv4 UDP payload limit; MSEC servers read 64 KiB). */
constexpr std::size_t kMaxUdpFrameBytes = 65507;

/**
 * Sends `request_frame` to `route` and returns exactly one complete reply
 * frame. Codes: -10 when the connection, the send or the first reply byte
 * does not happen within `timeout_ms`; -12 when the reply started but did not
 * complete in time; -13 when the connection is refused, reset or closed by
 * the peer (the pool drops it and the next call reconnects); -3 when the
 * bytes that come back are not an SRPC frame; -14 for an address that does
 * not resolve. A TCP connection goes back to the pool only after a clean
 * exchange. Thread-safe: a connection serves one call at a time.
 */
Status Exchange(const Route& route, const std::string& request_frame, int timeout_ms, std::string* reply_frame);

/** Closes every idle pooled connection (e.g. before fork, or in tests). */
void CloseIdleConnections();

}  // namespace msec

#endif  // MSEC_TRANSPORT_H_
