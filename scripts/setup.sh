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
