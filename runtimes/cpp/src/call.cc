#include "msec/call.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <random>
#include <utility>

#include "msec/color.h"
#include "msec/frame.h"
#include "msec/route.h"
#include "msec/transport.h"
#include "timer_thread.h"

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

/** One raw call across its attempts (shared by the completions of each). */
struct AsyncCall {
  std::string service;
  std::string method;
  std::string body;
  CallOptions options;
  Deadline deadline;
  bool literal = false;
  int attempt = 0;
  RawCallback done;
};

/** Completes a call that failed before anything was sent, on the timer thread (never inside CallRawAsync). */
void FailLater(RawCallback done, Status status) {
  internal::TimerThread::Get().Post([done = std::move(done), status = std::move(status)]() mutable { done(std::move(status), std::string()); });
}

void Attempt(std::shared_ptr<AsyncCall> call);

/**
 * One attempt's outcome: reported to the balancer, then either another
 * attempt (a refused connection of a routing name with retries and time left)
 * or the call's completion.
 */
void Finish(const std::shared_ptr<AsyncCall>& call, const std::string& address, Transport transport, std::chrono::steady_clock::time_point started,
            Status status, const srpc::CRpcHead& reply_head, std::string reply_body) {
  const auto cost_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  if (!status.ok()) {
    const bool refused = status.code() == kSendRecvFailed && !status.request_sent();
    if (refused && transport == Transport::kTcp) {
      ReportRefused(call->service, address);  // nothing listens there: stop picking it now
    } else {
      UpdateRoute(call->service, address, 1, 0);
    }
    if (refused && !call->literal && call->attempt < call->options.retries && std::chrono::steady_clock::now() < call->deadline) {
      ++call->attempt;
      Attempt(call);
      return;
    }
    call->done(std::move(status), std::string());
    return;
  }
  // The server answered: a success for the balancer, whatever its err.
  UpdateRoute(call->service, address, 0, cost_ms);
  if (reply_head.err() != kSuccess) {
    call->done(Status::FromServer(reply_head.err(), reply_head.err_msg()).SetCall(address, true), std::move(reply_body));
    return;
  }
  call->done(Status().SetCall(address, true), std::move(reply_body));
}

/** One attempt: route, build the head, issue the exchange; Finish takes the outcome. */
void Attempt(std::shared_ptr<AsyncCall> call) {
  Route route;
  Status status = GetRoute(call->service, &route);
  if (!status.ok()) {
    FailLater(std::move(call->done), status.SetCall("", false));
    return;
  }
  std::string address = route.Address();

  const std::uint64_t sequence = NewSequence();
  srpc::CRpcHead head;
  head.set_sequence(sequence);
  head.set_coloring(call->options.coloring);
  head.set_color_id(ColorId(call->method));
  head.set_flow_id(call->options.flow_id != 0 ? call->options.flow_id : DefaultFlowId(call->method, sequence));
  head.set_caller(CallerName(call->options));
  head.set_method_name(call->method);

  const Transport transport = route.transport;
  const auto started = std::chrono::steady_clock::now();
  ExchangeAsync(route, std::move(head), call->body, call->deadline, call->options.timeout_ms,
                [call, address = std::move(address), transport, started](Status status, srpc::CRpcHead reply_head, std::string reply_body) {
                  Finish(call, address, transport, started, std::move(status), reply_head, std::move(reply_body));
                });
}

}  // namespace

void CallRawAsync(std::string_view service, std::string_view method, std::string request_body, RawCallback done,
                  const CallOptions& options) {
  if (options.timeout_ms <= 0) {
    FailLater(std::move(done), Status(kParaError, "timeout_ms must be > 0, got " + std::to_string(options.timeout_ms)));
    return;
  }
  if (options.retries < 0) {
    FailLater(std::move(done), Status(kParaError, "retries must be >= 0, got " + std::to_string(options.retries)));
    return;
  }
  auto call = std::make_shared<AsyncCall>();
  call->service = std::string(service);
  call->method = std::string(method);
  call->body = std::move(request_body);
  call->options = options;
  call->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  call->literal = ParseLiteral(service).has_value();
  call->done = std::move(done);
  Attempt(std::move(call));
}

std::future<RawResult> CallRawAsync(std::string_view service, std::string_view method, std::string request_body, const CallOptions& options) {
  auto promise = std::make_shared<std::promise<RawResult>>();
  std::future<RawResult> future = promise->get_future();
  CallRawAsync(
      service, method, std::move(request_body),
      [promise](Status status, std::string body) { promise->set_value(RawResult{std::move(status), std::move(body)}); }, options);
  return future;
}

Status CallRaw(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
               const CallOptions& options) {
  RawResult result = CallRawAsync(service, method, request_body, options).get();
  *response_body = std::move(result.response);
  return std::move(result.status);
}

namespace internal {

void CallMessageAsync(std::string_view service, std::string_view method, const google::protobuf::Message& request, RawCallback done,
                      const CallOptions& options) {
  if (!request.IsInitialized()) {
    FailLater(std::move(done), Status(kBodyUninit, request.GetTypeName() + " misses required fields: " + request.InitializationErrorString()));
    return;
  }
  std::string body;
  if (!request.SerializeToString(&body)) {
    FailLater(std::move(done), Status(kBodyUninit, "cannot serialize " + request.GetTypeName()));
    return;
  }
  CallRawAsync(service, method, std::move(body), std::move(done), options);
}

Status ParseReply(const std::string& body, google::protobuf::Message* response) {
  response->Clear();
  if (!response->ParsePartialFromString(body) || !response->IsInitialized()) {
    return Status(kInvalidPkgBody, "reply body does not parse as " + response->GetTypeName() +
                                       (response->IsInitialized() ? "" : " (missing " + response->InitializationErrorString() + ")"));
  }
  return Status();
}

}  // namespace internal

Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, int timeout_ms) {
  CallOptions options;
  options.timeout_ms = timeout_ms;
  return CallMethod(service, method, request, response, options);
}

Status CallMethod(std::string_view service, std::string_view method, const google::protobuf::Message& request,
                  google::protobuf::Message* response, const CallOptions& options) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> result = promise->get_future();
  internal::CallMessageAsync(
      service, method, request,
      [promise, response](Status status, std::string body) {
        if (status.ok()) status = internal::ParseReply(body, response);
        promise->set_value(std::move(status));
      },
      options);
  return result.get();
}

}  // namespace msec
