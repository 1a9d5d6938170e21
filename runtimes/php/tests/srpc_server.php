<?php

declare(strict_types=1);

/**
 * A small SRPC server for the runtime's tests (TCP and UDP on one port),
 * written from the spec with the runtime's own codec. Each request body is
 * JSON `{"text": s, "sleep_ms": n, "err": c, "err_msg": m, "close": bool}`:
 * it answers after sleep_ms (other requests are served meanwhile, so replies
 * come back out of order), with `err`/`err_msg` in the head when err ≠ 0,
 * else a JSON body `{"text", "instance", "peer", "timeout_ms", "caller", "flow_ok"}`.
 * `close` drops the connection without answering; `bad_seq` answers with sequence + 1000,
 * `bad_head` with a head lacking method_name. Exits when stdin closes (the test ended).
 *
 * Usage: php srpc_server.php <port> <instance id>
 */

require getenv('MSEC_PHP_AUTOLOAD');

use Msec\Frame;
use Msec\RpcHead;

[$port, $id] = [(int) $argv[1], $argv[2]];
$tcp = stream_socket_server("tcp://127.0.0.1:$port", $errno, $errstr);
$udp = stream_socket_server("udp://127.0.0.1:$port", $errno, $errstr, STREAM_SERVER_BIND);
if ($tcp === false || $udp === false) {
    fwrite(STDERR, "listen $port: $errstr\n");
    exit(1);
}
echo "ready\n";

/** @var array<int, array{s: resource, buf: string, peer: string}> $conns */
$conns = [];
/** @var list<array{at: float, conn: int|null, to: string, frame: string}> $timers */
$timers = [];
$now = static fn (): float => hrtime(true) / 1e6;

$answer = static function (string $frame, string $peer, ?int $connId, string $to) use (&$timers, &$conns, $id, $now): void {
    [$head, $body] = Frame::unpack($frame);
    $req = json_decode($body, true) ?: [];
    if (($req['close'] ?? false) === true && $connId !== null) {
        fclose($conns[$connId]['s']);
        unset($conns[$connId]);
        return;
    }
    $reply = new RpcHead();
    $reply->sequence = ($req['bad_seq'] ?? false) === true ? $head->sequence + 1000 : $head->sequence;
    $reply->methodName = ($req['bad_head'] ?? false) === true ? null : $head->methodName;
    $replyBody = '';
    if (($req['err'] ?? 0) !== 0) {
        $reply->err = (int) $req['err'];
        $reply->errMsg = (string) ($req['err_msg'] ?? '');
    } else {
        $replyBody = json_encode([
            'text' => $req['text'] ?? '',
            'instance' => $id,
            'peer' => $peer,
            'timeout_ms' => $head->timeoutMs,
            'caller' => $head->caller,
            'flow_ok' => $head->flowId === ($head->colorId ^ $head->sequence) && $head->colorId === Frame::colorId((string) $head->methodName) && $head->coloring === 0,
        ]);
    }
    $timers[] = ['at' => $now() + (int) ($req['sleep_ms'] ?? 0), 'conn' => $connId, 'to' => $to, 'frame' => Frame::pack($reply->encode(), $replyBody)];
};

while (true) {
    $r = [$tcp, $udp, STDIN];
    foreach ($conns as $c) {
        $r[] = $c['s'];
    }
    $w = null;
    $e = null;
    $wait = 200_000;
    foreach ($timers as $t) {
        $wait = min($wait, (int) max(0, ($t['at'] - $now()) * 1000));
    }
    @stream_select($r, $w, $e, 0, $wait);
    foreach ($r as $s) {
        if ($s === STDIN) {
            if (fread(STDIN, 1024) === '' && feof(STDIN)) {
                exit(0); // the test process is gone: so is its server
            }
        } elseif ($s === $tcp) {
            $c = stream_socket_accept($tcp, 0, $peer);
            if ($c !== false) {
                $conns[(int) $c] = ['s' => $c, 'buf' => '', 'peer' => (string) $peer];
            }
        } elseif ($s === $udp) {
            $data = stream_socket_recvfrom($udp, 65536, 0, $peer);
            $answer($data, (string) $peer, null, (string) $peer);
        } else {
            $cid = (int) $s;
            $data = fread($s, 65536);
            if ($data === false || $data === '') {
                fclose($s);
                unset($conns[$cid]);
                continue;
            }
            $conns[$cid]['buf'] .= $data;
            while (isset($conns[$cid]) && ($n = Frame::check($conns[$cid]['buf'])) > 0) {
                $frame = substr($conns[$cid]['buf'], 0, $n);
                $conns[$cid]['buf'] = substr($conns[$cid]['buf'], $n);
                $answer($frame, $conns[$cid]['peer'], $cid, '');
            }
        }
    }
    $keep = [];
    foreach ($timers as $t) {
        if ($t['at'] > $now()) {
            $keep[] = $t;
        } elseif ($t['conn'] === null) {
            stream_socket_sendto($udp, $t['frame'], 0, $t['to']);
        } elseif (isset($conns[$t['conn']])) {
            fwrite($conns[$t['conn']]['s'], $t['frame']);
        }
    }
    $timers = $keep;
}
