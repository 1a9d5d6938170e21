#include "msec/frame.h"

#include "msec/status.h"

namespace msec {
namespace {

void PutBigEndian32(std::int32_t value, std::string* out) {
  const auto v = static_cast<std::uint32_t>(value);
  out->push_back(static_cast<char>((v >> 24) & 0xff));
  out->push_back(static_cast<char>((v >> 16) & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

std::int32_t GetBigEndian32(const std::uint8_t* p) {
  const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  return static_cast<std::int32_t>(v);
}

}  // namespace

int EncodeFrame(const srpc::CRpcHead& head, const std::string& body, std::string* frame) {
  if (!head.IsInitialized()) return kHeaderUninit;
  std::string head_bytes;
  if (!head.SerializeToString(&head_bytes) || head_bytes.empty()) return kHeaderUninit;
  frame->clear();
  frame->reserve(kFrameOverhead + head_bytes.size() + body.size());
  frame->push_back(static_cast<char>(kFrameStx));
  PutBigEndian32(static_cast<std::int32_t>(head_bytes.size()), frame);
  PutBigEndian32(static_cast<std::int32_t>(body.size()), frame);
  frame->append(head_bytes);
  frame->append(body);
  frame->push_back(static_cast<char>(kFrameEtx));
  return kSuccess;
}

std::int64_t CheckFrame(const std::uint8_t* data, std::size_t len) {
  if (data == nullptr || len == 0) return kParaError;
  if (len <= kFrameOverhead) return 0;
  if (data[0] != kFrameStx) return kInvalidPkg;
  const std::int64_t head_len = GetBigEndian32(data + 1);
  const std::int64_t body_len = GetBigEndian32(data + 5);
  const std::int64_t total = static_cast<std::int64_t>(kFrameOverhead) + head_len + body_len;
  if (head_len < 0 || body_len < 0 || total <= static_cast<std::int64_t>(kFrameOverhead)) return kInvalidPkg;
  if (static_cast<std::int64_t>(len) < total) return 0;
  if (data[total - 1] != kFrameEtx) return kInvalidPkg;
  return total;
}

int DecodeFrame(const std::uint8_t* data, std::size_t len, srpc::CRpcHead* head, std::string* body) {
  if (data == nullptr || len <= kFrameOverhead || data[0] != kFrameStx || data[len - 1] != kFrameEtx) return kInvalidPkg;
  const std::int64_t head_len = GetBigEndian32(data + 1);
  const std::int64_t body_len = GetBigEndian32(data + 5);
  if (head_len <= 0 || body_len < 0) return kInvalidPkg;
  if (static_cast<std::int64_t>(kFrameOverhead) + head_len + body_len != static_cast<std::int64_t>(len)) return kInvalidPkg;
  // Partial parse + explicit check: same result as ParseFromArray, without libprotobuf logging to stderr.
  if (!head->ParsePartialFromArray(data + kFrameHeadOffset, static_cast<int>(head_len)) || !head->IsInitialized()) {
    return kInvalidPkgHead;
  }
  body->assign(reinterpret_cast<const char*>(data + kFrameHeadOffset + head_len), static_cast<std::size_t>(body_len));
  return kSuccess;
}

}  // namespace msec
