<?php

declare(strict_types=1);

namespace Msec\Route;

use Msec\ErrorCode;
use Msec\SrpcError;

/**
 * Routing: turns a service name into one address (MSEC's `getroute`) and
 * feeds each call's outcome back to the balancer (`updateroute`).
 *
 * Literal names (`ip:port[@tcp|@udp]`) are used as written. Other names go to
 * the resolvers in order — those added with `register()`, then etcd when
 * `$MSEC_ETCD_ENDPOINTS` / `[ROUTE] etcd` configure it, then the routes file —
 * and the first that knows the name supplies the instances the balancer picks
 * from. `Router::shared()` is the process-wide router every client uses unless
 * given another.
 */
final class Router
{
    private static ?self $shared = null;

    /** @var list<Resolver> */
    private array $registered = [];
    private bool $etcdLoaded = false;
    private ?Resolver $etcd = null;
    private Resolver $routesFile;
    private Balancer $balancer;

    /**
     * @param Balancer|null $balancer default: a Balancer on the wall clock
     * @param Resolver|null $routesFile default: the routes file found by RoutesFile::defaultPath()
     * @param Resolver|false|null $etcd null = from the environment / config (EtcdResolver::fromEnvironment), false = none
     */
    public function __construct(?Balancer $balancer = null, ?Resolver $routesFile = null, Resolver|false|null $etcd = null)
    {
        $this->balancer = $balancer ?? new Balancer();
        $this->routesFile = $routesFile ?? new RoutesFile();
        if ($etcd !== null) {
            $this->etcdLoaded = true;
            $this->etcd = $etcd === false ? null : $etcd;
        }
    }

    /** The process-wide router. */
    public static function shared(): self
    {
        return self::$shared ??= new self();
    }

    /** Replaces the process-wide router (e.g. one with an injected balancer). */
    public static function setShared(self $router): void
    {
        self::$shared = $router;
    }

    /** Adds a resolver consulted before etcd and the routes file (after those added earlier). */
    public function register(Resolver $resolver): void
    {
        $this->registered[] = $resolver;
    }

    public function balancer(): Balancer
    {
        return $this->balancer;
    }

    /** @return list<Resolver> */
    public function resolvers(): array
    {
        if (!$this->etcdLoaded) {
            $this->etcdLoaded = true;
            $this->etcd = EtcdResolver::fromEnvironment();
        }
        return [...$this->registered, ...($this->etcd === null ? [] : [$this->etcd]), $this->routesFile];
    }

    /**
     * Instances of a routing name from the first resolver that knows it; null if none does.
     *
     * @return list<Instance>|null
     */
    public function instances(string $name): ?array
    {
        foreach ($this->resolvers() as $resolver) {
            try {
                $found = $resolver->resolve($name);
            } catch (SrpcError $e) {
                throw $e;
            } catch (\Throwable $e) {
                throw new SrpcError(ErrorCode::GET_ROUTE_FAILED, "get route failed for $name: {$e->getMessage()}", '', false);
            }
            if ($found !== null && $found !== []) {
                return $found;
            }
        }
        return null;
    }

    /**
     * The address for one call to `$name`: a literal as written, else a
     * balanced pick. Throws SrpcError(-15) naming the service and where it looked.
     */
    public function getRoute(string $name): Route
    {
        $literal = Route::parseLiteral($name);
        if ($literal !== null) {
            return $literal;
        }
        $instances = $this->instances($name);
        $route = $instances === null ? null : $this->balancer->pick($name, $instances);
        if ($route === null) {
            $looked = implode(', ', array_map(static fn (Resolver $r): string => $r->describe(), $this->resolvers()));
            throw new SrpcError(ErrorCode::GET_ROUTE_FAILED, "no route for $name (looked in: $looked)", '', false);
        }
        return $route;
    }

    /** A call's outcome: `$failed` ≥ 1 failures, 0 = success taking `$costMs`. Literal names are ignored. */
    public function update(string $name, string $address, int $failed, float $costMs): void
    {
        if (Route::parseLiteral($name) === null) {
            $this->balancer->update($name, $address, $failed, $costMs);
        }
    }

    /** A connection to `$address` was refused: the balancer stops picking it at once. Literal names are ignored. */
    public function reportRefused(string $name, string $address): void
    {
        if (Route::parseLiteral($name) === null) {
            $this->balancer->markRefused($name, $address);
        }
    }
}
