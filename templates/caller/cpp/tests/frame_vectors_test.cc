// Checks the runtime's framing against the shared wire vectors (spec §13
// V1–V7), given as a line-oriented text file (tests/frame_vectors.txt):
//
//   head  <head_hex> <field>=<value>…              encode a CRpcHead, decode it back
//   frame <frame_hex> body=<hex> <field>=<value>…  EncodeFrame / DecodeFrame / CheckFrame
//   check <input_hex|-> <result>                   CheckFrame (SrpcCheckPkgLen)
//   unpack <input_hex> <result>                    DecodeFrame of exactly those bytes
//   color <name_hex|-> <djb2>                      ColorId
//   flow <method_hex> <sequence> <flow_id>         DefaultFlowId
//
// Bytes fields (err_msg, caller, method_name, caller_stack) are hex; `-` is
// the empty string. Prints one line per failure and "<n> vectors passed".
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "msec/color.h"
#include "msec/frame.h"

namespace {

std::string FromHex(const std::string& hex) {
  if (hex == "-") return "";
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
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

/** Sets the head fields named by `field=value` words; returns the body of a `body=` word. */
std::string ApplyFields(const std::vector<std::string>& words, std::size_t first, srpc::CRpcHead* head) {
  std::string body;
  for (std::size_t i = first; i < words.size(); ++i) {
    const std::size_t eq = words[i].find('=');
    const std::string key = words[i].substr(0, eq);
    const std::string value = words[i].substr(eq + 1);
    if (key == "body") body = FromHex(value);
    else if (key == "sequence") head->set_sequence(std::stoull(value));
    else if (key == "coloring") head->set_coloring(static_cast<std::uint32_t>(std::stoul(value)));
    else if (key == "color_id") head->set_color_id(std::stoull(value));
    else if (key == "flow_id") head->set_flow_id(std::stoull(value));
    else if (key == "err") head->set_err(std::stoi(value));
    else if (key == "result") head->set_result(std::stoi(value));
    else if (key == "err_msg") head->set_err_msg(FromHex(value));
    else if (key == "caller") head->set_caller(FromHex(value));
    else if (key == "method_name") head->set_method_name(FromHex(value));
    else if (key == "caller_stack") head->add_caller_stack(FromHex(value));
    else throw std::runtime_error("unknown field " + key);
  }
  return body;
}

const std::uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : MSEC_FRAME_VECTORS_FILE;
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return 2;
  }
  int passed = 0;
  int failed = 0;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words_in(line);
    std::vector<std::string> w;
    for (std::string word; words_in >> word;) w.push_back(word);
    std::string problem;
    try {
      if (w.at(0) == "head") {
        srpc::CRpcHead head;
        ApplyFields(w, 2, &head);
        const std::string expected = FromHex(w.at(1));
        srpc::CRpcHead decoded;
        if (head.SerializeAsString() != expected) problem = "encoded " + ToHex(head.SerializeAsString());
        else if (!decoded.ParseFromString(expected) || decoded.SerializeAsString() != expected) problem = "decode changed the head";
      } else if (w.at(0) == "frame") {
        srpc::CRpcHead head;
        const std::string body = ApplyFields(w, 2, &head);
        const std::string expected = FromHex(w.at(1));
        std::string frame;
        srpc::CRpcHead decoded_head;
        std::string decoded_body;
        const int encoded = msec::EncodeFrame(head, body, &frame);
        const int decoded = msec::DecodeFrame(Bytes(expected), expected.size(), &decoded_head, &decoded_body);
        if (encoded != 0 || frame != expected) problem = "encoded (" + std::to_string(encoded) + ") " + ToHex(frame);
        else if (msec::CheckFrame(Bytes(expected), expected.size()) != static_cast<std::int64_t>(expected.size())) problem = "check";
        else if (decoded != 0) problem = "decode returned " + std::to_string(decoded);
        else if (decoded_head.SerializeAsString() != head.SerializeAsString() || decoded_body != body) problem = "decode differs";
      } else if (w.at(0) == "check") {
        const std::string input = FromHex(w.at(1));
        const std::int64_t got = msec::CheckFrame(input.empty() ? nullptr : Bytes(input), input.size());
        if (got != std::stoll(w.at(2))) problem = "got " + std::to_string(got);
      } else if (w.at(0) == "unpack") {
        const std::string input = FromHex(w.at(1));
        srpc::CRpcHead head;
        std::string body;
        const int got = msec::DecodeFrame(Bytes(input), input.size(), &head, &body);
        if (got != std::stoi(w.at(2))) problem = "got " + std::to_string(got);
      } else if (w.at(0) == "color") {
        const std::uint32_t got = msec::ColorId(FromHex(w.at(1)));
        if (got != std::stoull(w.at(2))) problem = "got " + std::to_string(got);
      } else if (w.at(0) == "flow") {
        const std::uint64_t got = msec::DefaultFlowId(FromHex(w.at(1)), std::stoull(w.at(2)));
        if (got != std::stoull(w.at(3))) problem = "got " + std::to_string(got);
      } else {
        problem = "unknown vector kind";
      }
    } catch (const std::exception& e) {
      problem = std::string("bad line: ") + e.what();
    }
    if (problem.empty()) {
      ++passed;
    } else {
      ++failed;
      std::cout << "FAIL " << path << ":" << line_no << ": " << problem << "\n";
    }
  }
  std::cout << passed << " vectors passed, " << failed << " failed\n";
  return failed == 0 && passed > 0 ? 0 : 1;
}
