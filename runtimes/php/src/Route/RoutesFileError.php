<?php

declare(strict_types=1);

namespace Msec\Route;

/** A line of a routes file that cannot be used; the message starts with `file:line:`. */
final class RoutesFileError extends \RuntimeException
{
    public function __construct(public readonly string $routesFile, public readonly int $lineNumber, string $detail)
    {
        parent::__construct("$routesFile:$lineNumber: $detail");
    }
}
