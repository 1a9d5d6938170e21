#!/usr/bin/env bash
# The PHP runtime's own suite: installs this package with Composer from path
# repositories only (no Packagist: google/protobuf comes from the debian-protobuf
# stand-in over Debian's php-google-protobuf), then runs every tests/*_test.php
# (plain PHP scripts that exit non-zero on the first failed assertion).
# Needs php-cli (≥ 8.1), php-google-protobuf, composer and etcd (scripts/setup.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

php -r 'exit(PHP_VERSION_ID >= 80100 ? 0 : 1);' || { echo "PHP >= 8.1 required, found $(php -r 'echo PHP_VERSION;')" >&2; exit 1; }
echo "==> composer validate + install (runtimes/php, offline)"
composer validate --no-check-publish --no-check-lock --no-interaction -d "$here" >/dev/null 2>&1 || composer validate --no-check-publish --no-check-lock -d "$here"
cat > "$work/composer.json" <<JSON
{
  "name": "msec-gen/runtime-tests",
  "require": { "msec-gen/runtime": "*" },
  "repositories": [
    { "packagist.org": false },
    { "type": "path", "url": "$here", "options": { "symlink": true } },
    { "type": "path", "url": "$here/debian-protobuf", "options": { "symlink": false } }
  ]
}
JSON
COMPOSER_HOME="$work/.composer" composer install --no-interaction --no-progress -q -d "$work"
export MSEC_PHP_AUTOLOAD="$work/vendor/autoload.php"

echo "==> php -l (runtimes/php/src)"
find "$here/src" "$here/tests" -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null

echo "==> tests (runtimes/php/tests)"
for t in "$here"/tests/*_test.php; do
  (cd "$work" && php "$t")
done
