<?php

declare(strict_types=1);

namespace Msec;

/**
 * `srpc.CRpcHead` (proto2, spec §1.5) with a hand-written codec: no generated
 * code, so the runtime's framing works without any `.proto` compiled.
 *
 * Presence follows proto2: a field is `null` when absent and written when set,
 * even to 0 or '' (`coloring = 0` is emitted as `A0 01 00`). Fields are written
 * in field-number order, as C++ and Java protobuf do, so heads are
 * byte-identical to MSEC's. 64-bit fields are PHP ints holding the unsigned
 * value's bits (a uint64 above PHP_INT_MAX reads as negative; `sprintf('%u')`
 * prints it). Unknown fields are skipped when decoding.
 */
final class RpcHead
{
    /** Required: per-call sequence number, echoed by the server. */
    public ?int $sequence = null;
    /** 1 = log this request chain at every level. */
    public ?int $coloring = null;
    /** djb2 of the method name (see Frame::colorId). */
    public ?int $colorId = null;
    /** End-to-end request id. */
    public ?int $flowId = null;
    /** Framework error code of a reply (ErrorCode). */
    public ?int $err = null;
    /** Business return value (unused by MSEC). */
    public ?int $result = null;
    /** Error text (Java and msec-gen servers set it). */
    public ?string $errMsg = null;
    /** Caller service name. */
    public ?string $caller = null;
    /** Required: `package.Service.Method`. */
    public ?string $methodName = null;
    /** @var list<string> Call stack of method names. */
    public array $callerStack = [];
    /** msec-gen field 70: the caller's remaining budget in ms when the request was written; null/0 = no deadline. */
    public ?int $timeoutMs = null;

    /** Serializes the head; fields in field-number order. */
    public function encode(): string
    {
        $out = '';
        if ($this->sequence !== null) {
            $out .= "\x50" . self::varint($this->sequence);
        }
        if ($this->coloring !== null) {
            $out .= "\xA0\x01" . self::varint($this->coloring & 0xFFFFFFFF);
        }
        if ($this->colorId !== null) {
            $out .= "\xA8\x01" . self::varint($this->colorId);
        }
        if ($this->flowId !== null) {
            $out .= "\xF0\x01" . self::varint($this->flowId);
        }
        if ($this->err !== null) {
            $out .= "\xC0\x02" . self::varint(self::int32($this->err));
        }
        if ($this->result !== null) {
            $out .= "\xC8\x02" . self::varint(self::int32($this->result));
        }
        if ($this->errMsg !== null) {
            $out .= "\xD2\x02" . self::varint(strlen($this->errMsg)) . $this->errMsg;
        }
        if ($this->caller !== null) {
            $out .= "\x92\x03" . self::varint(strlen($this->caller)) . $this->caller;
        }
        if ($this->methodName !== null) {
            $out .= "\x9A\x03" . self::varint(strlen($this->methodName)) . $this->methodName;
        }
        foreach ($this->callerStack as $entry) {
            $out .= "\xE2\x03" . self::varint(strlen($entry)) . $entry;
        }
        if ($this->timeoutMs !== null) {
            $out .= "\xB0\x04" . self::varint($this->timeoutMs & 0xFFFFFFFF);
        }
        return $out;
    }

    /**
     * Parses a head. Throws SrpcError(-4) when the bytes are not a valid
     * CRpcHead or a required field (`sequence`, `method_name`) is missing.
     */
    public static function decode(string $bytes): self
    {
        $head = new self();
        $pos = 0;
        $len = strlen($bytes);
        while ($pos < $len) {
            $tag = self::readVarint($bytes, $pos);
            $field = $tag >> 3;
            $wire = $tag & 7;
            if ($field === 0) {
                throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'field number 0 in head');
            }
            if ($wire === 0) {
                $v = self::readVarint($bytes, $pos);
                match ($field) {
                    10 => $head->sequence = $v,
                    20 => $head->coloring = $v & 0xFFFFFFFF,
                    21 => $head->colorId = $v,
                    30 => $head->flowId = $v,
                    40 => $head->err = self::signed32($v),
                    41 => $head->result = self::signed32($v),
                    70 => $head->timeoutMs = $v & 0xFFFFFFFF,
                    default => null,
                };
                if (in_array($field, [42, 50, 51, 60], true)) {
                    throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, "head field $field has the wrong wire type");
                }
            } elseif ($wire === 2) {
                $n = self::readVarint($bytes, $pos);
                if ($n < 0 || $n > $len - $pos) {
                    throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'truncated head');
                }
                $s = substr($bytes, $pos, $n);
                $pos += $n;
                match ($field) {
                    42 => $head->errMsg = $s,
                    50 => $head->caller = $s,
                    51 => $head->methodName = $s,
                    60 => $head->callerStack[] = $s,
                    default => null,
                };
                if (in_array($field, [10, 20, 21, 30, 40, 41, 70], true)) {
                    throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, "head field $field has the wrong wire type");
                }
            } elseif ($wire === 1 || $wire === 5) {
                $n = $wire === 1 ? 8 : 4;
                if ($len - $pos < $n) {
                    throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'truncated head');
                }
                if (in_array($field, [10, 20, 21, 30, 40, 41, 42, 50, 51, 60, 70], true)) {
                    throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, "head field $field has the wrong wire type");
                }
                $pos += $n;
            } else {
                throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, "unsupported wire type $wire in head");
            }
        }
        if ($head->sequence === null || $head->methodName === null) {
            throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'head lacks ' . ($head->sequence === null ? 'sequence' : 'method_name'));
        }
        return $head;
    }

    /** Base-128 varint of the 64 bits of `$v` (negative = the high bit set). */
    public static function varint(int $v): string
    {
        $out = '';
        while ($v < 0 || $v > 0x7F) {
            $out .= chr(($v & 0x7F) | 0x80);
            $v = ($v >> 7) & 0x01FFFFFFFFFFFFFF; // logical shift
        }
        return $out . chr($v);
    }

    private static function readVarint(string $bytes, int &$pos): int
    {
        $v = 0;
        $len = strlen($bytes);
        for ($shift = 0; $shift < 64; $shift += 7) {
            if ($pos >= $len) {
                throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'truncated varint in head');
            }
            $b = ord($bytes[$pos++]);
            $v |= ($b & 0x7F) << $shift;
            if ($b < 0x80) {
                return $v;
            }
        }
        throw new SrpcError(ErrorCode::INVALID_PKG_HEAD, 'varint longer than 10 bytes in head');
    }

    /** int32 as protobuf writes it: negative values sign-extended to 64 bits. */
    private static function int32(int $v): int
    {
        return self::signed32($v & 0xFFFFFFFF);
    }

    private static function signed32(int $v): int
    {
        $v &= 0xFFFFFFFF;
        return $v >= 0x80000000 ? $v - 0x100000000 : $v;
    }
}
