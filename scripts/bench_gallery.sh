#!/usr/bin/env bash
# Builds and runs the 1:N gallery benchmark: GalleryIndex (exact, HNSW) against FAISS (FlatIP,
# HNSWFlat) on synthetic templates, optionally HNSW recall on real LFW templates. Flags pass through:
#   scripts/bench_gallery.sh --sizes 10000,100000 --lfw ../shared/data/lfw-dev
# (build/faceproof_gallery_bench --help lists them.) Needs libfaiss-dev (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target faceproof_gallery_bench
# Idle OpenMP workers of FAISS would otherwise spin between its calls, taking a core from ours.
OMP_WAIT_POLICY=PASSIVE exec ./build/faceproof_gallery_bench "$@"
