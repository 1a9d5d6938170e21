<?php

declare(strict_types=1);

namespace Msec\Route;

/** Turns a routing name into its instances. */
interface Resolver
{
    /**
     * Instances of `$service`, or null when this resolver does not know it.
     * Throws (any exception) when its source is broken (e.g. a malformed routes file).
     *
     * @return list<Instance>|null
     */
    public function resolve(string $service): ?array;

    /** Where it looks, for error messages (e.g. `routes file etc/routes.conf (missing)`). */
    public function describe(): string;
}
