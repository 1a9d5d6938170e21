#!/usr/bin/env bash
# The Java runtime's own suite: JUnit 5 under Maven (frame vectors from ../../fixtures/vectors, routing).
# Dependencies resolve through the default local repository (~/.m2), so runs after the first are offline.
set -euo pipefail
cd "$(dirname "$0")"
mvn -q -B test
