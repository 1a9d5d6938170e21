#!/usr/bin/env bash
# The C++ runtime's own suite: configure, build and ctest in build/ (ignored),
# against the shared wire vectors in ../../fixtures/vectors.
set -euo pipefail
cd "$(dirname "$0")"
# An npm-installed protoc (node_modules/.bin) would not match the system libprotobuf.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/.bin' | paste -sd: -)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMSEC_RUNTIME_BUILD_TESTS=ON
cmake --build build -j "${MSEC_BUILD_JOBS:-2}"
ctest --test-dir build --output-on-failure
