#!/usr/bin/env bash
# The one place that installs what faceproof needs: Debian packages, the models (npm pack, checked
# against pinned SHA-256 sums), the test images (npm pack, pinned), and the build.
# Idempotent, and fast when everything is already there.
#   scripts/setup.sh            # packages + build + models + test images
#   FACEPROOF_SKIP_BUILD=1 ...  # packages only
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libopencv-dev            # imgcodecs, imgproc, dnn (runs the ONNX models)
  libdnnl-dev              # oneDNN: runs the models (src/inference/)
  ocl-icd-opencl-dev       # libdnnl-dev's CMake config requires OpenCL (only a recommendation of it)
  libonnx-dev libprotobuf-dev  # ONNX protobuf types: the executor reads the models with them
  libjpeg-dev              # libjpeg-turbo: JPEG decoded straight to BGR
  libwebp-dev              # WebP decoding through OpenCV
  nlohmann-json3-dev libcli11-dev libsodium-dev
  libssl-dev               # libcrypto: ICAO 9303 passive authentication; the tests build a PKI with it
  libsqlite3-dev           # the embedded default store
  libpq-dev postgresql     # the multi-node store; the tests start a throwaway server
  libhnswlib-dev           # approximate 1:N index (HNSW)
  libfaiss-dev             # only for the 1:N benchmark's comparison (build/faceproof_gallery_bench)
  libcpp-httplib-dev       # faceproof serve
  chromium                 # the web page's end-to-end test (headless, fake camera)
  wrk                      # scripts/load.sh (HTTP load, not a test)
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev # the ASan+UBSan build and the libFuzzer targets (test_sanitized.sh, fuzz.sh)
  llvm                     # llvm-symbolizer: file:line in sanitizer reports
  nodejs npm               # `npm pack` fetches the models and the test images
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere on developer machines; a working npm is what matters.
if command -v npm >/dev/null 2>&1; then
  filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ "${FACEPROOF_SKIP_BUILD:-0}" == 1 ]] && exit 0

JOBS=$(nproc)
cmake -S . -B build -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"

# Models: `faceproof models fetch` is a no-op when every file is present with its pinned sum.
./build/faceproof models fetch

# Test images: the demo photos of @vladmandic/face-api (MIT), pinned by version and tarball sum.
FACE_API_PACKAGE="@vladmandic/face-api@1.7.15"
FACE_API_SHA256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
TEST_IMAGES=test-data/face-api
if [[ ! -f "$TEST_IMAGES/.complete" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "$FACE_API_PACKAGE" --silent --ignore-scripts >/dev/null)
  tgz=$(ls "$tmp"/*.tgz)
  echo "$FACE_API_SHA256  $tgz" | sha256sum -c --quiet - || { echo "setup: $FACE_API_PACKAGE tarball sum mismatch" >&2; exit 1; }
  tar -xzf "$tgz" -C "$tmp" package/demo package/LICENSE
  mkdir -p "$TEST_IMAGES"
  cp "$tmp"/package/demo/sample*.jpg "$tmp"/package/LICENSE "$TEST_IMAGES"/
  touch "$TEST_IMAGES/.complete"
fi
# The browser test's driver: playwright-core, pinned in tests/e2e/package-lock.json (no install scripts;
# it drives Debian's chromium).
[[ -d tests/e2e/node_modules/playwright-core ]] || (cd tests/e2e && npm ci --ignore-scripts --silent >/dev/null)

echo "setup: ready (build/faceproof, models in $(./build/faceproof models list --json | sed -n 's/.*"dir": "\(.*\)".*/\1/p'))"
