# A sweep killed with SIGKILL mid-run (every process at once), or while creating its store, then rerun with the same
# command, ends with exports byte-identical to an uninterrupted run's. Catches: half-written points, points lost or
# done twice, a resume that recomputes with different random numbers, a store that cannot be reopened after a kill.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
# Large enough that a status poll (~0.3 s, a process start) cannot miss the kill points or the second writer's window
# on a fast host: 400 seeds ran in 0.74 s at 2 ranks here, and the run could finish before its kill.
JOB="-family resnet -grid_activation relu,tanh -grid_width 64,256 -grid_depth 64,256 -grid_seed 0-2400 -inputs 4 -record_layers 8
     -progress_interval 0"
run 2 run $JOB -output "$W/ref" > /dev/null
total=$("$NNL" status "$W/ref" | grep -o 'total=[0-9]*' | cut -d= -f2)

for trial in 1 2; do
  rm -rf "$W/killed"
  setsid "$MPIEXEC" -n 2 "$NNL" run $JOB -output "$W/killed" > /dev/null 2>&1 &
  pid=$!
  target=$((trial * total / 3))
  for _ in $(seq 600); do
    sleep 0.05
    d=$("$NNL" status "$W/killed" 2>/dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)
    [ -n "$d" ] && [ "$d" -ge "$target" ] && break
  done
  # Open MPI puts each rank in its own process group: kill mpiexec's group and the ranks, every process at once.
  pkill -KILL -f -- "-output $W/killed" 2>/dev/null || true
  kill -KILL -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for _ in $(seq 100); do pgrep -f -- "-output $W/killed" > /dev/null || break; sleep 0.1; done
  st=$("$NNL" status "$W/killed" 2> "$W/status.err") || fail "store unreadable after SIGKILL"
  d=$(echo "$st" | grep -o ' done=[0-9]*' | cut -d= -f2)
  [ "$d" -lt "$total" ] || fail "trial $trial: the run finished before the kill (make the job larger)"
  echo "trial $trial: killed with $d of $total points committed"
  # No process holds the directory's lock, so the run still marked running died: no ETA, and the stderr line says
  # what to do. Catches a killed run reported as running forever, with an ETA from its rate.
  echo "$st" | grep -q 'last_run=died .*eta=-$' || fail "trial $trial: status after SIGKILL: $st"
  # plan of the half-done directory: what a rerun computes (it predicted the whole job, as if nothing were stored)
  # (at 2 ranks: only rank 0 reads the store, and the count of what is left is collective: it hung once)
  timeout 60 "$MPIEXEC" -n 2 "$NNL" plan $JOB -output "$W/killed" > "$W/plan.out" || fail "trial $trial: plan of the killed run's directory"
  grep -q "^plan left tasks=$((total - d)) core_seconds=[0-9.e+-]* wall_seconds=[0-9.e+-]* ranks=2 (shard 0/1 less the $d points" "$W/plan.out" ||
    fail "trial $trial: plan does not say what is left ($((total - d)) tasks): $(grep '^plan' "$W/plan.out")"
  grep -q "the last run died .* rerun the same command" "$W/status.err" || fail "trial $trial: no rerun hint: $(cat "$W/status.err")"
  run 2 run $JOB -output "$W/killed" > /dev/null
  same_exports "$W/ref" "$W/killed"
  # the rerun, holding the lock, marks the killed run died in the provenance
  [ "$(sqlite3 "$W/killed/nnlimits.sqlite" "select group_concat(status) from (select status from runs order by run)")" = died,complete ] ||
    fail "trial $trial: runs after the rerun: $(sqlite3 "$W/killed/nnlimits.sqlite" 'select run, status from runs')"
done
# One writer per store: a second run into a directory that a live run is writing is refused (exit 2, one line
# naming the holder) and leaves it alone. Catches: two runs interleaving commits and computing points twice.
rm -rf "$W/busy"
"$MPIEXEC" -n 2 "$NNL" run $JOB -output "$W/busy" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  sleep 0.05
  "$NNL" status "$W/busy" 2>/dev/null | grep -q ' done=[1-9]' && break
done
set +e; "$NNL" run $JOB -output "$W/busy" > "$W/busy.out" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "second writer: exit code $rc, want 2"
grep -q "being written by another nnlimits process (pid" "$W/busy.out" || fail "second writer: $(cat "$W/busy.out")"
# a live run holds the lock: status must not call it died (it may have finished by now)
"$NNL" status "$W/busy" | grep -Eq 'last_run=(running|complete) ' || fail "status of a live run: $("$NNL" status "$W/busy" 2>&1)"
wait "$pid" || fail "the first run failed while a second one tried to open its store"
same_exports "$W/ref" "$W/busy"
# A graceful stop (SIGUSR1, as Slurm's --signal sends; mpiexec forwards it): exit code 3, the store says
# "interrupted", and the rerun completes it. Catches: a signal that kills instead of stopping, a lost in-flight point.
rm -rf "$W/stopped"
"$MPIEXEC" -n 2 "$NNL" run $JOB -output "$W/stopped" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  sleep 0.05
  d=$("$NNL" status "$W/stopped" 2>/dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)
  [ -n "$d" ] && [ "$d" -ge $((total / 3)) ] && break
done
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 3 ] || fail "SIGUSR1: exit code $rc, want 3"
"$NNL" status "$W/stopped" | grep -q 'last_run=interrupted' || fail "SIGUSR1: store not marked interrupted"
run 2 run $JOB -output "$W/stopped" > /dev/null
same_exports "$W/ref" "$W/stopped"
# Killed while creating its store (before WAL: a rollback journal): the store holds a hot journal. status says the
# store holds no run yet, and the rerun rolls the journal back and starts. Catches: a store that read-only opens
# could never roll back ("attempt to write a readonly database"), so no rerun, status or export could open it again.
rm -rf "$W/created" && mkdir -p "$W/created"
/usr/bin/python3 - "$W/created/nnlimits.sqlite" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size=1")  # spill pages into the file before the commit, as a big schema transaction does
db.execute("BEGIN")
db.execute("CREATE TABLE t(x)")
for i in range(2000): db.execute("INSERT INTO t VALUES (randomblob(500))")
os._exit(0)  # no commit, no rollback: a killed writer
PY
[ -s "$W/created/nnlimits.sqlite-journal" ] || fail "hot journal: the set-up left no journal"
set +e; "$NNL" status "$W/created" > "$W/created.out" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q 'holds no run yet' "$W/created.out" || fail "hot journal: status: exit $rc: $(cat "$W/created.out")"
run 2 run $JOB -output "$W/created" > /dev/null || fail "hot journal: the rerun failed"
same_exports "$W/ref" "$W/created"
echo "resume after SIGKILL, after SIGUSR1 (exit 3) and inside the store's creation: identical to an uninterrupted run"
