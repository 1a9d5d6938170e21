<?php

declare(strict_types=1);

namespace Msec;

/**
 * SRPC framing (spec §1.1–§1.3): `(` | head_len (int32 BE) | body_len (int32 BE) | head | body | `)`.
 */
final class Frame
{
    public const STX = "\x28";
    public const ETX = "\x29";
    /** Bytes of framing around head and body. */
    public const OVERHEAD = 10;

    private function __construct()
    {
    }

    /** Packs a serialized head and body (the body may be empty) into one frame. */
    public static function pack(string $head, string $body): string
    {
        return self::STX . pack('NN', strlen($head), strlen($body)) . $head . $body . self::ETX;
    }

    /**
     * MSEC's completeness check `SrpcCheckPkgLen` (spec §1.2), in its exact order:
     * < 0 malformed (-1 empty input, -3 invalid), 0 need more bytes, > 0 the
     * length of the complete frame at the start of `$buf` (trailing bytes allowed).
     */
    public static function check(string $buf): int
    {
        $len = strlen($buf);
        if ($len <= 0) {
            return ErrorCode::PARA_ERROR;
        }
        if ($len <= self::OVERHEAD) {
            return 0;
        }
        if ($buf[0] !== self::STX) {
            return ErrorCode::INVALID_PKG;
        }
        [$headLen, $bodyLen] = self::lengths($buf);
        if ($headLen < 0 || $bodyLen < 0 || $headLen + $bodyLen <= 0) {
            return ErrorCode::INVALID_PKG;
        }
        $total = self::OVERHEAD + $headLen + $bodyLen;
        if ($len < $total) {
            return 0;
        }
        if ($buf[$total - 1] !== self::ETX) {
            return ErrorCode::INVALID_PKG;
        }
        return $total;
    }

    /**
     * Splits exactly one complete frame into its head and body (spec §1.3):
     * SrpcError(-3) when the bytes are not one frame, (-4) when the head does
     * not parse or lacks a required field.
     *
     * @return array{0: RpcHead, 1: string}
     */
    public static function unpack(string $frame): array
    {
        $len = strlen($frame);
        if ($len <= self::OVERHEAD || $frame[0] !== self::STX || $frame[$len - 1] !== self::ETX) {
            throw new SrpcError(ErrorCode::INVALID_PKG, 'not an SRPC frame');
        }
        [$headLen, $bodyLen] = self::lengths($frame);
        if ($headLen <= 0 || $bodyLen < 0 || self::OVERHEAD + $headLen + $bodyLen !== $len) {
            throw new SrpcError(ErrorCode::INVALID_PKG, 'frame lengths do not match its size');
        }
        $head = RpcHead::decode(substr($frame, 9, $headLen));
        return [$head, substr($frame, 9 + $headLen, $bodyLen)];
    }

    /**
     * MSEC's colour id `gen_colorid` (spec §1.6): djb2 over the UTF-8 bytes read
     * as signed chars, with an unsigned 32-bit accumulator.
     */
    public static function colorId(string $name): int
    {
        $h = 5381;
        $n = strlen($name);
        for ($i = 0; $i < $n; $i++) {
            $c = ord($name[$i]);
            if ($c >= 0x80) {
                $c -= 0x100;
            }
            $h = ($h * 33 + $c) & 0xFFFFFFFF;
        }
        return $h;
    }

    /** @return array{0: int, 1: int} head_len and body_len as signed int32 */
    private static function lengths(string $buf): array
    {
        /** @var array{1: int, 2: int} $u */
        $u = unpack('N2', $buf, 1);
        $s = static fn (int $v): int => $v >= 0x80000000 ? $v - 0x100000000 : $v;
        return [$s($u[1]), $s($u[2])];
    }
}
