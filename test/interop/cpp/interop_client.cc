// Test program of test/interop/cpp-caller.test.ts: calls the TypeScript
// interop server through the generated interop::InteropServiceClient and
// prints what came back, one block per call, for exact assertions.
//
//   client <service> <case>...
//
// Cases: full, zero (echo a full / a zero-valued Everything), unknown
// (unknown method), slow (server waits 1500 ms, call timeout 300 ms), udp
// (same as full over <service>@udp), sequence (five calls in a row, pooled),
// threads (8 threads x 25 calls sharing one client and the pool),
// flaky (ok, then -13, ok, -12, -16 against the test's raw TCP server).
// Routing checks (the <service> argument is ignored): "literal <text>..."
// prints each parse; "routes <file>" prints the parsed routes file or its error.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "InteropEchoCaller/interop.msec.h"
#include "msec/route.h"

namespace {

void Print(const std::string& label, const msec::Status& status) {
  std::cout << "== " << label << " " << status.code() << " " << status.message() << "\n";
}

interop::Everything Full() {
  interop::Everything v;
  v.set_req_int32(0);
  v.set_req_string("");
  v.set_req_bool(false);
  v.set_req_bytes("");
  v.set_f_double(-1.5e300);
  v.set_f_float(0.25f);
  v.set_f_int32(std::numeric_limits<std::int32_t>::min());
  v.set_f_int64(std::numeric_limits<std::int64_t>::min());
  v.set_f_uint32(std::numeric_limits<std::uint32_t>::max());
  v.set_f_uint64(std::numeric_limits<std::uint64_t>::max());
  v.set_f_sint32(-123456);
  v.set_f_sint64(std::numeric_limits<std::int64_t>::max());
  v.set_f_fixed32(4000000000u);
  v.set_f_fixed64(18000000000000000000ull);
  v.set_f_sfixed32(-2000000000);
  v.set_f_sfixed64(-9000000000000000000ll);
  v.set_f_bool(true);
  v.set_f_string("h\xc3\xa9llo \xe6\x8a\x93\xe5\x8f\x96 \xf0\x9f\x8e\xb5");  // "héllo 抓取 🎵"
  v.set_f_bytes(std::string("\x00\x01\xfe\xff", 4));
  v.set_colour(interop::COLOUR_NEGATIVE);
  v.mutable_inner()->set_id(7);
  v.mutable_inner()->set_label("inner");
  v.mutable_inner()->add_children()->set_id(0);
  v.add_r_int64(std::numeric_limits<std::int64_t>::min());
  v.add_r_int64(0);
  v.add_r_int64(std::numeric_limits<std::int64_t>::max());
  v.add_r_string("a");
  v.add_r_string("");
  v.add_r_string("\xce\xb2");
  v.add_r_inner()->set_id(1);
  v.add_r_inner()->set_id(2);
  v.add_r_colour(interop::COLOUR_GREEN);
  v.add_r_colour(interop::COLOUR_UNKNOWN);
  v.add_r_packed(-1);
  v.add_r_packed(1);
  v.add_r_packed(std::numeric_limits<std::int32_t>::min());
  (*v.mutable_m_string_int32())["one"] = 1;
  (*v.mutable_m_string_int32())["minus"] = -1;
  (*v.mutable_m_int64_string())[std::numeric_limits<std::int64_t>::min()] = "min";
  (*v.mutable_m_int64_string())[42] = "\xe7\xad\x94";
  interop::Inner& mapped = (*v.mutable_m_uint32_inner())[std::numeric_limits<std::uint32_t>::max()];
  mapped.set_id(-5);
  v.set_o_uint64(std::numeric_limits<std::uint64_t>::max());
  return v;
}

interop::Everything Zero() {
  interop::Everything v;
  v.set_req_int32(0);
  v.set_req_string("");
  v.set_req_bool(false);
  v.set_req_bytes("");
  return v;
}

/** Echoes `value`, prints the status, whether the echo equals the request, and the response. */
void Echo(const interop::InteropServiceClient& client, const std::string& label, const interop::Everything& value,
          std::uint32_t delay_ms = 0, int timeout_ms = 5000) {
  interop::EchoRequest request;
  *request.mutable_value() = value;
  if (delay_ms > 0) request.set_delay_ms(delay_ms);
  interop::EchoResponse response;
  const msec::Status status = client.Echo(request, &response, timeout_ms);
  Print(label, status);
  if (!status.ok()) return;
  std::cout << "equal " << (google::protobuf::util::MessageDifferencer::Equals(response.value(), value) ? "true" : "false") << "\n";
  std::cout << response.DebugString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: client <service> <case>...\n";
    return 2;
  }
  const std::string service = argv[1];
  if (std::string(argv[2]) == "literal") {
    for (int i = 3; i < argc; ++i) {
      const std::optional<msec::Route> route = msec::ParseLiteral(argv[i]);
      if (!route) {
        std::cout << "none\n";
      } else {
        std::cout << route->ip << " " << route->port << " " << (route->transport == msec::Transport::kUdp ? "udp" : "tcp") << "\n";
      }
    }
    return 0;
  }
  if (std::string(argv[2]) == "routes" && argc == 4) {
    std::ifstream in(argv[3], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    msec::RouteTable table;
    const msec::Status status = msec::ParseRoutes(text.str(), argv[3], &table);
    if (!status.ok()) {
      std::cout << "error " << status.message() << "\n";
      return 0;
    }
    for (const auto& entry : table) {
      for (const msec::RouteInstance& instance : entry.second) {
        std::cout << entry.first << " " << instance.route.ip << " " << instance.route.port << " "
                  << (instance.route.transport == msec::Transport::kUdp ? "udp" : "tcp") << " " << instance.weight << "\n";
      }
    }
    return 0;
  }
  const interop::InteropServiceClient client(service);
  for (int i = 2; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "full") {
      Echo(client, "full", Full());
    } else if (name == "zero") {
      Echo(client, "zero", Zero());
    } else if (name == "udp") {
      Echo(interop::InteropServiceClient(service + "@udp"), "udp", Full());
    } else if (name == "unknown") {
      interop::EchoRequest request;
      *request.mutable_value() = Zero();
      interop::EchoResponse response;
      Print("unknown", msec::CallMethod(service, "interop.InteropService.Nope", request, &response, 5000));
    } else if (name == "slow") {
      Echo(client, "slow", Zero(), 1500, 300);
      Echo(client, "after-slow", Zero());
    } else if (name == "sequence") {
      for (int n = 0; n < 5; ++n) {
        interop::Everything v = Zero();
        v.set_req_int32(n);
        interop::EchoRequest request;
        *request.mutable_value() = v;
        interop::EchoResponse response;
        const msec::Status status = client.Echo(request, &response);
        std::cout << "call " << n << " " << status.code() << " " << response.value().req_int32() << "\n";
      }
    } else if (name == "threads") {
      std::atomic<int> matched{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&client, &matched, t] {
          for (int n = 0; n < 25; ++n) {
            interop::EchoRequest request;
            *request.mutable_value() = Zero();
            request.mutable_value()->set_req_int32(t * 1000 + n);
            interop::EchoResponse response;
            if (client.Echo(request, &response, 5000).ok() && response.value().req_int32() == t * 1000 + n) ++matched;
          }
        });
      }
      for (std::thread& thread : threads) thread.join();
      std::cout << "threads matched " << matched.load() << "\n";
    } else if (name == "incomplete") {
      interop::EchoRequest request;
      request.mutable_value()->set_req_int32(1);
      interop::EchoResponse response;
      Print("incomplete", client.Echo(request, &response));
    } else if (name == "flaky") {
      for (const char* label : {"flaky-ok", "flaky-lost", "flaky-reconnect", "flaky-partial", "flaky-sequence"}) {
        Echo(client, label, Zero(), 0, 500);
        ::usleep(200 * 1000);  // let the server's close reach this side before the next call
      }
    } else {
      std::cerr << "unknown case " << name << "\n";
      return 2;
    }
  }
  return 0;
}
