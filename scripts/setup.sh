#!/usr/bin/env bash
# Installs the system tools the tests need (Debian packages, Python packages).
# Each step runs only when its tool is missing, so a warm machine pays nothing.
set -euo pipefail

need_apt=()
# Add "command:package" pairs here as suites need them.
for pair in ; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Python runtime tests (test/python) and the _pb2 writer test import protobuf and run pytest
# with the python3 on PATH. (--break-system-packages only matters on a PEP 668 system python.)
# mypy checks the runtime's type hints (test/python/test_types.py); pinned so a new release
# cannot turn the suite red on its own.
if ! python3 -c 'import google.protobuf, pytest, mypy' >/dev/null 2>&1; then
  echo "==> pip install protobuf pytest mypy"
  python3 -m pip install -q 'protobuf>=4.21,<8' pytest 'mypy==2.4.1' ||
    python3 -m pip install -q --break-system-packages 'protobuf>=4.21,<8' pytest 'mypy==2.4.1'
fi

# C++ caller tests (test/interop/cpp*.test.ts) build generated CMake projects: cmake, make, g++,
# and protobuf from Debian (protoc runs at build time; headers + libprotobuf are linked).
need_cpp=()
for pair in cmake:cmake make:make g++:g++ protoc:protobuf-compiler; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_cpp+=("${pair#*:}")
done
[ -f /usr/include/google/protobuf/message.h ] || need_cpp+=(libprotobuf-dev)
if [ ${#need_cpp[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_cpp[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_cpp[@]}" >/dev/null
fi

# Runtime server tests (test/runtime/server-http.test.ts) use curl as a real HTTP/1.1 client.
if ! command -v curl >/dev/null 2>&1; then
  echo "==> apt-get install curl"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends curl >/dev/null
fi

# Java caller tests (test/interop/java*.test.ts) build generated Maven projects with JDK 17
# (javac, java) and Maven; protobuf-java, JUnit and the Maven plugins come from Maven Central
# into ~/.m2 on the first run.
need_java=()
for pair in javac:openjdk-17-jdk-headless mvn:maven; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_java+=("${pair#*:}")
done
if [ ${#need_java[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_java[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_java[@]}" >/dev/null
fi
