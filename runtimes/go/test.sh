#!/usr/bin/env bash
# The Go runtime's own suite: gofmt-clean, go vet, go test (frame and head
# codecs against the shared vectors in ../../fixtures/vectors, routing, pooling).
set -euo pipefail
cd "$(dirname "$0")"

unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt -l: not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 ./...
