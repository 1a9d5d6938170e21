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
#include "srpc_server.h"

namespace {

using msec_test::DeadPort;
using msec_test::Echo;
using msec_test::EchoButSlowIsLate;
using msec_test::ReplyFrame;
using msec_test::Request;
using msec_test::TestServer;
using msec_test::WriteAll;

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
  TestServer server(EchoButSlowIsLate);
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
