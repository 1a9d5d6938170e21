<?php

declare(strict_types=1);

/**
 * The PHP interop program: runs in an application folder where the generated
 * VOA.Crawl caller was installed with Composer, makes the calls of one
 * scenario (argv[1]) through the typed client and MSEC's callmethod, and
 * prints one JSON object of what happened.
 */

require getcwd() . '/vendor/autoload.php';

use Crawl\CrawlServiceClient;
use Crawl\GetMP3ListRequest;
use Crawl\GetMP3ListResponse;
use Msec\SrpcError;

$service = $argv[2] ?? CrawlServiceClient::DEFAULT_SERVICE;
$client = new CrawlServiceClient($service, timeoutMs: 3000);
$outcome = static function (callable $fn): array {
    try {
        $reply = $fn();
        return ['code' => 0, 'reply' => json_decode($reply->serializeToJsonString(), true)];
    } catch (SrpcError $e) {
        return ['code' => $e->getCode(), 'message' => $e->getMessage()];
    }
};

$out = match ($argv[1]) {
    'success' => $outcome(static fn () => $client->getMP3List(new GetMP3ListRequest(['type' => 'special']))),
    'empty-type' => $outcome(static fn () => $client->getMP3List((new GetMP3ListRequest())->setType(''))),
    'error' => $outcome(static fn () => $client->getMP3List(new GetMP3ListRequest(['type' => 'fail']))),
    'timeout' => $outcome(static fn () => $client->getMP3List(new GetMP3ListRequest(['type' => 'slow']), timeoutMs: 200)),
    'many' => array_map(
        static fn ($r) => $r instanceof SrpcError ? ['code' => $r->getCode()] : ['code' => 0, 'reply' => json_decode($r->serializeToJsonString(), true)],
        $client->callMany([
            $client->getMP3ListCall(new GetMP3ListRequest(['type' => 'slow'])),
            $client->getMP3ListCall(new GetMP3ListRequest(['type' => 'fast'])),
            $client->getMP3ListCall(new GetMP3ListRequest(['type' => 'slow']), timeoutMs: 100),
        ]),
    ),
    'callmethod' => (static function () use ($service): array {
        $r = \Msec\callmethod($service, 'crawl.CrawlService.GetMP3List', (new GetMP3ListRequest(['type' => 'msec']))->serializeToString(), 2000);
        $reply = new GetMP3ListResponse();
        if ($r['ret'] === 0) {
            $reply->mergeFromString($r['rsp']);
        }
        $bad = \Msec\callmethod($service, 'crawl.CrawlService.NoSuch', '', 2000);
        return ['ret' => $r['ret'], 'errmsg' => $r['errmsg'], 'first' => $reply->getMp3S()[0]->getTitle(), 'bad' => [$bad['ret'], $bad['rsp']]];
    })(),
};
echo json_encode($out, JSON_UNESCAPED_UNICODE), "\n";
