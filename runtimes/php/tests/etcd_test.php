<?php

declare(strict_types=1);

/**
 * etcd resolution against a real etcd (v3 JSON gateway), started here on
 * loopback: instances registered under <prefix>/services/<name>/ are found
 * through MSEC_ETCD_ENDPOINTS / MSEC_ETCD_PREFIX as users' programs read them,
 * malformed values are skipped, a call routed by that name reaches the server,
 * a change is seen after the cache period, and with etcd gone the cached
 * routes keep serving while an unknown name fails -15 saying etcd is unreachable.
 */

require __DIR__ . '/bootstrap.php';

use Msec\Client;
use Msec\Route\Balancer;
use Msec\Route\EtcdResolver;
use Msec\Route\Router;

$clientPort = freePort();
$peerPort = freePort();
$data = sys_get_temp_dir() . '/msec-php-etcd-' . getmypid();
$url = "http://127.0.0.1:$clientPort";
$etcd = proc_open([
    'etcd', '--name', 'php-test', '--data-dir', $data,
    '--listen-client-urls', $url, '--advertise-client-urls', $url,
    '--listen-peer-urls', "http://127.0.0.1:$peerPort", '--initial-advertise-peer-urls', "http://127.0.0.1:$peerPort",
    '--initial-cluster', "php-test=http://127.0.0.1:$peerPort", '--log-level', 'error', '--logger', 'zap',
], [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
check(is_resource($etcd), 'etcd starts');

/** @param array<string, mixed> $body */
function etcdPost(string $url, string $path, array $body): ?array
{
    $ctx = stream_context_create(['http' => ['method' => 'POST', 'header' => "Content-Type: application/json\r\n", 'content' => json_encode($body), 'timeout' => 2, 'ignore_errors' => true]]);
    $text = @file_get_contents($url . $path, false, $ctx);
    return $text === false ? null : json_decode($text, true);
}
function put(string $url, string $key, string $value): void
{
    check(etcdPost($url, '/v3/kv/put', ['key' => base64_encode($key), 'value' => base64_encode($value)]) !== null, "put $key");
}
for ($i = 0; etcdPost($url, '/v3/kv/range', ['key' => base64_encode('x')]) === null; $i++) {
    check($i < 100, 'etcd answers within 10 s');
    usleep(100_000);
}

$port = freePort();
$server = startServer($port, 'e');
put($url, "/php-test/services/Etcd.Echo/127.0.0.1:$port", json_encode(['ip' => '127.0.0.1', 'port' => $port, 'protocol' => 'tcp', 'weight' => 100]));
put($url, '/php-test/services/Etcd.Echo/bad', '{"ip":"","port":1}');
put($url, '/msec/services/Etcd.Echo/127.0.0.1:1', json_encode(['ip' => '127.0.0.1', 'port' => 1])); // another prefix: not ours

putenv("MSEC_ETCD_ENDPOINTS=http://127.0.0.1:1,$url"); // the first endpoint is down: the next one answers
putenv('MSEC_ETCD_PREFIX=/php-test');
$now = 0.0;
$resolver = EtcdResolver::fromEnvironment('/nonexistent/config.ini');
check($resolver !== null, 'configured from the environment');
$resolver = new EtcdResolver("http://127.0.0.1:1,$url", '/php-test', static function () use (&$now): float {
    return $now;
});
$found = $resolver->resolve('Etcd.Echo');
eq([['127.0.0.1', $port, 'tcp', 100]], array_map(static fn ($i) => [$i->ip, $i->port, $i->type, $i->weight], $found ?? []), 'one valid instance under the prefix');
eq(null, $resolver->resolve('No.Such'), 'unknown name: null');

// A call routed by the etcd name, through the router users get (environment-configured).
$client = new Client(new Router(new Balancer(), new \Msec\Route\RoutesFile('/nonexistent/routes.conf')));
eq('e', json_decode($client->callRaw('Etcd.Echo', 'echo.EchoService.Echo', '{}', 2000), true)['instance'], 'routed through etcd');

// A second instance appears: seen once the cache period passed.
$port2 = freePort();
put($url, "/php-test/services/Etcd.Echo/127.0.0.1:$port2", json_encode(['ip' => '127.0.0.1', 'port' => $port2, 'weight' => 50]));
$now = 500.0;
eq(1, count($resolver->resolve('Etcd.Echo') ?? []), 'cached within CACHE_MS');
$now = 1000.0;
eq(2, count($resolver->resolve('Etcd.Echo') ?? []), 'read again after CACHE_MS');

// etcd gone: the cached routes keep serving; an unknown name says etcd is unreachable.
proc_terminate($etcd, 9);
proc_close($etcd);
$now = 2500.0;
eq(2, count($resolver->resolve('Etcd.Echo') ?? []), 'cached routes serve while etcd is down');
check(str_contains($resolver->describe(), "(unreachable: etcd unreachable (") && str_contains($resolver->describe(), "$url: Failed to open stream: Connection refused") && str_contains($resolver->describe(), 'serving cached routes'), 'describe: ' . $resolver->describe());
$cold = new Client(new Router(new Balancer(), new \Msec\Route\RoutesFile('/nonexistent/routes.conf')));
$e = srpcError(static fn () => $cold->callRaw('Etcd.Echo', 'echo.EchoService.Echo', '{}', 2000), 'cold resolver, etcd down');
eq(-15, $e->getCode(), 'no route while etcd is down and nothing is cached');
check(str_contains($e->getMessage(), "etcd http://127.0.0.1:1,$url prefix /php-test (unreachable:") && str_contains($e->getMessage(), 'no routes cached'), 'message says why: ' . $e->getMessage());

putenv('MSEC_ETCD_ENDPOINTS');
putenv('MSEC_ETCD_PREFIX');
stopServer($server);
exec('rm -rf ' . escapeshellarg($data));
done('etcd');
