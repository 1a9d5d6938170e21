<?php

declare(strict_types=1);

/**
 * Lets message code from current protoc releases load on google/protobuf 3.x
 * (e.g. Debian 12's php-google-protobuf 3.21): protoc ≥ 4.x-era generators
 * type repeated and map setters with `Google\Protobuf\RepeatedField` /
 * `Google\Protobuf\MapField`, which 3.x has only under `Internal`. Where the
 * public names are missing they become aliases of the internal classes (the
 * same classes 4.x exposes under both names). Loaded by Composer's `files`
 * autoload; a no-op on protobuf 4.x.
 */

foreach (['RepeatedField', 'MapField', 'RepeatedFieldIter', 'MapFieldIter'] as $name) {
    $public = "Google\\Protobuf\\$name";
    $internal = "Google\\Protobuf\\Internal\\$name";
    if (!class_exists($public) && class_exists($internal)) {
        class_alias($internal, $public);
    }
}
