#!/usr/bin/env bash
# End-to-end test of the web capture page: a real `faceproof serve` on a free local port, a fresh
# SQLite store with one operator key, Debian's Chromium (headless) whose camera plays a clip made
# from a test photo, driven by tests/e2e/web_capture.mjs (playwright-core). The test uses the
# operator key only as the operator's backend would, to create challenge-liveness sessions; the page
# gets /#session=<id>&token=<client token> and must never send the key. A still photo cannot follow
# a challenge: every session must be refused (not live), with the step reasons, and for a
# motion_light session LIGHT_NOT_FOLLOWED, shown on the page.
#   scripts/test_web.sh
# Builds nothing: needs build/faceproof and build/faceproof_fake_camera (scripts/setup.sh), the
# models, test-data/face-api/ (scripts/setup.sh), /usr/bin/chromium and node. Installs the pinned
# playwright-core into tests/e2e/node_modules when it is missing (npm ci, no install scripts).
# Screenshots go to build/e2e/. Exit status: the test's (0 = passed).
#   FACEPROOF_WEB_PHOTO=test-data/face-api/sample6.jpg  the photo whose most prominent face is used
#   CHROMIUM=/usr/bin/chromium                          the browser
#   FACEPROOF_BIN, FACEPROOF_FAKE_CAMERA                the executables (default: build/faceproof,
#                                                       build/faceproof_fake_camera)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PHOTO=${FACEPROOF_WEB_PHOTO:-test-data/face-api/sample6.jpg}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FACEPROOF=${FACEPROOF_BIN:-$ROOT/build/faceproof}
FAKE_CAMERA=${FACEPROOF_FAKE_CAMERA:-$ROOT/build/faceproof_fake_camera}
DEMO_DOCUMENT=${FACEPROOF_DEMO_DOCUMENT:-$ROOT/build/faceproof_demo_document}

fail() { echo "test_web: $*" >&2; exit 2; }
[[ -x "$FACEPROOF" ]] || fail "$FACEPROOF is missing: run scripts/setup.sh (or cmake --build build)"
[[ -x "$FAKE_CAMERA" ]] || fail "$FAKE_CAMERA is missing: cmake --build build --target faceproof_fake_camera"
[[ -x "$DEMO_DOCUMENT" ]] || fail "$DEMO_DOCUMENT is missing: cmake --build build --target faceproof_demo_document"
[[ -f "$PHOTO" ]] || fail "$PHOTO is missing: run scripts/setup.sh (it installs the test photos)"
[[ -x "$CHROMIUM" ]] || fail "$CHROMIUM is missing: apt-get install chromium (scripts/setup.sh does)"
command -v node >/dev/null || fail "node is missing: apt-get install nodejs npm"
"$FACEPROOF" serve --help >/dev/null 2>&1 || fail "this build has no 'faceproof serve'"

if [[ ! -f tests/e2e/node_modules/playwright-core/package.json ]]; then
  echo "test_web: installing the pinned playwright-core into tests/e2e/node_modules"
  (cd tests/e2e && npm ci --ignore-scripts --no-audit --no-fund --silent)
fi

TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Test inputs: a small grey "ID portrait" (tight crop) and a wider colour "selfie" of the same face,
# played by the fake camera as a gently moving 640x480 clip (a replayed still: it cannot follow a
# challenge's movements nor reflect its colours).
"$FAKE_CAMERA" --crop-face "$PHOTO" "$TMP/id_portrait.jpg" --margin 0.3 --size 300 --grey >/dev/null
"$FAKE_CAMERA" --crop-face "$PHOTO" "$TMP/selfie.jpg" --margin 0.5 --size 640 >/dev/null
"$FAKE_CAMERA" "$TMP/selfie.jpg" "$TMP/camera.y4m" --frames 60 >/dev/null
# The same portrait in a chip document signed by a demo PKI; its CSCA is the server's trust store.
"$DEMO_DOCUMENT" "$TMP/id_portrait.jpg" "$TMP/document" >/dev/null

DB="sqlite:$TMP/db.sqlite"
# The server's data key, in the temp dir (not the user's default key file).
"$FACEPROOF" keys generate "$TMP/data.key" >/dev/null || fail "keys generate failed"
created=$("$FACEPROOF" api-keys create --tenant web --role operator --db "$DB" 2>"$TMP/api-keys.log") ||
  { cat "$TMP/api-keys.log" >&2; fail "api-keys create failed"; }
KEY=${created%%$'\n'*}  # the key alone on the first line
[[ -n "$KEY" ]] || fail "api-keys create printed no key"

# A free port: the kernel picks one; the tiny window before the server binds it is acceptable here.
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
URL="http://127.0.0.1:$PORT"
"$FACEPROOF" serve --listen "127.0.0.1:$PORT" --db "$DB" --key-file "$TMP/data.key" --trust "$TMP/document/trust" \
  >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 120); do  # up to 60 s (the models load at start)
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; fail "the server exited during start-up"; }
  if node -e "fetch('$URL/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"; then ready=1; break; fi
  sleep 0.5
done
((ready)) || { tail -n 50 "$TMP/server.log" >&2; fail "$URL/readyz did not answer 200 within 60 s"; }

status=0
echo "test_web: server at $URL; running tests/e2e/web_capture.mjs (screenshots in build/e2e/)"
FACEPROOF_URL="$URL" FACEPROOF_API_KEY="$KEY" ID_IMAGE="$TMP/id_portrait.jpg" FAKE_VIDEO="$TMP/camera.y4m" \
  CHIP_DIR="$TMP/document/bundle" \
  CHROMIUM="$CHROMIUM" OUT_DIR="$ROOT/build/e2e" node tests/e2e/web_capture.mjs || status=$?
if ((status != 0)); then
  echo "test_web: failed; the server's log ends with:" >&2
  tail -n 30 "$TMP/server.log" >&2
fi
exit "$status"
