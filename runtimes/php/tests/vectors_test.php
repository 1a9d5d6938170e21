<?php

declare(strict_types=1);

/** The shared wire vectors (fixtures/vectors, spec §13): framing, CRpcHead codec, check/unpack, colour ids; field 70. */

require __DIR__ . '/bootstrap.php';

use Msec\Frame;
use Msec\RpcHead;

/** @param array<string, mixed> $h */
function headFrom(array $h): RpcHead
{
    $head = new RpcHead();
    $head->sequence = isset($h['sequence']) ? (int) $h['sequence'] : null;
    $head->coloring = $h['coloring'] ?? null;
    $head->colorId = isset($h['color_id']) ? (int) $h['color_id'] : null;
    $head->flowId = isset($h['flow_id']) ? (int) $h['flow_id'] : null;
    $head->err = $h['err'] ?? null;
    $head->result = $h['result'] ?? null;
    $head->errMsg = $h['err_msg'] ?? null;
    $head->caller = $h['caller'] ?? null;
    $head->methodName = $h['method_name'] ?? null;
    $head->callerStack = $h['caller_stack'] ?? [];
    return $head;
}

/** @return array<string, mixed> the head as the vectors write it */
function headTo(RpcHead $h): array
{
    $out = [];
    if ($h->sequence !== null) $out['sequence'] = sprintf('%u', $h->sequence);
    if ($h->coloring !== null) $out['coloring'] = $h->coloring;
    if ($h->colorId !== null) $out['color_id'] = sprintf('%u', $h->colorId);
    if ($h->flowId !== null) $out['flow_id'] = sprintf('%u', $h->flowId);
    if ($h->err !== null) $out['err'] = $h->err;
    if ($h->result !== null) $out['result'] = $h->result;
    if ($h->errMsg !== null) $out['err_msg'] = $h->errMsg;
    if ($h->caller !== null) $out['caller'] = $h->caller;
    if ($h->methodName !== null) $out['method_name'] = $h->methodName;
    if ($h->callerStack !== []) $out['caller_stack'] = $h->callerStack;
    return $out;
}

foreach (['v1-python-client-request.json', 'v2-minimal-request.json', 'v3-unknown-method-response.json', 'v4-java-client-request.json', 'v5-csrpcproxy-request.json'] as $file) {
    $v = vector($file);
    $cases = [[$v["head"], $v["head_hex"], $v["body_hex"] ?? "", $v["frame_hex"] ?? null]];
    if (isset($v['java_server_response'])) {
        $cases[] = [$v['java_server_response']['head'], $v['java_server_response']['head_hex'], null, null];
    }
    foreach ($cases as [$head, $headHex, $bodyHex, $frameHex]) {
        eq($headHex, bin2hex(headFrom($head)->encode()), "$file: head encodes byte-identically");
        ksort($head);
        $decoded = headTo(RpcHead::decode(hex2bin($headHex)));
        ksort($decoded);
        eq($head, $decoded, "$file: head decodes to the vector's fields");
        if ($frameHex !== null) {
            eq($frameHex, bin2hex(Frame::pack(hex2bin($headHex), hex2bin($bodyHex))), "$file: frame packs byte-identically");
            [$h, $body] = Frame::unpack(hex2bin($frameHex));
            eq($bodyHex, bin2hex($body), "$file: frame unpacks to the body");
            eq(strlen(hex2bin($frameHex)), Frame::check(hex2bin($frameHex)), "$file: check gives the frame length");
        }
    }
}

$v6 = vector('v6-check-pkg.json');
foreach ($v6['check'] as $c) {
    eq($c['check'], Frame::check(hex2bin($c['input_hex'])), "V6 check: {$c['name']}");
}
foreach ($v6['unpack'] as $c) {
    $got = 0;
    try {
        Frame::unpack(hex2bin($c['input_hex']));
    } catch (\Msec\SrpcError $e) {
        $got = $e->getCode();
    }
    eq($c['unpack'], $got, "V6 unpack: {$c['name']}");
}

$v7 = vector('v7-color-ids.json');
foreach ($v7['ids'] as $c) {
    eq($c['djb2'], Frame::colorId(hex2bin($c['name_utf8_hex'])), "V7 djb2 colour id of {$c['name']}");
}
foreach ($v7['flow_ids'] as $c) {
    eq($c['flow_id'], sprintf('%u', Frame::colorId($c['method']) ^ (int) $c['sequence']), "V7 default flow id of {$c['method']} seq {$c['sequence']}");
}

// Field 70 timeout_ms: tag bytes B0 04, written after caller_stack; decoded back; 0 and absent differ on the wire.
$h = headFrom(vector('v2-minimal-request.json')['head']);
$plain = $h->encode();
$h->timeoutMs = 1500;
eq(bin2hex($plain) . 'b004dc0b', bin2hex($h->encode()), 'timeout_ms=1500 is appended as b0 04 dc 0b');
eq(1500, RpcHead::decode($h->encode())->timeoutMs, 'timeout_ms decodes');
eq(null, RpcHead::decode($plain)->timeoutMs, 'absent timeout_ms decodes as null');
$h->callerStack = ['a'];
eq(bin2hex($plain) . 'e2030161' . 'b004dc0b', bin2hex($h->encode()), 'timeout_ms comes after caller_stack');
// Unknown fields (an MSEC peer's future field, fixed64 and a nested message) are skipped.
eq('echo.EchoService.Echo', RpcHead::decode($plain . hex2bin('f906' . '0102030405060708' . 'fa06' . '020801'))->methodName, 'unknown fields are skipped');
eq(-4, srpcError(static fn () => RpcHead::decode(hex2bin('5001')), 'no method_name')->getCode(), 'a head without method_name is -4');
eq(-4, srpcError(static fn () => RpcHead::decode(hex2bin('9a0305')), 'truncated')->getCode(), 'a truncated head is -4');
// uint64 above 2^63 round-trips through the PHP int's bits.
$big = new RpcHead();
$big->sequence = (int) '18446744073709551615' === PHP_INT_MAX ? -1 : -1;
$big->methodName = 'a.b';
eq('50ffffffffffffffffff019a0303612e62', bin2hex($big->encode()), 'sequence 2^64-1 is a 10-byte varint');
eq('18446744073709551615', sprintf('%u', RpcHead::decode($big->encode())->sequence), 'sequence 2^64-1 decodes');

done('vectors');
