<?php

declare(strict_types=1);

namespace Msec;

use Google\Protobuf\Internal\Message;
use Msec\Route\Route;
use Msec\Route\Router;

/**
 * SRPC client: one persistent TCP connection per address for the life of the
 * PHP process, calls multiplexed on it by sequence number (callMany() writes
 * every request, then waits for all replies with stream_select and matches
 * them in any order), per-call timeouts, MSEC's NLB fed by every outcome.
 *
 * Each request head carries `sequence`, `coloring` (0), `color_id` =
 * djb2(method), `flow_id` = color_id XOR sequence, `caller`, `method_name`
 * and `timeout_ms` (field 70: the call's remaining budget when written).
 *
 * Failures throw SrpcError (callRaw/call) or are returned as SrpcError
 * (callMany), with the codes of docs/runtime-client.md: -15 no route, -10
 * timeout (nothing of the reply arrived), -12 part of the reply arrived, -13
 * refused / reset / closed, -3 the reply stream is not SRPC, -4 bad reply
 * head, -16 wrong sequence, -5 reply does not decode, -1 request frame too
 * big for UDP, and the server's `err` (with its `err_msg`) when it sent one.
 */
final class Client
{
    /** Default whole-call budget in ms (MSEC C++ CallMethod's default). */
    public const DEFAULT_TIMEOUT_MS = 800;
    /** Environment variable naming the caller (`CRpcHead.caller`). */
    public const SERVICE_NAME_ENV = 'MSEC_SERVICE_NAME';
    /** Caller name when neither the constructor nor the environment gives one. */
    public const DEFAULT_CALLER = 'php.client';
    /** Longest reply frame accepted (a larger one fails its connection's calls with -3). */
    public const MAX_FRAME_BYTES = 16 * 1024 * 1024;
    /** Largest UDP request frame. */
    public const MAX_UDP_FRAME = 65507;

    private static ?self $shared = null;

    /** @var array<string, Connection> pooled TCP connections by `ip:port` */
    private array $pool = [];
    /** Ticket of the next call: unique per client, so calls of interleaved batches (a suspended stream()) never mix. */
    private int $nextTicket = 1;
    /**
     * Outcomes read while another batch was waiting (a suspended stream() and a call made
     * meanwhile share a connection), kept for the batch that owns the ticket.
     *
     * @var array<int, array{head: RpcHead|null, body: string, conn: Connection, error: SrpcError|null}>
     */
    private array $parked = [];
    private Router $router;
    private string $caller;

    /**
     * @param Router|null $router default: Router::shared() (the process-wide routing and balancer)
     * @param string|null $caller `CRpcHead.caller`; default `$MSEC_SERVICE_NAME`, else `php.client`
     * @param int $defaultTimeoutMs budget of calls that give none
     */
    public function __construct(?Router $router = null, ?string $caller = null, public readonly int $defaultTimeoutMs = self::DEFAULT_TIMEOUT_MS)
    {
        $this->router = $router ?? Router::shared();
        $env = getenv(self::SERVICE_NAME_ENV);
        $this->caller = $caller ?? (is_string($env) && $env !== '' ? $env : self::DEFAULT_CALLER);
    }

    /** The process-wide client (MSEC's `callmethod` uses it). */
    public static function shared(): self
    {
        return self::$shared ??= new self();
    }

    public function router(): Router
    {
        return $this->router;
    }

    /**
     * Calls `$method` with serialized `$body`; returns the reply body bytes.
     *
     * @throws SrpcError
     */
    public function callRaw(string $service, string $method, string $body, ?int $timeoutMs = null, int $retries = 0): string
    {
        $r = $this->callMany([new Call($service, $method, $body, null, $timeoutMs, $retries)])[0];
        if ($r instanceof SrpcError) {
            throw $r;
        }
        return $r;
    }

    /**
     * Typed call: serializes `$request`, decodes the reply as `$replyClass`.
     *
     * @template T of Message
     * @param class-string<T> $replyClass
     * @return T
     * @throws SrpcError
     */
    public function call(string $service, string $method, Message $request, string $replyClass, ?int $timeoutMs = null, int $retries = 0): Message
    {
        $r = $this->callMany([new Call($service, $method, $request, $replyClass, $timeoutMs, $retries)])[0];
        if ($r instanceof SrpcError) {
            throw $r;
        }
        return $r;
    }

    /**
     * Issues every call at once (calls to the same address share its
     * connection, matched by sequence) and waits for all of them. Returns, in
     * the calls' order, the decoded reply (a Message, or the bytes when the
     * Call has no reply class) or the SrpcError of that call.
     *
     * @param list<Call> $calls
     * @return list<Message|string|SrpcError>
     */
    public function callMany(array $calls): array
    {
        /** @var array<int, Message|string|SrpcError> $results */
        $results = [];
        /** @var array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight */
        $inflight = [];
        $start = self::nowMs();
        $tickets = [];
        foreach (array_values($calls) as $call) {
            $tickets[] = $ticket = $this->nextTicket++;
            $this->begin($ticket, $call, $start, $inflight, $results);
        }
        $this->wait($inflight, $results, false);
        return array_map(static fn (int $t) => $results[$t], $tickets);
    }

    /**
     * Runs `$calls` keeping up to `$window` in flight (a new one starts as
     * soon as one finishes; calls to one address share its connection) and
     * yields each outcome as it arrives: key = the call's position in
     * `$calls`, value = the reply (Message, or bytes without a reply class)
     * or its SrpcError. Each call's budget starts when it is issued. `$calls`
     * is read lazily, so it may be an endless generator the consumer stops.
     *
     * @param iterable<Call> $calls
     * @return \Generator<int, Message|string|SrpcError>
     */
    public function stream(iterable $calls, int $window = 64): \Generator
    {
        if ($window < 1) {
            throw new \InvalidArgumentException("window must be >= 1, got $window");
        }
        $source = (static fn (iterable $c): \Generator => yield from $c)($calls);
        /** @var array<int, Message|string|SrpcError> $results */
        $results = [];
        /** @var array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight */
        $inflight = [];
        $index = 0;
        /** @var array<int, int> $indexOf ticket → position in $calls */
        $indexOf = [];
        try {
            while (true) {
                while (count($inflight) < $window && $results === [] && $source->valid()) {
                    $ticket = $this->nextTicket++;
                    $indexOf[$ticket] = $index++;
                    $this->begin($ticket, $source->current(), self::nowMs(), $inflight, $results);
                    $source->next();
                }
                if ($results === []) {
                    if ($inflight === []) {
                        return;
                    }
                    $this->wait($inflight, $results, true);
                }
                foreach ($results as $t => $r) {
                    unset($results[$t]);
                    $i = $indexOf[$t];
                    unset($indexOf[$t]);
                    yield $i => $r;
                }
            }
        } finally {
            // The consumer stopped early: calls still in flight are abandoned; their replies will be dropped.
            foreach ($inflight as $t => $f) {
                $f['conn']->expire($f['seq']);
                unset($this->parked[$t]);
            }
        }
    }

    /**
     * Routes, connects and queues the call with ticket `$i` (its budget
     * counted from `$start`), or records its failure in `$results`.
     *
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function begin(int $i, Call $call, float $start, array &$inflight, array &$results): void
    {
        $timeout = $call->timeoutMs ?? $this->defaultTimeoutMs;
        if ($timeout <= 0) {
            $results[$i] = new SrpcError(ErrorCode::PARA_ERROR, "timeout must be > 0 ms, got $timeout", '', false);
            return;
        }
        $deadline = $start + $timeout;
        try {
            $body = $call->request instanceof Message ? $call->request->serializeToString() : $call->request;
            [$conn, $seq] = $this->send($call, $body, $deadline);
            $inflight[$i] = ['call' => $call, 'deadline' => $deadline, 'conn' => $conn, 'seq' => $seq, 'sentAt' => self::nowMs()];
            $conn->pending[$seq] = $i;
        } catch (SrpcError $e) {
            $results[$i] = $e;
        }
    }

    /** Closes every pooled connection. */
    public function close(): void
    {
        foreach ($this->pool as $conn) {
            $conn->close();
        }
        $this->pool = [];
    }

    /**
     * Routes the call, connects (retrying other instances after a refused
     * connection when asked) and queues its frame; returns the connection and sequence.
     *
     * @return array{0: Connection, 1: int}
     */
    private function send(Call $call, string $body, float $deadline): array
    {
        $literal = Route::parseLiteral($call->service) !== null;
        for ($attempt = 0; ; $attempt++) {
            $route = $this->router->getRoute($call->service);
            try {
                $conn = $this->connection($route, $deadline);
            } catch (SrpcError $e) {
                if ($e->getCode() === ErrorCode::SEND_RECV_FAILED && !$e->requestSent) {
                    $this->router->reportRefused($call->service, $route->address());
                    if (!$literal && $attempt < $call->retries && self::nowMs() < $deadline) {
                        continue;
                    }
                } else {
                    $this->router->update($call->service, $route->address(), 1, 0);
                }
                throw $e;
            }
            $seq = $conn->nextSequence();
            $head = new RpcHead();
            $head->sequence = $seq;
            $head->coloring = 0;
            $head->colorId = Frame::colorId($call->method);
            $head->flowId = $head->colorId ^ $seq;
            $head->caller = $this->caller;
            $head->methodName = $call->method;
            $head->timeoutMs = max(1, (int) ceil($deadline - self::nowMs()));
            $frame = Frame::pack($head->encode(), $body);
            if ($conn->udp && strlen($frame) > self::MAX_UDP_FRAME) {
                $conn->close();
                throw new SrpcError(ErrorCode::PARA_ERROR, 'request frame of ' . strlen($frame) . ' bytes is too big for UDP (max ' . self::MAX_UDP_FRAME . ')', $route->address(), false);
            }
            if ($conn->udp) {
                $n = @fwrite($conn->stream, $frame);
                if ($n !== strlen($frame)) {
                    $conn->close();
                    throw new SrpcError(ErrorCode::SEND_RECV_FAILED, "UDP send to {$route->address()} failed", $route->address());
                }
            } else {
                $conn->wbuf .= $frame;
            }
            return [$conn, $seq];
        }
    }

    /** A pooled live connection to `$route` (TCP), or a fresh UDP socket. */
    private function connection(Route $route, float $deadline): Connection
    {
        $address = $route->address();
        if ($route->type === 'udp') {
            $s = @stream_socket_client("udp://$address", $errno, $errstr);
            if ($s === false) {
                throw new SrpcError(ErrorCode::SEND_RECV_FAILED, "UDP socket to $address: $errstr", $address, false);
            }
            stream_set_blocking($s, false);
            return new Connection($s, $address, true);
        }
        $conn = $this->pool[$address] ?? null;
        if ($conn !== null && $conn->pending === [] && $conn->wbuf === '' && !$conn->alive()) {
            $conn->close();
            $conn = null;
        }
        if ($conn !== null && !$conn->closed) {
            return $conn;
        }
        $left = $deadline - self::nowMs();
        if ($left <= 0) {
            throw new SrpcError(ErrorCode::TIMEOUT, "deadline passed before connecting to $address", $address, false);
        }
        $s = @stream_socket_client("tcp://$address", $errno, $errstr, $left / 1000);
        if ($s === false) {
            if ($errno === 111 || stripos($errstr, 'refused') !== false) {
                throw new SrpcError(ErrorCode::SEND_RECV_FAILED, "connect $address: connection refused", $address, false);
            }
            if ($errno === 110 || stripos($errstr, 'timed out') !== false || self::nowMs() >= $deadline) {
                throw new SrpcError(ErrorCode::TIMEOUT, "connect $address: timed out", $address, false);
            }
            throw new SrpcError(ErrorCode::SEND_RECV_FAILED, "connect $address: $errstr", $address, false);
        }
        stream_set_blocking($s, false);
        if (function_exists('socket_import_stream')) {
            $sock = socket_import_stream($s);
            if ($sock !== false && $sock !== null) {
                @socket_set_option($sock, SOL_TCP, TCP_NODELAY, 1);
            }
        }
        return $this->pool[$address] = new Connection($s, $address, false);
    }

    /**
     * Writes queued frames and reads replies until every in-flight call has
     * its reply, failed, or passed its deadline — or, with `$any`, until at
     * least one has.
     *
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function wait(array &$inflight, array &$results, bool $any): void
    {
        while ($inflight !== [] && !($any && $results !== [])) {
            foreach ($inflight as $t => $f) {
                if (isset($this->parked[$t])) {
                    $p = $this->parked[$t];
                    unset($this->parked[$t]);
                    if ($p['error'] !== null) {
                        $this->router->update($f['call']->service, $p['conn']->address, 1, 0);
                        $results[$t] = $p['error'];
                        unset($inflight[$t]);
                    } else {
                        $this->deliver($t, $p['head'], $p['body'], $p['conn'], $inflight, $results);
                    }
                }
            }
            if ($inflight === [] || ($any && $results !== [])) {
                return;
            }
            $now = self::nowMs();
            $nearest = INF;
            foreach ($inflight as $i => $f) {
                if ($f['deadline'] <= $now) {
                    $conn = $f['conn'];
                    $partial = $conn->rbuf !== '' && count($conn->pending) === 1;
                    $conn->expire($f['seq']);
                    $code = $partial ? ErrorCode::RECV_TIMEOUT : ErrorCode::TIMEOUT;
                    $budget = $f['call']->timeoutMs ?? $this->defaultTimeoutMs;
                    $results[$i] = new SrpcError($code, "no reply from {$conn->address} within $budget ms", $conn->address, $conn->wbuf === '' || $conn->udp);
                    $this->router->update($f['call']->service, $conn->address, 1, 0);
                    if ($conn->udp) {
                        $conn->close();
                    }
                    unset($inflight[$i]);
                } else {
                    $nearest = min($nearest, $f['deadline']);
                }
            }
            if ($inflight === [] || ($any && $results !== [])) {
                return;
            }
            $reads = [];
            $writes = [];
            foreach ($inflight as $f) {
                $id = (int) $f['conn']->stream;
                $reads[$id] = $f['conn'];
                if ($f['conn']->wbuf !== '') {
                    $writes[$id] = $f['conn'];
                }
            }
            $r = array_map(static fn (Connection $c) => $c->stream, array_values($reads));
            $w = array_map(static fn (Connection $c) => $c->stream, array_values($writes));
            $e = null;
            $waitUs = (int) max(0, ceil(($nearest - self::nowMs()) * 1000));
            $n = @stream_select($r, $w, $e, intdiv($waitUs, 1_000_000), $waitUs % 1_000_000);
            if ($n === false) {
                continue; // interrupted by a signal: deadlines are rechecked
            }
            foreach ($w as $stream) {
                $conn = $writes[(int) $stream];
                $written = @fwrite($conn->stream, $conn->wbuf);
                if ($written === false || ($written === 0 && feof($conn->stream))) {
                    $this->failConnection($conn, $inflight, $results, ErrorCode::SEND_RECV_FAILED, "write to {$conn->address} failed");
                    continue;
                }
                $conn->wbuf = (string) substr($conn->wbuf, $written);
            }
            foreach ($r as $stream) {
                $conn = $reads[(int) $stream];
                if ($conn->closed) {
                    continue;
                }
                $data = @fread($conn->stream, $conn->udp ? 65536 : 262144);
                if ($data === false || $data === '') {
                    if ($conn->udp) {
                        continue;
                    }
                    $this->failConnection($conn, $inflight, $results, ErrorCode::SEND_RECV_FAILED, "{$conn->address} closed the connection");
                    continue;
                }
                $conn->rbuf .= $data;
                $this->parseReplies($conn, $inflight, $results);
            }
        }
    }

    /**
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function parseReplies(Connection $conn, array &$inflight, array &$results): void
    {
        while ($conn->rbuf !== '') {
            $total = Frame::check($conn->rbuf);
            if ($total === 0) {
                if (strlen($conn->rbuf) > 9) {
                    /** @var array{1: int, 2: int} $u */
                    $u = unpack('N2', $conn->rbuf, 1);
                    if ($u[1] + $u[2] + Frame::OVERHEAD > self::MAX_FRAME_BYTES) {
                        $this->failConnection($conn, $inflight, $results, ErrorCode::INVALID_PKG, "reply frame of " . ($u[1] + $u[2] + Frame::OVERHEAD) . " bytes from {$conn->address} exceeds " . self::MAX_FRAME_BYTES);
                    }
                }
                return;
            }
            if ($total < 0) {
                $this->failConnection($conn, $inflight, $results, ErrorCode::INVALID_PKG, "reply bytes from {$conn->address} are not SRPC");
                return;
            }
            $frame = substr($conn->rbuf, 0, $total);
            $conn->rbuf = (string) substr($conn->rbuf, $total);
            try {
                [$head, $body] = Frame::unpack($frame);
            } catch (SrpcError $e) {
                if (count($conn->pending) === 1) {
                    $this->finish($conn, (int) reset($conn->pending), $inflight, $results, $e);
                }
                continue;
            }
            $seq = $head->sequence ?? 0;
            if (!isset($conn->pending[$seq])) {
                if (isset($conn->expired[$seq])) {
                    unset($conn->expired[$seq]);
                } elseif (count($conn->pending) === 1) {
                    $this->finish($conn, (int) reset($conn->pending), $inflight, $results, new SrpcError(ErrorCode::INVALID_SEQUENCE, sprintf('reply sequence %u from %s matches no call', $seq, $conn->address), $conn->address));
                }
                continue;
            }
            $t = $conn->pending[$seq];
            unset($conn->pending[$seq]);
            if (isset($inflight[$t])) {
                $this->deliver($t, $head, $body, $conn, $inflight, $results);
            } else {
                $this->parked[$t] = ['head' => $head, 'body' => $body, 'conn' => $conn, 'error' => null];
            }
            if ($conn->udp) {
                $conn->close();
            }
        }
    }

    /**
     * Turns the reply of in-flight call `$t` into its result and reports the
     * outcome to the balancer (a server answer is a success, even with `err`).
     *
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function deliver(int $t, RpcHead $head, string $body, Connection $conn, array &$inflight, array &$results): void
    {
        $call = $inflight[$t]['call'];
        $this->router->update($call->service, $conn->address, 0, self::nowMs() - $inflight[$t]['sentAt']);
        if (($head->err ?? 0) !== 0) {
            $result = new SrpcError($head->err, (string) $head->errMsg, $conn->address, true, true);
        } elseif ($call->replyClass !== null) {
            try {
                /** @var Message $reply */
                $reply = new ($call->replyClass)();
                $reply->mergeFromString($body);
                $result = $reply;
            } catch (\Throwable $e) {
                $result = new SrpcError(ErrorCode::INVALID_PKG_BODY, "reply does not decode as {$call->replyClass}: {$e->getMessage()}", $conn->address);
            }
        } else {
            $result = $body;
        }
        $results[$t] = $result;
        unset($inflight[$t]);
    }

    /**
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function finish(Connection $conn, int $t, array &$inflight, array &$results, SrpcError $error): void
    {
        $seq = array_search($t, $conn->pending, true);
        if ($seq !== false) {
            unset($conn->pending[$seq]);
        }
        if (!isset($inflight[$t])) {
            $this->parked[$t] = ['head' => null, 'body' => '', 'conn' => $conn, 'error' => $error];
            return;
        }
        $this->router->update($inflight[$t]['call']->service, $conn->address, 1, 0);
        $results[$t] = $error;
        unset($inflight[$t]);
    }

    /**
     * Fails every call in flight on `$conn` and drops the connection.
     *
     * @param array<int, array{call: Call, deadline: float, conn: Connection, seq: int, sentAt: float}> $inflight
     * @param array<int, Message|string|SrpcError> $results
     */
    private function failConnection(Connection $conn, array &$inflight, array &$results, int $code, string $detail): void
    {
        foreach ($conn->pending as $t) {
            $this->finish($conn, $t, $inflight, $results, new SrpcError($code, $detail, $conn->address));
        }
        $conn->pending = [];
        $conn->close();
        if (($this->pool[$conn->address] ?? null) === $conn) {
            unset($this->pool[$conn->address]);
        }
    }

    private static function nowMs(): float
    {
        return hrtime(true) / 1e6;
    }
}
