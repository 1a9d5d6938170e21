// A C++ program using the generated caller of fixtures/echo/echo.proto
// (routing name echo.EchoService), found only through etcd: the runtime reads
// $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX as any user program would; the
// working directory has no routes file.
//
//   client once <service>
//       one call; prints "<code> <message>" and the reply text.
//   client load <threads> <ms>
//       <threads> threads call echo.EchoService for <ms> ms (timeout 2000 ms,
//       retries 2); prints "started" first. Then reads one line from stdin:
//       the wall-clock ms at which the harness killed an instance, and prints
//       one JSON line: calls finished before / from the kill, failures
//       (code, address, request_sent, ms after the kill) and the balancer's
//       weights for echo.EchoService.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "EchoEchoServiceCaller/echo.msec.h"
#include "msec/balancer.h"

namespace {

std::int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Record {
  std::int64_t end_ms;
  int code;
  std::string address;
  bool sent;
};

int Once(const std::string& service) {
  echo::EchoServiceClient client(service);
  echo::EchoRequest request;
  request.set_message("hello via etcd");
  echo::EchoResponse response;
  const msec::Status status = client.Echo(request, &response, 2000);
  std::cout << status.code() << " " << status.message() << "\n" << response.message() << "\n";
  return 0;
}

int Load(int threads, int ms) {
  echo::EchoServiceClient client;
  msec::CallOptions options;
  options.timeout_ms = 2000;
  options.retries = 2;
  std::mutex mutex;
  std::vector<Record> records;
  const std::int64_t stop_at = WallMs() + ms;
  std::cout << "started" << std::endl;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      echo::EchoRequest request;
      request.set_message("load");
      std::vector<Record> mine;
      while (WallMs() < stop_at) {
        echo::EchoResponse response;
        const msec::Status status = client.Echo(request, &response, options);
        const bool ok = status.ok() && response.message() == "load";
        mine.push_back(Record{WallMs(), ok ? 0 : (status.ok() ? 1 : status.code()), status.address(), status.request_sent()});
      }
      std::lock_guard<std::mutex> lock(mutex);
      records.insert(records.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  std::string line;
  std::getline(std::cin, line);
  const std::int64_t killed_at = std::stoll(line);
  int before = 0;
  int before_ok = 0;
  int during = 0;
  int during_ok = 0;
  std::string failures;
  for (const Record& r : records) {
    if (r.end_ms < killed_at) {
      ++before;
      before_ok += r.code == 0;
      continue;
    }
    ++during;
    if (r.code == 0) {
      ++during_ok;
      continue;
    }
    failures += std::string(failures.empty() ? "" : ",") + "{\"code\":" + std::to_string(r.code) + ",\"address\":\"" + r.address +
                "\",\"sent\":" + (r.sent ? "true" : "false") + ",\"after_ms\":" + std::to_string(r.end_ms - killed_at) + "}";
  }
  std::string weights;
  for (const msec::ServerWeight& w : msec::CurrentBalancer()->Weights("echo.EchoService")) {
    weights += std::string(weights.empty() ? "" : ",") + "{\"address\":\"" + w.address + "\",\"weight\":" +
               std::to_string(w.dynamic_weight) + ",\"dead\":" + (w.dead ? "true" : "false") + "}";
  }
  std::cout << "{\"before\":" << before << ",\"before_ok\":" << before_ok << ",\"during\":" << during << ",\"during_ok\":" << during_ok
            << ",\"failures\":[" << failures << "],\"weights\":[" << weights << "]}" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "once" && argc == 3) return Once(argv[2]);
  if (mode == "load" && argc == 4) return Load(std::stoi(argv[2]), std::stoi(argv[3]));
  std::cerr << "usage: client once <service> | client load <threads> <ms>\n";
  return 2;
}
