"""SRPC framing (spec §1): ``( head_len body_len head body )`` and the ``srpc.CRpcHead`` codec.

The head is encoded by hand (it is one small proto2 message) so framing needs no
generated code: fields in field-number order, every set field written even when
it equals its default, unknown fields kept and appended after the known ones as
C++ protobuf does.
"""
import struct
from dataclasses import dataclass, field, replace
from typing import List, Optional, Tuple

from .errors import ERR_INVALID_PKG, ERR_INVALID_PKG_HEAD, ERR_PARA_ERROR, SrpcError

STX = 0x28
ETX = 0x29
#: Fixed bytes around head and body: STX, two int32 lengths, ETX.
FRAME_OVERHEAD = 10
#: Default largest frame accepted from a peer (16 MiB). MSEC has no hard limit;
#: one is needed so a corrupt length cannot make us buffer gigabytes.
MAX_FRAME_SIZE = 16 * 1024 * 1024

#: Largest SRPC datagram read over UDP (MSEC's 64 KiB receive buffers; one frame per datagram).
UDP_MAX_DATAGRAM = 65536

_LENGTHS = struct.Struct(">ii")
_U64 = 0xFFFFFFFFFFFFFFFF


@dataclass
class RpcHead:
    """``srpc.CRpcHead``; ``None`` means the optional field is absent."""

    sequence: int = 0
    method_name: bytes = b""
    coloring: Optional[int] = None
    color_id: Optional[int] = None
    flow_id: Optional[int] = None
    err: Optional[int] = None
    result: Optional[int] = None
    err_msg: Optional[bytes] = None
    caller: Optional[bytes] = None
    caller_stack: List[bytes] = field(default_factory=list)
    #: Field 70, msec-gen's deadline extension (uint32): the caller's remaining budget in ms when
    #: the request was written; ``None`` or 0 = no deadline. MSEC peers skip it as an unknown field.
    timeout_ms: Optional[int] = None
    #: Raw bytes of fields this codec does not know, re-emitted after the known ones.
    unknown: bytes = b""

    def with_fields(self, **changes: object) -> "RpcHead":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _varint(value: int) -> bytes:
    value &= _U64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & _U64, pos
        shift += 7


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def encode_head(head: RpcHead) -> bytes:
    """Serializes a head exactly as C++/Python libprotobuf would (field-number order)."""
    out = bytearray()
    out += b"\x50" + _varint(head.sequence)
    if head.coloring is not None:
        out += b"\xa0\x01" + _varint(head.coloring & 0xFFFFFFFF)
    if head.color_id is not None:
        out += b"\xa8\x01" + _varint(head.color_id)
    if head.flow_id is not None:
        out += b"\xf0\x01" + _varint(head.flow_id)
    if head.err is not None:
        out += b"\xc0\x02" + _varint(head.err)
    if head.result is not None:
        out += b"\xc8\x02" + _varint(head.result)
    if head.err_msg is not None:
        out += b"\xd2\x02" + _varint(len(head.err_msg)) + head.err_msg
    if head.caller is not None:
        out += b"\x92\x03" + _varint(len(head.caller)) + head.caller
    out += b"\x9a\x03" + _varint(len(head.method_name)) + head.method_name
    for entry in head.caller_stack:
        out += b"\xe2\x03" + _varint(len(entry)) + entry
    if head.timeout_ms is not None:
        out += b"\xb0\x04" + _varint(head.timeout_ms & 0xFFFFFFFF)
    out += head.unknown
    return bytes(out)


def decode_head(data: bytes) -> RpcHead:
    """Parses a head; raises ``SrpcError(-4)`` when it is malformed or misses a required field."""
    head = RpcHead()
    seen_sequence = seen_method = False
    unknown = bytearray()
    pos = 0
    end = len(data)
    try:
        while pos < end:
            start = pos
            tag = data[pos]
            # Tags of one or two bytes (every known field's) are read inline, longer ones by _read_varint.
            if tag < 0x80:
                pos += 1
            elif pos + 1 < end and data[pos + 1] < 0x80:
                tag = (tag & 0x7F) | (data[pos + 1] << 7)
                pos += 2
            else:
                tag, pos = _read_varint(data, pos)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                if pos < end and data[pos] < 0x80:
                    value = data[pos]
                    pos += 1
                else:
                    value, pos = _read_varint(data, pos)
                if number == 10:
                    head.sequence, seen_sequence = value, True
                elif number == 20:
                    head.coloring = value & 0xFFFFFFFF
                elif number == 21:
                    head.color_id = value
                elif number == 30:
                    head.flow_id = value
                elif number == 40:
                    head.err = _int32(value)
                elif number == 41:
                    head.result = _int32(value)
                elif number == 70:
                    head.timeout_ms = value & 0xFFFFFFFF  # uint32: the low 32 bits, as protobuf keeps
                else:
                    unknown += data[start:pos]
            elif wire == 2:
                if pos < end and data[pos] < 0x80:
                    length = data[pos]
                    pos += 1
                else:
                    length, pos = _read_varint(data, pos)
                if pos + length > end:
                    raise ValueError("truncated field")
                value_bytes = bytes(data[pos:pos + length])
                pos += length
                if number == 42:
                    head.err_msg = value_bytes
                elif number == 50:
                    head.caller = value_bytes
                elif number == 51:
                    head.method_name, seen_method = value_bytes, True
                elif number == 60:
                    head.caller_stack.append(value_bytes)
                else:
                    unknown += data[start:pos]
            elif wire == 1:
                pos += 8
                if pos > len(data):
                    raise ValueError("truncated fixed64")
                unknown += data[start:pos]
            elif wire == 5:
                pos += 4
                if pos > len(data):
                    raise ValueError("truncated fixed32")
                unknown += data[start:pos]
            else:
                raise ValueError(f"unsupported wire type {wire}")
            if number == 0:
                raise ValueError("field number 0")
    except ValueError as exc:
        raise SrpcError(ERR_INVALID_PKG_HEAD, f"invalid package header: {exc}") from None
    if not (seen_sequence and seen_method):
        raise SrpcError(ERR_INVALID_PKG_HEAD, "invalid package header: missing sequence or method_name")
    head.unknown = bytes(unknown)
    return head


def encode_frame(head: bytes, body: bytes = b"") -> bytes:
    """Frames an encoded head and a body (which may be empty)."""
    return b"\x28" + _LENGTHS.pack(len(head), len(body)) + head + body + b"\x29"


def check_frame(buf: "bytes | bytearray") -> int:
    """``SrpcCheckPkgLen`` (spec §1.2), evaluated in the original's order.

    Returns ``-1`` for no data, ``-3`` for a malformed frame, ``0`` when more
    bytes are needed, else the length of the complete frame at the start of
    ``buf`` (trailing bytes are allowed).
    """
    n = len(buf)
    if n <= 0:
        return ERR_PARA_ERROR
    if n <= FRAME_OVERHEAD:
        return 0
    if buf[0] != STX:
        return ERR_INVALID_PKG
    head_len, body_len = _LENGTHS.unpack_from(buf, 1)
    total: int = FRAME_OVERHEAD + head_len + body_len
    if head_len < 0 or body_len < 0 or total <= FRAME_OVERHEAD:
        return ERR_INVALID_PKG
    if n < total:
        return 0
    if buf[total - 1] != ETX:
        return ERR_INVALID_PKG
    return total


def split_frame(frame: bytes) -> Tuple[bytes, bytes]:
    """Splits exactly one complete frame into (head bytes, body bytes).

    Follows ``SrpcUnpackPkg``: the length must match exactly and the head must
    be non-empty, else ``SrpcError(-3)``.
    """
    n = len(frame)
    if n <= FRAME_OVERHEAD or frame[0] != STX or frame[n - 1] != ETX:
        raise SrpcError(ERR_INVALID_PKG)
    head_len, body_len = _LENGTHS.unpack_from(frame, 1)
    if head_len <= 0 or body_len < 0 or FRAME_OVERHEAD + head_len + body_len != n:
        raise SrpcError(ERR_INVALID_PKG)
    return bytes(frame[9:9 + head_len]), bytes(frame[9 + head_len:9 + head_len + body_len])


def decode_frame(frame: bytes) -> Tuple[RpcHead, bytes]:
    """Splits one complete frame and parses its head (-3 bad frame, -4 bad head)."""
    head, body = split_frame(frame)
    return decode_head(head), body


class FrameDecoder:
    """Incremental decoder for a byte stream carrying consecutive frames.

    ``feed`` returns every frame completed by the new bytes. A malformed
    stream or a frame larger than ``max_frame_size`` raises ``SrpcError(-3)``;
    the stream cannot be resynchronised after that, so close the connection.
    """

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        #: The error that ended the stream, once it is malformed.
        self.failed: Optional[SrpcError] = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def partial(self) -> bytes:
        """The bytes of the frame still incomplete (empty when none)."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> List[bytes]:
        """Frames completed by ``data``; raises ``SrpcError(-3)`` on a malformed stream."""
        frames, error = self.push(data)
        if error is not None:
            raise error
        return frames

    def push(self, data: "bytes | bytearray | memoryview") -> "Tuple[List[bytes], Optional[SrpcError]]":
        """Like :meth:`feed`, but returns the frames completed before a malformed byte together
        with the error (a server answers them, then closes). After an error the decoder is spent."""
        if self.failed is not None:
            return [], self.failed
        self._buf += data
        frames: List[bytes] = []
        while self._buf:
            if self._buf[0] != STX:
                self.failed = SrpcError(ERR_INVALID_PKG, "invalid package: first byte is not 0x28")
            elif len(self._buf) >= 9:
                head_len, body_len = _LENGTHS.unpack_from(self._buf, 1)
                if FRAME_OVERHEAD + head_len + body_len > self.max_frame_size:
                    self.failed = SrpcError(ERR_INVALID_PKG, "invalid package: frame larger than the limit")
            if self.failed is not None:
                self._buf = bytearray()
                return frames, self.failed
            total = check_frame(self._buf)
            if total < 0:
                self.failed = SrpcError(ERR_INVALID_PKG)
                self._buf = bytearray()
                return frames, self.failed
            if total == 0:
                break
            frames.append(bytes(self._buf[:total]))
            del self._buf[:total]
        return frames, None
