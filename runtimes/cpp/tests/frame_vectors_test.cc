// Checks the runtime's framing against the shared wire vectors (spec §13
// V1–V7) in msec-gen's fixtures/vectors/*.json, read with protobuf's JSON
// parser:
//
//   head    V1–V5 head_hex (and V4's java_server_response): encode the head
//           fields, compare bytes, decode back
//   frame   V1–V5 frame_hex / echo_response_hex: EncodeFrame, DecodeFrame,
//           CheckFrame
//   check   V6 check[]  (CheckFrame = SrpcCheckPkgLen)
//   unpack  V6 unpack[] (DecodeFrame of exactly those bytes)
//   color   V7 ids[].djb2 (ColorId)
//   flow    V7 flow_ids[] (DefaultFlowId)
//
//   frame_vectors_test <vectors folder>
//
// Prints one line per failing case and "<n> vectors passed, <m> failed";
// exits 0 only when every case passed.
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "msec/color.h"
#include "msec/frame.h"

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("odd-length hex");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string ToHex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

const Value& Field(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  if (it == object.fields().end()) throw std::runtime_error("missing key \"" + key + "\"");
  return it->second;
}

bool Has(const Struct& object, const std::string& key) { return object.fields().count(key) != 0; }
const std::string& Text(const Struct& object, const std::string& key) { return Field(object, key).string_value(); }
std::int64_t Int(const Struct& object, const std::string& key) { return static_cast<std::int64_t>(Field(object, key).number_value()); }
std::uint64_t Decimal(const Struct& object, const std::string& key) { return std::stoull(Text(object, key)); }
const ListValue& List(const Struct& object, const std::string& key) { return Field(object, key).list_value(); }

/** A head object of the vectors (proto field names; 64-bit fields as decimal strings, bytes as text). */
srpc::CRpcHead Head(const Struct& json) {
  srpc::CRpcHead head;
  head.set_sequence(Decimal(json, "sequence"));
  if (Has(json, "coloring")) head.set_coloring(static_cast<std::uint32_t>(Int(json, "coloring")));
  if (Has(json, "color_id")) head.set_color_id(Decimal(json, "color_id"));
  if (Has(json, "flow_id")) head.set_flow_id(Decimal(json, "flow_id"));
  if (Has(json, "err")) head.set_err(static_cast<std::int32_t>(Int(json, "err")));
  if (Has(json, "result")) head.set_result(static_cast<std::int32_t>(Int(json, "result")));
  if (Has(json, "err_msg")) head.set_err_msg(Text(json, "err_msg"));
  if (Has(json, "caller")) head.set_caller(Text(json, "caller"));
  head.set_method_name(Text(json, "method_name"));
  if (Has(json, "caller_stack")) {
    for (const Value& entry : List(json, "caller_stack").values()) head.add_caller_stack(entry.string_value());
  }
  return head;
}

const std::uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

std::string CheckHead(const srpc::CRpcHead& head, const std::string& expected) {
  srpc::CRpcHead decoded;
  if (head.SerializeAsString() != expected) return "encoded " + ToHex(head.SerializeAsString());
  if (!decoded.ParseFromString(expected) || decoded.SerializeAsString() != expected) return "decode changed the head";
  return "";
}

std::string CheckFrameBytes(const srpc::CRpcHead& head, const std::string& body, const std::string& expected) {
  std::string frame;
  srpc::CRpcHead decoded_head;
  std::string decoded_body;
  const int encoded = msec::EncodeFrame(head, body, &frame);
  const int decoded = msec::DecodeFrame(Bytes(expected), expected.size(), &decoded_head, &decoded_body);
  if (encoded != 0 || frame != expected) return "encoded (" + std::to_string(encoded) + ") " + ToHex(frame);
  if (msec::CheckFrame(Bytes(expected), expected.size()) != static_cast<std::int64_t>(expected.size())) return "check";
  if (decoded != 0) return "decode returned " + std::to_string(decoded);
  if (decoded_head.SerializeAsString() != head.SerializeAsString() || decoded_body != body) return "decode differs";
  return "";
}

class Runner {
 public:
  explicit Runner(std::string dir) : dir_(std::move(dir)) {}

  Struct Load(const std::string& file) {
    file_ = file;
    std::ifstream in(dir_ + "/" + file);
    if (!in) throw std::runtime_error("cannot read " + dir_ + "/" + file);
    std::stringstream text;
    text << in.rdbuf();
    Struct json;
    const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &json);
    if (!status.ok()) throw std::runtime_error(dir_ + "/" + file + ": " + status.ToString());
    return json;
  }

  /** Runs one case; `check` returns "" when it passed, else what went wrong. */
  void Case(const std::string& label, const std::function<std::string()>& check) {
    std::string problem;
    try {
      problem = check();
    } catch (const std::exception& e) {
      problem = std::string("bad vector: ") + e.what();
    }
    if (problem.empty()) {
      ++passed_;
    } else {
      ++failed_;
      std::cout << "FAIL " << file_ << " " << label << ": " << problem << "\n";
    }
  }

  int Finish() const {
    std::cout << passed_ << " vectors passed, " << failed_ << " failed\n";
    return failed_ == 0 && passed_ > 0 ? 0 : 1;
  }

 private:
  std::string dir_;
  std::string file_;
  int passed_ = 0;
  int failed_ = 0;
};

void FrameVectors(Runner& run, const std::string& file) {
  const Struct v = run.Load(file);
  const srpc::CRpcHead head = Head(Field(v, "head").struct_value());
  const std::string body = Has(v, "body_hex") ? FromHex(Text(v, "body_hex")) : "";
  run.Case("head_hex", [&] { return CheckHead(head, FromHex(Text(v, "head_hex"))); });
  for (const char* key : {"frame_hex", "echo_response_hex"}) {
    if (Has(v, key)) run.Case(key, [&] { return CheckFrameBytes(head, body, FromHex(Text(v, key))); });
  }
  if (Has(v, "java_server_response")) {
    const Struct& response = Field(v, "java_server_response").struct_value();
    run.Case("java_server_response", [&] { return CheckHead(Head(Field(response, "head").struct_value()), FromHex(Text(response, "head_hex"))); });
  }
}

void CheckVectors(Runner& run) {
  const Struct v = run.Load("v6-check-pkg.json");
  for (const Value& item : List(v, "check").values()) {
    const Struct& c = item.struct_value();
    run.Case("check \"" + Text(c, "name") + "\"", [&]() -> std::string {
      const std::string input = FromHex(Text(c, "input_hex"));
      const std::int64_t got = msec::CheckFrame(input.empty() ? nullptr : Bytes(input), input.size());
      return got == Int(c, "check") ? "" : "got " + std::to_string(got);
    });
  }
  for (const Value& item : List(v, "unpack").values()) {
    const Struct& c = item.struct_value();
    run.Case("unpack \"" + Text(c, "name") + "\"", [&]() -> std::string {
      const std::string input = FromHex(Text(c, "input_hex"));
      srpc::CRpcHead head;
      std::string body;
      const int got = msec::DecodeFrame(Bytes(input), input.size(), &head, &body);
      return got == Int(c, "unpack") ? "" : "got " + std::to_string(got);
    });
  }
}

void ColorVectors(Runner& run) {
  const Struct v = run.Load("v7-color-ids.json");
  for (const Value& item : List(v, "ids").values()) {
    const Struct& c = item.struct_value();
    run.Case("color \"" + Text(c, "name") + "\"", [&]() -> std::string {
      const std::uint32_t got = msec::ColorId(FromHex(Text(c, "name_utf8_hex")));
      return static_cast<std::int64_t>(got) == Int(c, "djb2") ? "" : "got " + std::to_string(got);
    });
  }
  for (const Value& item : List(v, "flow_ids").values()) {
    const Struct& c = item.struct_value();
    run.Case("flow \"" + Text(c, "method") + "\" " + Text(c, "sequence"), [&]() -> std::string {
      const std::uint64_t got = msec::DefaultFlowId(Text(c, "method"), Decimal(c, "sequence"));
      return got == Decimal(c, "flow_id") ? "" : "got " + std::to_string(got);
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: frame_vectors_test <vectors folder>\n";
    return 2;
  }
  Runner run(argv[1]);
  try {
    for (const char* file : {"v1-python-client-request.json", "v2-minimal-request.json", "v3-unknown-method-response.json",
                             "v4-java-client-request.json", "v5-csrpcproxy-request.json"}) {
      FrameVectors(run, file);
    }
    CheckVectors(run);
    ColorVectors(run);
  } catch (const std::exception& e) {
    std::cout << "ERROR " << e.what() << "\n";
    return 2;
  }
  return run.Finish();
}
