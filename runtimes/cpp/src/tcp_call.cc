#include "msec/tcp_call.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "msec/route.h"
#include "socket_address.h"

namespace msec {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

int RemainingMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

/** Waits until `fd` is ready for `events` or the deadline passes; false on timeout. */
bool WaitFor(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int ready = ::poll(&p, 1, RemainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let the next syscall report the error
  }
}

/** Closes the socket when the exchange ends, however it ends. */
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

Status Timeout(const std::string& address, bool sent, std::size_t received) {
  if (received > 0) {
    return Status(kRecvTimeout, std::to_string(received) + " bytes of the reply from " + address + " before the deadline")
        .SetCall(address, true);
  }
  return Status(kTimeout, "no reply from " + address + " before the deadline").SetCall(address, sent);
}

/** One connection: connect, write, read until `check` says the reply is whole. */
Status Exchange(const Route& route, const std::string& request, const ReplyCheck& check, Deadline deadline, std::string* reply) {
  const std::string address = route.Address();
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  Status resolved = internal::ResolveSocketAddress(route, SOCK_STREAM, &addr, &addr_len);
  if (!resolved.ok()) return resolved.SetCall(address, false);
  Socket socket;
  socket.fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket.fd < 0) return Status(kSendRecvFailed, "socket: " + std::string(std::strerror(errno))).SetCall(address, false);
  const int one = 1;
  ::setsockopt(socket.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  int err = 0;
  if (::connect(socket.fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      if (!WaitFor(socket.fd, POLLOUT, deadline)) {
        return Status(kTimeout, "cannot connect to " + address + " before the deadline").SetCall(address, false);
      }
      socklen_t len = sizeof err;
      if (::getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  }
  if (err != 0) return Status(kSendRecvFailed, "cannot connect to " + address + " (" + std::strerror(err) + ")").SetCall(address, false);

  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(socket.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!WaitFor(socket.fd, POLLOUT, deadline)) return Timeout(address, true, 0);
    } else {
      return Status(kSendRecvFailed, address + ": " + std::strerror(errno)).SetCall(address, true);
    }
  }

  std::string received;
  received.resize(kTcpInitialReceiveBytes);
  std::size_t length = 0;
  for (;;) {
    if (length == received.size()) received.resize(received.size() * 2);
    const ssize_t n = ::recv(socket.fd, received.data() + length, received.size() - length, 0);
    if (n == 0) {
      return Status(kSendRecvFailed, "peer " + address + " closed the connection after " + std::to_string(length) + " bytes of the reply")
          .SetCall(address, true);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!WaitFor(socket.fd, POLLIN, deadline)) return Timeout(address, true, length);
        continue;
      }
      return Status(kSendRecvFailed, address + ": " + std::strerror(errno)).SetCall(address, true);
    }
    length += static_cast<std::size_t>(n);
    long complete;
    try {
      complete = check(std::string_view(received.data(), length));
    } catch (const std::exception& e) {
      return Status(kInvalidPkg, std::string("reply check failed: ") + e.what()).SetCall(address, true);
    } catch (...) {
      return Status(kInvalidPkg, "reply check failed").SetCall(address, true);
    }
    if (complete < 0) {
      return Status(kInvalidPkg, "reply from " + address + " rejected by the completeness check (" + std::to_string(complete) + ")")
          .SetCall(address, true);
    }
    if (complete > 0 && static_cast<std::size_t>(complete) <= length) {
      received.resize(static_cast<std::size_t>(complete));
      *reply = std::move(received);
      return Status().SetCall(address, true);
    }
  }
}

}  // namespace

Status CallTcp(std::string_view service, const std::string& request, const ReplyCheck& check, std::string* reply,
               const CallOptions& options) {
  if (options.timeout_ms <= 0) return Status(kParaError, "timeout_ms must be > 0, got " + std::to_string(options.timeout_ms));
  if (options.retries < 0) return Status(kParaError, "retries must be >= 0, got " + std::to_string(options.retries));
  if (!check) return Status(kParaError, "no reply check");
  const Deadline deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  const bool literal = ParseLiteral(service).has_value();
  for (int attempt = 0;; ++attempt) {
    Route route;
    Status status = GetRoute(service, &route);
    if (!status.ok()) return status.SetCall("", false);
    route.transport = Transport::kTcp;  // always TCP, whatever the route lists (as MSEC's callmethod_tcp)
    const std::string address = route.Address();
    const auto started = Clock::now();
    status = Exchange(route, request, check, deadline, reply);
    const bool refused = status.code() == kSendRecvFailed && !status.request_sent();
    if (status.ok()) {
      UpdateRoute(service, address, 0,
                  static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
    } else if (refused) {
      ReportRefused(service, address);  // nothing listens there: stop picking it now
    } else {
      UpdateRoute(service, address, 1, 0);
    }
    if (!refused || literal || attempt >= options.retries || Clock::now() >= deadline) return status;
  }
}

std::string EncodeJsonTcp(std::string_view json) {
  std::string prefix = std::to_string(json.size());
  prefix.resize(kJsonTcpPrefixBytes < prefix.size() ? prefix.size() : kJsonTcpPrefixBytes, ' ');
  prefix.append(json);
  return prefix;
}

long CheckJsonTcp(std::string_view received) {
  if (received.size() < kJsonTcpPrefixBytes) return 0;
  std::uint64_t size = 0;
  std::size_t i = 0;
  while (i < kJsonTcpPrefixBytes && received[i] >= '0' && received[i] <= '9') size = size * 10 + static_cast<std::uint64_t>(received[i++] - '0');
  if (i == 0) return -1;
  while (i < kJsonTcpPrefixBytes && received[i] == ' ') ++i;
  if (i != kJsonTcpPrefixBytes) return -1;
  const std::uint64_t total = kJsonTcpPrefixBytes + size;
  return received.size() >= total ? static_cast<long>(total) : 0;
}

Status CallJsonTcp(std::string_view service, std::string_view json, std::string* reply_json, const CallOptions& options) {
  if (json.size() > 9999999999ull) return Status(kParaError, "JSON of " + std::to_string(json.size()) + " bytes does not fit a 10-digit length");
  std::string reply;
  Status status = CallTcp(service, EncodeJsonTcp(json), CheckJsonTcp, &reply, options);
  if (!status.ok()) return status;
  std::string body = reply.substr(kJsonTcpPrefixBytes);
  google::protobuf::Value value;
  const auto parsed = google::protobuf::util::JsonStringToMessage(body, &value);
  if (!parsed.ok()) return Status(kInvalidPkg, "reply is not JSON: " + std::string(parsed.message())).SetCall(status.address(), true);
  *reply_json = std::move(body);
  return status;
}

}  // namespace msec
