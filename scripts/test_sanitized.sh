#!/usr/bin/env bash
# test_sanitized.sh [FUZZ_SECONDS] — the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (with leak detection), then a short run of every fuzz target (FUZZ_SECONDS each, default 30).
# One clang build directory serves both (scripts/build_sanitized.sh, default build-asan/).
# The tests run under a throwaway PostgreSQL (scripts/with_postgres.sh), as in scripts/test.sh: the
# PostgreSQL store is our code too (libpq buffers, binary parameters, the change feed) and costs
# seconds to include.
# Left out, with the reason:
#   - the tests that read ../shared/data (LFW, the spoof set): outside the repo, and minutes of
#     face pipeline per test under ASan for code paths the face-api photos already run;
#   - WebCapture.EndToEndInChromium: it drives build/faceproof (the normal build) in Chromium,
#     so nothing of it would run sanitized.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FACEPROOF_ASAN_BUILD:-build-asan}
FUZZ_SECONDS=${1:-30}

start=$(date +%s)
scripts/build_sanitized.sh
echo "test_sanitized: sanitizer build ready in $(( $(date +%s) - start )) s"

EXCLUDED='Lfw|LFW|SpoofSet|WellLitDarkSkinIsNotTooDark|ClosedEyesFailSelfie|ParsesRealDevTestFile|WebCapture'
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
start=$(date +%s)
scripts/with_postgres.sh ctest --test-dir "$BUILD" --output-on-failure -j"${FACEPROOF_JOBS:-2}" -E "$EXCLUDED"
echo "test_sanitized: sanitized unit tests passed in $(( $(date +%s) - start )) s"

scripts/fuzz.sh all "$FUZZ_SECONDS"
