// Resolving a route to a socket address (internal to the runtime: transport.cc, tcp_call.cc).
#ifndef MSEC_SRC_SOCKET_ADDRESS_H_
#define MSEC_SRC_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include "msec/route.h"
#include "msec/status.h"

namespace msec::internal {

/** Resolves `route` (numeric address or host name) for `socktype`; -14 naming the address when it does not resolve. */
Status ResolveSocketAddress(const Route& route, int socktype, sockaddr_storage* addr, socklen_t* addr_len);

}  // namespace msec::internal

#endif  // MSEC_SRC_SOCKET_ADDRESS_H_
