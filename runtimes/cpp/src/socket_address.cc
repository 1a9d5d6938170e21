#include "socket_address.h"

#include <netdb.h>

#include <cstring>
#include <string>

namespace msec::internal {

Status ResolveSocketAddress(const Route& route, int socktype, sockaddr_storage* addr, socklen_t* addr_len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(route.port);
  const int rc = ::getaddrinfo(route.ip.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Status(kInvalidEndpoint, route.Address() + ": " + ::gai_strerror(rc));
  }
  std::memcpy(addr, found->ai_addr, found->ai_addrlen);
  *addr_len = found->ai_addrlen;
  ::freeaddrinfo(found);
  return Status();
}

}  // namespace msec::internal
