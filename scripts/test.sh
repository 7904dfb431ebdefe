#!/bin/sh
# Builds and runs every test suite.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh "$@"
QT_QPA_PLATFORM=offscreen ctest --test-dir build --output-on-failure
