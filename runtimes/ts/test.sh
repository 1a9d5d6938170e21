#!/usr/bin/env bash
# The TypeScript runtime's own suite: type-check (tsc --strict) and node --test on the sources.
set -euo pipefail
cd "$(dirname "$0")"
tsc=../../node_modules/typescript/bin/tsc
[ -x "$tsc" ] || tsc=node_modules/typescript/bin/tsc
node "$tsc" -p tsconfig.json
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
