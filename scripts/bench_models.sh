#!/usr/bin/env bash
# Per model, one thread, same ONNX files and input shapes: OpenCV DNN 4.6 with its own layers only
# (how faceproof first ran), `--backend opencv` (OpenCV DNN with faceproof's layers), faceproof as
# shipped (its oneDNN executor; build/faceproof_bench, BM_Model/*) and ONNX Runtime (npm
# onnxruntime-node, pinned in bench/ort/package.json), printed as one table with the ratio
# ours / ORT. A benchmark, not a test.
#   scripts/bench_models.sh [--rounds=N]   (default 5)
# Ours and ORT are measured in N interleaved rounds (each round: every model ours, then every model
# ORT) and the medians over rounds are compared: on a shared machine whose speed drifts by 10-20%
# over minutes, two blocks measured one after the other compare the drift more than the code.
# onnxruntime-node is installed with --ignore-scripts into bench/ort/node_modules (git-ignored):
# its native library ships inside the npm package; the install script only downloads optional
# GPU (CUDA/TensorRT) binaries, which this CPU comparison does not use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=5
for arg in "$@"; do
  case "$arg" in
    --rounds=*) rounds="${arg#*=}" ;;
    *) echo "usage: $0 [--rounds=N]" >&2; exit 2 ;;
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

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bench() {  # one Google Benchmark run of every BM_Model case (JSON)
  "$root/build/faceproof_bench" --benchmark_filter='^BM_Model/' --benchmark_format=json \
    --benchmark_min_time="$1" 2>/dev/null
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
FACEPROOF_BACKEND=opencv FACEPROOF_DNN_REFERENCE=1 bench 1 >"$work/reference.json"
FACEPROOF_BACKEND=opencv bench 1 >"$work/opencv.json"
ours=() ort=()
for round in $(seq "$rounds"); do
  FACEPROOF_BACKEND=onednn bench 1 >"$work/ours$round.json"
  node "$ort_dir/run.mjs" --ort-json --min-seconds=1 >"$work/ort$round.json"
  ours+=("$work/ours$round.json") ort+=("$work/ort$round.json")
  echo "round $round of $rounds done" >&2
done
join() { local IFS=,; echo "$*"; }
node "$ort_dir/run.mjs" --ours="$(join "${ours[@]}")" --ort="$(join "${ort[@]}")" \
  --opencv="$work/opencv.json" --reference="$work/reference.json" \
  --opencv-version="$(pkg-config --modversion opencv4 2>/dev/null || echo '?')"
