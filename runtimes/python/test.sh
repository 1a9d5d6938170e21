#!/usr/bin/env bash
# The Python runtime's own suite: pytest (unit tests, shared wire vectors, real sockets) and
# mypy --strict over the shipped packages (they carry py.typed, so their hints are API).
# Uses the python3 on PATH with protobuf, pytest and mypy (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"

echo "==> pytest (runtimes/python)"
python3 -m pytest -q tests

echo "==> mypy --strict (runtimes/python/src)"
MYPYPATH=src python3 -m mypy --strict --ignore-missing-imports --no-incremental --cache-dir=/dev/null -p msec -p msec_impl
