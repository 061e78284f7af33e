#!/usr/bin/env bash
# build_sanitized.sh [TARGET...] — configures (once) and builds the clang ASan+UBSan build directory
# that serves both the sanitized unit tests (scripts/test_sanitized.sh) and the libFuzzer targets
# (scripts/fuzz.sh): FACEPROOF_SANITIZE=ON, FACEPROOF_FUZZ=ON, no benchmarks. Without TARGETs it
# builds everything. The directory is $FACEPROOF_ASAN_BUILD (default build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FACEPROOF_ASAN_BUILD:-build-asan}
command -v clang++ >/dev/null || { echo "build_sanitized: clang++ is missing: run scripts/setup.sh" >&2; exit 2; }
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
        -DFACEPROOF_SANITIZE=ON -DFACEPROOF_FUZZ=ON -DFACEPROOF_BUILD_BENCH=OFF >/dev/null
fi
# At most two jobs: the machine has two cores and is shared.
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD" -j"${FACEPROOF_JOBS:-2}" "${targets[@]}"
