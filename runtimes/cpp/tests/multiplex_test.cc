// The client transport on real loopback sockets against an in-process SRPC
// server whose behaviour each test scripts: calls multiplexed on one
// connection with replies in reverse order, timeout_ms (field 70) written,
// -10 with the late reply dropped quietly, -12, -16, -13 on close with
// reconnect, -3 on garbage, refused connections (-13, request not sent),
// the server's err, and routed calls feeding the balancer (refused → held out,
// retries only when asked, never for literal addresses).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "msec/msec.h"

namespace {

/** One decoded request as the server saw it. */
struct Request {
  srpc::CRpcHead head;
  std::string body;
};

void WriteAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string ReplyFrame(const Request& r, const std::string& body, int err = 0, const std::string& err_msg = "",
                       std::uint64_t sequence = 0) {
  srpc::CRpcHead head;
  head.set_sequence(sequence != 0 ? sequence : r.head.sequence());
  head.set_method_name(r.head.method_name());
  head.set_err(err);
  if (!err_msg.empty()) head.set_err_msg(err_msg);
  std::string frame;
  msec::EncodeFrame(head, body, &frame);
  return frame;
}

/**
 * A loopback SRPC server: each connection gets a thread that decodes request
 * frames and passes them to `handler(fd, request, state)`; the handler writes
 * whatever it likes. Returning false closes the connection.
 */
class TestServer {
 public:
  using Handler = std::function<bool(int fd, const Request& request, std::vector<Request>* queued)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    accept_thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : threads_) t.detach();
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<Request> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      ++connections_;
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string buffer;
    std::vector<Request> queued;
    char chunk[65536];
    for (;;) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      bool open = true;
      for (;;) {
        const std::int64_t len = msec::CheckFrame(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size());
        if (len <= 0) break;
        Request r;
        msec::DecodeFrame(reinterpret_cast<const std::uint8_t*>(buffer.data()), static_cast<std::size_t>(len), &r.head, &r.body);
        buffer.erase(0, static_cast<std::size_t>(len));
        {
          std::lock_guard<std::mutex> lock(mutex_);
          seen_.push_back(r);
        }
        if (!handler_(fd, r, &queued)) {
          open = false;
          break;
        }
      }
      if (!open) break;
    }
    ::shutdown(fd, SHUT_RDWR);
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<Request> seen_;
};

/** Echo server: replies at once with the request body. */
bool Echo(int fd, const Request& r, std::vector<Request>*) {
  WriteAll(fd, ReplyFrame(r, r.body));
  return true;
}

/** A loopback port with nothing listening (bound, then closed). */
std::uint16_t DeadPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

msec::Status Call(const std::string& service, const std::string& body, std::string* reply, int timeout_ms = 5000, int retries = 0) {
  msec::CallOptions options;
  options.timeout_ms = timeout_ms;
  options.retries = retries;
  return msec::CallRaw(service, "test.MuxService.Echo", body, reply, options);
}

}  // namespace

TEST(eight_calls_multiplexed_on_one_connection_answered_in_reverse_order) {
  constexpr int kCalls = 8;
  TestServer server([](int fd, const Request& r, std::vector<Request>* queued) {
    queued->push_back(r);
    if (queued->size() == kCalls) {
      for (auto it = queued->rbegin(); it != queued->rend(); ++it) WriteAll(fd, ReplyFrame(*it, "reply to " + it->body));
      queued->clear();
    }
    return true;
  });
  std::vector<std::thread> threads;
  std::vector<std::string> replies(kCalls);
  std::vector<int> codes(kCalls, 1);
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] { codes[i] = Call(server.Address(), "call " + std::to_string(i), &replies[i]).code(); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCalls; ++i) {
    CHECK_EQ(codes[i], 0);
    CHECK_EQ(replies[i], "reply to call " + std::to_string(i));
  }
  CHECK_EQ(server.connections(), 1);
  const std::vector<Request> seen = server.seen();
  CHECK_EQ(seen.size(), static_cast<std::size_t>(kCalls));
  for (const Request& r : seen) {
    // timeout_ms = the budget left when written: at most the 5000 ms timeout, at least 1.
    CHECK(r.head.has_timeout_ms());
    CHECK(r.head.timeout_ms() >= 1 && r.head.timeout_ms() <= 5000);
    CHECK_EQ(r.head.method_name(), "test.MuxService.Echo");
  }
  CHECK_EQ(msec::OpenConnections().size(), 1u);
  msec::CloseConnections();
}

TEST(timeout_is_minus_10_and_the_late_reply_is_dropped_quietly) {
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    if (r.body == "slow") {
      std::thread([fd, r] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        WriteAll(fd, ReplyFrame(r, "late"));
      }).detach();
    } else {
      WriteAll(fd, ReplyFrame(r, r.body));
    }
    return true;
  });
  std::string reply;
  msec::Status slow = Call(server.Address(), "slow", &reply, 150);
  CHECK_EQ(slow.code(), msec::kTimeout);
  CHECK(slow.request_sent());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the late reply arrives and is dropped
  msec::Status next = Call(server.Address(), "fast", &reply);
  CHECK_EQ(next.code(), 0);
  CHECK_EQ(reply, "fast");
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

TEST(partial_reply_at_the_timeout_is_minus_12) {
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    WriteAll(fd, ReplyFrame(r, "never complete").substr(0, 14));
    return true;
  });
  std::string reply;
  msec::Status status = Call(server.Address(), "x", &reply, 1000);
  CHECK_EQ(status.code(), msec::kRecvTimeout);
  CHECK_EQ(status.message(), "recevice timeout: reply from " + server.Address() + " incomplete after 1000 ms");
  // No other call was waiting: the connection stuck mid-frame is closed; the next call gets a new one.
  CHECK_EQ(Call(server.Address(), "y", &reply, 1000).code(), msec::kRecvTimeout);
  CHECK_EQ(server.connections(), 2);
  msec::CloseConnections();
}

TEST(reply_with_another_sequence_and_one_call_in_flight_is_minus_16) {
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    WriteAll(fd, ReplyFrame(r, "x", 0, "", r.head.sequence() + 1000));
    return true;
  });
  std::string reply;
  msec::Status status = Call(server.Address(), "x", &reply);
  CHECK_EQ(status.code(), msec::kInvalidSequence);
  msec::CloseConnections();
}

TEST(connection_closed_is_minus_13_then_the_next_call_reconnects) {
  std::atomic<int> calls{0};
  TestServer server([&](int fd, const Request& r, std::vector<Request>*) {
    if (calls++ == 0) return false;  // close without answering
    WriteAll(fd, ReplyFrame(r, r.body));
    return true;
  });
  std::string reply;
  msec::Status lost = Call(server.Address(), "first", &reply);
  CHECK_EQ(lost.code(), msec::kSendRecvFailed);
  CHECK(lost.request_sent());
  msec::Status again = Call(server.Address(), "second", &reply);
  CHECK_EQ(again.code(), 0);
  CHECK_EQ(reply, "second");
  CHECK_EQ(server.connections(), 2);
  msec::CloseConnections();
}

TEST(garbage_reply_stream_is_minus_3) {
  TestServer server([](int fd, const Request&, std::vector<Request>*) {
    WriteAll(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
    return true;
  });
  std::string reply;
  CHECK_EQ(Call(server.Address(), "x", &reply).code(), msec::kInvalidPkg);
  msec::CloseConnections();
}

TEST(server_err_is_passed_through_with_its_message) {
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    WriteAll(fd, ReplyFrame(r, "", -6, "no such method"));
    return true;
  });
  std::string reply;
  msec::Status status = Call(server.Address(), "x", &reply);
  CHECK_EQ(status.code(), -6);
  CHECK(status.from_server());
  CHECK_EQ(status.message(), "invalid method name: no such method");
  msec::CloseConnections();
}

TEST(refused_connection_is_minus_13_with_the_request_not_sent) {
  const std::uint16_t dead = DeadPort();
  std::string reply;
  msec::Status status = Call("127.0.0.1:" + std::to_string(dead), "x", &reply, 2000, 3);
  CHECK_EQ(status.code(), msec::kSendRecvFailed);
  CHECK(!status.request_sent());
  CHECK_EQ(status.address(), "127.0.0.1:" + std::to_string(dead));
}

TEST(routed_calls_refused_server_held_out_retries_only_when_asked) {
  TestServer live(Echo);
  const std::uint16_t dead = DeadPort();
  msec::RouteTable table;
  table["Mux.Echo"] = {msec::RouteInstance{*msec::ParseLiteral("127.0.0.1:" + std::to_string(dead)), 100},
                       msec::RouteInstance{*msec::ParseLiteral(live.Address()), 100}};
  auto resolver = msec::MakeStaticResolver(table);
  msec::RegisterResolver(resolver);
  const auto first = [](std::uint64_t) { return std::uint64_t{0}; };  // picks the first alive server
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  std::string reply;
  msec::Status refused = Call("Mux.Echo", "a", &reply);
  CHECK_EQ(refused.code(), msec::kSendRecvFailed);
  CHECK(!refused.request_sent());
  CHECK_EQ(refused.address(), "127.0.0.1:" + std::to_string(dead));
  // Held out of picks now: the next call goes to the live server.
  CHECK_EQ(Call("Mux.Echo", "b", &reply).code(), 0);
  CHECK_EQ(reply, "b");
  const std::vector<msec::ServerWeight> weights = msec::CurrentBalancer()->Weights("Mux.Echo");
  CHECK_EQ(weights.size(), 2u);
  if (weights.size() == 2) {
    CHECK_EQ(weights[0].address, live.Address());
    CHECK(!weights[0].dead);
    CHECK_EQ(weights[1].address, "127.0.0.1:" + std::to_string(dead));
    CHECK(weights[1].dead);
  }
  // With retries the refused pick is retried on the other instance.
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  CHECK_EQ(Call("Mux.Echo", "c", &reply, 5000, 1).code(), 0);
  CHECK_EQ(reply, "c");
  CHECK_EQ(Call("Mux.Echo", "d", &reply, 5000, -1).code(), msec::kParaError);
  // No resolver knows the name: -15 naming where it looked.
  msec::Status none = Call("Mux.Unknown", "e", &reply);
  CHECK_EQ(none.code(), msec::kGetRouteFailed);
  CHECK(none.message().find("no route for Mux.Unknown (looked in: static table (1 services), routes file ") != std::string::npos);
  msec::UnregisterResolver(resolver);
  msec::SetBalancer(nullptr);
  msec::CloseConnections();
}

TEST(many_threads_many_calls_one_connection) {
  TestServer server(Echo);
  constexpr int kThreads = 16;
  constexpr int kEach = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string reply;
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        if (Call(server.Address(), body, &reply).ok() && reply == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK_EQ(ok.load(), kThreads * kEach);
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

int main(int argc, char** argv) { return msec_test::RunAll(argc, argv); }
