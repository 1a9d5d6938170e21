<?php

declare(strict_types=1);

namespace Msec\Route;

/** Where one call goes: an IP, a port and a transport. */
final class Route
{
    public function __construct(
        public readonly string $ip,
        public readonly int $port,
        /** 'tcp' or 'udp' */
        public readonly string $type = 'tcp',
    ) {
    }

    /**
     * Parses a literal address used as a service name: `ip:port`,
     * `ip:port@tcp`, `ip:port@udp` (any other suffix means TCP, as in MSEC's
     * `getroute`; IPv6 hosts in brackets). Null when `$text` is not one
     * (e.g. a `Group.Service` routing name).
     */
    public static function parseLiteral(string $text): ?self
    {
        $at = strpos($text, '@');
        $main = $at === false ? $text : substr($text, 0, $at);
        $suffix = $at === false ? '' : substr($text, $at + 1);
        $colon = strrpos($main, ':');
        if ($colon === false || $colon === 0) {
            return null;
        }
        $ip = substr($main, 0, $colon);
        $portText = substr($main, $colon + 1);
        if (preg_match('/^[0-9]{1,5}$/', $portText) !== 1) {
            return null;
        }
        $port = (int) $portText;
        if ($port < 1 || $port > 65535) {
            return null;
        }
        if (str_starts_with($ip, '[') && str_ends_with($ip, ']')) {
            $ip = substr($ip, 1, -1);
        }
        if ($ip === '') {
            return null;
        }
        return new self($ip, $port, $suffix === 'udp' ? 'udp' : 'tcp');
    }

    /** `ip:port` (IPv6 bracketed): the key of the balancer and the connection pool. */
    public function address(): string
    {
        return str_contains($this->ip, ':') ? "[{$this->ip}]:{$this->port}" : "{$this->ip}:{$this->port}";
    }
}
