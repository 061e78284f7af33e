#!/usr/bin/env bash
# The README's test command: set everything up (packages, build, models, test images), run every
# test, then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer and a short
# run of every fuzz target (scripts/test_sanitized.sh). Tests on ../shared/data (LFW, spoof set)
# run when it is present and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/with_postgres.sh ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/test_sanitized.sh "${FACEPROOF_FUZZ_SECONDS:-20}"
