"""A bounded, seeded fuzz run of the SRPC frame decoder and the HTTP parser.

Inputs: valid frames and requests, mutated (bytes flipped, inserted, deleted,
duplicated, lengths rewritten, inputs spliced) plus random bytes, each fed
whole and again in random segments. Checked: only the documented errors come
out (``SrpcError`` from the frame and head decoders, ``HttpError`` items from
the HTTP parser, which itself never raises), the results do not depend on the
segmentation, and the run cannot hang (an alarm bounds it).

The suite runs ``MSEC_FUZZ_ITERATIONS`` inputs per parser (default 20,000, a few
seconds); set it higher for a long run, e.g.
``MSEC_FUZZ_ITERATIONS=200000 python3 -m pytest tests/test_fuzz.py``; the seed is
``MSEC_FUZZ_SEED`` (default 11) and a failure names the seed and the input.
"""
import os
import random
import signal
import struct
from typing import Callable, Iterator, List, Tuple

import pytest

from http_cases import BAD_HTTP
from msec import RpcHead, SrpcError, encode_frame, encode_head
from msec.frame import FrameDecoder, decode_head, split_frame
from msec.http1 import HttpError, HttpParser, HttpRequest

ITERATIONS = int(os.environ.get("MSEC_FUZZ_ITERATIONS", "20000"))
SEED = int(os.environ.get("MSEC_FUZZ_SEED", "11"))
#: Wall-clock bound of one parser's run; a hang fails the test instead of blocking the suite.
ALARM_S = max(60, ITERATIONS // 100)


@pytest.fixture
def alarm() -> Iterator[None]:
    def timed_out(signum: int, frame: object) -> None:
        raise AssertionError(f"fuzz run exceeded {ALARM_S} s (seed {SEED})")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(ALARM_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _frames() -> List[bytes]:
    heads = [
        RpcHead(sequence=1, method_name=b"echo.EchoService.Echo", flow_id=7, caller=b"c"),
        RpcHead(sequence=2**63, method_name=b"a.B.C", coloring=1, color_id=5, err=-18, caller_stack=[b"x", b"y"]),
        RpcHead(sequence=0, method_name=b""),
    ]
    one = [encode_frame(encode_head(h), body) for h in heads for body in (b"", b"\x0a\x03abc", bytes(range(256)))]
    return one + [one[0] + one[4], one[1] * 3]


def _requests() -> List[bytes]:
    good = [
        b"POST /?methodName=a.B.C HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /health HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    ]
    return good + [g + h for g in good[:2] for h in good[2:4]] + [bad for bad, _, _ in BAD_HTTP]


def _mutate(rng: random.Random, data: bytes, pool: List[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2:
            del b[pos:pos + rng.randint(1, 16)]
        elif op == 3:
            b[pos:pos] = b[pos:pos + rng.randint(1, 64)]
        elif op == 4:
            del b[pos:]
        elif op == 5 and len(b) >= 9:  # rewrite a frame length
            struct.pack_into(">i", b, rng.choice((1, 5)), rng.choice((0, -1, 1, 2**31 - 1, rng.randrange(-10, 300))))
        elif op == 6:
            b += rng.choice(pool)
        else:
            b[pos:pos] = rng.choice((b"\r\n", b"\r\n\r\n", b"0\r\n", b":", b" ", b"\n", b"(", b")", b"\x00"))
    return bytes(b)


def _inputs(rng: random.Random, pool: List[bytes]) -> Iterator[bytes]:
    for _ in range(ITERATIONS):
        if rng.random() < 0.1:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        else:
            yield _mutate(rng, rng.choice(pool), pool)


def _segments(rng: random.Random, data: bytes) -> List[bytes]:
    out, pos = [], 0
    while pos < len(data):
        n = rng.choice((1, 1, 2, 3, 7, 16, rng.randint(1, 64), len(data)))
        out.append(data[pos:pos + n])
        pos += n
    return out


def _decode_frames(pieces: List[bytes], max_frame: int) -> Tuple[List[bytes], object]:
    decoder = FrameDecoder(max_frame)
    frames: List[bytes] = []
    for piece in pieces:
        got, error = decoder.push(piece)
        frames += got
        if error is not None:
            return frames, (error.code, error.message)
    return frames, None


def test_frame_decoder_fuzz(alarm: None) -> None:
    rng = random.Random(SEED)
    pool = _frames()
    for n, data in enumerate(_inputs(rng, pool)):
        max_frame = rng.choice((64, 1024, 16 * 1024 * 1024))
        whole = _decode_frames([data], max_frame)
        split = _decode_frames(_segments(rng, data), max_frame)
        assert split == whole, f"seed {SEED} input {n}: {data!r}"
        for frame in whole[0]:
            try:
                decode_head(split_frame(frame)[0])
            except SrpcError as exc:
                assert exc.code in (-3, -4), f"seed {SEED} input {n}: {data!r}"


def _parse_http(pieces: List[bytes], max_body: int, max_header: int) -> List[object]:
    parser = HttpParser(max_body, max_header)
    out: List[object] = []
    for piece in pieces:
        for item in parser.feed(piece):
            out.append((item.status, item.message) if isinstance(item, HttpError) else item)
    return out


def test_http_parser_fuzz(alarm: None) -> None:
    rng = random.Random(SEED)
    pool = _requests()
    for n, data in enumerate(_inputs(rng, pool)):
        max_body, max_header = rng.choice(((1 << 20, 16 * 1024), (8, 64), (100, 40)))
        whole = _parse_http([data], max_body, max_header)
        split = _parse_http(_segments(rng, data), max_body, max_header)
        assert split == whole, f"seed {SEED} input {n}: {data!r}"
        for item in whole:
            assert isinstance(item, HttpRequest) or item[0] in (400, 413, 431, 501), f"seed {SEED} input {n}: {data!r}"
            if isinstance(item, HttpRequest):
                assert len(item.body) <= max_body
