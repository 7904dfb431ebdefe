#!/bin/sh
# Configures and builds into build/ (executables in build/bin/). Extra arguments go to CMake.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build
