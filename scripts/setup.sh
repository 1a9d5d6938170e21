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

# Go caller tests (test/interop/go*.test.ts) run the Go toolchain (>= 1.23, what
# google.golang.org/protobuf v1.36.12 declares; Debian 12's golang-go is 1.19). When it is
# missing or older, the official toolchain is fetched as the Go module
# golang.org/toolchain from the Go module proxy and linked into /usr/local/bin.
# protoc-gen-go and google.golang.org/protobuf come from the module proxy on the first run.
GO_TOOLCHAIN_VERSION=1.26.0
go_usable() {
  local v
  v=$(go env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%[.a-z]*}
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 23 ]; }
}
if ! go_usable; then
  case "$(uname -m)" in
    x86_64) go_arch=amd64 ;;
    aarch64 | arm64) go_arch=arm64 ;;
    *) echo "setup: no Go toolchain for $(uname -m); install Go >= 1.23 yourself" >&2; exit 1 ;;
  esac
  for tool in curl unzip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
    fi
  done
  mod="v0.0.1-go${GO_TOOLCHAIN_VERSION}.linux-${go_arch}"
  echo "==> Go ${GO_TOOLCHAIN_VERSION} from proxy.golang.org (golang.org/toolchain@${mod})"
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/${mod}.zip"
  unzip -q "$tmp/go.zip" -d "$tmp"
  rm -rf /usr/local/lib/go-toolchain
  mv "$tmp/golang.org/toolchain@${mod}" /usr/local/lib/go-toolchain
  rm -rf "$tmp"
  # Module zips carry no file modes: mark the commands executable, as `go` does when it
  # downloads a toolchain itself.
  chmod -R a+rX /usr/local/lib/go-toolchain
  chmod a+x /usr/local/lib/go-toolchain/bin/* /usr/local/lib/go-toolchain/pkg/tool/*/*
  ln -sf /usr/local/lib/go-toolchain/bin/go /usr/local/lib/go-toolchain/bin/gofmt /usr/local/bin/
  hash -r
  go_usable || { echo "setup: Go install failed" >&2; exit 1; }
fi
