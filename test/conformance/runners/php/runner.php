<?php

declare(strict_types=1);

/**
 * Conformance runner of the PHP caller (docs/caller-parity.md, "Runner
 * protocol"). Runs in an application folder where the caller generated for
 * conformance.proto was installed with Composer as its README says; reads one
 * scenario from stdin, runs its steps through the generated
 * ConformanceServiceClient on the msec-gen/runtime package and writes one JSON
 * line per step. It checks nothing: the harness compares.
 *
 * Routing is what a user's program gets: the shared router reads
 * $MSEC_ROUTES and, when set, $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX.
 * Concurrency: PHP has no threads; `parallel` issues its calls at once with
 * callMany() (one connection per address, replies matched by sequence), and
 * `repeat` runs batches of `concurrency` calls with callMany(); `load` keeps
 * `concurrency` calls in flight continuously with Client::stream().
 */

require __DIR__ . '/vendor/autoload.php'; // the application folder; the working directory is the scenario's

use Conformance\ConformanceServiceClient;
use Conformance\EchoReply;
use Conformance\EchoRequest;
use Msec\Call;
use Msec\Route\Balancer;
use Msec\Route\Instance;
use Msec\Route\Route;
use Msec\SrpcError;

/** @param array<string, mixed> $o */
function write(array $o): void
{
    echo json_encode($o, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
    flush();
}

/** @param array<string, mixed> $c */
function requestOf(array $c): EchoRequest
{
    return new EchoRequest(['text' => $c['text'], 'sleep_ms' => $c['sleep_ms'], 'fail_code' => $c['fail_code'], 'fail_message' => $c['fail_message']]);
}

/** @param array<string, mixed> $c */
function callOf(ConformanceServiceClient $client, array $c): Call
{
    if (isset($c['method'])) {
        return new Call($c['service'], $c['method'], requestOf($c), EchoReply::class, $c['timeout_ms'], $c['retries']);
    }
    return (new ConformanceServiceClient($c['service'], timeoutMs: $c['timeout_ms']))->echoCall(requestOf($c), $c['timeout_ms'], $c['retries']);
}

/** @return array<string, mixed> */
function observed(EchoReply|SrpcError|string $r): array
{
    if ($r instanceof SrpcError) {
        return ['code' => $r->getCode(), 'message' => $r->getMessage()];
    }
    if (is_string($r)) {
        throw new LogicException('raw reply where a message was expected');
    }
    return ['code' => 0, 'reply' => ['text' => $r->getText(), 'instance' => $r->getInstance(), 'peer' => $r->getPeer(), 'deadline_ms' => $r->getDeadlineMs()]];
}

/**
 * @param list<array<string, mixed>> $calls
 * @return list<array<string, mixed>>
 */
function many(ConformanceServiceClient $client, array $calls): array
{
    return array_map('observed', $client->callMany(array_map(static fn (array $c): Call => callOf($client, $c), $calls)));
}

/**
 * @param list<array<string, mixed>> $results
 * @return array<string, mixed>
 */
function tally(array $results): array
{
    $ok = 0;
    $codes = [];
    $instances = [];
    foreach ($results as $r) {
        if ($r['code'] === 0) {
            $ok++;
            $instances[$r['reply']['instance']] = ($instances[$r['reply']['instance']] ?? 0) + 1;
        } else {
            $codes[(string) $r['code']] = ($codes[(string) $r['code']] ?? 0) + 1;
        }
    }
    return ['ok' => $ok, 'codes' => (object) $codes, 'instances' => (object) $instances];
}

/**
 * The runtime's NLB balancer on a scripted clock: state created at 0 ms, each event reported at its time.
 *
 * @param array<string, mixed> $step
 * @return array<string, mixed>
 */
function balancer(array $step): array
{
    $now = 0.0;
    $b = new Balancer(static function () use (&$now): float {
        return $now;
    }, static fn (int $n): int => 0, $step['options']['shapingRequestMin'] ?? Balancer::SHAPING_REQUEST_MIN);
    $instances = [];
    foreach ($step['instances'] as $i) {
        $route = Route::parseLiteral($i['addr']) ?? throw new InvalidArgumentException("balancer step: \"{$i['addr']}\" is not ip:port");
        $instances[] = new Instance($route->ip, $route->port, $route->type, $i['weight']);
    }
    $b->pick($step['service'], $instances);
    foreach ($step['events'] as $e) {
        $now = (float) $e['at_ms'];
        $b->update($step['service'], $e['addr'], $e['failed'], $e['cost_ms']);
    }
    return ['weights' => array_map(static fn (array $w): array => ['addr' => $w['address'], 'weight' => $w['dynamicWeight'], 'dead' => $w['dead']], $b->weights($step['service']))];
}

$first = fgets(STDIN);
if ($first === false) {
    throw new RuntimeException('no scenario on stdin');
}
$scenario = json_decode($first, true, 512, JSON_THROW_ON_ERROR)['scenario'];
$client = new ConformanceServiceClient();

foreach ($scenario['steps'] as $i => $step) {
    switch ($step['op']) {
        case 'call':
            write(['step' => $i, ...many($client, [$step])[0]]);
            break;
        case 'parallel':
            write(['step' => $i, 'results' => many($client, $step['calls'])]);
            break;
        case 'repeat':
            $results = [];
            for ($left = $step['count']; $left > 0; $left -= $step['concurrency']) {
                array_push($results, ...many($client, array_fill(0, min($left, $step['concurrency']), $step['call'])));
            }
            write(['step' => $i, ...tally($results)]);
            break;
        case 'load':
            // `concurrency` calls in flight at all times (Client::stream), for `seconds`.
            $started = hrtime(true);
            $end = $started + (int) ($step['seconds'] * 1e9);
            $issuedAt = [];
            $source = (static function () use ($client, $step, $end, &$issuedAt): Generator {
                while (hrtime(true) < $end) {
                    $issuedAt[] = hrtime(true);
                    yield callOf($client, $step['call']);
                }
            })();
            $latencies = [];
            $errors = 0;
            foreach ($client->stream($source, $step["concurrency"]) as $k => $r) {
                $latencies[] = (hrtime(true) - $issuedAt[$k]) / 1e6;
                unset($issuedAt[$k]);
                $errors += $r instanceof SrpcError ? 1 : 0;
            }
            sort($latencies);
            $at = static fn (float $q): float => $latencies === [] ? 0.0 : $latencies[min(count($latencies) - 1, (int) ($q * count($latencies)))];
            write(['step' => $i, 'calls' => count($latencies), 'errors' => $errors, 'seconds' => (hrtime(true) - $started) / 1e9, 'p50_ms' => $at(0.5), 'p99_ms' => $at(0.99)]);
            break;
        case 'balancer':
            write(['step' => $i, ...balancer($step)]);
            break;
        case 'write_file':
            file_put_contents($step['path'], $step['content']);
            write(['step' => $i]);
            break;
        case 'sleep':
            usleep((int) ($step['ms'] * 1000));
            write(['step' => $i]);
            break;
        case 'notify':
            write(['step' => $i, 'event' => $step['event']]);
            if (fgets(STDIN) === false) {
                throw new RuntimeException("stdin closed while waiting for the ack of \"{$step['event']}\"");
            }
            break;
        default:
            throw new InvalidArgumentException('unknown op ' . json_encode($step['op']));
    }
}
