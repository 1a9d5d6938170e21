// CallTcp / CallJsonTcp (heterogeneous TCP services) on real loopback sockets
// against a peer whose answer each test scripts: a reply sent one byte at a
// time, a reply larger than the first receive buffer, silence (-10), part of a
// reply (-12), a close mid-reply (-13), a malformed reply or a throwing check
// (-3), refused connections (-13, not sent; retried only when asked; held out
// of the balancer), no route (-15), and the 10-character length-prefixed JSON.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "msec/msec.h"
#include "net.h"

namespace {

using msec_test::DeadPort;
using msec_test::ListenLoopback;
using msec_test::WriteAll;

/**
 * A loopback peer: each connection's thread reads `request_bytes` bytes, then
 * calls `script(fd, request)`; the connection is closed when it returns.
 */
class Peer {
 public:
  using Script = std::function<void(int fd, const std::string& request)>;

  Peer(std::size_t request_bytes, Script script) : request_bytes_(request_bytes), script_(std::move(script)) {
    listen_fd_ = ListenLoopback(16, &port_);
    accept_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        threads_.emplace_back([this, fd] {
          std::string request(request_bytes_, '\0');
          std::size_t got = 0;
          while (got < request_bytes_) {
            const ssize_t n = ::recv(fd, request.data() + got, request_bytes_ - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
          }
          request.resize(got);
          {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back(request);
          }
          script_(fd, request);
          ::close(fd);
        });
      }
    });
  }
  ~Peer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    accept_.join();
    for (auto& t : threads_) t.join();
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  /** Requests read so far (read after the calls that sent them have returned). */
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  std::size_t request_bytes_;
  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread accept_;
  std::vector<std::thread> threads_;  // joined by the destructor, after accept_ ended
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

/** "LEN:<n>;" then n bytes: the framing of the scripted services; -7 for anything else. */
long LengthPrefixed(std::string_view received) {
  if (received.size() >= 4 && received.substr(0, 4) != "LEN:") return -7;
  const std::size_t semi = received.find(';');
  if (semi == std::string_view::npos) return 0;
  const long total = static_cast<long>(semi + 1) + std::stol(std::string(received.substr(4, semi - 4)));
  return static_cast<long>(received.size()) >= total ? total : 0;
}

msec::CallOptions Timeout(int ms, int retries = 0) {
  msec::CallOptions options;
  options.timeout_ms = ms;
  options.retries = retries;
  return options;
}

bool EndsWith(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TEST(a_reply_sent_one_byte_at_a_time_is_reassembled_and_trailing_bytes_are_left_out) {
  Peer peer(5, [](int fd, const std::string& request) {
    for (char c : "LEN:5;" + request + "TRAILING") {
      WriteAll(fd, std::string(1, c));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::atomic<int> checks{0};
  std::string reply;
  const msec::Status status = msec::CallTcp(
      peer.Address(), "hello",
      [&](std::string_view received) {
        ++checks;
        return LengthPrefixed(received);
      },
      &reply, Timeout(5000));
  CHECK_EQ(status.code(), 0);
  CHECK_EQ(reply, "LEN:5;hello");
  CHECK_EQ(status.address(), peer.Address());
  CHECK(checks >= 2);
}

TEST(a_reply_larger_than_the_first_buffer_grows_it) {
  const std::size_t size = msec::kTcpInitialReceiveBytes * 3 + 17;
  std::string body(size, 'x');
  for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
  Peer peer(1, [&](int fd, const std::string&) { WriteAll(fd, "LEN:" + std::to_string(size) + ";" + body); });
  std::string reply;
  CHECK_EQ(msec::CallTcp(peer.Address(), "x", LengthPrefixed, &reply, Timeout(5000)).code(), 0);
  CHECK_EQ(reply, "LEN:" + std::to_string(size) + ";" + body);
}

TEST(timeouts_closes_and_malformed_replies_have_their_codes) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::string reply;
  {
    Peer silent(1, [&](int, const std::string&) { released.wait(); });
    Peer partial(1, [&](int fd, const std::string&) {
      WriteAll(fd, "LEN:10;abc");
      released.wait();
    });
    msec::Status s = msec::CallTcp(silent.Address(), "x", LengthPrefixed, &reply, Timeout(150));
    CHECK_EQ(s.code(), msec::kTimeout);
    CHECK(s.request_sent());
    CHECK_EQ(s.message(), std::string(msec::ErrorText(-10)) + ": no reply from " + silent.Address() + " before the deadline");
    s = msec::CallTcp(partial.Address(), "x", LengthPrefixed, &reply, Timeout(150));
    CHECK_EQ(s.code(), msec::kRecvTimeout);
    CHECK_EQ(s.message(), std::string(msec::ErrorText(-12)) + ": 10 bytes of the reply from " + partial.Address() + " before the deadline");
    release.set_value();
  }
  Peer closing(1, [](int fd, const std::string&) { WriteAll(fd, "LEN:10;ab"); });
  msec::Status s = msec::CallTcp(closing.Address(), "x", LengthPrefixed, &reply, Timeout(5000));
  CHECK_EQ(s.code(), msec::kSendRecvFailed);
  CHECK(EndsWith(s.message(), "peer " + closing.Address() + " closed the connection after 9 bytes of the reply"));

  Peer garbage(1, [](int fd, const std::string&) { WriteAll(fd, "HTTP/1.1 400 Bad Request\r\n"); });
  s = msec::CallTcp(garbage.Address(), "x", LengthPrefixed, &reply, Timeout(5000));
  CHECK_EQ(s.code(), msec::kInvalidPkg);
  CHECK(EndsWith(s.message(), "rejected by the completeness check (-7)"));

  Peer any(1, [](int fd, const std::string&) { WriteAll(fd, "LEN:"); });
  s = msec::CallTcp(any.Address(), "x", [](std::string_view) -> long { throw std::runtime_error("bad length"); }, &reply, Timeout(5000));
  CHECK_EQ(s.code(), msec::kInvalidPkg);
  CHECK(EndsWith(s.message(), "reply check failed: bad length"));

  CHECK_EQ(msec::CallTcp(any.Address(), "x", LengthPrefixed, &reply, Timeout(0)).code(), msec::kParaError);
}

TEST(refused_connections_are_not_sent_retried_only_when_asked_and_held_out) {
  Peer up(1, [](int fd, const std::string& request) { WriteAll(fd, "LEN:1;" + request); });
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  std::string reply;
  msec::Status s = msec::CallTcp(dead, "x", LengthPrefixed, &reply, Timeout(5000, 2));
  CHECK_EQ(s.code(), msec::kSendRecvFailed);
  CHECK(!s.request_sent());
  CHECK_EQ(s.address(), dead);

  msec::RouteTable table;
  table["Tcp.Mixed"] = {msec::RouteInstance{*msec::ParseLiteral(dead), 100}, msec::RouteInstance{*msec::ParseLiteral(up.Address()), 100}};
  auto resolver = msec::MakeStaticResolver(table);
  msec::RegisterResolver(resolver);
  const auto first = [](std::uint64_t) { return std::uint64_t{0}; };  // the first alive server
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  CHECK_EQ(msec::CallTcp("Tcp.Mixed", "y", LengthPrefixed, &reply, Timeout(5000)).code(), msec::kSendRecvFailed);
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  CHECK_EQ(msec::CallTcp("Tcp.Mixed", "z", LengthPrefixed, &reply, Timeout(5000, 1)).code(), 0);
  CHECK_EQ(reply, "LEN:1;z");
  const std::vector<msec::ServerWeight> weights = msec::CurrentBalancer()->Weights("Tcp.Mixed");
  CHECK_EQ(weights.size(), 2u);
  if (weights.size() == 2) {
    CHECK_EQ(weights[0].address, up.Address());
    CHECK(weights[1].dead);
  }
  CHECK_EQ(msec::CallTcp("Tcp.Nowhere", "x", LengthPrefixed, &reply, Timeout(5000)).code(), msec::kGetRouteFailed);
  msec::UnregisterResolver(resolver);
  msec::SetBalancer(nullptr);
}

TEST(json_tcp_frames_with_a_ten_character_length_and_checks_the_reply) {
  CHECK_EQ(msec::EncodeJsonTcp("{\"q\":\"héé\"}"), std::string("13        {\"q\":\"héé\"}"));
  const std::string whole = "2         {}extra";
  CHECK_EQ(msec::CheckJsonTcp(std::string_view(whole).substr(0, 9)), 0);
  CHECK_EQ(msec::CheckJsonTcp(std::string_view(whole).substr(0, 11)), 0);
  CHECK_EQ(msec::CheckJsonTcp(std::string_view(whole).substr(0, 12)), 12);
  CHECK_EQ(msec::CheckJsonTcp(whole), 12);
  CHECK_EQ(msec::CheckJsonTcp(" 2        {}"), -1);
  CHECK_EQ(msec::CheckJsonTcp("2 2       {}"), -1);
  CHECK_EQ(msec::CheckJsonTcp("abcdefghij{}"), -1);

  const std::string asked = "{\"url\":\"http://a\"}";
  Peer jsoup(10 + asked.size(), [](int fd, const std::string& request) {
    const std::string reply = msec::EncodeJsonTcp("{\"asked\":" + request.substr(10) + ",\"title\":\"Ünïcode\"}");
    WriteAll(fd, reply.substr(0, 4));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    WriteAll(fd, reply.substr(4));
  });
  std::string reply;
  CHECK_EQ(msec::CallJsonTcp(jsoup.Address(), asked, &reply, Timeout(5000)).code(), 0);
  CHECK_EQ(reply, "{\"asked\":{\"url\":\"http://a\"},\"title\":\"Ünïcode\"}");
  CHECK_EQ(jsoup.requests().size(), 1u);
  if (!jsoup.requests().empty()) CHECK_EQ(jsoup.requests()[0], msec::EncodeJsonTcp(asked));

  Peer not_json(12, [](int fd, const std::string&) { WriteAll(fd, msec::EncodeJsonTcp("{nope")); });
  const msec::Status s = msec::CallJsonTcp(not_json.Address(), "{}", &reply, Timeout(5000));
  CHECK_EQ(s.code(), msec::kInvalidPkg);
  CHECK(s.message().find("reply is not JSON") != std::string::npos);
}

int main(int argc, char** argv) { return msec_test::RunAll(argc, argv); }
