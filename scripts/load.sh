#!/usr/bin/env bash
# Load test of `faceproof serve` (not a test: it measures). Starts a server on loopback with the
# embedded store, drives POST /v1/verify with wrk for DURATION seconds at CONNECTIONS connections,
# then measures the same identity check without HTTP (build/faceproof_bench), so the server's
# overhead is a ratio. Prints both. Needs scripts/setup.sh first (wrk, build, models).
#   scripts/load.sh [DURATION=20] [CONNECTIONS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
CONNECTIONS=${2:-4}
tmp=$(mktemp -d)
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

./build/faceproof_bench --write-sample="$tmp/sample.jpg"
export XDG_DATA_HOME="$tmp/xdg"
export FACEPROOF_MODELS="${FACEPROOF_MODELS:-$HOME/.local/share/faceproof/models}"
DB="sqlite:$tmp/load.db"
KEY=$(./build/faceproof api-keys create --tenant load --db "$DB" 2>/dev/null)
# Rate limit off: this measures throughput, not the limiter.
./build/faceproof serve --listen 127.0.0.1:0 --db "$DB" --rate-limit 0 --queue 64 2>"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
  [[ -n "$port" ]] && curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
[[ -n "${port:-}" ]] || { cat "$tmp/serve.log" >&2; exit 1; }

echo "== HTTP: wrk -t2 -c$CONNECTIONS -d${DURATION}s POST /v1/verify (two 640x480 JPEGs, $(nproc) cores)"
FACEPROOF_LOAD_IMAGE="$tmp/sample.jpg" FACEPROOF_LOAD_KEY="$KEY" \
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency -s scripts/load/verify.lua "http://127.0.0.1:$port/v1/verify" \
  | tee "$tmp/wrk.txt"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

echo "== Without HTTP: the same check in-process (BM_ProofingCheckTwo640x480)"
./build/faceproof_bench --benchmark_filter='BM_ProofingCheckTwo640x480' --benchmark_min_time=5 | tee "$tmp/bench.txt"
http=$(sed -n 's/.* \([0-9.]*\) requests\/s.*/\1/p' "$tmp/wrk.txt" | tail -1)
inproc=$(grep 'threads:2' "$tmp/bench.txt" | sed -n 's/.*verifications_per_s=\([0-9.]*\)\/s.*/\1/p')
echo "== HTTP $http verifications/s vs in-process (2 threads) $inproc/s: ratio $(awk -v a="$http" -v b="$inproc" 'BEGIN { printf "%.2f", a / b }')"
