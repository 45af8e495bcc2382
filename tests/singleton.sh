# nnlimits without mpiexec (a singleton: status, export, merge, a laptop's run). Open MPI would fork and exec an orted
# daemon for each; nnlimits starts it isolated instead (no daemon: 0.13 s a command instead of 0.22 s here), each in a
# session directory of its own (isolated singletons all have one name, so they shared one, and one's clean-up at exit
# removed it under another's start: exit 1, "A call to mkdir was unable to create the desired directory").
#  1. a singleton run has no child process, and has one (the orted) when the user sets ess_singleton_isolated=0;
#  2. its session directory is its own (TMPDIR/ompi.HOST.UID/nnlimits.PID) while it runs;
#  3. 12 singletons at a time, 10 times, all succeed (a smoke test: with one shared session directory, 2-6 of 480 such
#     commands failed here, so only check 2 reliably catches a return to it);
#  4. they leave no session directory behind;
#  5. one left by a singleton that is gone (SIGKILL, the OOM killer) is removed by the next singleton, and one whose
#     process is alive is kept (the clean-clone CI once failed 4: check 1's run, interrupted in its set-up, had left its
#     directory for good: a stop before the sweep then ended the process in the signal handler).
# ctest-label: reliability
source "$(dirname "$0")/lib.sh" "$@"
mkdir -p "$W/tmp"
export TMPDIR=$W/tmp # Open MPI's session directories, and nnlimits' own, go here
run 0 run -grid_width 8 -grid_depth 2 -grid_seed 0-2 -output "$W/small" > /dev/null 2>&1 || fail "small run"

# children ENV...: the child processes of a singleton run (a few seconds long), listed while it runs
children() {
  local pid kids= i
  rm -rf "$W/long"
  env "$@" "$NNL" run -family resnet -grid_width 512 -grid_depth 256 -grid_seed 0-4000 -progress_interval 0 -output "$W/long" \
    > /dev/null 2>&1 &
  pid=$!
  for i in $(seq 100); do [ -e "$W/long/nnlimits.sqlite" ] && break; sleep 0.05; done # MPI_Init is over by then
  kids=$(ps -o comm= --ppid "$pid" | tr '\n' ' ' || true)
  own=$(find "$W/tmp" -mindepth 2 -maxdepth 2 -name "nnlimits.$pid" | head -1)
  kill -INT "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  echo "$kids"
}
own=
children > "$W/kids.txt"
k=$(cat "$W/kids.txt")
[ -z "${k// /}" ] || fail "a singleton run has child processes: $k"
[ -n "$own" ] || fail "a singleton run has no session directory of its own: $(find "$W/tmp" -maxdepth 3 | head -5)"
k=$(children OMPI_MCA_ess_singleton_isolated=0)
[[ $k == *orted* ]] || fail "with ess_singleton_isolated=0 (the user's choice, kept) no orted: '$k'"
echo "1. a singleton has no daemon (with ess_singleton_isolated=0: $k)"
echo "2. its session directory is its own: ${own#$W/tmp/}"

bad=0
for round in $(seq 10); do
  pids=()
  for j in $(seq 12); do
    ( "$NNL" status "$W/small" > /dev/null 2> "$W/err.$j" || { echo "round $round: $(head -c 300 "$W/err.$j")"; exit 1; } ) &
    pids+=($!)
  done
  # each by its pid: with `wait -n` the clean-clone CI once counted a failure although no command failed (every
  # stderr empty, no "round" line): `wait -n` itself returned non-zero, most likely 127 for a job it did not find
  for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
done
[ "$bad" = 0 ] || fail "$bad of 120 concurrent singleton commands failed"
echo "3. 120 singleton commands, 12 at a time: all succeeded"

left=$(find "$W/tmp" -mindepth 2 -name 'nnlimits.*' | head -3)
[ -z "$left" ] || fail "session directories left behind: $left"
echo "4. no session directory left behind"

sess=$(find "$W/tmp" -mindepth 1 -maxdepth 1 -name 'ompi.*' | head -1)
[ -n "$sess" ] || fail "no Open MPI session directory under $W/tmp"
true &
dead=$!
wait "$dead"
mkdir -p "$sess/nnlimits.$dead/1/0" "$sess/nnlimits.$$/1/0"
echo x > "$sess/nnlimits.$dead/1/0/file"
"$NNL" status "$W/small" > /dev/null 2>&1 || fail "status with stale session directories"
[ ! -e "$sess/nnlimits.$dead" ] || fail "the session directory of a process that is gone was left: $sess/nnlimits.$dead"
[ -d "$sess/nnlimits.$$/1/0" ] || fail "the session directory of a live process ($$) was removed"
rm -rf "$sess/nnlimits.$$"
echo "5. a gone singleton's session directory removed by the next, a live one's kept"
