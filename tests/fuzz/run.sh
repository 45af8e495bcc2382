#!/usr/bin/env bash
# Run one fuzz target: every regression input once (a crash found earlier must stay fixed), then fuzz from the
# checked-in corpus for SECONDS. Usage: run.sh TARGET CORPUS REGRESSIONS WORKDIR SECONDS
set -euo pipefail
target=$1 corpus=$2 regress=$3 work=$4 seconds=$5
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source "$(dirname "$0")/../../jobs/one_machine.sh"
# Fuzz with the fast unwinder and no leak checking (11x the executions), then replay every input the run kept
# (each one reached new code) and every regression with full stacks and LeakSanitizer, as the environment asks.
if compgen -G "$regress/*" > /dev/null; then "$target" -runs=1 "$regress"/*; fi
# -rss_limit_mb: a job may legitimately parse 10^7 values; anything beyond is a leak or a runaway.
set +e
ASAN_OPTIONS=detect_leaks=0:fast_unwind_on_malloc=1 "$target" -max_total_time="$seconds" -rss_limit_mb=3000 -timeout=20 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" > "$work/log" 2>&1
status=$?
set -e
[ "$status" = 0 ] || { tail -60 "$work/log" >&2; echo "FAIL: $target found a crash: $(ls "$work/artifacts")" >&2; exit 1; }
kept=$(find "$work/corpus" -type f | wc -l)
if [ "$kept" -gt 0 ]; then
  find "$work/corpus" -type f -print0 | xargs -0 "$target" -runs=1 -artifact_prefix="$work/artifacts/" > "$work/replay" 2>&1 ||
    { tail -60 "$work/replay" >&2; echo "FAIL: $target: an input leaks or crashes on replay: $(ls "$work/artifacts")" >&2; exit 1; }
fi
echo "$(basename "$target") seconds=$seconds $(grep -o 'Done [0-9]* runs' "$work/log") new_inputs=$kept replayed_with_leak_check=$kept regressions=$(ls "$regress" | wc -l)"
