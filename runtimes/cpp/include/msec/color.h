// Colour ids and default flow ids of request heads (spec §1.6).
#ifndef MSEC_COLOR_H_
#define MSEC_COLOR_H_

#include <cstdint>
#include <string_view>

namespace msec {

/**
 * MSEC's gen_colorid: djb2 over the UTF-8 bytes, each byte added as a signed
 * char, in an unsigned 32-bit accumulator. "echo.EchoService.Echo" → 1154275343.
 */
std::uint32_t ColorId(std::string_view method);

/** Default CRpcHead.flow_id of a request: ColorId(method) XOR sequence. */
std::uint64_t DefaultFlowId(std::string_view method, std::uint64_t sequence);

}  // namespace msec

#endif  // MSEC_COLOR_H_
