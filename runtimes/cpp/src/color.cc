#include "msec/color.h"

namespace msec {

std::uint32_t ColorId(std::string_view method) {
  std::uint32_t hash = 5381;
  for (const char c : method) {
    // The byte as a signed char (bytes >= 0x80 add negative values), mod 2^32.
    hash = hash * 33 + static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
  }
  return hash;
}

std::uint64_t DefaultFlowId(std::string_view method, std::uint64_t sequence) {
  return std::uint64_t{ColorId(method)} ^ sequence;
}

}  // namespace msec
