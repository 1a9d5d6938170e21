#include "msec/call.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <utility>

#include "msec/color.h"
#include "msec/frame.h"
#include "msec/route.h"
#include "msec/transport.h"

namespace msec {
namespace {

std::string CallerName(const CallOptions& options) {
  if (!options.caller.empty()) return options.caller;
  const char* env = std::getenv(kServiceNameEnv);
  return env != nullptr && env[0] != '\0' ? env : kDefaultCaller;
}

}  // namespace

std::uint64_t NewSequence() {
  static std::atomic<std::uint32_t> next{static_cast<std::uint32_t>(std::random_device{}())};
  for (;;) {
    const std::uint32_t sequence = next.fetch_add(1, std::memory_order_relaxed);
    if (sequence != 0) return sequence;
  }
}

namespace {

/** One attempt: route, send, wait for the reply, report the outcome. */
Status CallOnce(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
                const CallOptions& options, Deadline deadline) {
  Route route;
  Status status = GetRoute(service, &route);
  if (!status.ok()) return status.SetCall("", false);
  const std::string address = route.Address();

  const std::uint64_t sequence = NewSequence();
  srpc::CRpcHead head;
  head.set_sequence(sequence);
  head.set_coloring(options.coloring);
  head.set_color_id(ColorId(method));
  head.set_flow_id(options.flow_id != 0 ? options.flow_id : DefaultFlowId(method, sequence));
  head.set_caller(CallerName(options));
  head.set_method_name(std::string(method));

  const auto started = std::chrono::steady_clock::now();
  srpc::CRpcHead reply_head;
  status = Exchange(route, std::move(head), request_body, deadline, options.timeout_ms, &reply_head, response_body);
  const auto cost_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  if (!status.ok()) {
    if (status.code() == kSendRecvFailed && !status.request_sent() && route.transport == Transport::kTcp) {
      ReportRefused(service, address);  // nothing listens there: stop picking it now
    } else {
      UpdateRoute(service, address, 1, 0);
    }
    return status;
  }
  // The server answered: a success for the balancer, whatever its err.
  UpdateRoute(service, address, 0, cost_ms);
  if (reply_head.err() != kSuccess) return Status::FromServer(reply_head.err(), reply_head.err_msg()).SetCall(address, true);
  return Status().SetCall(address, true);
}

}  // namespace

Status CallRaw(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
               const CallOptions& options) {
  if (options.timeout_ms <= 0) return Status(kParaError, "timeout_ms must be > 0, got " + std::to_string(options.timeout_ms));
  if (options.retries < 0) return Status(kParaError, "retries must be >= 0, got " + std::to_string(options.retries));
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  const bool literal = ParseLiteral(service).has_value();
  for (int attempt = 0;; ++attempt) {
    Status status = CallOnce(service, method, request_body, response_body, options, deadline);
    const bool refused = status.code() == kSendRecvFailed && !status.request_sent() && !status.from_server();
    if (!refused || literal || attempt >= options.retries || std::chrono::steady_clock::now() >= deadline) return status;
  }
}

Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, int timeout_ms) {
  CallOptions options;
  options.timeout_ms = timeout_ms;
  return CallMethod(service, method, request, response, options);
}

Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, const CallOptions& options) {
  if (!request.IsInitialized()) {
    return Status(kBodyUninit, request.GetTypeName() + " misses required fields: " + request.InitializationErrorString());
  }
  std::string request_body;
  if (!request.SerializeToString(&request_body)) return Status(kBodyUninit, "cannot serialize " + request.GetTypeName());
  std::string response_body;
  Status status = CallRaw(service, method, request_body, &response_body, options);
  if (!status.ok()) return status;
  response->Clear();
  if (!response->ParsePartialFromString(response_body) || !response->IsInitialized()) {
    return Status(kInvalidPkgBody, "reply body does not parse as " + response->GetTypeName() +
                                       (response->IsInitialized() ? "" : " (missing " + response->InitializationErrorString() + ")"));
  }
  return Status();
}

}  // namespace msec
