<?php

declare(strict_types=1);

/**
 * Autoloads the protobuf runtime that Debian's php-google-protobuf package
 * installs without an autoloader: `Google\Protobuf\…` and
 * `GPBMetadata\Google\Protobuf\…` under /usr/share/php (override the folder
 * with $MSEC_PHP_PROTOBUF_DIR).
 */

(static function (): void {
    $env = getenv('MSEC_PHP_PROTOBUF_DIR');
    $root = rtrim(is_string($env) && $env !== '' ? $env : '/usr/share/php', '/');
    if (!is_file("$root/Google/Protobuf/Internal/Message.php")) {
        throw new \RuntimeException("google/protobuf stand-in: no protobuf runtime under $root (apt-get install php-google-protobuf, or set MSEC_PHP_PROTOBUF_DIR)");
    }
    spl_autoload_register(static function (string $class) use ($root): void {
        if (str_starts_with($class, 'Google\\Protobuf\\') || str_starts_with($class, 'GPBMetadata\\Google\\Protobuf\\')) {
            $file = $root . '/' . str_replace('\\', '/', $class) . '.php';
            if (is_file($file)) {
                require $file;
            }
        }
    });
})();
