#!/usr/bin/env bash
# The README's test command: set everything up (packages, build, models, test images), then run
# every test. Tests on ../shared/data (LFW, spoof set) run when it is present and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/with_postgres.sh ctest --test-dir build --output-on-failure -j"$(nproc)"
