<?php

declare(strict_types=1);

/**
 * Loads every class of the installed PHP callers (argv: their src/ folders):
 * each message class is constructed, serialized and parsed back, each client
 * class constructed and its rpc methods listed. Prints one JSON object.
 */

require getcwd() . '/vendor/autoload.php';

$out = ['messages' => 0, 'clients' => []];
foreach (array_slice($argv, 1) as $src) {
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, FilesystemIterator::SKIP_DOTS));
    $files = [];
    foreach ($it as $f) {
        $files[] = $f->getPathname();
    }
    sort($files);
    foreach ($files as $file) {
        $class = str_replace('/', '\\', substr($file, strlen($src) + 1, -4));
        if (!class_exists($class) && !interface_exists($class)) {
            throw new RuntimeException("$class does not autoload from $file");
        }
        $r = new ReflectionClass($class);
        if ($r->isSubclassOf(\Google\Protobuf\Internal\Message::class)) {
            $m = new $class();
            $copy = new $class();
            $copy->mergeFromString($m->serializeToString());
            $out['messages']++;
        } elseif (str_ends_with($class, 'Client') || str_ends_with($class, 'Client_')) {
            new $class('127.0.0.1:1');
            $methods = array_values(array_filter(
                array_map(static fn (ReflectionMethod $x) => $x->getName(), $r->getMethods(ReflectionMethod::IS_PUBLIC)),
                static fn (string $n) => !in_array($n, ['__construct', 'callMany', 'stream'], true) && !str_ends_with($n, 'Call'),
            ));
            $out['clients'][$class] = $methods;
        }
    }
}
ksort($out['clients']);
echo json_encode($out), "\n";
