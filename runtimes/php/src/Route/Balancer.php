<?php

declare(strict_types=1);

namespace Msec\Route;

/**
 * MSEC NLB load balancing (spec §7.3 selection, §7.4 weight adjustment), per
 * routing name — a port of the TypeScript runtime's `Balancer`
 * (runtimes/ts/src/route/balancer.ts), the reference every runtime follows.
 *
 * Pick: weighted random over alive servers by dynamic weight; with dead
 * servers, a dead pool of `int(aliveWeight × 0.01 + 1)` probes a random dead
 * server at most `max(1, int(requests of last period × 0.01))` times per
 * period; a pick whose success ratio this period is below 0.6 with at least
 * `shapingRequestMin` requests is replaced by a uniformly random server; all
 * dead → uniformly random server. Every BALANCE_PERIOD_MS (checked on pick
 * and update; no timer) the period's results adjust the weights (normal /
 * protect mode, growth by 5 % of static weight, ratio² decrease, death at
 * ratio ≤ 0.00001, revival at 10 %). A refused connection makes a server
 * dead at once and held out of picks for REFUSED_HOLD_MS. Alive servers
 * first, dead last.
 *
 * State lives in this object; in PHP that is one process (one request of a
 * PHP-FPM worker keeps it only while the process lives — see docs/caller-php.md).
 */
final class Balancer
{
    public const BALANCE_PERIOD_MS = 5000;
    public const SHAPING_REQUEST_MIN = 10;
    public const SUCCESS_RATIO_BASE = 0.98;
    public const SUCCESS_RATIO_MIN = 0.6;
    public const RESUME_WEIGHT_RATIO = 0.1;
    public const DEAD_RETRY_RATIO = 0.01;
    public const WEIGHT_LOW_WATERMARK = 0.5;
    public const WEIGHT_LOW_RATIO = 0.5;
    public const WEIGHT_INCR_RATIO = 0.05;
    public const DEAD_SUCCESS_RATIO = 0.00001;
    public const REFUSED_HOLD_MS = 5000;

    /** @var array<string, array{servers: list<array<string, mixed>>, adjustedAt: float, deadRetryLeft: int, signature: string}> */
    private array $services = [];
    /** @var \Closure(): float */
    private \Closure $now;
    /** @var \Closure(int): int */
    private \Closure $randomInt;
    public readonly int $shapingRequestMin;

    /**
     * @param (callable(): (int|float))|null $now clock in ms (default: wall clock)
     * @param (callable(int): int)|null $randomInt random integer in [0, n) (default: random_int)
     * @param int $shapingRequestMin requests a server needs in a period before its success ratio is judged
     */
    public function __construct(?callable $now = null, ?callable $randomInt = null, int $shapingRequestMin = self::SHAPING_REQUEST_MIN)
    {
        $this->now = $now === null ? static fn (): float => microtime(true) * 1000 : static fn (): float => (float) $now();
        $this->randomInt = $randomInt === null ? static fn (int $n): int => random_int(0, $n - 1) : \Closure::fromCallable($randomInt);
        $this->shapingRequestMin = $shapingRequestMin;
    }

    /**
     * Chooses one of `$instances` for `$name`; null when the list is empty.
     *
     * @param list<Instance> $instances
     */
    public function pick(string $name, array $instances): ?Route
    {
        if ($instances === []) {
            return null;
        }
        $this->service($name, $instances);
        $this->tick($name);
        $svc = &$this->services[$name];
        $now = ($this->now)();
        $unheld = [];
        foreach ($svc['servers'] as $i => $s) {
            if ($s['heldUntil'] <= $now) {
                $unheld[] = $i;
            }
        }
        $candidates = $unheld !== [] ? $unheld : array_keys($svc['servers']);
        $alive = [];
        $dead = [];
        $aliveWeight = 0;
        foreach ($candidates as $i) {
            if ($svc['servers'][$i]['dead']) {
                $dead[] = $i;
            } else {
                $alive[] = $i;
                $aliveWeight += $svc['servers'][$i]['dynamic'];
            }
        }
        if ($alive === [] || $aliveWeight <= 0) {
            return $svc['servers'][$candidates[$this->rand(count($candidates))]]['route'];
        }
        $total = $aliveWeight + ($dead !== [] ? (int) floor($aliveWeight * self::DEAD_RETRY_RATIO + 1) : 0);
        if ($this->rand($total) >= $aliveWeight && $svc['deadRetryLeft'] > 0) {
            $svc['deadRetryLeft']--;
            return $svc['servers'][$dead[$this->rand(count($dead))]]['route'];
        }
        $r = $this->rand($aliveWeight);
        $chosen = $alive[count($alive) - 1];
        foreach ($alive as $i) {
            if ($r < $svc['servers'][$i]['dynamic']) {
                $chosen = $i;
                break;
            }
            $r -= $svc['servers'][$i]['dynamic'];
        }
        $c = $svc['servers'][$chosen];
        $requests = $c['success'] + $c['failed'];
        if ($requests >= $this->shapingRequestMin && $requests > 0 && $c['success'] / $requests < self::SUCCESS_RATIO_MIN) {
            $chosen = $candidates[$this->rand(count($candidates))];
        }
        return $svc['servers'][$chosen]['route'];
    }

    /**
     * A connection to `$address` was refused: the server is dead now and held
     * out of picks for REFUSED_HOLD_MS. False when service or address is unknown.
     */
    public function markRefused(string $name, string $address): bool
    {
        if (!isset($this->services[$name])) {
            return false;
        }
        $svc = &$this->services[$name];
        foreach ($svc['servers'] as $i => $s) {
            if ($s['address'] === $address) {
                $now = ($this->now)();
                $svc['servers'][$i]['failed']++;
                $svc['servers'][$i]['dead'] = true;
                $svc['servers'][$i]['dynamic'] = 0;
                $svc['servers'][$i]['deadSince'] = $now;
                $svc['servers'][$i]['heldUntil'] = $now + self::REFUSED_HOLD_MS;
                $svc['servers'] = self::aliveFirst($svc['servers']);
                return true;
            }
        }
        return false;
    }

    /**
     * Reports one call's outcome: `$failed` ≥ 1 failures, 0 = one success
     * taking `$costMs`. `$address` is `ip:port`, or a bare ip matching any
     * port of that host (MSEC reports by IP). False when unknown.
     */
    public function update(string $name, string $address, int $failed, float $costMs): bool
    {
        if (!isset($this->services[$name])) {
            return false;
        }
        $svc = &$this->services[$name];
        foreach ($svc['servers'] as $i => $s) {
            if ($s['address'] === $address || $s['route']->ip === $address) {
                if ($failed > 0) {
                    $svc['servers'][$i]['failed'] += $failed;
                } else {
                    $svc['servers'][$i]['success']++;
                    $svc['servers'][$i]['costMs'] += $costMs;
                }
                unset($svc);
                $this->tick($name);
                return true;
            }
        }
        return false;
    }

    /** Adjusts `$name`'s weights if a period has passed since the last adjustment. */
    public function tick(string $name): void
    {
        if (!isset($this->services[$name])) {
            return;
        }
        $now = ($this->now)();
        if ($now - $this->services[$name]['adjustedAt'] < self::BALANCE_PERIOD_MS) {
            return;
        }
        $this->services[$name]['adjustedAt'] = $now;
        $this->adjust($name, $now);
    }

    /**
     * Current weights of `$name` in the balancer's order (alive first).
     *
     * @return list<array{address: string, staticWeight: int, dynamicWeight: int, dead: bool}>
     */
    public function weights(string $name): array
    {
        $out = [];
        foreach ($this->services[$name]['servers'] ?? [] as $s) {
            $out[] = ['address' => $s['address'], 'staticWeight' => $s['staticWeight'], 'dynamicWeight' => $s['dynamic'], 'dead' => $s['dead']];
        }
        return $out;
    }

    private function rand(int $n): int
    {
        return ($this->randomInt)($n);
    }

    /** @param list<Instance> $instances */
    private function service(string $name, array $instances): void
    {
        $signature = implode(' ', array_map(static fn (Instance $i): string => "{$i->address()}@{$i->type}={$i->weight}", $instances));
        $old = [];
        if (isset($this->services[$name])) {
            if ($this->services[$name]['signature'] === $signature) {
                return;
            }
            foreach ($this->services[$name]['servers'] as $s) {
                $old["{$s['address']}@{$s['route']->type}"] = $s;
            }
        }
        $servers = [];
        foreach ($instances as $i) {
            $prev = $old["{$i->address()}@{$i->type}"] ?? null;
            if ($prev !== null && $prev['staticWeight'] === $i->weight) {
                $servers[] = $prev;
                continue;
            }
            $servers[] = [
                'route' => $i->route(), 'address' => $i->address(), 'staticWeight' => $i->weight, 'dynamic' => $i->weight,
                'dead' => false, 'deadSince' => 0.0, 'success' => 0, 'failed' => 0, 'costMs' => 0.0, 'heldUntil' => 0.0,
            ];
        }
        $this->services[$name] = ['servers' => $servers, 'adjustedAt' => ($this->now)(), 'deadRetryLeft' => 1, 'signature' => $signature];
    }

    private function adjust(string $name, float $now): void
    {
        $servers = $this->services[$name]['servers'];
        $low = 0;
        $totalSuccess = 0;
        $totalRequests = 0;
        foreach ($servers as $s) {
            if ($s['dynamic'] / $s['staticWeight'] < self::WEIGHT_LOW_WATERMARK) {
                $low++;
            }
            $totalSuccess += $s['success'];
            $totalRequests += $s['success'] + $s['failed'];
        }
        $normal = $low / count($servers) <= self::WEIGHT_LOW_RATIO;
        $base = $normal ? self::SUCCESS_RATIO_BASE : min($totalRequests > 0 ? $totalSuccess / $totalRequests : 1, self::SUCCESS_RATIO_BASE);
        foreach ($servers as &$s) {
            $requests = $s['success'] + $s['failed'];
            if ($requests === 0 || (!$s['dead'] && $requests < $this->shapingRequestMin)) {
                continue;
            }
            $ratio = $s['success'] / $requests;
            if ($ratio >= $base) {
                if ($s['dead']) {
                    $s['dead'] = false;
                    $s['dynamic'] = max(1, (int) floor($s['staticWeight'] * self::RESUME_WEIGHT_RATIO));
                } elseif ($s['dynamic'] !== $s['staticWeight']) {
                    $s['dynamic'] = min($s['staticWeight'], $s['dynamic'] + max(1, (int) floor($s['staticWeight'] * self::WEIGHT_INCR_RATIO)));
                }
            } elseif ($ratio <= self::DEAD_SUCCESS_RATIO) {
                $s['dead'] = true;
                $s['dynamic'] = 0;
                $s['deadSince'] = $now;
            } elseif ($normal) {
                $s['dynamic'] = (int) floor($s['dynamic'] * $ratio * $ratio);
                if ($s['dynamic'] === 0) {
                    $s['dead'] = true;
                    $s['deadSince'] = $now;
                }
            }
            $s['success'] = 0;
            $s['failed'] = 0;
            $s['costMs'] = 0.0;
        }
        unset($s);
        $this->services[$name]['deadRetryLeft'] = max(1, (int) floor($totalRequests * self::DEAD_RETRY_RATIO));
        $this->services[$name]['servers'] = self::aliveFirst($servers);
    }

    /**
     * @param list<array<string, mixed>> $servers
     * @return list<array<string, mixed>>
     */
    private static function aliveFirst(array $servers): array
    {
        $alive = array_values(array_filter($servers, static fn (array $s): bool => !$s['dead']));
        $dead = array_values(array_filter($servers, static fn (array $s): bool => (bool) $s['dead']));
        return [...$alive, ...$dead];
    }
}
