#!/usr/bin/env bash
# Installs the system tools the tests need (Debian packages, Python packages).
# Each tool is installed only when it is missing, so a warm machine pays nothing,
# and apt-get runs at most once.
set -euo pipefail

# command-or-file : Debian package
#   curl                 runtime server tests use curl as a real HTTP/1.1 client
#   cmake make g++       C++ caller tests build generated CMake projects
#   protoc + headers     C++ message code is generated at build time with the system protoc
#                        and linked against Debian's libprotobuf
#   javac mvn            Java caller tests build generated Maven projects (JDK 17);
#                        protobuf-java, JUnit and plugins come from Maven Central into ~/.m2
#   python3 -m venv      Python caller tests install the generated package into a fresh venv
#   etcd etcdctl         routing tests (test/etcd) start a real etcd v3 on loopback
#   mariadbd mariadb     the VOA example (test/e2e/voa-example.test.ts) starts MariaDB on loopback
#   php composer         the PHP runtime (runtimes/php/test.sh) and PHP caller tests install packages
#                        offline with Composer; google/protobuf is Debian's php-google-protobuf (3.21)
#   chromium             browser tests (test/browser/) drive the API explorer and the console headless
#                        through puppeteer-core, which ships no browser of its own
apt_needs=(
  curl:curl
  cmake:cmake
  make:make
  g++:g++
  protoc:protobuf-compiler
  /usr/include/google/protobuf/message.h:libprotobuf-dev
  javac:openjdk-17-jdk-headless
  mvn:maven
  etcd:etcd-server
  etcdctl:etcd-client
  mariadbd:mariadb-server
  mariadb:mariadb-client
  php:php-cli
  /usr/share/php/Google/Protobuf/Internal/Message.php:php-google-protobuf
  composer:composer
  chromium:chromium
)
missing=()
for pair in "${apt_needs[@]}"; do
  what=${pair%%:*}; pkg=${pair#*:}
  if [[ $what == /* ]]; then
    [ -e "$what" ] || missing+=("$pkg")
  else
    command -v "$what" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python runtime tests (runtimes/python/test.sh) and the _pb2 writer test import protobuf and run pytest
# with the python3 on PATH. (--break-system-packages only matters on a PEP 668 system python.)
# mypy checks the runtime's type hints (runtimes/python/test.sh); pinned so a new release
# cannot turn the suite red on its own.
if ! python3 -c 'import google.protobuf, pytest, mypy' >/dev/null 2>&1; then
  echo "==> pip install protobuf pytest mypy"
  python3 -m pip install -q 'protobuf>=4.21,<8' pytest 'mypy==2.4.1' ||
    python3 -m pip install -q --break-system-packages 'protobuf>=4.21,<8' pytest 'mypy==2.4.1'
fi

# The VOA example's Python MainLogic (examples/voa/handlers/python, test/e2e/voa-example.test.ts)
# caches in MariaDB with PyMySQL (pure Python), imported by the python3 on PATH.
if ! python3 -c 'import pymysql' >/dev/null 2>&1; then
  echo "==> pip install PyMySQL"
  python3 -m pip install -q 'PyMySQL==1.1.2' ||
    python3 -m pip install -q --break-system-packages 'PyMySQL==1.1.2'
fi

# Python caller tests (test/interop/python-caller.test.ts) pip-install generated packages into a
# fresh `python3 -m venv`: python3 needs its venv and ensurepip modules (Debian: python3-venv).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "==> apt-get install python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

# Go caller tests (test/interop/go*.test.ts) and runtimes/go need Go >= 1.26 (what the runtime's
# etcd client, go.etcd.io/etcd/client/v3 v3.7.3, declares). This kind of machine ships a current Go; Debian's golang-go is too old.
# protoc-gen-go and google.golang.org/protobuf come from the Go module proxy on first use.
go_version=$(go env GOVERSION 2>/dev/null || true)
go_version=${go_version#go}
go_minor=$(echo "$go_version" | cut -d. -f2)
if [ -z "$go_version" ] || [ "${go_version%%.*}" -lt 1 ] || { [ "${go_version%%.*}" -eq 1 ] && [ "${go_minor:-0}" -lt 26 ]; }; then
  echo "setup: Go >= 1.26 is needed for the Go runtime and caller tests (found: ${go_version:-none})." >&2
  echo "setup: install it (e.g. with GOTOOLCHAIN=go1.26.0 from an existing Go >= 1.21) and rerun." >&2
  exit 1
fi
