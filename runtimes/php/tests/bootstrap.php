<?php

declare(strict_types=1);

/**
 * Shared by every test script: the Composer autoloader test.sh installed
 * (`$MSEC_PHP_AUTOLOAD`), assertion helpers that count and exit non-zero on
 * the first failure, and a helper starting tests/srpc_server.php.
 */

error_reporting(E_ALL);
set_error_handler(static function (int $no, string $msg, string $file, int $line): bool {
    if ((error_reporting() & $no) === 0) {
        return false; // suppressed with @
    }
    throw new ErrorException($msg, 0, $no, $file, $line);
});

$autoload = getenv('MSEC_PHP_AUTOLOAD');
if (!is_string($autoload) || !is_file($autoload)) {
    fwrite(STDERR, "MSEC_PHP_AUTOLOAD must name vendor/autoload.php (run tests through test.sh)\n");
    exit(2);
}
require $autoload;

$GLOBALS['__checks'] = 0;

/** Fails the script unless `$cond`. */
function check(bool $cond, string $what): void
{
    $GLOBALS['__checks']++;
    if (!$cond) {
        $bt = debug_backtrace()[0];
        fwrite(STDERR, "FAIL {$bt['file']}:{$bt['line']}: $what\n");
        exit(1);
    }
}

/** Fails the script unless `$actual === $expected`. */
function eq(mixed $expected, mixed $actual, string $what): void
{
    $GLOBALS['__checks']++;
    if ($expected !== $actual) {
        $bt = debug_backtrace()[0];
        fwrite(STDERR, "FAIL {$bt['file']}:{$bt['line']}: $what\n  expected: " . var_export($expected, true) . "\n  actual:   " . var_export($actual, true) . "\n");
        exit(1);
    }
}

/** Runs `$fn` and returns the SrpcError it throws; fails when it throws none. */
function srpcError(callable $fn, string $what): \Msec\SrpcError
{
    try {
        $fn();
    } catch (\Msec\SrpcError $e) {
        return $e;
    }
    check(false, "$what: expected an SrpcError");
    throw new LogicException('unreachable');
}

function done(string $name): void
{
    echo "ok  $name ({$GLOBALS['__checks']} checks)\n";
}

/** @return array<string, mixed> */
function vector(string $file): array
{
    return json_decode((string) file_get_contents(__DIR__ . '/../../../fixtures/vectors/' . $file), true, 512, JSON_THROW_ON_ERROR);
}

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $name = stream_socket_get_name($s, false);
    fclose($s);
    return (int) substr((string) $name, strrpos((string) $name, ':') + 1);
}

/**
 * Starts tests/srpc_server.php on `$port` (TCP and UDP) as instance `$id`;
 * returns the process. It prints "ready" once listening.
 *
 * @return resource
 */
function startServer(int $port, string $id)
{
    $proc = proc_open([PHP_BINARY, __DIR__ . '/srpc_server.php', (string) $port, $id], [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => STDERR], $pipes);
    check(is_resource($proc), 'test server starts');
    $line = fgets($pipes[1]);
    eq("ready\n", $line, "test server $id on $port is ready");
    return $proc;
}

/** @param resource $proc */
function stopServer($proc): void
{
    proc_terminate($proc, 9);
    proc_close($proc);
}
