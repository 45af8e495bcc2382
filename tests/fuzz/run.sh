#!/usr/bin/env bash
# Run one fuzz target: every regression input once (a crash found earlier must stay fixed), then fuzz from the
# checked-in corpus for SECONDS. Usage: run.sh TARGET CORPUS REGRESSIONS WORKDIR SECONDS
set -euo pipefail
target=$1 corpus=$2 regress=$3 work=$4 seconds=$5
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
if compgen -G "$regress/*" > /dev/null; then "$target" -runs=1 "$regress"/*; fi
# -rss_limit_mb: a job may legitimately parse 10^7 values; anything beyond is a leak or a runaway.
set +e
"$target" -max_total_time="$seconds" -rss_limit_mb=3000 -timeout=20 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" > "$work/log" 2>&1
status=$?
set -e
[ "$status" = 0 ] || { tail -60 "$work/log" >&2; echo "FAIL: $target found a crash: $(ls "$work/artifacts")" >&2; exit 1; }
grep -E 'stat::number_of_executed_units|stat::peak_rss' "$work/log" | sed "s/^/$(basename "$target") /"
