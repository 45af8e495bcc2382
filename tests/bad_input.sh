# ctest-label: cli
# Bad input at 1 and 2 ranks: exit code 2, exactly one "nnlimits: error:" line naming the problem, no hang,
# and an existing run directory untouched (checksums before and after).
# Catches: silent acceptance, tracebacks instead of a message, one rank left waiting, a store modified by a refused run.
source "$(dirname "$0")/lib.sh" "$@"
SMALL="-grid_width 8 -grid_depth 2 -grid_seed 0-2 -progress_interval 0"
run 1 run $SMALL -output "$W/store" > /dev/null
touch "$W/afile"
sum() { find "$W/store" -type f | sort | xargs sha256sum; }
before=$(sum)

# command | fragment the message must contain
cases=(
  "run -grid_width 0|-grid_width: 0 is too small"
  "run -grid_width 32,abc|'abc' is not an integer"
  "run -grid_depth -4|-grid_depth"
  "run -grid_width 32,,64|empty item"
  "run -grid_activation relux|unknown activation 'relux'"
  "run -family cnn|unknown family 'cnn'"
  "run -grid_widht 32|did you mean -grid_width"
  "run -sigma_w2 nan|-sigma_w2"
  "run -input_correlation 2|-input_correlation"
  "run -grid_width 200000 -sampler dense -output $W/big|more than the budget"
  "run -grid_width 32 -grid_depth 4 -grid_activation relu -grid_seed 0-10000000 -mem_budget_mb 100 -output $W/big|MB on every rank"
  "run -output /proc/nnlimits-cannot|cannot be created"
  "run -output $W/afile|$W/afile"
  "run $SMALL -grid_seed 0-3 -output $W/store|different options"
  "run $SMALL -output $W/store -shard 1/2|shard"
  "run -options_file $W/missing.opts|missing.opts"
  "export $W/store -table nope|unknown table 'nope'"
  "export $W/nothing|$W/nothing"
  "status $W/nothing|$W/nothing"
  "frobnicate|unknown command 'frobnicate'"
  "run jobs/ci_small.opts|unexpected argument 'jobs/ci_small.opts'"
)
for np in 1 2; do
  for c in "${cases[@]}"; do
    cmd=${c%%|*}; frag=${c#*|}
    case $cmd in export*|status*|frobnicate*) [ "$np" = 1 ] || continue; n=0 ;; *) n=$np ;; esac
    set +e
    timeout 120 bash -c "$(declare -f run); NNL='$NNL' MPIEXEC='$MPIEXEC' run $n $cmd" > "$W/out" 2> "$W/err"
    rc=$?
    set -e
    [ $rc != 124 ] || fail "hang at $np ranks: $cmd"
    [ $rc != 0 ] || fail "accepted at $np ranks: $cmd"
    lines=$(grep -c '^nnlimits: error:' "$W/err" || true)
    [ "$lines" = 1 ] || { cat "$W/err" >&2; fail "$cmd at $np ranks: $lines error lines (want 1)"; }
    grep -qF -- "$frag" "$W/err" || { cat "$W/err" >&2; fail "$cmd: message lacks '$frag'"; }
    [ "$(sum)" = "$before" ] || fail "store changed by: $cmd"
    [ ! -e "$W/big" ] || fail "a refused run created its output directory"
  done
done
echo "bad input: ${#cases[@]} cases refused with one clear line, store untouched"
