#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need, builds, runs every suite.
# Safe to run again: each install step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

if [ ! -d node_modules ]; then
  echo "==> npm ci"
  npm ci
fi
echo "==> build"
npm run --silent build
# The node suites run through tsx, which strips types without checking them: check them here.
echo "==> typecheck"
npm run --silent typecheck
npx tsc -p bench/tsconfig.json --noEmit

mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
echo "==> node --test (${#files[@]} files)"
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"

# Each runtime project runs its own suite with its own toolchain (runtimes/<lang>/test.sh).
for suite in runtimes/*/test.sh; do
  [ -e "$suite" ] || continue
  echo "==> ${suite%/test.sh}"
  bash "$suite"
done
