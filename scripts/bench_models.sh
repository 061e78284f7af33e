#!/usr/bin/env bash
# Per model, one thread, same ONNX files and input shapes: OpenCV DNN 4.6 with its own layers only
# (how faceproof first ran), `--backend opencv` (OpenCV DNN with faceproof's layers), faceproof as
# shipped (its oneDNN executor; build/faceproof_bench, BM_Model/*) and ONNX Runtime (npm
# onnxruntime-node, pinned in bench/ort/package.json), printed as one table with the ratio
# ours / ORT. A benchmark, not a test.
#   scripts/bench_models.sh [--repetitions=N]   (default 5; our figure is the median)
# onnxruntime-node is installed with --ignore-scripts into bench/ort/node_modules (git-ignored):
# its native library ships inside the npm package; the install script only downloads optional
# GPU (CUDA/TensorRT) binaries, which this CPU comparison does not use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repetitions=5
for arg in "$@"; do
  case "$arg" in
    --repetitions=*) repetitions="${arg#*=}" ;;
    *) echo "usage: $0 [--repetitions=N]" >&2; exit 2 ;;
  esac
done

ort_dir="$root/bench/ort"
want="$(node -p "require('$ort_dir/package.json').dependencies['onnxruntime-node']")"
have="$(node -p "try { require('$ort_dir/node_modules/onnxruntime-node/package.json').version } catch { '' }")"
if [ "$have" != "$want" ]; then
  echo "installing onnxruntime-node@$want into bench/ort/node_modules (--ignore-scripts)" >&2
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

cmake -S "$root" -B "$root/build" >/dev/null
cmake --build "$root/build" -j2 --target faceproof_bench >/dev/null

ours="$(mktemp --suffix=.json)"
opencv="$(mktemp --suffix=.json)"
reference="$(mktemp --suffix=.json)"
trap 'rm -f "$ours" "$opencv" "$reference"' EXIT
bench() {
  "$root/build/faceproof_bench" --benchmark_filter='^BM_Model/' --benchmark_format=json \
    --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true 2>/dev/null
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
FACEPROOF_BACKEND=opencv FACEPROOF_DNN_REFERENCE=1 bench >"$reference"
FACEPROOF_BACKEND=opencv bench >"$opencv"
FACEPROOF_BACKEND=onednn bench >"$ours"
node "$ort_dir/run.mjs" --ours="$ours" --opencv="$opencv" --reference="$reference" \
  --opencv-version="$(pkg-config --modversion opencv4 2>/dev/null || echo '?')"
