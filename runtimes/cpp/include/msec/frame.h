// SRPC binary framing (spec §1): `(` head_len body_len head body `)`, lengths
// big-endian int32, head = serialized srpc.CRpcHead.
#ifndef MSEC_FRAME_H_
#define MSEC_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "msec/rpc_head.pb.h"

namespace msec {

/** First byte of every frame (ASCII `(`). */
constexpr std::uint8_t kFrameStx = 0x28;
/** Last byte of every frame (ASCII `)`). */
constexpr std::uint8_t kFrameEtx = 0x29;
/** Offset of the head: STX + two 4-byte lengths. */
constexpr std::size_t kFrameHeadOffset = 9;
/** Bytes a frame adds around head and body (STX, lengths, ETX). */
constexpr std::size_t kFrameOverhead = 10;

/**
 * Builds a frame from a head and an (already serialized) body. Returns 0, or
 * -7 (kHeaderUninit) when the head misses a required field. An empty body is
 * allowed (body_len 0), as the Python and Java clients send it.
 */
int EncodeFrame(const srpc::CRpcHead& head, const std::string& body, std::string* frame);

/**
 * Completeness check, exactly MSEC's SrpcCheckPkgLen (spec §1.2): -1 for no
 * input, 0 while more bytes are needed, -3 for bytes that are not a frame,
 * else the length of the complete frame at the start of `data` (trailing
 * bytes beyond it are allowed).
 */
std::int64_t CheckFrame(const std::uint8_t* data, std::size_t len);

/**
 * Decodes exactly one complete frame (spec §1.3): 0, or -3 when the bytes are
 * not exactly one frame with a non-empty head, -4 when the head does not
 * parse or misses a required field. The body is returned as bytes; parsing it
 * into a message (-5 on failure) is the caller's step.
 */
int DecodeFrame(const std::uint8_t* data, std::size_t len, srpc::CRpcHead* head, std::string* body);

}  // namespace msec

#endif  // MSEC_FRAME_H_
