// Conformance runner of the C++ caller (docs/caller-parity.md, "Runner
// protocol"): reads one scenario (JSON) from stdin, runs its steps in order
// through the generated conformance::ConformanceServiceClient and the
// runtime, and writes one JSON line per step. It checks nothing: the harness
// compares. JSON is read and written with protobuf's google.protobuf.Struct,
// so the runner needs nothing beyond what the caller links.
//
// Routing is configured as a user's program does it: the runtime reads
// $MSEC_ROUTES and, when set, $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "ConformanceEchoCaller/conformance.msec.h"
#include "msec/msec.h"

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;
using Clock = std::chrono::steady_clock;

const Value* Field(const Struct& s, const std::string& key) {
  const auto found = s.fields().find(key);
  return found == s.fields().end() ? nullptr : &found->second;
}
std::string Text(const Struct& s, const std::string& key, const std::string& fallback = "") {
  const Value* v = Field(s, key);
  return v != nullptr && v->has_string_value() ? v->string_value() : fallback;
}
double Number(const Struct& s, const std::string& key, double fallback = 0) {
  const Value* v = Field(s, key);
  return v != nullptr && v->kind_case() == Value::kNumberValue ? v->number_value() : fallback;
}
const Struct& Object(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  if (v == nullptr || !v->has_struct_value()) throw std::runtime_error("step field \"" + key + "\" must be an object");
  return v->struct_value();
}
const ListValue& List(const Struct& s, const std::string& key) {
  const Value* v = Field(s, key);
  if (v == nullptr || !v->has_list_value()) throw std::runtime_error("step field \"" + key + "\" must be a list");
  return v->list_value();
}

Value Num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}
Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Value Obj(const Struct& s) {
  Value v;
  *v.mutable_struct_value() = s;
  return v;
}

/** The request and options of a `call` object (its `service` and `method` are read by the caller). */
conformance::EchoRequest Request(const Struct& c) {
  conformance::EchoRequest request;
  request.set_text(Text(c, "text"));
  request.set_sleep_ms(static_cast<std::uint32_t>(Number(c, "sleep_ms")));
  request.set_fail_code(static_cast<std::int32_t>(Number(c, "fail_code")));
  request.set_fail_message(Text(c, "fail_message"));
  return request;
}
msec::CallOptions Options(const Struct& c) {
  msec::CallOptions options;
  options.timeout_ms = static_cast<int>(Number(c, "timeout_ms", msec::kDefaultTimeoutMs));
  options.retries = static_cast<int>(Number(c, "retries"));
  return options;
}

/** One `call` step's observation: {"code":0,"reply":{…}} or {"code":c,"message":m}. */
Struct Call(const Struct& c) {
  const conformance::EchoRequest request = Request(c);
  const msec::CallOptions options = Options(c);
  conformance::EchoReply reply;
  msec::Status status;
  const std::string method = Text(c, "method");
  if (!method.empty()) {
    // Another method than the client's: the runtime's raw call.
    std::string body;
    status = msec::CallRaw(Text(c, "service"), method, request.SerializeAsString(), &body, options);
    if (status.ok() && !reply.ParseFromString(body)) status = msec::Status(msec::kInvalidPkgBody, "reply does not parse");
  } else {
    status = conformance::ConformanceServiceClient(Text(c, "service")).Echo(request, &reply, options);
  }
  Struct out;
  (*out.mutable_fields())["code"] = Num(status.code());
  if (!status.ok()) {
    (*out.mutable_fields())["message"] = Str(status.message());
    return out;
  }
  Struct r;
  (*r.mutable_fields())["text"] = Str(reply.text());
  (*r.mutable_fields())["instance"] = Str(reply.instance());
  (*r.mutable_fields())["peer"] = Str(reply.peer());
  (*r.mutable_fields())["deadline_ms"] = Num(reply.deadline_ms());
  (*out.mutable_fields())["reply"] = Obj(r);
  return out;
}

/** `parallel`: every call issued at once (one thread each), results in the calls' order. */
Struct Parallel(const Struct& step) {
  std::vector<std::future<Struct>> futures;
  for (const Value& c : List(step, "calls").values()) {
    futures.push_back(std::async(std::launch::async, [&c] { return Call(c.struct_value()); }));
  }
  Struct out;
  ListValue* results = (*out.mutable_fields())["results"].mutable_list_value();
  for (auto& f : futures) *results->add_values() = Obj(f.get());
  return out;
}

/** `repeat`: `count` calls, `concurrency` at a time → ok, codes, instances. */
Struct Repeat(const Struct& step) {
  const int count = static_cast<int>(Number(step, "count"));
  const int concurrency = std::max(1, std::min(static_cast<int>(Number(step, "concurrency", 1)), count));
  const Struct& c = Object(step, "call");
  std::atomic<int> next{0};
  std::mutex mutex;
  int ok = 0;
  std::map<std::string, int> codes;
  std::map<std::string, int> instances;
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      while (next++ < count) {
        const Struct r = Call(c);
        std::lock_guard<std::mutex> lock(mutex);
        const int code = static_cast<int>(r.fields().at("code").number_value());
        if (code == 0) {
          ++ok;
          ++instances[r.fields().at("reply").struct_value().fields().at("instance").string_value()];
        } else {
          ++codes[std::to_string(code)];
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  Struct out;
  (*out.mutable_fields())["ok"] = Num(ok);
  Struct codes_out;
  for (const auto& [k, v] : codes) (*codes_out.mutable_fields())[k] = Num(v);
  Struct instances_out;
  for (const auto& [k, v] : instances) (*instances_out.mutable_fields())[k] = Num(v);
  (*out.mutable_fields())["codes"] = Obj(codes_out);
  (*out.mutable_fields())["instances"] = Obj(instances_out);
  return out;
}

/**
 * One `load` step in progress: `concurrency` calls in flight through the
 * runtime's asynchronous API; each completion records its latency and, until
 * the time is up, issues the next call from its callback (no thread per call).
 */
class LoadRun : public std::enable_shared_from_this<LoadRun> {
 public:
  LoadRun(const Struct& c, Clock::time_point end)
      : service_(Text(c, "service")), client_(service_), method_(Text(c, "method")), request_(Request(c)), options_(Options(c)), end_(end) {}

  /** Starts `concurrency` calls, then waits until the last one has completed. */
  void Run(int concurrency) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      in_flight_ = concurrency;
    }
    for (int i = 0; i < concurrency; ++i) Issue();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return in_flight_ == 0; });
  }

  std::vector<double>& latencies() { return latencies_; }
  int errors() const { return errors_; }

 private:
  void Issue() {
    const Clock::time_point started = Clock::now();
    auto self = shared_from_this();
    if (!method_.empty()) {
      // Another method than the client's: the runtime's raw call.
      msec::CallRawAsync(
          service_, method_, request_.SerializeAsString(),
          [self, started](msec::Status status, std::string body) {
            conformance::EchoReply reply;
            if (status.ok() && !reply.ParseFromString(body)) status = msec::Status(msec::kInvalidPkgBody, "reply does not parse");
            self->Completed(started, status.ok());
          },
          options_);
      return;
    }
    client_.EchoAsync(
        request_, [self, started](msec::Status status, conformance::EchoReply) { self->Completed(started, status.ok()); }, options_);
  }

  void Completed(Clock::time_point started, bool ok) {
    const Clock::time_point now = Clock::now();
    const bool more = now < end_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      latencies_.push_back(std::chrono::duration<double, std::milli>(now - started).count());
      if (!ok) ++errors_;
      if (!more && --in_flight_ == 0) finished_.notify_all();
    }
    if (more) Issue();
  }

  const std::string service_;
  const conformance::ConformanceServiceClient client_;
  const std::string method_;
  const conformance::EchoRequest request_;
  const msec::CallOptions options_;
  const Clock::time_point end_;
  std::mutex mutex_;
  std::condition_variable finished_;
  int in_flight_ = 0;
  std::vector<double> latencies_;
  int errors_ = 0;
};

/** `load`: calls for `seconds` with `concurrency` in flight → calls, errors, seconds, p50_ms, p99_ms. */
Struct Load(const Struct& step) {
  const double seconds = Number(step, "seconds");
  const int concurrency = std::max(1, static_cast<int>(Number(step, "concurrency", 1)));
  const Clock::time_point started = Clock::now();
  const Clock::time_point end = started + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
  auto run = std::make_shared<LoadRun>(Object(step, "call"), end);
  run->Run(concurrency);
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double>& latencies = run->latencies();
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(q * latencies.size()))];
  };
  Struct out;
  (*out.mutable_fields())["calls"] = Num(static_cast<double>(latencies.size()));
  (*out.mutable_fields())["errors"] = Num(run->errors());
  (*out.mutable_fields())["seconds"] = Num(elapsed);
  (*out.mutable_fields())["p50_ms"] = Num(at(0.5));
  (*out.mutable_fields())["p99_ms"] = Num(at(0.99));
  return out;
}

/** `balancer`: the runtime's NLB balancer on a scripted clock (state created at 0 ms, each event reported at its time). */
Struct Balancer(const Struct& step) {
  std::int64_t now = 0;
  msec::BalancerOptions options;
  options.now = [&now] { return now; };
  options.random_int = [](std::uint64_t) { return std::uint64_t{0}; };
  if (const Value* o = Field(step, "options"); o != nullptr && o->has_struct_value()) {
    options.shaping_request_min = static_cast<std::uint64_t>(Number(o->struct_value(), "shapingRequestMin", msec::kShapingRequestMin));
  }
  msec::Balancer b(options);
  const std::string service = Text(step, "service");
  std::vector<msec::RouteInstance> instances;
  for (const Value& i : List(step, "instances").values()) {
    const std::string addr = Text(i.struct_value(), "addr");
    const std::optional<msec::Route> route = msec::ParseLiteral(addr);
    if (!route) throw std::runtime_error("balancer step: \"" + addr + "\" is not ip:port");
    instances.push_back(msec::RouteInstance{*route, static_cast<std::uint64_t>(Number(i.struct_value(), "weight"))});
  }
  (void)b.Pick(service, instances);
  for (const Value& e : List(step, "events").values()) {
    const Struct& ev = e.struct_value();
    now = static_cast<std::int64_t>(Number(ev, "at_ms"));
    b.Update(service, Text(ev, "addr"), static_cast<std::uint64_t>(Number(ev, "failed")), static_cast<std::uint64_t>(Number(ev, "cost_ms")));
  }
  Struct out;
  ListValue* weights = (*out.mutable_fields())["weights"].mutable_list_value();
  for (const msec::ServerWeight& w : b.Weights(service)) {
    Struct s;
    (*s.mutable_fields())["addr"] = Str(w.address);
    (*s.mutable_fields())["weight"] = Num(static_cast<double>(w.dynamic_weight));
    (*s.mutable_fields())["dead"] = Bool(w.dead);
    *weights->add_values() = Obj(s);
  }
  return out;
}

void Write(int index, Struct observation) {
  (*observation.mutable_fields())["step"] = Num(index);
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(observation, &json);
  if (!status.ok()) throw std::runtime_error("cannot print an observation: " + status.ToString());
  std::cout << json << std::endl;
}

int Run() {
  std::string line;
  if (!std::getline(std::cin, line)) throw std::runtime_error("no scenario on stdin");
  Struct document;
  const auto parsed = google::protobuf::util::JsonStringToMessage(line, &document);
  if (!parsed.ok()) throw std::runtime_error("scenario line is not JSON: " + parsed.ToString());
  const Struct& scenario = Object(document, "scenario");
  int index = 0;
  for (const Value& v : List(scenario, "steps").values()) {
    const Struct& step = v.struct_value();
    const std::string op = Text(step, "op");
    if (op == "call") {
      Write(index, Call(step));
    } else if (op == "parallel") {
      Write(index, Parallel(step));
    } else if (op == "repeat") {
      Write(index, Repeat(step));
    } else if (op == "load") {
      Write(index, Load(step));
    } else if (op == "balancer") {
      Write(index, Balancer(step));
    } else if (op == "write_file") {
      std::ofstream(Text(step, "path"), std::ios::binary | std::ios::trunc) << Text(step, "content");
      Write(index, Struct());
    } else if (op == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<std::int64_t>(Number(step, "ms"))));
      Write(index, Struct());
    } else if (op == "notify") {
      Struct event;
      (*event.mutable_fields())["event"] = Str(Text(step, "event"));
      Write(index, event);
      std::string ack;
      if (!std::getline(std::cin, ack)) throw std::runtime_error("stdin closed while waiting for the ack of \"" + Text(step, "event") + "\"");
    } else {
      throw std::runtime_error("unknown op \"" + op + "\"");
    }
    ++index;
  }
  msec::CloseConnections();
  return 0;
}

}  // namespace

int main() {
  try {
    return Run();
  } catch (const std::exception& e) {
    std::cerr << "conformance runner (cpp): " << e.what() << "\n";
    return 1;
  }
}
