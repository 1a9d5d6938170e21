<?php

declare(strict_types=1);

namespace Msec;

/**
 * A failed call: `getCode()` is the SRPC code (negative, see ErrorCode), the
 * message is MSEC's text for it followed by details.
 */
class SrpcError extends \RuntimeException
{
    /**
     * @param int $code SRPC code
     * @param string $detail what happened, appended to MSEC's text
     * @param string $address the `ip:port` called, '' when no address was chosen
     * @param bool $requestSent false when the request certainly never reached a server (refused connection, route failure)
     * @param bool $fromServer true when the code came from the reply head's `err`
     */
    public function __construct(
        int $code,
        string $detail = '',
        public readonly string $address = '',
        public readonly bool $requestSent = true,
        public readonly bool $fromServer = false,
    ) {
        $text = ErrorCode::message($code);
        parent::__construct($detail === '' ? $text : "$text: $detail", $code);
    }
}
