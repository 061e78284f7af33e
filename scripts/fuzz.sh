#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS — builds (when needed) and runs one libFuzzer target of fuzz/ for SECONDS,
# starting from seeds made from the tests' material (fuzz/make_seeds.cpp); `all` runs every target
# in turn, SECONDS each.
#   TARGET: image | template | request_body | consent | config | mrz | data_groups | sod | master_list
#           | portrait (fuzz_ prefix optional) | all
# Under $FACEPROOF_ASAN_BUILD (default build-asan, the clang ASan+UBSan build of build_sanitized.sh):
#   fuzz-corpus/fuzz_<target>/    the seeds (rewritten each run) and every input the fuzzer found new
#                                 coverage with (kept, so the next run starts where this one ended)
#   fuzz-findings/fuzz_<target>/  the input of each finding: crash-*, leak-*, timeout-*, oom-*
#                                 (reproduce: build-asan/fuzz_<target> FILE)
#   fuzz-logs/fuzz_<target>.log   the fuzzer's output
# Prints executions and findings per target; exits 1 when any target had a finding, 2 on misuse.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FACEPROOF_ASAN_BUILD:-build-asan}
ALL_TARGETS=(image template request_body consent config mrz data_groups sod master_list portrait session_fields index_image)

usage() { echo "usage: scripts/fuzz.sh {$(IFS="|"; echo "${ALL_TARGETS[*]}")|all} SECONDS" >&2; exit 2; }
[[ $# -eq 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || usage
SECONDS_EACH=$2
if [[ "$1" == all ]]; then
    targets=("${ALL_TARGETS[@]}")
else
    name=${1#fuzz_}
    [[ " ${ALL_TARGETS[*]} " == *" $name "* ]] || usage
    targets=("$name")
fi

# Longest input per target: room for the seeds (small images and requests of a few KiB) and some
# growth, short enough to keep executions fast. Dictionaries are the committed fuzz/*.dict.
declare -A MAX_LEN=([image]=65536 [template]=4096 [request_body]=65536 [consent]=4096 [config]=4096
                   [mrz]=512 [data_groups]=65536 [sod]=16384 [master_list]=16384 [portrait]=65536
                   [session_fields]=4096 [index_image]=16384)
declare -A DICT=([image]=image.dict [request_body]=http.dict [consent]=json.dict [config]=json.dict [session_fields]=json.dict)

build_targets=(fuzz_make_seeds)
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
scripts/build_sanitized.sh "${build_targets[@]}" >/dev/null

corpus_root="$BUILD/fuzz-corpus"
"$BUILD/fuzz_make_seeds" "$corpus_root" "$ROOT/test-data/face-api"

# Leaks are findings (libFuzzer checks every input); UBSan stops at the first report with a trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
    corpus="$corpus_root/fuzz_$t" findings="$BUILD/fuzz-findings/fuzz_$t" log="$BUILD/fuzz-logs/fuzz_$t.log"
    mkdir -p "$findings" "$(dirname "$log")"
    before=$(ls "$findings" | wc -l)
    args=(-max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$t]}" -rss_limit_mb=2048 -timeout=10
          -print_final_stats=1 -artifact_prefix="$findings/")
    [[ -n "${DICT[$t]:-}" ]] && args+=(-dict="$ROOT/fuzz/${DICT[$t]}")
    echo "fuzz: fuzz_$t for ${SECONDS_EACH}s (corpus $corpus, log $log)"
    rc=0
    "$BUILD/fuzz_$t" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    new_findings=$(( $(ls "$findings" | wc -l) - before ))
    line="fuzz_$t: ${execs:-?} executions in ${SECONDS_EACH}s, corpus $(ls "$corpus" | wc -l) inputs"
    if [[ $rc -ne 0 ]]; then
        status=1
        line+=", FINDING (exit $rc): $(ls -t "$findings" | head -n 1 | sed "s|^|$findings/|")"
        # The report itself: the sanitizer's or libFuzzer's summary and the top of the stack.
        grep -m1 -A25 -E '^==[0-9]+==ERROR|runtime error|^==[0-9]+== ERROR|deadly signal|ALARM|out-of-memory' "$log" >&2 || tail -n 40 "$log" >&2
    else
        line+=", no findings"
    fi
    [[ $new_findings -gt 0 && $rc -eq 0 ]] && line+=" (but $new_findings new files in $findings)"
    echo "$line"
    summary+=("$line")
done
if [[ ${#targets[@]} -gt 1 ]]; then
    echo "fuzz: summary"
    printf '  %s\n' "${summary[@]}"
fi
exit $status
