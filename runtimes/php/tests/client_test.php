<?php

declare(strict_types=1);

/**
 * Live calls over real sockets to tests/srpc_server.php: success and the head
 * the client writes (caller, colour/flow ids, timeout_ms), several calls in
 * flight on one connection answered out of order, timeouts (-10) with the late
 * reply dropped, server errors, refused (-13), no route (-15), the
 * routes-file + balancer path with retries, UDP, callmethod's MSEC shape,
 * callmethod_tcp.
 */

require __DIR__ . '/bootstrap.php';

use Msec\Call;
use Msec\Client;
use Msec\Route\Balancer;
use Msec\Route\RoutesFile;
use Msec\Route\Router;
use function Msec\callmethod;
use function Msec\callmethod_tcp;
use function Msec\getroute;

$portA = freePort();
$portB = freePort();
$a = startServer($portA, 'a');
$b = startServer($portB, 'b');
$addrA = "127.0.0.1:$portA";

$client = new Client(new Router(null, new RoutesFile('/nonexistent/routes.conf'), false), 'php.test');
$req = static fn (array $r): string => json_encode($r);
$dec = static fn (string $s): array => json_decode($s, true);

// Success; the request head.
$r = $dec($client->callRaw($addrA, 'echo.EchoService.Echo', $req(['text' => 'hi']), 1500));
eq('hi', $r['text'], 'echo text');
eq('a', $r['instance'], 'served by a');
eq('php.test', $r['caller'], 'caller in the head');
eq(true, $r['flow_ok'], 'coloring 0, color_id = djb2(method), flow_id = color_id ^ sequence');
check($r['timeout_ms'] >= 1400 && $r['timeout_ms'] <= 1500, "timeout_ms carries the remaining budget (got {$r['timeout_ms']})");
$peer = $r['peer'];

// Multiplexing: three calls in flight on one connection, answered in reverse order.
$t0 = hrtime(true);
$many = $client->callMany([
    new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'slow', 'sleep_ms' => 600]), null, 3000),
    new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'mid', 'sleep_ms' => 300]), null, 3000),
    new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'fast', 'sleep_ms' => 0]), null, 3000),
]);
$elapsed = (hrtime(true) - $t0) / 1e6;
eq(['slow', 'mid', 'fast'], array_map(static fn ($x) => $dec($x)['text'], $many), 'replies matched to their calls by sequence');
eq([$peer, $peer, $peer], array_map(static fn ($x) => $dec($x)['peer'], $many), 'all three on the pooled connection');
check($elapsed < 1500, "the calls overlapped (took $elapsed ms for sleeps 600+300+0)");

// stream(): a window of 2 in flight; outcomes as they arrive, keyed by position; lazy endless source.
$order = [];
foreach ($client->stream((static function () use ($addrA, $req): Generator {
    foreach ([400, 0, 0, 0] as $i => $sleep) {
        yield new Call($addrA, 'echo.EchoService.Echo', $req(['text' => "s$i", 'sleep_ms' => $sleep]), null, 3000);
    }
})(), 2) as $i => $r) {
    $order[] = [$i, json_decode($r, true)['text'], json_decode($r, true)['peer']];
}
eq([[1, 's1', $peer], [2, 's2', $peer], [3, 's3', $peer], [0, 's0', $peer]], $order, 'stream: the slow call keeps one slot while the others pass through the other, all on the pooled connection');
$n = 0;
foreach ($client->stream((static function () use ($addrA, $req): Generator {
    while (true) {
        yield new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'loop']), null, 3000);
    }
})(), 8) as $r) {
    eq('loop', json_decode($r, true)['text'], 'stream from an endless source');
    if (++$n === 50) {
        break;
    }
}
eq(50, $n, 'the consumer stops an endless stream');
usleep(100_000);
$r = $dec($client->callRaw($addrA, 'echo.EchoService.Echo', $req(['text' => 'after stream']), 1000));
eq('after stream', $r['text'], 'replies of calls left in flight by a stopped stream are dropped quietly');

// A call made while a stream is suspended shares the connection; each batch gets its own replies.
$seen = [];
foreach ($client->stream([
    new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'x0', 'sleep_ms' => 0]), null, 3000),
    new Call($addrA, 'echo.EchoService.Echo', $req(['text' => 'x1', 'sleep_ms' => 300]), null, 3000),
], 2) as $i => $r) {
    $seen[] = json_decode($r, true)['text'];
    if ($i === 0) {
        // x1 is in flight on the same connection; its reply arrives while this call waits and is kept for the stream.
        $seen[] = $dec($client->callRaw($addrA, 'echo.EchoService.Echo', $req(['text' => 'inner', 'sleep_ms' => 500]), 3000))['text'];
    }
}
eq(['x0', 'inner', 'x1'], $seen, 'interleaved batches on one connection get their own replies');

// A reply with a sequence matching no call: -16; a reply head without method_name: -4.
eq(-16, srpcError(static fn () => $client->callRaw($addrA, 'echo.EchoService.Echo', $req(['bad_seq' => true]), 1000), 'bad seq')->getCode(), 'wrong sequence: -16');
eq(-4, srpcError(static fn () => $client->callRaw($addrA, 'echo.EchoService.Echo', $req(['bad_head' => true]), 1000), 'bad head')->getCode(), 'bad reply head: -4');

// Timeout: -10; the late reply is dropped and the connection serves the next call.
$e = srpcError(static fn () => $client->callRaw($addrA, 'echo.EchoService.Echo', $req(['sleep_ms' => 400]), 100), 'timeout');
eq(-10, $e->getCode(), 'timeout code');
check(str_starts_with($e->getMessage(), 'timeout: no reply from'), 'timeout message: ' . $e->getMessage());
usleep(500_000);
$r = $dec($client->callRaw($addrA, 'echo.EchoService.Echo', $req(['text' => 'after']), 1000));
eq(['after', $peer], [$r['text'], $r['peer']], 'next call on the same connection gets its own reply');

// Server error: its code and err_msg.
$e = srpcError(static fn () => $client->callRaw($addrA, 'echo.EchoService.Echo', $req(['err' => -18, 'err_msg' => 'boom']), 1000), 'server error');
eq([-18, 'service implement failed: boom', true], [$e->getCode(), $e->getMessage(), $e->fromServer], 'server error code and text');

// Connection closed by the server while the call is in flight: -13.
$e = srpcError(static fn () => $client->callRaw($addrA, 'echo.EchoService.Echo', $req(['close' => true]), 1000), 'closed');
eq(-13, $e->getCode(), 'peer closed: -13');
$r = $dec($client->callRaw($addrA, 'echo.EchoService.Echo', $req(['text' => 'reconnected']), 1000));
eq('reconnected', $r['text'], 'a new connection after the close');
check($r['peer'] !== $peer, 'it is a new connection');

// Refused: -13, request not sent.
$dead = freePort();
$e = srpcError(static fn () => $client->callRaw("127.0.0.1:$dead", 'echo.EchoService.Echo', '', 1000), 'refused');
eq([-13, false], [$e->getCode(), $e->requestSent], 'refused connection: -13, requestSent false');

// No route: -15 naming the service and where it looked.
$e = srpcError(static fn () => $client->callRaw('No.Such', 'echo.EchoService.Echo', '', 1000), 'no route');
eq(-15, $e->getCode(), 'no route: -15');
eq('get route failed: no route for No.Such (looked in: routes file /nonexistent/routes.conf (missing))', $e->getMessage(), 'no-route message');

// UDP.
$r = $dec($client->callRaw("$addrA@udp", 'echo.EchoService.Echo', $req(['text' => 'dgram']), 1000));
eq(['dgram', 'a'], [$r['text'], $r['instance']], 'UDP call');
eq(-1, srpcError(static fn () => $client->callRaw("$addrA@udp", 'echo.EchoService.Echo', str_repeat('x', 70000), 1000), 'udp too big')->getCode(), 'UDP frame too big: -1');

// Routes file + balancer: a name with a dead instance (refused) and two live ones; retries.
$dir = sys_get_temp_dir() . '/msec-php-' . getmypid();
@mkdir($dir);
file_put_contents("$dir/routes.conf", "Test.Echo 127.0.0.1:$portA\nTest.Echo 127.0.0.1:$portB weight=100\nTest.Echo 127.0.0.1:$dead\n");
$router = new Router(new Balancer(), new RoutesFile("$dir/routes.conf"), false);
$routed = new Client($router);
$seen = ['a' => 0, 'b' => 0];
$refused = 0;
for ($i = 0; $i < 60; $i++) {
    try {
        $seen[$dec($routed->callRaw('Test.Echo', 'echo.EchoService.Echo', $req([]), 1000, 2))['instance']]++;
    } catch (\Msec\SrpcError $e) {
        $refused++;
    }
}
eq(0, $refused, 'with retries=2 no call fails on the dead instance');
check($seen['a'] > 5 && $seen['b'] > 5, 'both live instances serve: ' . json_encode($seen));
$w = $router->balancer()->weights('Test.Echo');
eq(["127.0.0.1:$dead", true, 0], [$w[2]['address'], $w[2]['dead'], $w[2]['dynamicWeight']], 'the refused instance is dead and last');
$noRetry = new Client(new Router(new Balancer(), new RoutesFile("$dir/routes.conf"), false));
$codes = [];
for ($i = 0; $i < 30; $i++) {
    try {
        $noRetry->callRaw('Test.Echo', 'echo.EchoService.Echo', $req([]), 1000);
        $codes[0] = ($codes[0] ?? 0) + 1;
    } catch (\Msec\SrpcError $e) {
        $codes[$e->getCode()] = ($codes[$e->getCode()] ?? 0) + 1;
    }
}
check(($codes[-13] ?? 0) === 1 && ($codes[0] ?? 0) === 29, 'without retries exactly one call meets the refused instance, then it is held out: ' . json_encode($codes));

// MSEC's callmethod shape, with the shared client and router (MSEC_ROUTES).
putenv("MSEC_ROUTES=$dir/routes.conf");
$ok = callmethod($addrA, 'echo.EchoService.Echo', $req(['text' => 'msec']), 1000);
eq([0, 'Success', 'msec'], [$ok['ret'], $ok['errmsg'], $dec($ok['rsp'])['text']], 'callmethod success shape');
$bad = callmethod($addrA, 'echo.EchoService.Echo', $req(['err' => -6]), 1000);
eq(['ret' => -6, 'errmsg' => 'invalid method name', 'rsp' => null], $bad, 'callmethod error shape');
eq(-10, callmethod($addrA, 'echo.EchoService.Echo', $req(['sleep_ms' => 300]), 50)['ret'], 'callmethod timeout');
$route = getroute('Test.Echo');
check($route !== null && in_array($route['port'], [$portA, $portB, $dead], true) && $route['type'] === 'tcp', 'getroute via MSEC_ROUTES');
eq(['ip' => '10.0.0.1', 'port' => 7963, 'type' => 'udp'], getroute('10.0.0.1:7963@udp'), 'getroute of a literal');

// callmethod_tcp: an SRPC exchange with our own completeness check.
$head = new \Msec\RpcHead();
$head->sequence = 7;
$head->methodName = 'echo.EchoService.Echo';
$raw = callmethod_tcp($addrA, \Msec\Frame::pack($head->encode(), $req(['text' => 'raw'])), 'Msec\srpc_check_pkg', 1000);
eq(0, $raw['ret'], 'callmethod_tcp ok');
eq('raw', $dec(\Msec\Frame::unpack($raw['rsp'])[1])['text'], 'callmethod_tcp reply');
eq(-3, callmethod_tcp($addrA, \Msec\Frame::pack($head->encode(), ''), static fn (string $b): int => -1, 1000)['ret'], 'callmethod_tcp: check < 0 is -3');
eq(-10, callmethod_tcp($addrA, 'x', static fn (string $b): int => 0, 200)['ret'], 'callmethod_tcp: nothing back is -10');

unlink("$dir/routes.conf");
rmdir($dir);
stopServer($a);
stopServer($b);
done('client');
