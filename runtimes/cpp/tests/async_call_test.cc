// The asynchronous call API (CallRawAsync / CallMethodAsync, callback and
// future forms) on real loopback sockets against the scripted SRPC server:
// the reply reaches the callback on another thread, out-of-order replies
// complete the right callbacks, -10 / -12 through the callback, refused
// connections (-13, not sent; retried on another instance only when asked),
// failures found before sending never run the callback inside the call,
// calls issued while the connection is still connecting, connections closed
// under calls in flight, many calls in flight issued from callbacks, and a
// callback-issued burst that fills the socket buffer of a peer that stopped
// reading (replies still read meanwhile; frames left unsent at their deadline
// fail with -10).
#include <sys/ioctl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
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

constexpr const char* kMethod = "test.MuxService.Echo";

msec::CallOptions Options(int timeout_ms = 5000, int retries = 0) {
  msec::CallOptions options;
  options.timeout_ms = timeout_ms;
  options.retries = retries;
  return options;
}

/** Counts completions down to zero; Wait() gives up after a generous bound so a lost callback fails the test rather than hanging it. */
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--count_ == 0) zero_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    return zero_.wait_for(lock, std::chrono::seconds(30), [this] { return count_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable zero_;
  int count_;
};

/** What one callback saw. */
struct Outcome {
  int code = 1;
  std::string message;
  std::string body;
  std::string address;
  bool sent = false;
  std::thread::id thread;
};

/** A callback that records its outcome in `*out` and counts `latch` down. */
msec::RawCallback Record(Outcome* out, Latch* latch) {
  return [out, latch](msec::Status status, std::string body) {
    out->code = status.code();
    out->message = status.message();
    out->body = std::move(body);
    out->address = status.address();
    out->sent = status.request_sent();
    out->thread = std::this_thread::get_id();
    latch->CountDown();
  };
}

}  // namespace

TEST(async_reply_reaches_the_callback_on_another_thread) {
  TestServer server(Echo);
  Outcome out;
  Latch done(1);
  msec::CallRawAsync(server.Address(), kMethod, "hello", Record(&out, &done), Options());
  CHECK(done.Wait());
  CHECK_EQ(out.code, 0);
  CHECK_EQ(out.body, "hello");
  CHECK_EQ(out.address, server.Address());
  CHECK(out.sent);
  CHECK(out.thread != std::this_thread::get_id());
  const std::vector<Request> seen = server.seen();
  CHECK_EQ(seen.size(), 1u);
  if (seen.size() == 1) {
    CHECK_EQ(seen[0].head.method_name(), kMethod);
    CHECK(seen[0].head.timeout_ms() >= 1 && seen[0].head.timeout_ms() <= 5000);
  }
  msec::CloseConnections();
}

TEST(out_of_order_replies_complete_the_right_callbacks) {
  constexpr int kCalls = 8;
  TestServer server([](int fd, const Request& r, std::vector<Request>* queued) {
    queued->push_back(r);
    if (queued->size() == kCalls) {
      for (auto it = queued->rbegin(); it != queued->rend(); ++it) WriteAll(fd, ReplyFrame(*it, "reply to " + it->body));
      queued->clear();
    }
    return true;
  });
  std::vector<Outcome> outcomes(kCalls);
  std::mutex order_mutex;
  std::vector<int> order;
  Latch done(kCalls);
  // Issued from this one thread, without waiting: all eight are in flight together.
  for (int i = 0; i < kCalls; ++i) {
    msec::CallRawAsync(
        server.Address(), kMethod, "call " + std::to_string(i),
        [&, i](msec::Status status, std::string body) {
          outcomes[i].code = status.code();
          outcomes[i].body = std::move(body);
          {
            std::lock_guard<std::mutex> lock(order_mutex);
            order.push_back(i);
          }
          done.CountDown();
        },
        Options());
  }
  CHECK(done.Wait());
  for (int i = 0; i < kCalls; ++i) {
    CHECK_EQ(outcomes[i].code, 0);
    CHECK_EQ(outcomes[i].body, "reply to call " + std::to_string(i));
  }
  // Completed in the order the replies came: the last call first.
  CHECK(order == (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

TEST(timeout_is_minus_10_through_the_callback_and_the_late_reply_is_dropped) {
  TestServer server(EchoButSlowIsLate);
  Outcome slow;
  Latch timed_out(1);
  msec::CallRawAsync(server.Address(), kMethod, "slow", Record(&slow, &timed_out), Options(150));
  CHECK(timed_out.Wait());
  CHECK_EQ(slow.code, msec::kTimeout);
  CHECK_EQ(slow.message, std::string(msec::ErrorText(msec::kTimeout)) + ": no reply from " + server.Address() + " within 150 ms");
  CHECK_EQ(slow.body, "");
  CHECK(slow.sent);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the late reply arrives and is dropped
  msec::RawResult fast = msec::CallRawAsync(server.Address(), kMethod, "fast", Options()).get();
  CHECK_EQ(fast.status.code(), 0);
  CHECK_EQ(fast.response, "fast");
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

TEST(partial_reply_at_the_timeout_is_minus_12_through_the_future) {
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    WriteAll(fd, ReplyFrame(r, "never complete").substr(0, 14));
    return true;
  });
  msec::RawResult result = msec::CallRawAsync(server.Address(), kMethod, "x", Options(300)).get();
  CHECK_EQ(result.status.code(), msec::kRecvTimeout);
  CHECK_EQ(result.status.message(), "recevice timeout: reply from " + server.Address() + " incomplete after 300 ms");
  msec::CloseConnections();
}

TEST(refused_connection_is_minus_13_not_sent_and_retried_elsewhere_only_when_asked) {
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  msec::RawResult literal = msec::CallRawAsync(dead, kMethod, "x", Options(2000, 3)).get();
  CHECK_EQ(literal.status.code(), msec::kSendRecvFailed);
  CHECK(!literal.status.request_sent());
  CHECK_EQ(literal.status.address(), dead);

  TestServer live(Echo);
  msec::RouteTable table;
  table["Async.Echo"] = {msec::RouteInstance{*msec::ParseLiteral(dead), 100}, msec::RouteInstance{*msec::ParseLiteral(live.Address()), 100}};
  auto resolver = msec::MakeStaticResolver(table);
  msec::RegisterResolver(resolver);
  const auto first = [](std::uint64_t) { return std::uint64_t{0}; };  // picks the first alive server
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  msec::RawResult refused = msec::CallRawAsync("Async.Echo", kMethod, "a", Options()).get();
  CHECK_EQ(refused.status.code(), msec::kSendRecvFailed);
  CHECK_EQ(refused.status.address(), dead);
  // The refusal took the dead server out of the balancer at once.
  const std::vector<msec::ServerWeight> weights = msec::CurrentBalancer()->Weights("Async.Echo");
  CHECK_EQ(weights.size(), 2u);
  if (weights.size() == 2) {
    CHECK_EQ(weights[1].address, dead);
    CHECK(weights[1].dead);
  }
  // A fresh balancer picks the dead server first again; with one retry the call lands on the live one.
  msec::SetBalancer(std::make_shared<msec::Balancer>(msec::BalancerOptions{nullptr, first, msec::kShapingRequestMin}));
  msec::RawResult retried = msec::CallRawAsync("Async.Echo", kMethod, "b", Options(5000, 1)).get();
  CHECK_EQ(retried.status.code(), 0);
  CHECK_EQ(retried.response, "b");
  CHECK_EQ(retried.status.address(), live.Address());
  msec::UnregisterResolver(resolver);
  msec::SetBalancer(nullptr);
  msec::CloseConnections();
}

TEST(failures_before_sending_complete_on_another_thread_never_inside_the_call) {
  Outcome bad_timeout, bad_retries, no_route, uninitialized;
  Latch done(4);
  msec::CallRawAsync("127.0.0.1:1", kMethod, "x", Record(&bad_timeout, &done), Options(0));
  msec::CallRawAsync("127.0.0.1:1", kMethod, "x", Record(&bad_retries, &done), Options(1000, -1));
  msec::CallRawAsync("Async.Nowhere", kMethod, "x", Record(&no_route, &done), Options());
  // CRpcHead has required fields: unset, the request cannot be serialized (-8).
  msec::CallMethodAsync<srpc::CRpcHead>(
      "127.0.0.1:1", kMethod, srpc::CRpcHead(),
      [&](msec::Status status, srpc::CRpcHead) {
        uninitialized.code = status.code();
        uninitialized.thread = std::this_thread::get_id();
        done.CountDown();
      },
      Options());
  CHECK(done.Wait());
  CHECK_EQ(bad_timeout.code, msec::kParaError);
  CHECK_EQ(bad_timeout.message, std::string(msec::ErrorText(msec::kParaError)) + ": timeout_ms must be > 0, got 0");
  CHECK_EQ(bad_retries.code, msec::kParaError);
  CHECK_EQ(no_route.code, msec::kGetRouteFailed);
  CHECK(!no_route.sent);
  CHECK_EQ(uninitialized.code, msec::kBodyUninit);
  for (const Outcome* o : {&bad_timeout, &bad_retries, &no_route, &uninitialized}) CHECK(o->thread != std::this_thread::get_id());
}

TEST(typed_calls_parse_the_reply_or_fail_with_minus_5) {
  // The server sends the request body back (a serialized CRpcHead parses as one), or bytes that
  // are no CRpcHead when the request names the method "garbage".
  TestServer server([](int fd, const Request& r, std::vector<Request>*) {
    srpc::CRpcHead request;
    const bool garbage = request.ParseFromString(r.body) && request.method_name() == "garbage";
    WriteAll(fd, ReplyFrame(r, garbage ? std::string("\xff\xff\xff", 3) : r.body));
    return true;
  });
  srpc::CRpcHead request;
  request.set_sequence(42);
  request.set_method_name("Some.Method");
  msec::Result<srpc::CRpcHead> typed = msec::CallMethodAsync<srpc::CRpcHead>(server.Address(), kMethod, request).get();
  CHECK_EQ(typed.status.code(), 0);
  CHECK_EQ(typed.response.sequence(), 42u);
  CHECK_EQ(typed.response.method_name(), "Some.Method");
  request.set_method_name("garbage");
  Latch done(1);
  int code = 1;
  msec::CallMethodAsync<srpc::CRpcHead>(
      server.Address(), kMethod, request,
      [&](msec::Status status, srpc::CRpcHead) {
        code = status.code();
        done.CountDown();
      },
      Options());
  CHECK(done.Wait());
  CHECK_EQ(code, msec::kInvalidPkgBody);
  msec::CloseConnections();
}

TEST(calls_issued_while_connecting_are_sent_once_the_connection_is_open) {
  TestServer server(Echo);
  constexpr int kCalls = 20;
  std::vector<Outcome> outcomes(kCalls);
  Latch done(kCalls);
  // No connection to this server yet: the first call starts connecting, all of them queue.
  for (int i = 0; i < kCalls; ++i) msec::CallRawAsync(server.Address(), kMethod, std::to_string(i), Record(&outcomes[i], &done), Options());
  CHECK(done.Wait());
  for (int i = 0; i < kCalls; ++i) {
    CHECK_EQ(outcomes[i].code, 0);
    CHECK_EQ(outcomes[i].body, std::to_string(i));
  }
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

TEST(closing_the_connections_fails_the_calls_in_flight_with_minus_13) {
  std::atomic<int> received{0};
  TestServer server([&](int, const Request&, std::vector<Request>*) {
    ++received;  // never answers
    return true;
  });
  constexpr int kCalls = 3;
  std::vector<Outcome> outcomes(kCalls);
  Latch done(kCalls);
  for (int i = 0; i < kCalls; ++i) msec::CallRawAsync(server.Address(), kMethod, "x", Record(&outcomes[i], &done), Options(10000));
  while (received.load() < kCalls) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // all three reached the server
  msec::CloseConnections();
  CHECK(done.Wait());
  for (const Outcome& o : outcomes) {
    CHECK_EQ(o.code, msec::kSendRecvFailed);
    CHECK(o.sent);
  }
}

TEST(many_calls_in_flight_each_issuing_the_next_from_its_callback) {
  TestServer server(Echo);
  constexpr int kInFlight = 64;
  constexpr int kTotal = 6400;
  std::atomic<int> issued{0};
  std::atomic<int> ok{0};
  std::atomic<int> completed{0};
  std::mutex mutex;
  std::set<std::string> bodies;  // every reply body, to check each call got its own
  std::set<std::thread::id> threads;
  Latch done(kTotal);
  std::function<void()> issue;
  issue = [&] {
    const int n = issued++;
    if (n >= kTotal) return;
    const std::string body = "call " + std::to_string(n);
    msec::CallRawAsync(
        server.Address(), kMethod, body,
        [&, body](msec::Status status, std::string reply) {
          if (status.ok() && reply == body) ++ok;
          {
            std::lock_guard<std::mutex> lock(mutex);
            bodies.insert(reply);
            threads.insert(std::this_thread::get_id());
          }
          ++completed;
          issue();  // keep kInFlight in flight
          done.CountDown();
        },
        Options());
  };
  // Started from four threads at once, so issuing races with completing.
  std::vector<std::thread> starters;
  for (int t = 0; t < 4; ++t) {
    starters.emplace_back([&] {
      for (int i = 0; i < kInFlight / 4; ++i) issue();
    });
  }
  for (auto& t : starters) t.join();
  CHECK(done.Wait());
  CHECK_EQ(ok.load(), kTotal);
  CHECK_EQ(completed.load(), kTotal);
  CHECK_EQ(bodies.size(), static_cast<std::size_t>(kTotal));
  CHECK_EQ(server.connections(), 1);
  CHECK_EQ(server.seen().size(), static_cast<std::size_t>(kTotal));
  // Replies complete on the connection's reader thread.
  CHECK_EQ(threads.size(), 1u);
  msec::CloseConnections();
}

TEST(blocking_and_async_calls_share_one_connection) {
  TestServer server(Echo);
  msec::RawResult async = msec::CallRawAsync(server.Address(), kMethod, "async", Options()).get();
  std::string reply;
  msec::Status blocking = msec::CallRaw(server.Address(), kMethod, "blocking", &reply, Options());
  CHECK_EQ(async.status.code(), 0);
  CHECK_EQ(async.response, "async");
  CHECK_EQ(blocking.code(), 0);
  CHECK_EQ(reply, "blocking");
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

/** Bytes waiting in `fd`'s receive buffer. */
int Unread(int fd) {
  int bytes = 0;
  ::ioctl(fd, FIONREAD, &bytes);
  return bytes;
}

/** A 64 KiB request body that names its call: "<i>:" then filler, so a torn or interleaved frame shows. */
std::string BurstBody(int i) {
  std::string body = std::to_string(i) + ":";
  body.resize(64 * 1024, static_cast<char>('a' + i % 26));
  return body;
}

// A peer that stops reading while the client's reader thread has a burst of large callback-issued
// requests to write (far more than both socket buffers hold): the reader keeps reading replies
// meanwhile — the four earlier calls complete while the peer is still not reading — and once the
// peer reads again every frame arrives whole and every call completes with 0. A blocking call
// issued from another thread meanwhile queues behind the burst and completes too.
TEST(a_burst_that_fills_the_socket_buffer_does_not_stop_the_reader_reading_replies) {
  constexpr int kEarly = 4;
  constexpr int kBurst = 200;
  std::promise<void> resume;
  std::shared_future<void> resumed = resume.get_future().share();
  TestServer server([resumed](int fd, const Request& r, std::vector<Request>* early) {
    if (r.body.rfind("early", 0) == 0) {
      early->push_back(r);  // answered only once the client's socket buffer is full
      return true;
    }
    if (r.body == "start") {
      WriteAll(fd, ReplyFrame(r, "go"));
      // The burst is arriving (only its frames can fill this): stop reading, answer the earlier
      // calls, and read again only when the test says so.
      for (int waited = 0; Unread(fd) < 32 * 1024 && waited < 30000; ++waited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (const Request& e : *early) WriteAll(fd, ReplyFrame(e, "reply to " + e.body));
      resumed.wait();
      return true;
    }
    WriteAll(fd, ReplyFrame(r, r.body == "blocking" ? r.body : "ok " + r.body.substr(0, r.body.find(':'))));
    return true;
  });
  Latch early_done(kEarly);
  std::vector<Outcome> early(kEarly);
  for (int i = 0; i < kEarly; ++i) msec::CallRawAsync(server.Address(), kMethod, "early " + std::to_string(i), Record(&early[i], &early_done), Options(20000));
  Latch burst_done(kBurst);
  std::vector<Outcome> burst(kBurst);
  std::atomic<int> burst_completed{0};
  Outcome start;
  Latch started(1);
  msec::CallRawAsync(
      server.Address(), kMethod, "start",
      [&](msec::Status status, std::string body) {
        start.code = status.code();
        start.body = std::move(body);
        // On the reader thread: the whole burst queues and is written as the socket takes it.
        for (int i = 0; i < kBurst; ++i) {
          msec::CallRawAsync(
              server.Address(), kMethod, BurstBody(i),
              [&, i](msec::Status status, std::string body) {
                burst[i].code = status.code();
                burst[i].body = std::move(body);
                ++burst_completed;
                burst_done.CountDown();
              },
              Options(20000));
        }
        started.CountDown();
      },
      Options(20000));
  CHECK(started.Wait());
  CHECK_EQ(start.code, 0);
  CHECK_EQ(start.body, "go");
  // The earlier calls' replies are read and completed while the peer still reads nothing.
  CHECK(early_done.Wait());
  for (int i = 0; i < kEarly; ++i) {
    CHECK_EQ(early[i].code, 0);
    CHECK_EQ(early[i].body, "reply to early " + std::to_string(i));
  }
  CHECK_EQ(burst_completed.load(), 0);
  const std::size_t seen_while_stopped = server.seen().size();
  CHECK(seen_while_stopped < static_cast<std::size_t>(kEarly + 1 + kBurst));
  // A blocking call from another thread while the burst is still being written.
  std::string blocking_reply;
  int blocking_code = 1;
  std::thread blocking([&] { blocking_code = msec::CallRaw(server.Address(), kMethod, "blocking", &blocking_reply, Options(20000)).code(); });
  resume.set_value();
  CHECK(burst_done.Wait());
  blocking.join();
  for (int i = 0; i < kBurst; ++i) {
    CHECK_EQ(burst[i].code, 0);
    CHECK_EQ(burst[i].body, "ok " + std::to_string(i));
  }
  CHECK_EQ(blocking_code, 0);
  CHECK_EQ(blocking_reply, "blocking");
  // Every frame arrived whole, the burst in the order it was issued.
  const std::vector<Request> seen = server.seen();
  CHECK_EQ(seen.size(), static_cast<std::size_t>(kEarly + 1 + kBurst + 1));
  int next = 0;
  for (const Request& r : seen) {
    if (r.body.size() == 64 * 1024 && r.body.rfind(std::to_string(next) + ":", 0) == 0) {
      CHECK(r.body == BurstBody(next));
      ++next;
    }
  }
  CHECK_EQ(next, kBurst);
  CHECK_EQ(server.connections(), 1);
  msec::CloseConnections();
}

// A peer that never reads again: the burst's frames still queued (or cut) at their deadline fail
// with -10, and the next call, once the peer reads again, completes with 0.
TEST(burst_frames_still_queued_at_their_deadline_fail_with_minus_10) {
  constexpr int kBurst = 200;
  std::promise<void> resume;
  std::shared_future<void> resumed = resume.get_future().share();
  Latch stopped(1);
  TestServer server([resumed, &stopped](int fd, const Request& r, std::vector<Request>*) {
    if (r.body == "start") {
      WriteAll(fd, ReplyFrame(r, "go"));
      resumed.wait();
      stopped.CountDown();
      return false;  // that connection ends without reading on
    }
    WriteAll(fd, ReplyFrame(r, r.body));
    return true;
  });
  Latch burst_done(kBurst);
  std::vector<Outcome> burst(kBurst);
  msec::CallRawAsync(
      server.Address(), kMethod, "start",
      [&](msec::Status, std::string) {
        for (int i = 0; i < kBurst; ++i) msec::CallRawAsync(server.Address(), kMethod, BurstBody(i), Record(&burst[i], &burst_done), Options(1000));
      },
      Options(5000));
  CHECK(burst_done.Wait());
  for (int i = 0; i < kBurst; ++i) CHECK_EQ(burst[i].code, -10);
  // The peer read only what the socket buffers held: most of the burst never left.
  CHECK(server.seen().size() < static_cast<std::size_t>(1 + kBurst));
  // The frame cut at the deadline closes the connection (the rest of it would garble the stream);
  // until then a new call would queue behind the cut frame and fail with it.
  for (int waited = 0; !msec::OpenConnections().empty() && waited < 10000; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(msec::OpenConnections().empty());
  resume.set_value();
  CHECK(stopped.Wait());
  std::string reply;
  CHECK_EQ(msec::CallRaw(server.Address(), kMethod, "after", &reply, Options(5000)).code(), 0);
  CHECK_EQ(reply, "after");
  msec::CloseConnections();
}

int main(int argc, char** argv) { return msec_test::RunAll(argc, argv); }
