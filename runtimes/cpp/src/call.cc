#include "msec/call.h"

#include <atomic>
#include <cstdlib>
#include <random>

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

Status CallRaw(std::string_view service, std::string_view method, const std::string& request_body, std::string* response_body,
               const CallOptions& options) {
  Route route;
  Status status = GetRoute(service, &route);
  if (!status.ok()) return status;

  const std::uint64_t sequence = NewSequence();
  srpc::CRpcHead head;
  head.set_sequence(sequence);
  head.set_coloring(options.coloring);
  head.set_color_id(ColorId(method));
  head.set_flow_id(options.flow_id != 0 ? options.flow_id : DefaultFlowId(method, sequence));
  head.set_caller(CallerName(options));
  head.set_method_name(std::string(method));
  std::string request_frame;
  const int packed = EncodeFrame(head, request_body, &request_frame);
  if (packed != kSuccess) return Status(packed, "");

  std::string reply_frame;
  status = Exchange(route, request_frame, options.timeout_ms, &reply_frame);
  if (!status.ok()) return status;

  srpc::CRpcHead reply_head;
  const int decoded = DecodeFrame(reinterpret_cast<const std::uint8_t*>(reply_frame.data()), reply_frame.size(), &reply_head,
                                  response_body);
  if (decoded != kSuccess) return Status(decoded, "reply from " + route.Address());
  if (reply_head.sequence() != sequence) {
    return Status(kInvalidSequence, "reply carries sequence " + std::to_string(reply_head.sequence()) + ", expected " +
                                        std::to_string(sequence) + " (" + route.Address() + ")");
  }
  if (reply_head.err() != kSuccess) return Status::FromServer(reply_head.err(), reply_head.err_msg());
  return Status();
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
