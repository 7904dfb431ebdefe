#!/bin/sh
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/ and
# runs the whole test suite under them. Arguments go to ctest (e.g. -R tst_safetensors).
# Only our code is instrumented; LibTorch, Qt and OpenCV are Debian's own builds. See the
# README's "Reliability" section for what the options below are for.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LATENT_ASAN_BUILD_DIR:-build-asan}
# -O1: sanitized code at -O3 builds much slower and reports no more; -g1: line numbers in reports.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1 -DNDEBUG" \
  "-DLATENT_SANITIZE=address;undefined" >/dev/null
cmake --build "$BUILD"

# allocator_may_return_null: a huge request must fail as it does without ASan (std::bad_alloc,
# LibTorch's "can't allocate memory"), which is what the out-of-memory tests check.
# LeakSanitizer stays on for our code; allocations made inside LibTorch, Qt, OpenMP and
# OpenBLAS that those libraries keep until exit (registries, thread pools, font caches)
# are suppressed by scripts/lsan.supp.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$(pwd)/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
QT_QPA_PLATFORM=offscreen ctest --test-dir "$BUILD" --output-on-failure "$@"
