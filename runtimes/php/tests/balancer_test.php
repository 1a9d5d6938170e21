<?php

declare(strict_types=1);

/**
 * The NLB balancer on an injected clock and random source (no network):
 * weighted picks, a period's outcomes adjusting weights exactly as the TS
 * Balancer does (ratio² decrease, death, growth, revival via probes),
 * refused servers held out of picks, routes-file parsing and lookup order.
 */

require __DIR__ . '/bootstrap.php';

use Msec\Route\Balancer;
use Msec\Route\Instance;
use Msec\Route\RoutesFile;
use Msec\Route\RoutesFileError;

$t = 0.0;
$rand = [];
$b = new Balancer(static function () use (&$t): float {
    return $t;
}, static function (int $n) use (&$rand): int {
    return $rand === [] ? 0 : array_shift($rand) % $n;
});
$list = [new Instance('10.0.0.1', 1, 'tcp', 100), new Instance('10.0.0.2', 2, 'tcp', 100), new Instance('10.0.0.3', 3, 'tcp', 200)];
$weights = static fn (): array => array_map(static fn (array $w): string => "{$w['address']}={$w['dynamicWeight']}" . ($w['dead'] ? ' dead' : ''), $b->weights('S.N'));

// Weighted pick: r in [0, 400): 0..99 → .1, 100..199 → .2, 200..399 → .3.
foreach ([[0, '10.0.0.1:1'], [150, '10.0.0.2:2'], [399, '10.0.0.3:3']] as [$r, $want]) {
    $rand = [$r, $r]; // first draw: the dead pool check (no dead servers yet), second: the weighted pick
    eq($want, $b->pick('S.N', $list)->address(), "pick with r=$r");
}
// One period: .1 8 ok / 2 failed (ratio .8 → 100×.64 = 64), .2 all failed (dead), .3 all ok (stays 200).
for ($i = 0; $i < 10; $i++) {
    $b->update('S.N', '10.0.0.1:1', $i < 2 ? 1 : 0, 5);
    $b->update('S.N', '10.0.0.2:2', 1, 0);
    $b->update('S.N', '10.0.0.3', 0, 5); // a bare IP matches (MSEC reports by IP)
}
$t = 5000.0;
$b->tick('S.N');
eq(['10.0.0.1:1=64', '10.0.0.3:3=200', '10.0.0.2:2=0 dead'], $weights(), 'after one period');
// Next period: .1 all ok → grows by 5 (5 % of 100) → 69; the dead one gets 10 probe successes → revives at 10.
for ($i = 0; $i < 10; $i++) {
    $b->update('S.N', '10.0.0.1:1', 0, 5);
    $b->update('S.N', '10.0.0.2:2', 0, 5);
}
$t = 10000.0;
$b->tick('S.N');
eq(['10.0.0.1:1=69', '10.0.0.3:3=200', '10.0.0.2:2=10'], $weights(), 'growth and revival (order kept: alive first as they stood)');
// Fewer than shapingRequestMin requests: counters kept, weight unchanged.
$b->update('S.N', '10.0.0.1:1', 1, 0);
$t = 15000.0;
$b->tick('S.N');
eq(['10.0.0.1:1=69', '10.0.0.3:3=200', '10.0.0.2:2=10'], $weights(), 'too few requests: unchanged');
// Refused: dead at once, never picked while held (5 s), picked again afterwards as a dead probe.
check($b->markRefused('S.N', '10.0.0.3:3'), 'markRefused knows the server');
eq(['10.0.0.1:1=69', '10.0.0.2:2=10', '10.0.0.3:3=0 dead'], $weights(), 'refused: dead and last');
$picked = [];
for ($r = 0; $r < 200; $r++) {
    $rand = [$r, $r, $r];
    $picked[$b->pick('S.N', $list)->address()] = true;
}
check(!isset($picked['10.0.0.3:3']), 'a held server is never picked');
$t = 20001.0;
$rand = [79, 0];
// Expected values below were produced by the TS Balancer (runtimes/ts/src/route/balancer.ts) driven by the same script.
eq('10.0.0.1:1', $b->pick('S.N', $list)->address(), 'after the hold');
eq(['10.0.0.1:1=69', '10.0.0.2:2=10', '10.0.0.3:3=20'], $weights(), 'weights after the hold, as the TS Balancer has them');
eq(false, $b->update('X.Y', '10.0.0.1:1', 1, 0), 'unknown service');

// Routes file: format, errors with file:line, lookup order.
$routes = RoutesFile::parse("# c\nA.B 10.0.0.1:80 weight=5 # trailing\n\nA.B 10.0.0.2:81@udp\n", 'r.conf');
eq([['10.0.0.1', 80, 'tcp', 5], ['10.0.0.2', 81, 'udp', 100]], array_map(static fn (Instance $i): array => [$i->ip, $i->port, $i->type, $i->weight], $routes['A.B']), 'routes file parsed');
foreach ([
    "A.B 10.0.0.1:80 weight=0" => 'r.conf:1: expected weight=N with N > 0, got "weight=0"',
    "\nAB 10.0.0.1:80" => 'r.conf:2: service name "AB" is not of the form Group.Service',
    "A.B 10.0.0.1:80@tls" => 'r.conf:1: invalid address "10.0.0.1:80@tls" (expected ip:port, ip:port@tcp or ip:port@udp)',
    "A.B 10.0.0.1:80\nA.B 10.0.0.1:80" => 'r.conf:2: A.B lists 10.0.0.1:80 twice',
] as $text => $message) {
    try {
        RoutesFile::parse($text, 'r.conf');
        check(false, "should fail: $text");
    } catch (RoutesFileError $e) {
        eq($message, $e->getMessage(), 'routes file error');
    }
}
$dir = sys_get_temp_dir() . '/msec-php-routes-' . getmypid();
@mkdir("$dir/etc", 0777, true);
chdir($dir);
putenv('MSEC_ROUTES');
eq('etc/routes.conf', RoutesFile::defaultPath(), 'default path');
file_put_contents("$dir/etc/config.ini", "[ROUTE]\nFile = conf/r.conf\n");
eq('conf/r.conf', RoutesFile::defaultPath(), '[ROUTE] File in etc/config.ini');
putenv("MSEC_ROUTES=$dir/env.conf");
eq("$dir/env.conf", RoutesFile::defaultPath(), 'MSEC_ROUTES wins');
// Reload on change (clock injected: rechecked after RECHECK_MS).
$now = 0.0;
$rf = new RoutesFile("$dir/env.conf", 'etc/config.ini', static function () use (&$now): float {
    return $now;
});
eq(null, $rf->resolve('A.B'), 'missing file resolves nothing');
eq("routes file $dir/env.conf (missing)", $rf->describe(), 'describe says missing');
file_put_contents("$dir/env.conf", "A.B 10.0.0.1:80\n");
$now = 1000.0;
eq(1, count($rf->resolve('A.B') ?? []), 'file appears: read');
file_put_contents("$dir/env.conf", "A.B 10.0.0.1:80\nA.B 10.0.0.2:80\n");
$now = 1500.0;
eq(1, count($rf->resolve('A.B') ?? []), 'not rechecked within RECHECK_MS');
$now = 2000.0;
eq(2, count($rf->resolve('A.B') ?? []), 'changed file re-read');
putenv('MSEC_ROUTES');
array_map('unlink', ["$dir/env.conf", "$dir/etc/config.ini"]);
rmdir("$dir/etc");
chdir('/');
rmdir($dir);
done('balancer + routes file');
