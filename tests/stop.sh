# A stop signal while long tasks are in progress: after -stop_grace seconds (or at once on a second signal) the tasks
# in progress are abandoned, the run exits 3 with them still pending, and the rerun ends byte-identical to an
# uninterrupted run. Catches: a stop that waits for a long task however long it takes (so Slurm's time limit kills
# the job before it can requeue), an abandoned task stored as done or failed, one lost, or recomputed differently.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
# Two networks of ~2.5 s each here (65536 × 4 normals per layer, 3000 layers; far longer under the sanitizers) and
# their limit. Each case signals right after the limit is committed, while both networks run. The networks are
# computed whole only twice (the reference and one rerun): the sanitizer build runs this test too.
JOB="-family mlp -grid_activation relu -grid_width 65536 -grid_depth 3000 -grid_seed 0-2 -inputs 4 -record_layers last
     -progress_interval 0"
run 2 run $JOB -output "$W/ref" > /dev/null 2>&1

# wait_started DIR: until the run has committed its limit (the networks are then in progress: no more than 60 s)
wait_started() {
  for _ in $(seq 1200); do
    sleep 0.05
    "$NNL" status "$1" 2>/dev/null | grep -q ' done=[1-9]' && return 0
  done
  fail "$1: the run committed nothing in 60 s"
}

# rank_pid DIR R: the pid of rank R of the run into DIR
rank_pid() {
  for p in $(pgrep -f -- "-output $1"); do
    tr '\0' '\n' < /proc/"$p"/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return 0; }
  done
  fail "$1: rank $2 not found"
}

# usr1_when PID BIT: SIGUSR1 to PID once its SigCgt (the signals it has handlers for) has BIT; its exit code in rc
usr1_when() {
  local m
  for _ in $(seq 2000); do
    m=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/"$1"/status 2>/dev/null || true)
    [ -n "$m" ] && (( 16#$m & $2 )) && break
    sleep 0.002
  done
  kill -USR1 "$1"
  set +e; wait "$1"; rc=$?; set -e
}

# stopped DIR RC WANT WHY [rerun]: exit code 3, WANT tasks abandoned for WHY, the networks still pending, the store
# interrupted; with "rerun", the rerun (2 ranks) ends byte-identical to the uninterrupted run. stderr is in DIR.err.
stopped() {
  [ "$2" = 3 ] || fail "$1: exit code $2, want 3: $(cat "$1.err")"
  grep -q "abandoned=$3 " "$1.err" || fail "$1: want abandoned=$3: $(cat "$1.err")"
  grep -q "stopping: abandoning the tasks in progress ($4)" "$1.err" || fail "$1: want '$4': $(cat "$1.err")"
  # and its rerun's time from the stopped run's own speed (eta_from=last_run), not from the point count
  "$NNL" status "$1" | grep -q "done=1 failed=0 pending=2 total=3 last_run=interrupted rate=.* eta=[0-9]*s eta_from=last_run$" ||
    fail "$1: status after the stop: $("$NNL" status "$1")"
  # within 10 times plan's time for what is left at 2 ranks, either way: the elapsed time over the limit's cost done
  # (the abandoned networks' time counted, not their cost) read hundreds of times too long
  local eta left
  eta=$("$NNL" status "$1" | sed -n 's/.* eta=\([0-9]*\)s eta_from=last_run$/\1/p')
  left=$("$NNL" plan $JOB -output "$1" -plan_ranks 2 2> /dev/null | sed -n 's/^plan left .* wall_seconds=\([^ ]*\) .*/\1/p')
  awk -v e="$eta" -v l="$left" 'BEGIN { exit !(l > 0 && e <= 10 * l + 1 && e >= l / 10 - 1) }' ||
    fail "$1: the rerun's ETA ${eta}s against plan's ${left}s left"
  [ "${5:-}" = rerun ] || return 0
  run 2 run $JOB -output "$1" > /dev/null 2>&1
  same_exports "$W/ref" "$1"
}

# 2 ranks, SIGUSR1 to mpiexec (as Slurm's --signal sends it to the batch script), a grace of 0.2 s: rank 0's network
# (it computes too) and the worker's are both abandoned.
"$MPIEXEC" -n 2 "$NNL" run $JOB -stop_grace 0.2 -output "$W/grace" > /dev/null 2> "$W/grace.err" &
pid=$!
wait_started "$W/grace"
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
stopped "$W/grace" "$rc" 2 "-stop_grace has passed" rerun

# 1 rank, the default grace (60 s, longer than the task), two SIGINTs: the second abandons rank 0's own task at once.
"$NNL" run $JOB -output "$W/twice" > /dev/null 2> "$W/twice.err" &
pid=$!
wait_started "$W/twice"
kill -INT "$pid"
for _ in $(seq 100); do grep -q "stopping: no new tasks" "$W/twice.err" && break; sleep 0.05; done
# in its stop the run is marked so (NNLStoreMarkStopping), which status shows while it holds the lock
for _ in $(seq 100); do "$NNL" status "$W/twice" 2> /dev/null | grep -q ' last_run=stopping ' && break; sleep 0.01; done
"$NNL" status "$W/twice" 2> /dev/null | grep -q ' last_run=stopping ' || fail "status in a stop: $("$NNL" status "$W/twice" 2>&1)"
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
stopped "$W/twice" "$rc" 1 "a second signal"

# A run killed in its stop (mpiexec SIGKILLs its ranks a second after passing its SIGTERM on; Slurm after KillWait)
# is left marked stopping: status says interrupted, no ETA and why, and the rerun's store marks it so for good. It read
# died, and status blamed SIGKILL, out-of-memory or a lost node. (The store is made as such a kill leaves it.)
run 1 run -grid_width 8 -grid_depth 2 -grid_seed 0-4 -output "$W/killed" > /dev/null 2>&1 || fail "the killed job's run"
sqlite3 "$W/killed/nnlimits.sqlite" "UPDATE runs SET status = 'stopping'; DELETE FROM netlayers WHERE point IN (SELECT id FROM points WHERE ord < 2);
  DELETE FROM points WHERE ord < 2"
st=$("$NNL" status "$W/killed" 2>&1)
grep -q ' pending=2 total=[0-9]* last_run=interrupted rate=[^ ]* eta=-$' <<< "$st" &&
  grep -q "the last run was killed in its stop" <<< "$st" || fail "status of a run killed in its stop: $st"
run 1 run -grid_width 8 -grid_depth 2 -grid_seed 0-4 -output "$W/killed" > /dev/null 2>&1 || fail "the rerun of a run killed in its stop"
[ "$(sqlite3 "$W/killed/nnlimits.sqlite" "SELECT group_concat(status) FROM runs")" = interrupted,complete ] ||
  fail "runs after a run killed in its stop and its rerun: $(sqlite3 "$W/killed/nnlimits.sqlite" "SELECT * FROM runs")"

# A signal to one worker alone (a scheduler killing one rank's process, a user's kill of the wrong pid) stops the whole
# run as a signal to rank 0 does: the worker abandons its task after the grace and says so with its results, and
# rank 0 then abandons its own. Before, the worker ignored it and the run went on to the end, exit 0.
"$MPIEXEC" -n 2 "$NNL" run $JOB -stop_grace 0.2 -output "$W/worker" > /dev/null 2> "$W/worker.err" &
pid=$!
wait_started "$W/worker"
kill -TERM "$(rank_pid "$W/worker" 1)"
set +e; wait "$pid"; rc=$?; set -e
stopped "$W/worker" "$rc" 2 "-stop_grace has passed"

# A signal to rank 0 alone while it only coordinates (its pid killed, not mpiexec's): rank 0 passes the stop on, so the
# worker's task is abandoned after the grace. Before, rank 0 heard nothing until the worker's task ended and the worker
# never heard of the stop: the run ended with abandoned=0 when the network was done. Signalled once a task is
# committed: the worker is then computing another network.
"$MPIEXEC" -n 2 "$NNL" run $JOB -stop_grace 0.2 -sched_rank0_computes false -output "$W/rank0" > /dev/null 2> "$W/rank0.err" &
pid=$!
wait_started "$W/rank0"
kill -TERM "$(rank_pid "$W/rank0" 0)"
set +e; wait "$pid"; rc=$?; set -e
stopped "$W/rank0" "$rc" 1 "-stop_grace has passed" rerun

# A stop signal in the set-up (the checks of a 8e6-point grid: about a second), before any task: exit 3 with one line
# when the checks are over, no store made. Before, the default action killed the process (exit 138 for SIGUSR1: no requeue).
"$NNL" run -grid_width 8 -grid_depth 2 -grid_activation relu -grid_seed 0-8000000 -output "$W/setup" > /dev/null 2> "$W/setup.err" &
usr1_when $! 0x200 # once run has its handler (SIGUSR1, bit 9), which it installs first thing
[ "$rc" = 3 ] && grep -q "stopped by a signal before the sweep began: nothing was computed" "$W/setup.err" ||
  fail "stop in the set-up: exit $rc: $(cat "$W/setup.err")"
[ ! -e "$W/setup/nnlimits.sqlite" ] || sqlite3 "$W/setup/nnlimits.sqlite" "SELECT count(*) FROM points" | grep -qx 0 ||
  fail "stop in the set-up: points stored"

# ... and it leaves through MPI_Finalize, which removes what MPI_Init made, once MPI_Init has made it: the set-up leaves
# at its next look. A rank that ended in the handler instead (_exit) left an isolated singleton's session directory
# behind, and hung mpiexec for good 2 times in ~100 such stops of a 2-rank run (a rank never reaped, Open MPI 4.1.4).
# Signalled once this singleton's session directory exists (MPI_Init is then under way; the grid's checks follow).
mkdir -p "$W/tmp"
TMPDIR=$W/tmp "$NNL" run -grid_width 8 -grid_depth 2 -grid_activation relu -grid_seed 0-8000000 -output "$W/setup2" \
  > /dev/null 2> "$W/setup2.err" &
pid=$!
for _ in $(seq 2000); do
  [ -n "$(find "$W/tmp" -mindepth 2 -maxdepth 2 -name "nnlimits.$pid")" ] && break
  sleep 0.002
done
[ -n "$(find "$W/tmp" -mindepth 2 -maxdepth 2 -name "nnlimits.$pid")" ] || fail "no session directory nnlimits.$pid"
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q "stopped by a signal before the sweep began: nothing was computed" "$W/setup2.err" ||
  fail "stop after MPI_Init: exit $rc: $(cat "$W/setup2.err")"
[ -z "$(find "$W/tmp" -mindepth 2 -maxdepth 2 -name "nnlimits.$pid")" ] ||
  fail "stop after MPI_Init: it left without MPI_Finalize (its session directory is still there)"
[ "$(grep -c "the set-up ends first" "$W/setup2.err")" = 1 ] || fail "stop in the set-up: not said: $(cat "$W/setup2.err")"

# Signalled once its store exists (it then reads the store's pending points, 16e6 of them: before its sweep), the run
# records itself interrupted, not left 'running' for status to call died (before: the handler's _exit; had it reached
# its sweep, a stop there records the same).
"$NNL" run -grid_width 8 -grid_depth 2 -grid_activation relu -grid_seed 0-8000000 -output "$W/setup4" \
  > /dev/null 2> "$W/setup4.err" &
pid=$!
for _ in $(seq 2000); do [ -e "$W/setup4/nnlimits.sqlite" ] && break; sleep 0.002; done
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] && "$NNL" status "$W/setup4" 2> /dev/null | grep -q "last_run=interrupted" ||
  fail "stop once the store is open: exit $rc, $("$NNL" status "$W/setup4" 2>&1): $(cat "$W/setup4.err")"

# The same at 2 ranks, both signalled once their handlers are in place (mostly inside MPI_Init): exit 3, and each line
# once, from rank 0 (before, each rank wrote its own line and left in the handler: the case that hung mpiexec).
"$MPIEXEC" -n 2 "$NNL" run -grid_width 8 -grid_depth 2 -grid_activation relu -grid_seed 0-8000000 -output "$W/setup3" \
  > /dev/null 2> "$W/setup3.err" &
pid=$!
for _ in $(seq 2000); do
  ranks=$(cat /proc/"$pid"/task/"$pid"/children 2> /dev/null || true)
  n=0
  for r in $ranks; do
    m=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/"$r"/status 2> /dev/null || true)
    [ -n "$m" ] && (( 16#$m & 0x200 )) && n=$((n + 1))
  done
  [ "$n" = 2 ] && break
  sleep 0.002
done
[ "$n" = 2 ] || fail "2-rank set-up: the ranks' handlers not seen: '$ranks'"
kill -USR1 $ranks
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] && [ "$(grep -c "the set-up ends first" "$W/setup3.err")" = 1 ] &&
  [ "$(grep -c "stopped by a signal before the sweep began" "$W/setup3.err")" = 1 ] ||
  fail "stop in a 2-rank set-up: exit $rc: $(cat "$W/setup3.err")"

# A stop signal during the start (MPI_Init, PetscInitialize) exits 3 as in the set-up. It killed the process (exit
# 138 for SIGUSR1, which Slurm does not requeue), through OpenBLAS's threads, which library constructors start before
# main, or PETSc's handler aborted it: Slurm's `scancel --signal=USR1 --batch` of an array hits tasks that are just
# starting. run installs its handler first thing in main. The signal is sent once MPI_Init has begun: SigCgt has
# SIGSEGV (bit 10), for which Open MPI installs its handler there.
for k in 1 2; do
  "$NNL" run $JOB -output "$W/start" > /dev/null 2> "$W/start.err" &
  usr1_when $! 0x400
  [ "$rc" = 3 ] && grep -q "stopped by a signal before the sweep began" "$W/start.err" ||
    fail "stop during the start ($k): exit $rc: $(cat "$W/start.err")"
done

# Two different signals within a second are one stop, not a stop and an abandon: on a requeue or scancel Slurm sends
# SIGTERM to every process of the job and sweep.sbatch passes its own SIGUSR1 on, milliseconds apart (the grace was
# skipped as if a user had signalled twice). Here the task in progress is abandoned when the 1.5 s grace has passed.
"$NNL" run $JOB -stop_grace 1.5 -output "$W/pair" > /dev/null 2> "$W/pair.err" &
pid=$!
wait_started "$W/pair"
kill -TERM "$pid"
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
stopped "$W/pair" "$rc" 1 "-stop_grace has passed"

# A file nnlimits.stop in the run directory stops the run as a signal does, and is removed (sweep.sbatch writes it
# beside the signal it passes on, which srun drops when it comes before the ranks are started): at the sweep's start
# here, with 2 ranks (the worker is told to stop before any task), and the rerun finishes.
mkdir -p "$W/file" && : > "$W/file/nnlimits.stop"
set +e; run 2 run -grid_width 8 -grid_depth 2 -grid_seed 0-4 -output "$W/file" > /dev/null 2> "$W/file.err"; rc=$?; set -e
[ "$rc" = 3 ] && grep -q "nnlimits.stop asks for a stop (removed)" "$W/file.err" && grep -q "^interrupted done=0 " "$W/file.err" &&
  [ ! -e "$W/file/nnlimits.stop" ] || fail "stop file: exit $rc: $(cat "$W/file.err")"
run 2 run -grid_width 8 -grid_depth 2 -grid_seed 0-4 -output "$W/file" > /dev/null 2>&1 || fail "stop file: the rerun"

# A run whose stdout closes (`nnlimits run -limit_ts_monitor | head -1`: its monitor's lines, then its summary) goes on
# to the end: exit 0, every point committed, the run complete. Catches: SIGPIPE's default (the run ended at once with
# exit 141 and nothing committed, which status then read as died).
set +e; run 0 run -grid_width 8,16 -grid_depth 4,16 -grid_seed 0-144 -limit_ts_monitor -output "$W/pipe" 2> "$W/pipe.err" | head -1 > /dev/null
rc=${PIPESTATUS[0]}; set -e
[ "$rc" = 0 ] && "$NNL" status "$W/pipe" | grep -q "done=1156 failed=0 pending=0 total=1156 last_run=complete" \
  || fail "a run whose stdout closed: exit $rc, $("$NNL" status "$W/pipe" 2>&1) $(cat "$W/pipe.err")"

# (A grace longer than the tasks in progress lets them finish and commit: resume.sh's SIGUSR1 stop, at the default.)
echo "stop with long tasks in progress: abandoned after -stop_grace or a second signal; a worker's signal stops the run;"
echo "     a signal to rank 0 alone reaches the workers' tasks; a signal in the start or the set-up exits 3 through MPI_Finalize"
echo "     (1 and 2 ranks, one line from rank 0);"
echo "     two different signals at once are one stop; a file nnlimits.stop stops it too; a run in its stop and one"
echo "     killed in it said so;"
echo "     resumed to identical exports; a run whose stdout closed went on to the end"
