<?php

declare(strict_types=1);

namespace Msec\Route;

use Msec\Config;

/**
 * The routes file, in the plain-text format every msec-gen runtime parses the same way:
 *
 *     # <Group.Service> <ip:port[@tcp|@udp]> [weight=N]
 *     VOA.Crawl     10.0.0.1:7963
 *     VOA.Crawl     10.0.0.2:7963  weight=200
 *
 * `#` starts a comment; blank lines are ignored; the default weight is 100.
 * Located by `$MSEC_ROUTES`, else `[ROUTE] File` in `etc/config.ini`, else
 * `etc/routes.conf` relative to the working directory; re-read when its
 * mtime or size changes (checked at most once per RECHECK_MS).
 */
final class RoutesFile implements Resolver
{
    public const DEFAULT_WEIGHT = 100;
    public const ENV = 'MSEC_ROUTES';
    public const DEFAULT_FILE = 'etc/routes.conf';
    public const RECHECK_MS = 1000;

    private string $loadedPath = '';
    private string $loadedStamp = '';
    private float $checkedAt = -INF;
    /** @var array<string, list<Instance>> */
    private array $routes = [];
    private ?RoutesFileError $failure = null;
    /** @var \Closure(): float */
    private \Closure $now;

    /**
     * @param string|null $path fixed path; default: defaultPath() on every check, so MSEC_ROUTES changes apply
     * @param string $configFile config whose `[ROUTE] File` names the routes file
     * @param (callable(): float)|null $now clock in ms for the recheck interval
     */
    public function __construct(
        private readonly ?string $path = null,
        private readonly string $configFile = Config::DEFAULT_PATH,
        ?callable $now = null,
    ) {
        $this->now = $now === null ? static fn (): float => microtime(true) * 1000 : \Closure::fromCallable($now);
    }

    /** `$MSEC_ROUTES`, else `[ROUTE] File` of the config, else `etc/routes.conf`. */
    public static function defaultPath(string $configFile = Config::DEFAULT_PATH): string
    {
        $env = getenv(self::ENV);
        if (is_string($env) && $env !== '') {
            return $env;
        }
        return Config::load($configFile)->get('ROUTE', 'File') ?? self::DEFAULT_FILE;
    }

    /**
     * Parses routes-file text into instances per service name, in file order.
     * Throws RoutesFileError (`file:line: …`) for the first bad line.
     *
     * @return array<string, list<Instance>>
     */
    public static function parse(string $text, string $filename = '<routes>'): array
    {
        $routes = [];
        foreach (preg_split('/\r?\n/', $text) ?: [] as $i => $raw) {
            $line = trim(explode('#', $raw, 2)[0]);
            if ($line === '') {
                continue;
            }
            $fail = static fn (string $detail): RoutesFileError => new RoutesFileError($filename, $i + 1, $detail);
            $parts = preg_split('/\s+/', $line) ?: [];
            if (count($parts) < 2 || count($parts) > 3) {
                throw $fail("expected \"<Group.Service> <ip:port[@tcp|@udp]> [weight=N]\", got \"$line\"");
            }
            [$name, $addressText] = $parts;
            $weightText = $parts[2] ?? null;
            if (preg_match('/^[^.:@\s]+(\.[^.:@\s]+)+$/', $name) !== 1) {
                throw $fail("service name \"$name\" is not of the form Group.Service");
            }
            $route = Route::parseLiteral($addressText);
            $at = strpos($addressText, '@');
            $suffix = $at === false ? 'tcp' : substr($addressText, $at + 1);
            if ($route === null || ($suffix !== 'tcp' && $suffix !== 'udp')) {
                throw $fail("invalid address \"$addressText\" (expected ip:port, ip:port@tcp or ip:port@udp)");
            }
            $weight = self::DEFAULT_WEIGHT;
            if ($weightText !== null) {
                if (preg_match('/^weight=([0-9]+)$/', $weightText, $m) !== 1 || (int) $m[1] <= 0 || strlen($m[1]) > 15) {
                    throw $fail("expected weight=N with N > 0, got \"$weightText\"");
                }
                $weight = (int) $m[1];
            }
            foreach ($routes[$name] ?? [] as $existing) {
                if ($existing->ip === $route->ip && $existing->port === $route->port) {
                    throw $fail("$name lists $addressText twice");
                }
            }
            $routes[$name][] = new Instance($route->ip, $route->port, $route->type, $weight);
        }
        return $routes;
    }

    public function resolve(string $service): ?array
    {
        $this->refresh();
        if ($this->failure !== null) {
            throw $this->failure;
        }
        return $this->routes[$service] ?? null;
    }

    public function describe(): string
    {
        $path = $this->currentPath();
        $missing = $path === $this->loadedPath && $this->loadedStamp === 'missing';
        return "routes file $path" . ($missing ? ' (missing)' : '');
    }

    private function currentPath(): string
    {
        return $this->path ?? self::defaultPath($this->configFile);
    }

    private function refresh(): void
    {
        $path = $this->currentPath();
        $t = ($this->now)();
        if ($path === $this->loadedPath && $t - $this->checkedAt < self::RECHECK_MS) {
            return;
        }
        $this->checkedAt = $t;
        clearstatcache(true, $path);
        $stat = @stat($path);
        if ($stat === false) {
            $this->loadedPath = $path;
            $this->loadedStamp = 'missing';
            $this->routes = [];
            $this->failure = null;
            return;
        }
        $stamp = $stat['mtime'] . ':' . $stat['size'] . ':' . $stat['ino'];
        if ($path === $this->loadedPath && $stamp === $this->loadedStamp) {
            return;
        }
        $this->loadedPath = $path;
        $this->loadedStamp = $stamp;
        try {
            $text = @file_get_contents($path);
            $this->routes = self::parse($text === false ? '' : $text, $path);
            $this->failure = null;
        } catch (RoutesFileError $e) {
            $this->routes = [];
            $this->failure = $e;
        }
    }
}
