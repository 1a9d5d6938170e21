<?php

declare(strict_types=1);

namespace Msec;

/**
 * One TCP connection (pooled, multiplexed by sequence) or one UDP socket
 * (one call). Internal to Client.
 *
 * @internal
 */
final class Connection
{
    /** Sequences of calls that timed out on this connection, remembered so their late replies are dropped quietly. */
    private const EXPIRED_MAX = 1024;

    public string $rbuf = '';
    public string $wbuf = '';
    /** @var array<int, int> sequence → index of the call in the running batch */
    public array $pending = [];
    /** @var array<int, true> */
    public array $expired = [];
    public bool $closed = false;
    private int $nextSeq;

    /** @param resource $stream */
    public function __construct(public $stream, public readonly string $address, public readonly bool $udp)
    {
        $this->nextSeq = random_int(1, 0x7FFFFFFF);
    }

    /** The next sequence number (32-bit, counts up, never 0). */
    public function nextSequence(): int
    {
        $seq = $this->nextSeq;
        $this->nextSeq = $this->nextSeq >= 0xFFFFFFFF ? 1 : $this->nextSeq + 1;
        return $seq;
    }

    public function expire(int $seq): void
    {
        unset($this->pending[$seq]);
        $this->expired[$seq] = true;
        if (count($this->expired) > self::EXPIRED_MAX) {
            unset($this->expired[array_key_first($this->expired)]);
        }
    }

    public function close(): void
    {
        if (!$this->closed) {
            $this->closed = true;
            @fclose($this->stream);
        }
    }

    /** True when an idle pooled connection is still usable (the peer has not closed it). */
    public function alive(): bool
    {
        if ($this->closed) {
            return false;
        }
        $r = [$this->stream];
        $w = null;
        $e = null;
        if (@stream_select($r, $w, $e, 0) === 1) {
            $data = @fread($this->stream, 65536);
            if ($data === false || $data === '') {
                return false;
            }
            $this->rbuf .= $data; // stray bytes (a late reply): parsed with the next call's replies
        }
        return true;
    }
}
