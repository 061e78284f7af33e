#!/usr/bin/env bash
# The README's quick start: set everything up, then check an ID-style portrait against a "selfie"
# with the embedded defaults. Both demo images are cut from one photograph (the test photos hold
# no live captures), so liveness rightly refuses the selfie by default; the face match itself is
# then shown with --no-require-liveness, and against another person.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p test-data/demo
./build/faceproof_demo_images test-data/face-api/sample6.jpg test-data/demo >/dev/null
status=0
echo "== ID portrait vs a selfie cut from a photograph (default: liveness required)"
./build/faceproof verify test-data/demo/id_portrait.jpg test-data/demo/selfie.jpg || status=$?
echo "(exit $status)"
echo "== the same pair, face match only (--no-require-liveness)"
./build/faceproof verify --no-require-liveness test-data/demo/id_portrait.jpg test-data/demo/selfie.jpg
echo "== another person"
status=0
./build/faceproof verify --no-require-liveness test-data/demo/id_portrait.jpg test-data/demo/other_person.jpg || status=$?
echo "(exit $status)"
echo "== as JSON"
./build/faceproof verify --json --no-require-liveness test-data/demo/id_portrait.jpg test-data/demo/selfie.jpg
echo "== a chip document (made now, signed by a demo PKI whose CSCA is the only one trusted)"
rm -rf test-data/demo/document
./build/faceproof_demo_document test-data/demo/id_portrait.jpg test-data/demo/document >/dev/null
./build/faceproof document check test-data/demo/document/bundle --trust test-data/demo/document/trust
echo "== the selfie against the chip portrait (face match only)"
./build/faceproof verify --no-require-liveness --document test-data/demo/document/bundle \
    --trust test-data/demo/document/trust test-data/demo/selfie.jpg
