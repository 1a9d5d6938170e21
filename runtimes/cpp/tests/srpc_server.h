// A scripted in-process SRPC server on loopback for the runtime's transport
// tests (multiplex_test, async_call_test): each connection's thread decodes
// request frames and hands each to the test's handler, which answers as the
// test needs (in order, out of order, late, garbled, or not at all).
#ifndef MSEC_TESTS_SRPC_SERVER_H_
#define MSEC_TESTS_SRPC_SERVER_H_

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "msec/frame.h"
#include "msec/rpc_head.pb.h"
#include "net.h"

namespace msec_test {

/** One decoded request as the server saw it. */
struct Request {
  srpc::CRpcHead head;
  std::string body;
};

inline std::string ReplyFrame(const Request& r, const std::string& body, int err = 0, const std::string& err_msg = "",
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
    listen_fd_ = ListenLoopback(64, &port_);
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
inline bool Echo(int fd, const Request& r, std::vector<Request>*) {
  WriteAll(fd, ReplyFrame(r, r.body));
  return true;
}

/**
 * Echo server, except for the body "slow": that one is answered "late" after
 * 400 ms from a thread of its own (a reply arriving after the caller's timeout).
 */
inline bool EchoButSlowIsLate(int fd, const Request& r, std::vector<Request>*) {
  if (r.body == "slow") {
    std::thread([fd, r] {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      WriteAll(fd, ReplyFrame(r, "late"));
    }).detach();
  } else {
    WriteAll(fd, ReplyFrame(r, r.body));
  }
  return true;
}

}  // namespace msec_test

#endif  // MSEC_TESTS_SRPC_SERVER_H_
