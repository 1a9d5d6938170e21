<?php

declare(strict_types=1);

namespace Msec\Route;

/** One instance of a routing name, as a resolver lists it. */
final class Instance
{
    public function __construct(
        public readonly string $ip,
        public readonly int $port,
        /** 'tcp' or 'udp' */
        public readonly string $type,
        /** Static NLB weight (> 0). */
        public readonly int $weight,
    ) {
    }

    public function route(): Route
    {
        return new Route($this->ip, $this->port, $this->type);
    }

    public function address(): string
    {
        return $this->route()->address();
    }
}
