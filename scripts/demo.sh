#!/usr/bin/env bash
# The README's quick start: set everything up, then verify an ID-style portrait against a selfie
# (same person: exit 0) and against another person (exit 1), with the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p test-data/demo
./build/faceproof_demo_images test-data/face-api/sample2.jpg test-data/demo >/dev/null
echo "== same person (ID portrait vs selfie)"
./build/faceproof verify test-data/demo/id_portrait.jpg test-data/demo/selfie.jpg
echo "== another person"
./build/faceproof verify test-data/demo/id_portrait.jpg test-data/demo/other_person.jpg || [[ $? -eq 1 ]]
echo "== as JSON"
./build/faceproof verify --json test-data/demo/id_portrait.jpg test-data/demo/selfie.jpg
