<?php

declare(strict_types=1);

namespace Msec;

use Google\Protobuf\Internal\Message;

/**
 * One call for Client::callMany(): where, which method, the request and what
 * to decode the reply into. Generated clients build these (`<method>Call()`).
 */
final class Call
{
    /**
     * @param string $service routing name (`Group.Service`) or literal `ip:port[@tcp|@udp]`
     * @param string $method full method name `package.Service.Method`
     * @param string|Message $request request message or its serialized bytes
     * @param class-string<Message>|null $replyClass message class of the reply; null = the raw reply bytes
     * @param int|null $timeoutMs whole-call budget; null = the client's default
     * @param int $retries extra picks after a refused connection (routing names only)
     */
    public function __construct(
        public readonly string $service,
        public readonly string $method,
        public readonly string|Message $request,
        public readonly ?string $replyClass = null,
        public readonly ?int $timeoutMs = null,
        public readonly int $retries = 0,
    ) {
    }
}
