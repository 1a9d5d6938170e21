#!/usr/bin/env bash
# The Go runtime's own suite: gofmt-clean, go vet, go test (frame and head
# codecs against the shared vectors in ../../fixtures/vectors, routing, the
# balancer against vectors recorded from the TypeScript one, multiplexed
# connections on real sockets, etcd routing against a real etcd).
set -euo pipefail
cd "$(dirname "$0")"

unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt -l: not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
if ! command -v etcd >/dev/null; then
  echo "etcd is not installed: the etcd tests run a real one (scripts/setup.sh installs Debian's etcd-server)" >&2
  exit 1
fi
go vet ./...
go test -count=1 ./...
