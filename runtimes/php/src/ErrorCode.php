<?php

declare(strict_types=1);

namespace Msec;

/**
 * SRPC error codes (spec §2, `srpc_comm.h`) and MSEC's `errmsg()` texts,
 * verbatim including their typos.
 */
final class ErrorCode
{
    public const SUCCESS = 0;
    public const PARA_ERROR = -1;
    public const SYSTEM_ERROR = -2;
    public const INVALID_PKG = -3;
    public const INVALID_PKG_HEAD = -4;
    public const INVALID_PKG_BODY = -5;
    public const INVALID_METHOD_NAME = -6;
    public const HEADER_UNINIT = -7;
    public const BODY_UNINIT = -8;
    public const NO_MEMORY = -9;
    public const TIMEOUT = -10;
    public const NETWORK = -11;
    public const RECV_TIMEOUT = -12;
    public const SEND_RECV_FAILED = -13;
    public const INVALID_ENDPOINT = -14;
    public const GET_ROUTE_FAILED = -15;
    public const INVALID_SEQUENCE = -16;
    public const NO_BODY = -17;
    public const SERVICE_IMPL_FAILED = -18;
    public const BACKEND = -19;
    public const PHP_FAILED = -20;
    public const PYTHON_FAILED = -21;

    private const TEXTS = [
        0 => 'success',
        -1 => 'invalid parameter',
        -2 => 'system error',
        -3 => 'invalid package',
        -4 => 'invalid package header',
        -5 => 'invalid package body',
        -6 => 'invalid method name',
        -7 => 'package header uninitialized',
        -8 => 'package body uninitialized',
        -9 => 'no memory',
        -10 => 'timeout',
        -11 => 'network error',
        -12 => 'recevice timeout',
        -13 => 'network sendrecv failed',
        -14 => 'invalid endpoint',
        -15 => 'get route failed',
        -16 => 'invalid sequence',
        -17 => 'no package body',
        -18 => 'service implement failed',
        -19 => 'backend process failed, use GetErrText get more information',
        -20 => 'php error',
        -21 => 'python error',
    ];

    private function __construct()
    {
    }

    /** MSEC's `errmsg(code)`: the text of a code, `unkown error` for any other. */
    public static function message(int $code): string
    {
        return self::TEXTS[$code] ?? 'unkown error';
    }
}
