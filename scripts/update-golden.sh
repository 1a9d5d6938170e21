#!/usr/bin/env bash
# The only way golden files change: regenerates test/golden/ from the current
# generator (cases in test/generator/golden-cases.ts). Review with `git diff test/golden`.
set -euo pipefail
cd "$(dirname "$0")/.."
node --import tsx test/generator/update-golden.ts
