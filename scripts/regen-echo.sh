#!/usr/bin/env bash
# Regenerates the echo service's message code (examples/echo/gen/echo_pb.ts) from
# fixtures/echo/echo.proto with buf + protoc-gen-es, the same tools the generator uses.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/@bufbuild/buf-linux-x64/bin/buf
[ -x "$buf" ] || buf=node_modules/.bin/buf
PATH="$PWD/node_modules/.bin:$PATH" "$buf" generate fixtures/echo \
  --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":"examples/echo/gen","opt":["target=ts","import_extension=js"]}]}'
echo "wrote examples/echo/gen/echo_pb.ts"
