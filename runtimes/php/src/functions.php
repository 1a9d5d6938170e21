<?php

declare(strict_types=1);

/**
 * MSEC's PHP call API (spec §6.3, `call_service.php`) with its original
 * names and return shapes, in the `Msec` namespace:
 *
 *     use function Msec\callmethod;
 *     $r = callmethod('VOA.Crawl', 'crawl.CrawlService.GetMP3List', $request->serializeToString(), 2000);
 *     if ($r['ret'] === 0) { $reply->mergeFromString($r['rsp']); } else { echo $r['errmsg']; }
 */

namespace Msec;

use Google\Protobuf\Internal\Message;
use Msec\Route\Route;
use Msec\Route\Router;

/**
 * Calls `$method_name` on `$service_name` (routing name or literal
 * `ip:port[@tcp|@udp]`) with `$body` (serialized request, or a message),
 * `$timeout_ms` the whole-call budget (≤ 0: Client::DEFAULT_TIMEOUT_MS).
 *
 * Returns MSEC's shape: `['ret' => 0, 'errmsg' => 'Success', 'rsp' => <reply bytes>]`
 * or `['ret' => <SRPC code>, 'errmsg' => <text>, 'rsp' => null]`. Unlike
 * MSEC's (which reported every server error as -3), `ret` is the real code:
 * the server's `err` when it answered with one.
 *
 * @return array{ret: int, errmsg: string, rsp: string|null}
 */
function callmethod(string $service_name, string $method_name, string|Message $body, int $timeout_ms = 0): array
{
    try {
        $rsp = Client::shared()->callRaw(
            $service_name,
            $method_name,
            $body instanceof Message ? $body->serializeToString() : $body,
            $timeout_ms > 0 ? $timeout_ms : null,
        );
        return ['ret' => 0, 'errmsg' => 'Success', 'rsp' => $rsp];
    } catch (SrpcError $e) {
        return ['ret' => $e->getCode(), 'errmsg' => $e->getMessage(), 'rsp' => null];
    }
}

/**
 * MSEC's `getroute`: `['ip' => …, 'port' => …, 'type' => 'tcp'|'udp']` for a
 * literal or a routing name (balanced pick), null when there is no route.
 *
 * @return array{ip: string, port: int, type: string}|null
 */
function getroute(string $service_name): ?array
{
    try {
        $r = Router::shared()->getRoute($service_name);
    } catch (SrpcError) {
        return null;
    }
    return ['ip' => $r->ip, 'port' => $r->port, 'type' => $r->type];
}

/**
 * MSEC's `updateroute`: reports a call's outcome to the balancer — `$failed`
 * ≥ 1 failures, 0 = one success taking `$cost` ms. `$ip` is `ip` or
 * `ip:port`. Ignored for literal names, as in MSEC.
 */
function updateroute(string $service_name, string $ip, int $failed, int $cost): void
{
    Router::shared()->update($service_name, $ip, $failed, $cost);
}

/**
 * A non-SRPC TCP call (MSEC's `callmethod_tcp` / `callmethod_odd` examples):
 * routes `$service_name`, connects, sends `$request`, reads until
 * `$is_complete($buffer)` returns the total reply length (> 0; < 0 = malformed,
 * 0 = need more). One connection per call. The outcome goes to the balancer.
 *
 * Returns `['ret' => 0, 'errmsg' => 'Success', 'rsp' => <the reply bytes>]` or
 * `['ret' => <code>, 'errmsg' => …, 'rsp' => null]`: -15 no route, -13
 * refused/closed early, -3 `$is_complete` < 0, -10 timeout (nothing
 * received), -12 timeout (part received).
 *
 * @param callable(string): int $is_complete
 * @return array{ret: int, errmsg: string, rsp: string|null}
 */
function callmethod_tcp(string $service_name, string $request, callable $is_complete, int $timeout_ms = 0): array
{
    $router = Router::shared();
    $deadline = hrtime(true) / 1e6 + ($timeout_ms > 0 ? $timeout_ms : Client::DEFAULT_TIMEOUT_MS);
    $fail = static fn (int $code, string $detail): array => ['ret' => $code, 'errmsg' => ErrorCode::message($code) . ": $detail", 'rsp' => null];
    try {
        $route = $router->getRoute($service_name);
    } catch (SrpcError $e) {
        return ['ret' => $e->getCode(), 'errmsg' => $e->getMessage(), 'rsp' => null];
    }
    $address = $route->address();
    $started = hrtime(true) / 1e6;
    $s = @stream_socket_client("tcp://$address", $errno, $errstr, max(0.001, ($deadline - $started) / 1000));
    if ($s === false) {
        if ($errno === 111) {
            $router->reportRefused($service_name, $address);
            return $fail(ErrorCode::SEND_RECV_FAILED, "connect $address: connection refused");
        }
        $router->update($service_name, $address, 1, 0);
        return $fail($errno === 110 ? ErrorCode::TIMEOUT : ErrorCode::SEND_RECV_FAILED, "connect $address: $errstr");
    }
    stream_set_blocking($s, false);
    $out = $request;
    $buf = '';
    try {
        while (true) {
            $left = $deadline - hrtime(true) / 1e6;
            if ($left <= 0) {
                $router->update($service_name, $address, 1, 0);
                return $fail($buf === '' ? ErrorCode::TIMEOUT : ErrorCode::RECV_TIMEOUT, "no complete reply from $address in time");
            }
            $r = [$s];
            $w = $out === '' ? [] : [$s];
            $e = null;
            $us = (int) ceil($left * 1000);
            if (@stream_select($r, $w, $e, intdiv($us, 1_000_000), $us % 1_000_000) === false) {
                continue;
            }
            if ($w !== []) {
                $n = @fwrite($s, $out);
                if ($n === false) {
                    $router->update($service_name, $address, 1, 0);
                    return $fail(ErrorCode::SEND_RECV_FAILED, "write to $address failed");
                }
                $out = (string) substr($out, $n);
            }
            if ($r !== []) {
                $data = @fread($s, 65536);
                if ($data === false || $data === '') {
                    $router->update($service_name, $address, 1, 0);
                    return $fail(ErrorCode::SEND_RECV_FAILED, "$address closed the connection before the reply was complete");
                }
                $buf .= $data;
                try {
                    $total = $is_complete($buf);
                } catch (\Throwable $t) {
                    $total = -1;
                }
                if ($total < 0) {
                    $router->update($service_name, $address, 1, 0);
                    return $fail(ErrorCode::INVALID_PKG, "the completeness check rejected the reply from $address");
                }
                if ($total > 0 && strlen($buf) >= $total) {
                    $router->update($service_name, $address, 0, hrtime(true) / 1e6 - $started);
                    return ['ret' => 0, 'errmsg' => 'Success', 'rsp' => substr($buf, 0, $total)];
                }
            }
        }
    } finally {
        fclose($s);
    }
}

/** MSEC's `srpc_check_pkg`: see Frame::check(). */
function srpc_check_pkg(string $pkg): int
{
    return Frame::check($pkg);
}
