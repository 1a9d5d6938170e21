<?php

declare(strict_types=1);

namespace Msec\Route;

use Msec\Config;

/**
 * Resolves routing names from etcd v3 through its JSON gateway (`POST
 * /v3/kv/range`, PHP streams; no extension needed), with the key layout every
 * msec-gen runtime shares:
 *
 *     <prefix>/services/<Group.Service>/<ip:port>  →  {"ip":"10.0.0.2","port":7963,"protocol":"tcp","weight":100}
 *
 * A PHP process is short-lived, so there is no watch: the first lookup reads
 * every route under `<prefix>/services/` in one request and keeps them for
 * CACHE_MS; the next lookup after that reads again. When etcd cannot be
 * reached the last routes read keep serving (and the read is retried on the
 * next lookup after RETRY_MS); a name it does not know falls through to the
 * next resolver. Endpoints are tried in turn, starting with the one that
 * answered last. The cache belongs to this object, i.e. to one PHP process.
 */
final class EtcdResolver implements Resolver
{
    public const ENDPOINTS_ENV = 'MSEC_ETCD_ENDPOINTS';
    public const PREFIX_ENV = 'MSEC_ETCD_PREFIX';
    public const DEFAULT_PREFIX = '/msec';
    /** How long routes read from etcd are used before the next read. */
    public const CACHE_MS = 1000;
    /** After a failed read, the next attempt waits this long (the stale cache serves meanwhile). */
    public const RETRY_MS = 250;
    /** Budget of one request to one endpoint. */
    public const REQUEST_TIMEOUT_MS = 2000;

    /** @var list<string> */
    private array $endpoints;
    private string $prefix;
    /** @var array<string, list<Instance>>|null */
    private ?array $cache = null;
    private float $readAt = -INF;
    private ?string $lastError = null;
    private int $current = 0;
    /** @var \Closure(): float */
    private \Closure $now;

    /**
     * @param list<string>|string $endpoints etcd client URLs (`http://host:port`), a list or comma-separated
     * @param (callable(): float)|null $now clock in ms
     */
    public function __construct(array|string $endpoints, string $prefix = self::DEFAULT_PREFIX, ?callable $now = null)
    {
        $this->endpoints = self::parseEndpoints(is_array($endpoints) ? implode(',', $endpoints) : $endpoints);
        $this->prefix = rtrim($prefix, '/');
        $this->now = $now === null ? static fn (): float => microtime(true) * 1000 : \Closure::fromCallable($now);
    }

    /**
     * The resolver users' programs get: endpoints from `$MSEC_ETCD_ENDPOINTS`,
     * else `[ROUTE] etcd` in the config; prefix from `$MSEC_ETCD_PREFIX`, else
     * `[ROUTE] etcd_prefix`, else `/msec`. Null when no endpoints are configured.
     */
    public static function fromEnvironment(string $configFile = Config::DEFAULT_PATH): ?self
    {
        $config = Config::load($configFile);
        $env = getenv(self::ENDPOINTS_ENV);
        $endpoints = is_string($env) && trim($env) !== '' ? $env : $config->get('ROUTE', 'etcd');
        if ($endpoints === null || trim($endpoints) === '') {
            return null;
        }
        $envPrefix = getenv(self::PREFIX_ENV);
        $prefix = is_string($envPrefix) && $envPrefix !== '' ? $envPrefix : ($config->get('ROUTE', 'etcd_prefix') ?? self::DEFAULT_PREFIX);
        return new self($endpoints, $prefix);
    }

    /** @return list<string> */
    public static function parseEndpoints(string $text): array
    {
        $out = [];
        foreach (explode(',', $text) as $e) {
            $e = rtrim(trim($e), '/');
            if ($e === '') {
                continue;
            }
            if (preg_match('#^https?://[^/\s]+$#', $e) !== 1) {
                throw new \InvalidArgumentException("invalid etcd endpoint \"$e\" (expected http://host:port)");
            }
            $out[] = $e;
        }
        if ($out === []) {
            throw new \InvalidArgumentException('no etcd endpoints given');
        }
        return $out;
    }

    public function resolve(string $service): ?array
    {
        $now = ($this->now)();
        $fresh = $this->lastError === null ? self::CACHE_MS : self::RETRY_MS;
        if ($now - $this->readAt >= $fresh) {
            $this->readAt = $now;
            try {
                $this->cache = $this->readAll();
                $this->lastError = null;
            } catch (\RuntimeException $e) {
                $this->lastError = $e->getMessage();
            }
        }
        $found = $this->cache[$service] ?? null;
        return $found === null || $found === [] ? null : $found;
    }

    public function describe(): string
    {
        $what = 'etcd ' . implode(',', $this->endpoints) . ' prefix ' . $this->prefix;
        if ($this->lastError !== null) {
            $what .= " (unreachable: {$this->lastError}; " . ($this->cache === null ? 'no routes cached' : 'serving cached routes') . ')';
        }
        return $what;
    }

    /** The last read's error, null after a successful read. */
    public function lastError(): ?string
    {
        return $this->lastError;
    }

    /**
     * Reads every instance under `<prefix>/services/`; malformed keys and values are skipped.
     *
     * @return array<string, list<Instance>>
     */
    private function readAll(): array
    {
        $root = $this->prefix . '/services/';
        $reply = $this->post('/v3/kv/range', ['key' => base64_encode($root), 'range_end' => base64_encode(self::rangeEnd($root))]);
        $out = [];
        foreach ($reply['kvs'] ?? [] as $kv) {
            $key = base64_decode((string) ($kv['key'] ?? ''), true);
            $value = base64_decode((string) ($kv['value'] ?? ''), true);
            if ($key === false || $value === false || !str_starts_with($key, $root)) {
                continue;
            }
            $rest = substr($key, strlen($root));
            $slash = strpos($rest, '/');
            if ($slash === false || $slash === 0 || $slash === strlen($rest) - 1) {
                continue;
            }
            $instance = self::parseValue($value);
            if ($instance !== null) {
                $out[substr($rest, 0, $slash)][] = $instance;
            }
        }
        return $out;
    }

    /** A stored value, or null when it is not a valid instance (the TS runtime's rules). */
    private static function parseValue(string $text): ?Instance
    {
        $v = json_decode($text, true);
        if (!is_array($v)) {
            return null;
        }
        $ip = $v['ip'] ?? null;
        $port = $v['port'] ?? null;
        $protocol = $v['protocol'] ?? 'tcp';
        $weight = $v['weight'] ?? 100;
        if (!is_string($ip) || $ip === '' || !is_int($port) || $port < 1 || $port > 65535
            || ($protocol !== 'tcp' && $protocol !== 'udp') || !is_int($weight) || $weight <= 0) {
            return null;
        }
        return new Instance($ip, $port, $protocol, $weight);
    }

    /** etcd's `range_end` for every key starting with `$prefix`. */
    private static function rangeEnd(string $prefix): string
    {
        for ($i = strlen($prefix) - 1; $i >= 0; $i--) {
            if (ord($prefix[$i]) < 0xFF) {
                return substr($prefix, 0, $i) . chr(ord($prefix[$i]) + 1);
            }
        }
        return "\0";
    }

    /**
     * POSTs JSON to the first endpoint that answers; throws RuntimeException
     * listing each endpoint's failure when none does, or etcd's own error.
     *
     * @param array<string, mixed> $body
     * @return array<string, mixed>
     */
    private function post(string $path, array $body): array
    {
        $causes = [];
        $n = count($this->endpoints);
        for ($k = 0; $k < $n; $k++) {
            $i = ($this->current + $k) % $n;
            $endpoint = $this->endpoints[$i];
            $context = stream_context_create(['http' => [
                'method' => 'POST',
                'header' => "Content-Type: application/json\r\n",
                'content' => json_encode($body, JSON_THROW_ON_ERROR),
                'timeout' => self::REQUEST_TIMEOUT_MS / 1000,
                'ignore_errors' => true,
            ]]);
            $error = null;
            set_error_handler(static function (int $no, string $msg) use (&$error): bool {
                $error = $msg;
                return true;
            });
            try {
                $text = file_get_contents($endpoint . $path, false, $context);
            } finally {
                restore_error_handler();
            }
            if ($text === false) {
                $causes[] = "$endpoint: " . preg_replace('/^.*?: /', '', (string) $error);
                continue;
            }
            $this->current = $i;
            $status = 0;
            /** @var list<string> $http_response_header */
            if (isset($http_response_header[0]) && preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0], $m) === 1) {
                $status = (int) $m[1];
            }
            $reply = json_decode($text, true);
            if ($status !== 200 || !is_array($reply)) {
                throw new \RuntimeException("etcd answered $status: " . (is_array($reply) ? (string) ($reply['message'] ?? $text) : $text));
            }
            return $reply;
        }
        throw new \RuntimeException('etcd unreachable (' . implode('; ', $causes) . ')');
    }
}
