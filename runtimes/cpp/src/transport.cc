#include "msec/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "msec/frame.h"

namespace msec {
namespace {

using Clock = std::chrono::steady_clock;

/** Bytes read from a socket per recv() call. */
constexpr std::size_t kReadChunkBytes = 64 * 1024;

/** Idle connections by `ip:port`. */
struct Pool {
  std::mutex mutex;
  std::map<std::string, std::vector<int>> idle;
};

Pool& ThePool() {
  static Pool pool;
  return pool;
}

/** Milliseconds left until `deadline`, at least 0. */
int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

/** poll() for `events` until the deadline: 1 ready, 0 timed out, -1 error (errno set). */
int WaitFor(int fd, short events, Clock::time_point deadline, short* revents) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) *revents = p.revents;
    return n;
  }
}

std::string ErrnoText(int err) { return std::strerror(err); }

/** A pooled connection that is readable (EOF, reset or stray bytes) is unusable. */
bool StillUsable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

int TakeIdle(const std::string& address) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  auto found = pool.idle.find(address);
  if (found == pool.idle.end()) return -1;
  while (!found->second.empty()) {
    const int fd = found->second.back();
    found->second.pop_back();
    if (StillUsable(fd)) return fd;
    ::close(fd);
  }
  return -1;
}

void GiveBack(const std::string& address, int fd) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  std::vector<int>& list = pool.idle[address];
  if (list.size() < kMaxIdleConnectionsPerAddress) {
    list.push_back(fd);
  } else {
    ::close(fd);
  }
}

/** Resolves `route` to a socket address (numeric or host name). */
Status Resolve(const Route& route, int socktype, sockaddr_storage* addr, socklen_t* addr_len) {
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

/** Opens a non-blocking TCP connection within the deadline. */
Status Connect(const Route& route, Clock::time_point deadline, int timeout_ms, int* out_fd) {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  Status resolved = Resolve(route, SOCK_STREAM, &addr, &addr_len);
  if (!resolved.ok()) return resolved;
  const std::string address = route.Address();
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(kSendRecvFailed, "socket: " + ErrnoText(errno));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    if (errno != EINPROGRESS) {
      const int err = errno;
      ::close(fd);
      return Status(kSendRecvFailed, "cannot connect to " + address + " (" + ErrnoText(err) + ")");
    }
    short revents = 0;
    const int ready = WaitFor(fd, POLLOUT, deadline, &revents);
    if (ready == 0) {
      ::close(fd);
      return Status(kTimeout, "cannot connect to " + address + " within " + std::to_string(timeout_ms) + " ms");
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (ready < 0) {
      err = errno;
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err != 0) {
      ::close(fd);
      return Status(kSendRecvFailed, "cannot connect to " + address + " (" + ErrnoText(err) + ")");
    }
  }
  *out_fd = fd;
  return Status();
}

/** Writes the whole frame within the deadline. */
Status SendAll(int fd, const std::string& data, Clock::time_point deadline, int timeout_ms, const std::string& address) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      short revents = 0;
      const int ready = WaitFor(fd, POLLOUT, deadline, &revents);
      if (ready == 0) {
        return Status(kTimeout, "request to " + address + " not sent within " + std::to_string(timeout_ms) + " ms");
      }
      if (ready < 0) return Status(kSendRecvFailed, "connection to " + address + " lost (" + ErrnoText(errno) + ")");
      continue;
    }
    return Status(kSendRecvFailed, "connection to " + address + " lost (" + ErrnoText(errno) + ")");
  }
  return Status();
}

/** Reads until one complete frame is buffered. `*clean` is true when nothing beyond it arrived. */
Status ReceiveFrame(int fd, Clock::time_point deadline, int timeout_ms, const std::string& address, std::string* frame, bool* clean) {
  std::string buffer;
  std::vector<char> chunk(kReadChunkBytes);
  for (;;) {
    const std::int64_t checked = CheckFrame(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size());
    if (checked < 0 && !buffer.empty()) return Status(kInvalidPkg, "reply from " + address + " is not an SRPC frame");
    if (checked > 0) {
      *clean = buffer.size() == static_cast<std::size_t>(checked);
      frame->assign(buffer, 0, static_cast<std::size_t>(checked));
      return Status();
    }
    if (buffer.size() >= kFrameHeadOffset) {
      const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(buffer.data());
      const std::uint64_t head_len = (std::uint64_t{p[1]} << 24) | (std::uint64_t{p[2]} << 16) | (std::uint64_t{p[3]} << 8) | p[4];
      const std::uint64_t body_len = (std::uint64_t{p[5]} << 24) | (std::uint64_t{p[6]} << 16) | (std::uint64_t{p[7]} << 8) | p[8];
      if (p[0] == kFrameStx && kFrameOverhead + head_len + body_len > kMaxReplyFrameBytes) {
        return Status(kInvalidPkg, "reply from " + address + " announces " + std::to_string(kFrameOverhead + head_len + body_len) +
                                       " bytes, more than the limit of " + std::to_string(kMaxReplyFrameBytes));
      }
    }
    const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      buffer.append(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return Status(kSendRecvFailed, "connection to " + address + " lost (closed by peer)");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return Status(kSendRecvFailed, "connection to " + address + " lost (" + ErrnoText(errno) + ")");
    }
    short revents = 0;
    const int ready = WaitFor(fd, POLLIN, deadline, &revents);
    if (ready == 0) {
      if (buffer.empty()) return Status(kTimeout, "no reply from " + address + " within " + std::to_string(timeout_ms) + " ms");
      return Status(kRecvTimeout, "reply from " + address + " incomplete after " + std::to_string(timeout_ms) + " ms");
    }
    if (ready < 0) return Status(kSendRecvFailed, "connection to " + address + " lost (" + ErrnoText(errno) + ")");
  }
}

Status ExchangeTcp(const Route& route, const std::string& request_frame, int timeout_ms, std::string* reply_frame) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string address = route.Address();
  int fd = TakeIdle(address);
  if (fd < 0) {
    Status connected = Connect(route, deadline, timeout_ms, &fd);
    if (!connected.ok()) return connected;
  }
  Status status = SendAll(fd, request_frame, deadline, timeout_ms, address);
  bool clean = false;
  if (status.ok()) status = ReceiveFrame(fd, deadline, timeout_ms, address, reply_frame, &clean);
  if (status.ok() && clean) {
    GiveBack(address, fd);
  } else {
    ::close(fd);
  }
  return status;
}

Status ExchangeUdp(const Route& route, const std::string& request_frame, int timeout_ms, std::string* reply_frame) {
  const std::string address = route.Address() + "@udp";
  if (request_frame.size() > kMaxUdpFrameBytes) {
    return Status(kParaError, "request frame of " + std::to_string(request_frame.size()) + " bytes exceeds the UDP limit of " +
                                  std::to_string(kMaxUdpFrameBytes));
  }
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  Status resolved = Resolve(route, SOCK_DGRAM, &addr, &addr_len);
  if (!resolved.ok()) return resolved;
  const int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(kSendRecvFailed, "socket: " + ErrnoText(errno));
  // A connected UDP socket reports ICMP "port unreachable" as ECONNREFUSED.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 ||
      ::send(fd, request_frame.data(), request_frame.size(), MSG_NOSIGNAL) < 0) {
    const int err = errno;
    ::close(fd);
    return Status(kSendRecvFailed, address + ": " + ErrnoText(err));
  }
  std::vector<char> datagram(kMaxUdpFrameBytes + 1);
  for (;;) {
    const ssize_t n = ::recv(fd, datagram.data(), datagram.size(), 0);
    if (n >= 0) {
      reply_frame->assign(datagram.data(), static_cast<std::size_t>(n));
      ::close(fd);
      if (CheckFrame(reinterpret_cast<const std::uint8_t*>(reply_frame->data()), reply_frame->size()) !=
          static_cast<std::int64_t>(reply_frame->size())) {
        return Status(kInvalidPkg, "datagram from " + address + " is not one SRPC frame");
      }
      return Status();
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      const int err = errno;
      ::close(fd);
      return Status(kSendRecvFailed, address + ": " + ErrnoText(err));
    }
    short revents = 0;
    const int ready = WaitFor(fd, POLLIN, deadline, &revents);
    if (ready <= 0) {
      const int err = errno;
      ::close(fd);
      if (ready == 0) return Status(kTimeout, "no reply from " + address + " within " + std::to_string(timeout_ms) + " ms");
      return Status(kSendRecvFailed, address + ": " + ErrnoText(err));
    }
  }
}

}  // namespace

Status Exchange(const Route& route, const std::string& request_frame, int timeout_ms, std::string* reply_frame) {
  if (timeout_ms <= 0) return Status(kParaError, "timeout_ms must be > 0, got " + std::to_string(timeout_ms));
  return route.transport == Transport::kUdp ? ExchangeUdp(route, request_frame, timeout_ms, reply_frame)
                                            : ExchangeTcp(route, request_frame, timeout_ms, reply_frame);
}

void CloseIdleConnections() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  for (auto& entry : pool.idle) {
    for (const int fd : entry.second) ::close(fd);
  }
  pool.idle.clear();
}

}  // namespace msec
