# ctest-label: slurm
# jobs/slurm/ against a real Slurm: munged, slurmctld and slurmd of our own (private key, config, ports, state and
# spool under the work dir; SLURM_CONF points every client at them, so a site's Slurm is never touched), then
#  1. submit --array 3 + merge: the merged store equals a direct mpiexec run byte for byte (CSV export);
#  2. the mpirun form of sweep.sbatch (NNL_LAUNCH=mpirun): the same;
#  3. SIGUSR1 to the batch shell of a running array task (what --signal=B:USR1@120 sends): the shard stops with
#     exit 3, the task requeues itself, the requeued run finishes the shard, and the merge, held back by afterany until
#     then, equals the direct run;
#  4. scancel of a running sweep cancels it (the stop that SIGTERM causes is not mistaken for a requeue);
#  5. srun without MPI wiring (N singletons) is refused with the one-line error, nothing stored;
#  6. submit warns of a time limit under the prediction, or under it plus the 120 s of the stop signal;
#  7. submit refuses what would fail in the queue (another job or split into an output, a second submit into an output
#     whose jobs are queued, a missing job file or binary);
#  8. one shard resubmitted alone (--only) runs as its shard of N, and the merge after it equals the direct run;
#  9. a USR1 as each array task launches requeues it, and the tasks run the job file as submitted, not as edited;
# 10. --only while the other shards of the first submit run: the new merge waits for them, the first is cancelled;
# 11. sweep.sbatch by hand with array ids from 1: shards 0..2 in shard-0..2;
# 12. `scontrol requeue` of a running sweep (Slurm's requeue, as a preemption's): its SIGTERM stops the run, the
#     script leaves the requeue to Slurm, and the rerun resumes and finishes (= the direct run);
# 13. submit queues nothing that has nothing to do: a finished job or merged array is not queued again; of an array,
#     only its unfinished shards, or the merge alone.
# 14. scancel of a task longer than KillWait: sweep.sbatch's -stop_grace is under KillWait, so the run ends interrupted
#     with the script's message (with the default 60 s, Slurm's SIGKILL cut it off mid-line);
# 15. a rank killed by SIGKILL: the log says so (not "its error above"); a -stop_grace of the job file's is kept;
# 16. --export=NONE: the jobs still get the binary and the shard count (every task failed);
# 17. merge.sbatch OUTPUT N with N too small fails (it ended COMPLETED with a partial store);
# 18. submit refuses a job that could never start (too many CPUs, -t above MaxTime, an array above MaxArraySize);
# 19. submit's warnings: no -t (the partition's limit), empty shards past 1000, -t 0:01 read as Slurm does (a minute),
#     one_machine.sh's shared-memory-only Open MPI settings;
# 20. a shard cancelled: the merge still runs (afterany), fails, and its log names the shard and the submit --only that
#     finishes it (under afterok it was cancelled, with no log); status of the shards says the merge is queued, then
#     failed with that line, and status of OUTPUT/all that the next merge is complete;
# 21. a preemption (PreemptMode=REQUEUE, GraceTime 8 s): the run ends interrupted, not SIGKILLed, and requeues itself
#     (it ended FAILED: Slurm does not requeue a preempted job that ends within its GraceTime), and the rerun resumes;
# 22. a preemption where the partition's PreemptMode is CANCEL: the run ends interrupted and is not requeued (the script
#     requeued it against the site's policy), its log says what is stored and the command that finishes it.
# Catches: broken sbatch scripts or submit, shards that do not cover the grid, a merge that runs before its shards
# or not at all, a stop signal that kills instead of stopping, no requeue or a requeue that recomputes, srun options
# that this Slurm/Open MPI pair cannot launch. Installs slurm-wlm and munge with apt-get if missing; skipped (77)
# where they cannot be installed or started. Stops the daemons it started, by pid.
source "$(dirname "$0")/lib.sh" "$@"
SRC=${NNL_SOURCE_DIR:?}
T0=$(date +%s)
skip() { echo "SKIP: $*" >&2; exit 77; }

# --- Slurm and munge: install if missing -----------------------------------------------------------------------
cmds="munged slurmctld slurmd sbatch srun scontrol squeue scancel"
have() { for c in $cmds; do command -v "$c" > /dev/null || return 1; done; }
if ! have; then
  command -v apt-get > /dev/null || skip "Slurm is not installed and there is no apt-get to install slurm-wlm and munge"
  sudo=
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2> /dev/null || skip "Slurm is not installed, and installing slurm-wlm and munge needs root or sudo"
    sudo="sudo -n"
  fi
  echo "installing slurm-wlm and munge (apt-get)" >&2
  inst() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge > "$W/apt.log" 2>&1; }
  inst || { $sudo apt-get update -qq > /dev/null 2>&1 && inst; } \
    || { tail -n 5 "$W/apt.log" >&2; skip "apt-get could not install slurm-wlm and munge (no network or archive?)"; }
  have || skip "slurm-wlm and munge installed, but $cmds are not all on PATH"
fi
[ "$(id -u)" = 0 ] || skip "this test runs slurmd, which must run as root"

# --- a private cluster: munged, slurmctld, slurmd ---------------------------------------------------------------
# (run inside a site's job, its SLURM_*/SBATCH_*/SRUN_* variables would point our clients at its jobs)
for v in $(compgen -v | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE)_' || true); do unset "$v"; done
D=$W/slurm
mkdir -p "$D"/{key,run,state,spool,log,tmp}
chmod 755 "$W" "$D" "$D/run"
chmod 700 "$D/key"
head -c 1024 /dev/urandom > "$D/key/munge.key"
chmod 400 "$D/key/munge.key"
# munged refuses a socket below a directory that not everyone may traverse (a clone under `mktemp -d` is one):
# the socket gets a directory of its own under /tmp
S=$(mktemp -d /tmp/nnl-munge.XXXXXX)
chmod 755 "$S"
pids=()
stop_all() {
  local rc=$? p
  trap - EXIT INT TERM
  if [ -n "${SLURM_CONF:-}" ] && [ "${#pids[@]}" -ge 2 ]; then # our jobs end before our slurmd does
    scancel $(squeue -h -o %A 2> /dev/null) > /dev/null 2>&1 || true
    for _ in $(seq 50); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.2; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # slurmd, slurmctld, munged: the reverse of their start
    p=${pids[i]}
    kill -TERM "$p" 2> /dev/null || continue
    for _ in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  rm -rf "$S"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 1' INT TERM
# startup FAILMSG LOG: the daemons did not come up; show why, then skip
startup() { echo "--- $2" >&2; tail -n 15 "$2" >&2 || true; skip "could not start a private Slurm: $1"; }

munged -F --socket="$S/munge.sock" --key-file="$D/key/munge.key" --pid-file="$D/run/munged.pid" \
  --seed-file="$D/key/munge.seed" --log-file="$D/log/munged.log" > "$D/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$S/munge.sock" ] && break; sleep 0.1; done
munge -n -S "$S/munge.sock" | unmunge -S "$S/munge.sock" > /dev/null 2>&1 || startup "munged" "$D/log/munged.log"

# two free TCP ports, away from Slurm's defaults (6817/6818) and from other copies of this test
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
p=$((20000 + ($$ % 2000) * 2))
while ! { port_free "$p" && port_free $((p + 1)); }; do p=$((p + 2)); done
host=$(hostname -s)
cat > "$D/slurm.conf" << EOF
ClusterName=nnltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$p
SlurmdPort=$((p + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again after this many seconds (default 120; 5 keeps the test short)
AuthInfo=socket=$S/munge.sock,cred_expire=5
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
TmpFS=$D/tmp
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
# schedule at once, and look at pending jobs every second (a requeued job becomes eligible while nothing happens)
SchedulerParameters=batch_sched_delay=0,sched_interval=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 $(slurmd -C | head -n 1 | cut -d' ' -f2-) State=UNKNOWN
# KillWait: Slurm's SIGKILL this long after a stop's SIGTERM (default 30 s; 5 lets a task outlast it in seconds)
KillWait=5
# (default 1001: 2001 lets a 1500-shard array through, and 2500 be refused)
MaxArraySize=2001
# preemption by partition (21): a job in high requeues one in low, GraceTime seconds after the tasks' first SIGTERM
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
PartitionName=short Nodes=ALL Default=YES MaxTime=10 State=UP
PartitionName=low Nodes=ALL MaxTime=10 PriorityTier=1 GraceTime=8 State=UP
# (22) a site that cancels preempted jobs: the partition's PreemptMode
PartitionName=lowcancel Nodes=ALL MaxTime=10 PriorityTier=1 GraceTime=8 PreemptMode=CANCEL State=UP
PartitionName=high Nodes=ALL MaxTime=10 PriorityTier=2 State=UP
EOF
export SLURM_CONF=$D/slurm.conf
slurmctld -D > "$D/log/slurmctld.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do scontrol ping 2> /dev/null | grep -q 'is UP' && break; sleep 0.2; done # (a file, not a pipe into grep -q)
scontrol ping > "$D/ping.txt" 2>&1 || true
grep -q 'is UP' "$D/ping.txt" || startup "slurmctld is not answering" "$D/log/slurmctld.log"
slurmd -D > "$D/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ "$(sinfo -h -o %t 2> /dev/null)" = idle ] && break; sleep 0.2; done
[ "$(sinfo -h -o %t)" = idle ] || startup "the node is '$(sinfo -h -o %t)', not idle" "$D/log/slurmd.log"
srun --mpi=list > "$D/mpi.txt" 2>&1 || true
grep -q pmix "$D/mpi.txt" || { cat "$D/mpi.txt"; fail "this Slurm offers no --mpi=pmix, which sweep.sbatch uses by default"; }
echo "slurm up in $(($(date +%s) - T0)) s: $(sinfo -h -o '%P %D node(s) %c cpus %t'), ports $p,$((p + 1))"

# --- helpers ----------------------------------------------------------------------------------------------------
export NNLIMITS=$NNL
state() { scontrol show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
# wait_done JOB SECONDS: until JOB is COMPLETED; fail on any other end state or on the timeout
wait_done() {
  local s=
  for _ in $(seq $((5 * $2))); do
    s=$(state "$1")
    case $s in
      COMPLETED) return 0 ;;
      FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        scontrol show job "$1" >&2; cat "$OUT"/logs/* >&2 2> /dev/null || true
        fail "job $1 ended $s" ;;
    esac
    sleep 0.2
  done
  scontrol show job "$1" >&2; squeue >&2; cat "$OUT"/logs/* >&2 2> /dev/null || true
  fail "job $1 not done within $2 s (state ${s:-gone})"
}

# fifth DIR: until the run in DIR has committed a fifth of its points (30 s at most; 1 if not); sets d and total
fifth() {
  d= total=
  for _ in $(seq 300); do
    sleep 0.1
    "$NNL" status "$1" > "$W/fifth.txt" 2> /dev/null || continue
    d=$(grep -o ' done=[0-9]*' "$W/fifth.txt" | cut -d= -f2)
    total=$(grep -o ' total=[0-9]*' "$W/fifth.txt" | cut -d= -f2)
    [ "$d" -ge $((total / 5)) ] && return 0
  done
  return 1
}

# --- 1. job array + merge = direct run --------------------------------------------------------------------------
printf -- '-family mlp,resnet\n-grid_activation relu,erf\n-grid_width 8,32\n-grid_depth 3,9\n-grid_seed 0-5\n-inputs 3\n-progress_interval 0\n' \
  > "$W/small.opts"
run 2 run -options_file "$W/small.opts" -output "$W/direct" > /dev/null 2>&1 || fail "direct run of small.opts"
OUT=$W/arr
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 3 --output "$OUT" -n 2 -t 5 --calibrate 0.5 > "$W/submit.out" 2> "$W/submit.err" \
  || { cat "$W/submit.err"; fail "submit --array"; }
cat "$W/submit.out"
grep -q '^plan: slowest shard ~[0-9.e+-]*s at 2 ranks .*stores ~[0-9.e+-]* MB in all' "$W/submit.out" || fail "submit prints no plan"
grep -q "^plan: .*on this machine's cores: the model's times x [0-9.e+-]*, from 0.5s" "$W/submit.out" \
  || fail "submit --calibrate: the plan is not calibrated"
! grep -q warning "$W/submit.err" || { cat "$W/submit.err"; fail "submit warns about a small job"; }
arr=$(grep -o 'array=[0-9]*' "$W/submit.out" | cut -d= -f2)
mrg=$(grep -o 'merge=[0-9]*' "$W/submit.out" | cut -d= -f2)
[ -n "$arr" ] && [ -n "$mrg" ] || fail "submit printed no job ids"
grep -q "^watch: squeue -j $arr,$mrg; .*status $OUT/shard-{0..2}" "$W/submit.out" || fail "submit does not say how to watch"
wait_done "$mrg" 60
for i in 0 1 2; do [ "$(state "${arr}_$i")" = COMPLETED ] || fail "array task $i: $(state "${arr}_$i")"; done
same_exports "$W/direct" "$OUT/all"
"$NNL" status "$OUT"/shard-{0,1,2} > "$W/status.out"
n=$("$NNL" status "$W/direct" | grep -o ' total=[0-9]*' | cut -d= -f2)
grep -q "^status dir=(all) done=$n failed=0 pending=0 total=$n " "$W/status.out" || { cat "$W/status.out"; fail "status of the shards"; }
grep -q 'shard=1/3' "$OUT/logs/shard-${arr}_1.out" || fail "array task 1 did not run shard 1/3"
echo "1. array of 3 + merge (afterany): merged store = direct run ($(($(date +%s) - T0)) s)"

# --- 2. the mpirun form ---------------------------------------------------------------------------------------------
OUT=$W/mpirun
NNL_LAUNCH=mpirun "$SRC/jobs/slurm/submit" "$W/small.opts" --output "$OUT" -n 2 -t 5 > "$W/submit2.out" || fail "submit (mpirun)"
job=$(grep -o 'sweep=[0-9]*' "$W/submit2.out" | cut -d= -f2)
wait_done "$job" 60
grep -q 'ranks=2' "$OUT/logs/sweep-$job.out" || { cat "$OUT/logs/sweep-$job.out"; fail "mpirun form did not run 2 ranks"; }
same_exports "$W/direct" "$OUT"
echo "2. NNL_LAUNCH=mpirun: one job of 2 ranks = direct run ($(($(date +%s) - T0)) s)"

# --- 3. SIGUSR1 -> exit 3 -> requeue -> the requeued shard finishes, then the merge runs --------------------------
# A job array of 2 shards; shard 0's batch shell gets USR1 mid-run, as --signal=B:USR1@120 would send it.
printf -- '-family resnet\n-grid_activation relu,tanh\n-grid_width 64,256\n-grid_depth 64,256\n-grid_seed 0-1600\n-inputs 4\n-record_layers 2\n-progress_interval 0\n' \
  > "$W/big.opts"
run 2 run -options_file "$W/big.opts" -output "$W/bigdirect" > /dev/null 2>&1 || fail "direct run of big.opts"
OUT=$W/requeue
"$SRC/jobs/slurm/submit" "$W/big.opts" --array 2 --output "$OUT" -n 2 -t 5 > "$W/submit3.out" || fail "submit (requeue)"
arr=$(grep -o 'array=[0-9]*' "$W/submit3.out" | cut -d= -f2)
mrg=$(grep -o 'merge=[0-9]*' "$W/submit3.out" | cut -d= -f2)
fifth "$OUT/shard-0" || { cat "$OUT"/logs/*; fail "shard 0: no progress within 30 s (state $(state "${arr}_0"))"; }
scancel --signal=USR1 --batch "${arr}_0" || fail "scancel --signal=USR1 --batch ${arr}_0"
for _ in $(seq 150); do
  scontrol show job "${arr}_0" > "$W/job.txt" 2>&1 || true
  grep -q 'Restarts=[1-9]' "$W/job.txt" && break
  sleep 0.2
done
grep -q 'Restarts=[1-9]' "$W/job.txt" || { cat "$W/job.txt" "$OUT"/logs/*; fail "shard 0 was not requeued after SIGUSR1"; }
wait_done "$mrg" 90
log=$OUT/logs/shard-${arr}_0.out
[ "$(grep -c '^sweep.sbatch: stopped early; requeueing job' "$log")" = 1 ] || { cat "$log"; fail "want exactly one requeue in the log"; }
stopped=$(grep -o '^interrupted done=[0-9]*' "$log" | head -n 1 | cut -d= -f2)
[ -n "$stopped" ] && [ "$stopped" -lt "$total" ] || { cat "$log"; fail "shard 0 was not stopped by SIGUSR1 (make big.opts larger)"; }
grep -q "restart=1 " "$log" && grep -q "todo=$((total - stopped)) " "$log" || { cat "$log"; fail "the requeued shard did not resume"; }
"$NNL" status "$OUT/all" > "$W/stall.txt"
n=$("$NNL" status "$W/bigdirect" | grep -o ' total=[0-9]*' | cut -d= -f2)
grep -q "done=$n failed=0 pending=0 total=$n " "$W/stall.txt" || { cat "$W/stall.txt"; fail "merged sweep incomplete"; }
same_exports "$W/bigdirect" "$OUT/all"
echo "3. SIGUSR1 to shard 0 at $stopped/$total points: exit 3, requeued, resumed with $((total - stopped)) to do;" \
  "merge after the requeue = direct run ($(($(date +%s) - T0)) s)"

# --- 4. scancel cancels: the stop it causes (TERM, exit 3) must not requeue the job -----------------------------
OUT=$W/cancel
"$SRC/jobs/slurm/submit" "$W/big.opts" --output "$OUT" -n 2 -t 5 > "$W/submit4.out" || fail "submit (cancel)"
job=$(grep -o 'sweep=[0-9]*' "$W/submit4.out" | cut -d= -f2)
for _ in $(seq 300); do
  sleep 0.1
  "$NNL" status "$OUT" > "$W/st.txt" 2> /dev/null || continue
  grep -q ' done=[1-9]' "$W/st.txt" && break
done
scancel "$job"
for _ in $(seq 150); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 0.2; done
scontrol show job "$job" > "$W/job.txt" 2>&1 || true
grep -q 'JobState=CANCELLED' "$W/job.txt" && grep -q 'Restarts=0' "$W/job.txt" \
  || { cat "$W/job.txt" "$OUT"/logs/*; fail "scancel: the job did not end cancelled (requeued itself?)"; }
echo "4. scancel: job cancelled, not requeued ($(($(date +%s) - T0)) s)"

# --- 5. N singletons under a real srun --------------------------------------------------------------------------
# Debian's Open MPI itself refuses `srun --mpi=none` when it sees the step's node list; without it (as an MPI without
# Slurm support would) each task starts as a 1-rank world: what nnlimits must refuse.
set +e
srun --mpi=none -n 2 -t 1 env -u SLURM_NODELIST -u SLURM_STEP_NODELIST -u SLURM_JOB_NODELIST \
  "$NNL" run -options_file "$W/small.opts" -output "$W/singles" > "$W/singles.out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "srun without MPI wiring: exit 0"
[ "$(grep -c '^nnlimits: error: launch: srun started 2 tasks' "$W/singles.out")" = 1 ] || { cat "$W/singles.out"; fail "srun without MPI wiring: want the launch error once"; }
[ ! -e "$W/singles" ] || fail "srun without MPI wiring: output directory created"
# with the node list (a plain srun as users type it), Open MPI stops inside MPI_Init with twenty lines of its own:
# task 0's note before it names the fix (it never came: the launch check runs after MPI_Init)
set +e
srun --mpi=none -n 2 -t 1 "$NNL" run -options_file "$W/small.opts" -output "$W/plain" > "$W/plain.out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && [ "$(grep -c '^nnlimits: note: srun started 2 tasks without PMIx (srun --mpi=.*launch with srun --mpi=pmix' "$W/plain.out")" = 1 ] ||
  { cat "$W/plain.out"; fail "plain srun: exit $rc, want task 0's note once"; }
[ ! -e "$W/plain" ] || fail "plain srun: output directory created"
echo "5. srun --mpi=none (N singletons): refused with one line, nothing stored; a plain srun: the note before Open MPI's stop"

# --- 6. a time limit under the plan's prediction: submit warns, and submits (cancelled here at once) -------------
printf -- '-family resnet\n-grid_width 4096\n-grid_depth 1024\n-grid_seed 0-10000\n-record_layers last\n' > "$W/long.opts"
"$SRC/jobs/slurm/submit" "$W/long.opts" --output "$W/long" -n 2 -t 2 > "$W/submit6.out" 2> "$W/submit6.err" || fail "submit (long)"
job=$(grep -o 'sweep=[0-9]*' "$W/submit6.out" | cut -d= -f2)
[ -n "$job" ] && scancel "$job"
grep -q "warning: the time limit 2 (120s) leaves a run little or no time: the stop signal comes 120 s before the limit" "$W/submit6.err" \
  || { cat "$W/submit6.out" "$W/submit6.err"; fail "submit: no warning for -t 2, the stop signal's 120 s"; }
# the stop signal's 120 s count: 1.25 x the prediction fits in the limit, not in the limit less 120 s (no warning before)
# (the cost model's prediction for long.opts, minutes at 2 ranks: the limit is 1.25 x that plus 60 s, as M:S)
wall=$(sed -n 's/^plan: slowest shard ~\([0-9.e+]*\)s.*/\1/p' "$W/submit6.out")
tl=$(awk -v w="$wall" 'BEGIN {t = int(1.25 * w + 60); printf "%d:%02d", t / 60, t % 60}')
"$SRC/jobs/slurm/submit" "$W/long.opts" --output "$W/near" -n 2 -t "$tl" --hold > "$W/submit6b.out" 2> "$W/submit6b.err" ||
  fail "submit (near the limit)"
scancel "$(grep -o 'sweep=[0-9]*' "$W/submit6b.out" | cut -d= -f2)"
grep -q "less the 120 s before it at which the stop signal comes is under 1.25 x" "$W/submit6b.err" ||
  { cat "$W/submit6b.out" "$W/submit6b.err"; fail "submit: no warning for a limit that fits the prediction only without the signal's 120 s"; }
# a job of tiny tasks (commits 71 % of the model's time) at 2 ranks: its time is rank 0's commits, and submit passes
# plan's note on (more shards would help, more ranks would not)
printf -- '-family mlp\n-grid_width 16\n-grid_depth 8\n-grid_seed 0-5000\n' > "$W/tiny.opts"
"$SRC/jobs/slurm/submit" "$W/tiny.opts" --output "$W/tiny" -n 2 -t 5 --hold > "$W/submit6c.out" 2>&1 || { cat "$W/submit6c.out"; fail "submit (tiny)"; }
scancel "$(grep -o 'sweep=[0-9]*' "$W/submit6c.out" | cut -d= -f2)"
grep -q "^plan: the slowest shard's time is its rank 0 committing every result" "$W/submit6c.out" ||
  { cat "$W/submit6c.out"; fail "submit: no note of a shard bound by its rank 0's commits"; }
echo "6. a time limit under the plan's prediction, or under it plus the stop signal's 120 s: warned, submitted; a commit-bound one noted"

# --- 7. submit refuses what would fail in the queue -------------------------------------------------------------
# Each was submitted: every task then failed in the queue and the merge was cancelled (a different job or shard count
# into an output), or two arrays raced for the stores and both merges were cancelled (the same submit twice).
refused() { # WHAT FRAGMENT SUBMIT-ARGS...: submit must exit 2 with FRAGMENT on stderr and queue nothing
  local what=$1 frag=$2 before
  shift 2
  before=$(squeue -h | wc -l)
  "$SRC/jobs/slurm/submit" "$@" > "$W/ref.out" 2> "$W/ref.err" && fail "submit accepted $what: $(cat "$W/ref.out")"
  grep -qF -- "$frag" "$W/ref.err" || fail "submit of $what: $(cat "$W/ref.err")"
  [ "$(squeue -h | wc -l)" = "$before" ] || fail "submit of $what queued a job"
}
refused "another job into an array's output" "holds a run made with different options" "$W/big.opts" --array 3 --output "$W/arr" -n 2 -t 5
refused "2 shards into a 3-shard output" "holds $W/arr/shard-2: an earlier submit split this output into more than 2 shards" \
  "$W/small.opts" --array 2 --output "$W/arr" -n 2 -t 5
refused "a missing job file" "job file '$W/nosuch.opts' not found" "$W/nosuch.opts" --array 2
NNLIMITS=/nonexistent/dir/nnlimits refused "a missing binary" "NNLIMITS=/nonexistent/dir/nnlimits is not an executable file" \
  "$W/small.opts" -n 1 -t 5
refused "--only out of range" "--only: shard 3 is not one of the 3 shards 0..2" "$W/small.opts" --array 3 --only 3 --output "$W/arr"
# an array into a single run's output, or a single run into an array's (each recomputed the whole job beside the
# other's stores, a user audit found)
refused "a single run into an array's output" "holds the shards of a job array" "$W/small.opts" --output "$W/arr" -n 1 -t 5
refused "an array into a single run's output" "holds a single run's store" "$W/small.opts" --array 2 --output "$W/mpirun" -n 1 -t 5
# sbatch's own refusals come before the plan (they came after one that read as success, and left logs/ behind)
refused "a misspelled sbatch option" "sbatch refuses these options" "$W/small.opts" --output "$W/typo" -n 1 --tim 5
refused "an nnlimits option before --" "nnlimits options go after --" "$W/small.opts" --output "$W/typo" -n 1 -t 5 -grid_seed 0-4
[ ! -e "$W/typo" ] || fail "a refused submit created its output"
# (sbatch took a job file after the options as its script: "This does not look like a batch script", after a plan of
# the default job)
refused "a job file after the options" "the job file comes first: submit $W/small.opts" --array 2 -n 1 -t 5 "$W/small.opts"
# of any name: one without .opts or .yaml went on to sbatch, which took it for its batch script; and a stray word
# (named as the word sbatch takes, not an option's value that is a file too: -e LOG)
cp "$W/small.opts" "$W/smalljob"
touch "$W/old.log"
refused "a job file without .opts after the options" "sbatch would take '$W/smalljob' as its batch script: the job file comes first" \
  --array 2 -n 1 -e "$W/old.log" -t 5 --output "$W/typo" "$W/smalljob"
refused "a stray word among sbatch's options" "sbatch would take a word among its options as its batch script" \
  "$W/small.opts" --output "$W/typo" -n 1 --exclusive debug -t 5
[ ! -e "$W/typo" ] || fail "a refused submit created its output"
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 2 --output "$W/held" -n 1 -t 5 --hold > "$W/held.out" 2>&1 || fail "submit --hold"
refused "a second submit into an output with queued jobs" "jobs of an earlier submit into $W/held are still queued or running" \
  "$W/small.opts" --array 2 --output "$W/held" -n 1 -t 5
scancel "$(grep -o 'array=[0-9]*' "$W/held.out" | cut -d= -f2)" "$(grep -o 'merge=[0-9]*' "$W/held.out" | cut -d= -f2)"
# no job file: the default job, changed by the options after -- (it was refused: "first argument must be a job file")
# (with -o FILE of the user's, submit printed its own log path, not the one sbatch writes)
"$SRC/jobs/slurm/submit" --output "$W/dflt" -n 1 -t 5 --hold -o "$W/dflt-%j.log" -- -grid_seed 0-2 > "$W/dflt.out" 2>&1 || { cat "$W/dflt.out"; fail "submit of the default job"; }
id=$(grep -o 'sweep=[0-9]*' "$W/dflt.out" | cut -d= -f2)
scancel "$id"
grep -q "^submitted sweep=$id output=$W/dflt log=$W/dflt-$id.log$" "$W/dflt.out" || { cat "$W/dflt.out"; fail "submit -o FILE: the log path"; }
grep -q "^plan: slowest shard" "$W/dflt.out" || { cat "$W/dflt.out"; fail "submit of the default job: no plan"; }
# -a N is --array N (it went to sbatch: N tasks that each ran the whole job, and no merge)
"$SRC/jobs/slurm/submit" "$W/small.opts" -a 2 --output "$W/short" -n 1 -t 5 --hold > "$W/short.out" 2>&1 || { cat "$W/short.out"; fail "submit -a 2"; }
grep -q "submitted array=[0-9]* shards=2 merge=[0-9]*" "$W/short.out" || { cat "$W/short.out"; fail "submit -a 2 is not --array 2"; }
scancel "$(grep -o 'array=[0-9]*' "$W/short.out" | cut -d= -f2)" "$(grep -o 'merge=[0-9]*' "$W/short.out" | cut -d= -f2)"
echo "7. submit refuses another job or split into an output, a second submit while the first is queued, a missing file;"
echo "   with no job file it submits the default job"

# --- 8. one shard resubmitted alone (--only): it is still shard i of N, and the merge comes again ------------------
# (run alone, array task 1 of a 1-task array was shard 0/1: refused by its store, "use another -output")
OUT=$W/arr
rm -rf "$OUT/shard-1" "$OUT/all"
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 3 --only 1 --output "$OUT" -n 2 -t 5 > "$W/submit8.out" 2>&1 ||
  { cat "$W/submit8.out"; fail "submit --only 1"; }
# its plan is of shard 1, the one queued (it said what shard 0, left alone, holds: "plan: already in …/shard-0")
grep -q "^plan: slowest shard queued: shard 1 of those queued, 1 " "$W/submit8.out" && ! grep -q "plan: already in $OUT/shard-0" "$W/submit8.out" \
  || { cat "$W/submit8.out"; fail "submit --only 1: its plan is not of shard 1"; }
arr=$(grep -o 'array=[0-9]*' "$W/submit8.out" | cut -d= -f2)
wait_done "$(grep -o 'merge=[0-9]*' "$W/submit8.out" | cut -d= -f2)" 60
grep -q 'shard=1/3' "$OUT/logs/shard-${arr}_1.out" || { cat "$OUT/logs/shard-${arr}_1.out"; fail "--only 1 did not run shard 1/3"; }
same_exports "$W/direct" "$OUT/all"
echo "8. submit --only 1 of 3: shard 1/3 recomputed, merged again = direct run ($(($(date +%s) - T0)) s)"
# --- 9. a stop at the start of a task requeues it; the job file edited after the submit changes nothing ------------
# USR1 to each array task's batch shell as its log says it is about to launch nnlimits: the signal lands before the
# launch, in srun's or MPI's start, or in the set-up. It killed the task (exit 138, FAILED: the merge cancelled) or was
# lost (the shell had no pid to pass it to: the task ran on to its time limit), and a stop that stored nothing was not
# requeued. Now each requeues (the time left, far above the time limit's signal, tells a stop by hand) and the merge
# equals the direct run. The job file is edited while the tasks wait (held): they run the copy submit made.
OUT=$W/early
cp "$W/small.opts" "$W/edited.opts"
"$SRC/jobs/slurm/submit" "$W/edited.opts" --array 2 --output "$OUT" -n 2 -t 5 --hold > "$W/submit9.out" || fail "submit (early)"
arr=$(grep -o 'array=[0-9]*' "$W/submit9.out" | cut -d= -f2)
mrg=$(grep -o 'merge=[0-9]*' "$W/submit9.out" | cut -d= -f2)
sed -i 's/^-grid_seed .*/-grid_seed 0-3/' "$W/edited.opts"
scontrol release "$arr" "$mrg"
for t in 0 1; do
  log=$OUT/logs/shard-${arr}_$t.out
  for _ in $(seq 600); do grep -q '^sweep.sbatch: job=' "$log" 2> /dev/null && break; sleep 0.02; done
  grep -q '^sweep.sbatch: job=' "$log" || { cat "$OUT"/logs/*; fail "early stop: task $t never started"; }
  scancel --signal=USR1 --batch "${arr}_$t"
  for _ in $(seq 300); do scontrol show job "${arr}_$t" 2> /dev/null | grep -q 'Restarts=[1-9]' && break; sleep 0.1; done
  scontrol show job "${arr}_$t" | grep -q 'Restarts=[1-9]' || { cat "$log"; fail "early stop: task $t not requeued"; }
done
! grep -q 'could not requeue' "$OUT"/logs/shard-* || { cat "$OUT"/logs/shard-*; fail "early stop: 'could not requeue'"; }
wait_done "$mrg" 120
same_exports "$W/direct" "$OUT/all"
echo "9. USR1 as each task launches: both requeued, merged = direct run; the job file edited after the submit: unused" \
  "($(($(date +%s) - T0)) s)"

# --- 10. --only while the other shards of the first submit run -------------------------------------------------------
# Shard 0 cancelled while shard 1 runs: `--only 0` was refused until the whole array had ended (or told to scancel the
# healthy shard). Now it is queued at once; its merge waits for shard 1 too, and the first merge is cancelled.
OUT=$W/only
# (with -J, the merge took the user's name, and --only took it for a running non-array job and refused)
"$SRC/jobs/slurm/submit" "$W/big.opts" --array 2 --output "$OUT" -n 1 -t 5 -J myname > "$W/submit10.out" || fail "submit (only)"
arr=$(grep -o 'array=[0-9]*' "$W/submit10.out" | cut -d= -f2)
mrg=$(grep -o 'merge=[0-9]*' "$W/submit10.out" | cut -d= -f2)
for _ in $(seq 300); do
  [ "$(state "${arr}_0")" = RUNNING ] && [ "$(state "${arr}_1")" = RUNNING ] && "$NNL" status "$OUT/shard-0" 2> /dev/null | grep -q ' done=[1-9]' && break
  sleep 0.1
done
scancel "${arr}_0"
for _ in $(seq 150); do [ "$(state "${arr}_0")" = CANCELLED ] && break; sleep 0.1; done
[ "$(state "${arr}_1")" = RUNNING ] || fail "--only: shard 1 is not running (make big.opts larger): $(state "${arr}_1")"
"$SRC/jobs/slurm/submit" "$W/big.opts" --array 2 --only 0 --output "$OUT" -n 1 -t 5 -J myname > "$W/submit10b.out" 2>&1 ||
  { cat "$W/submit10b.out"; fail "submit --only 0 while shard 1 runs"; }
grep -q "also after the running array $arr" "$W/submit10b.out" || { cat "$W/submit10b.out"; fail "--only: the merge does not wait for shard 1"; }
for _ in $(seq 100); do [ "$(state "$mrg")" = CANCELLED ] && break; sleep 0.1; done
[ "$(state "$mrg")" = CANCELLED ] || fail "--only: the first merge is $(state "$mrg"), not cancelled"
wait_done "$(grep -o 'merge=[0-9]*' "$W/submit10b.out" | cut -d= -f2)" 120
same_exports "$W/bigdirect" "$OUT/all"
echo "10. --only 0 while shard 1 runs: queued at once, merged after both = direct run ($(($(date +%s) - T0)) s)"

# --- 11. sweep.sbatch by hand with array ids from 1: shard i is the task's place, in shard-i -------------------------
# (shard-1..3 held shards 0..2, and merge.sbatch OUTPUT 3 found no shard-0)
OUT=$W/byhand
id=$(sbatch --parsable --array=1-3 -n 1 -t 5 -o "$W/byhand-%A_%a.out" "$SRC/jobs/slurm/sweep.sbatch" "$W/small.opts" "$OUT")
mid=$(sbatch --parsable -n 1 -t 5 -o "$W/byhand-merge.out" --dependency="afterok:${id%%;*}" "$SRC/jobs/slurm/merge.sbatch" "$OUT" 3)
wait_done "${mid%%;*}" 90
same_exports "$W/direct" "$OUT/all"
echo "11. sbatch --array=1-3 sweep.sbatch + merge.sbatch OUT 3: shard-0..2, merged = direct run"

# --- 12. a requeue by Slurm: SIGTERM stops the run, Slurm requeues it, the rerun resumes ------------------------------
# (logged "not requeueing" with no word of the requeue, and TERM with the script's own USR1 counted as two signals)
OUT=$W/slurmrq
"$SRC/jobs/slurm/submit" "$W/big.opts" --output "$OUT" -n 2 -t 5 > "$W/submit12.out" || fail "submit (scontrol requeue)"
job=$(grep -o 'sweep=[0-9]*' "$W/submit12.out" | cut -d= -f2)
fifth "$OUT" || { cat "$OUT"/logs/*; fail "scontrol requeue: no progress within 30 s (state $(state "$job"))"; }
scontrol requeue "$job" || fail "scontrol requeue $job"
wait_done "$job" 120
scontrol show job "$job" | grep -q 'Restarts=1' || { scontrol show job "$job"; fail "scontrol requeue: want one restart"; }
log=$OUT/logs/sweep-$job.out
stopped=$(grep -o '^interrupted done=[0-9]*' "$log" | head -n 1 | cut -d= -f2)
[ -n "$stopped" ] && [ "$stopped" -lt "$total" ] || { cat "$log"; fail "scontrol requeue: the run was not stopped (make big.opts larger)"; }
grep -q '^sweep.sbatch: stopped by SIGTERM .*if Slurm requeues it, a preemption or scontrol requeue, the rerun resumes' "$log" &&
  ! grep -q '^sweep.sbatch: stopped early; requeueing' "$log" || { cat "$log"; fail "scontrol requeue: the log does not leave the requeue to Slurm"; }
grep -q "restart=1 " "$log" && grep -q "todo=$((total - stopped)) " "$log" || { cat "$log"; fail "scontrol requeue: the rerun did not resume"; }
same_exports "$W/bigdirect" "$OUT"
echo "12. scontrol requeue at $stopped/$total points: stopped, requeued by Slurm, resumed with $((total - stopped)) to do" \
  "= direct run ($(($(date +%s) - T0)) s)"
# --- 13. nothing queued that has nothing to do ----------------------------------------------------------------------
# (a submit into a finished output queued its tasks and merge again, each finding nothing to do)
before=$(squeue -h | wc -l)
"$SRC/jobs/slurm/submit" "$W/small.opts" --output "$W/mpirun" -n 2 -t 5 > "$W/s13.out" 2>&1 || { cat "$W/s13.out"; fail "submit (finished)"; }
grep -q "^submit: .* already holds the whole job: nothing submitted" "$W/s13.out" || { cat "$W/s13.out"; fail "submit of a finished job"; }
# a resubmit's plan is of what is left (it gave the whole job's time, and warned of a time limit by it)
grep -q "^plan: what is left of the job ~0s at 2 ranks" "$W/s13.out" || { cat "$W/s13.out"; fail "submit of a finished job: the plan of what is left"; }
OUT=$W/arr
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 3 --output "$OUT" -n 2 -t 5 > "$W/s13.out" 2>&1 || { cat "$W/s13.out"; fail "submit (merged)"; }
grep -q "^submit: shards already finished, not queued again: 0-2$" "$W/s13.out" &&
  grep -q "^submit: .*/all already holds the merged job: nothing submitted" "$W/s13.out" || { cat "$W/s13.out"; fail "submit of a merged array"; }
[ "$(squeue -h | wc -l)" = "$before" ] || fail "submit of finished jobs queued a job"
rm -rf "$OUT/all" "$OUT/shard-2"
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 3 --output "$OUT" -n 2 -t 5 > "$W/s13.out" 2>&1 || { cat "$W/s13.out"; fail "submit (shard 2)"; }
grep -q "^submit: shards already finished, not queued again: 0-1$" "$W/s13.out" && grep -q "^submitted array=[0-9]* shards=3 only=2 " "$W/s13.out" ||
  { cat "$W/s13.out"; fail "submit of an array with shard 2 left"; }
wait_done "$(grep -o 'merge=[0-9]*' "$W/s13.out" | cut -d= -f2)" 60
same_exports "$W/direct" "$OUT/all"
rm -rf "$OUT/all"
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 3 --output "$OUT" -n 2 -t 5 > "$W/s13.out" 2>&1 || { cat "$W/s13.out"; fail "submit (merge only)"; }
grep -q "^submitted merge=[0-9]* (its shards are finished)" "$W/s13.out" && ! grep -q "array=" "$W/s13.out" ||
  { cat "$W/s13.out"; fail "submit of an unmerged finished array"; }
wait_done "$(grep -o 'merge=[0-9]*' "$W/s13.out" | cut -d= -f2)" 60
same_exports "$W/direct" "$OUT/all"
echo "13. submit of a finished job or merged array: nothing queued; shard 2 alone queued, then the merge alone; = direct run"

# --- 14. a task longer than KillWait, stopped by scancel: it ends interrupted, not SIGKILLed ---------------------------
# KillWait=5 here: Slurm SIGKILLs a job 5 s after scancel's SIGTERM. With -stop_grace at its default 60 s, the task in
# flight (about 10 s a network here) outlasted it: the log stopped mid-line, ExitCode 0:9, status "died". sweep.sbatch
# now passes -stop_grace under KillWait (3 s: 5 less half of it).
printf -- '-family resnet\n-grid_width 4096\n-grid_depth 256\n-grid_seed 0-3\n-record_layers last\n-sampler dense\n-progress_interval 1\n' \
  > "$W/slow.opts"
OUT=$W/killwait
"$SRC/jobs/slurm/submit" "$W/slow.opts" --output "$OUT" -n 1 -t 5 > "$W/s14.out" 2>&1 || { cat "$W/s14.out"; fail "submit (killwait)"; }
job=$(grep -o 'sweep=[0-9]*' "$W/s14.out" | cut -d= -f2)
log=$OUT/logs/sweep-$job.out
for _ in $(seq 150); do grep -q '^progress ' "$log" 2> /dev/null && break; sleep 0.2; done
grep -q '^progress ' "$log" || { cat "$log"; fail "killwait: the run did not start within 30 s"; }
scancel "$job"
for _ in $(seq 100); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 0.2; done
scontrol show job "$job" > "$W/job.txt"
grep -q 'stop_grace=3 (KillWait 5)' "$log" || { cat "$log"; fail "killwait: sweep.sbatch did not set -stop_grace under KillWait"; }
grep -q '^interrupted done=' "$log" && grep -q '^sweep.sbatch: stopped by SIGTERM' "$log" && grep -q 'ExitCode=3:0' "$W/job.txt" ||
  { cat "$log" "$W/job.txt"; fail "killwait: the stop did not end before Slurm's SIGKILL"; }
grep -q "else resubmit the same job to finish $OUT ($SRC/jobs/slurm/submit $OUT/logs/job-" "$log" ||
  { cat "$log"; fail "killwait: the resubmit hint does not name submit by its absolute path"; }
echo "14. scancel of a task longer than KillWait (5 s): -stop_grace 3, interrupted, the script's message ($(($(date +%s) - T0)) s)"

# --- 15. a rank killed by SIGKILL: the log names the signal; a job file's -stop_grace is kept ------------------------
OUT=$W/sigkill
cp "$W/slow.opts" "$W/slowgrace.opts"
echo '-stop_grace 2' >> "$W/slowgrace.opts"
"$SRC/jobs/slurm/submit" "$W/slowgrace.opts" --output "$OUT" -n 1 -t 5 > "$W/s15.out" 2>&1 || { cat "$W/s15.out"; fail "submit (sigkill)"; }
job=$(grep -o 'sweep=[0-9]*' "$W/s15.out" | cut -d= -f2)
log=$OUT/logs/sweep-$job.out
for _ in $(seq 150); do grep -q '^progress ' "$log" 2> /dev/null && break; sleep 0.2; done
grep -q '^sweep.sbatch: job=' "$log" && ! grep -q 'stop_grace=' "$log" || { cat "$log"; fail "sigkill: the job file's -stop_grace was overridden"; }
rank=$(pgrep -f "^$NNL run -options_file .* -output $OUT( |\$)" || true)
[ -n "$rank" ] && [ "$(wc -w <<< "$rank")" = 1 ] || { ps -ef >&2; fail "sigkill: want one rank of the run, found '$rank'"; }
kill -KILL "$rank"
for _ in $(seq 100); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 0.2; done
grep -q "^sweep.sbatch: nnlimits was killed by signal 9 (out of memory? node failure? Slurm's KillWait after a stop?)" "$log" ||
  { cat "$log"; fail "sigkill: the log does not name the signal"; }
echo "15. SIGKILL of the rank: the log names signal 9; the job file's -stop_grace kept ($(($(date +%s) - T0)) s)"

# --- 16. --export=NONE: what submit passes reaches the jobs as arguments -----------------------------------------------
# (every task failed: "'nnlimits' is not an executable", and the merge was cancelled)
OUT=$W/exportnone
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 2 --output "$OUT" -n 1 -t 5 --export=NONE > "$W/s16.out" 2>&1 ||
  { cat "$W/s16.out"; fail "submit --export=NONE"; }
arr=$(grep -o 'array=[0-9]*' "$W/s16.out" | cut -d= -f2)
wait_done "$(grep -o 'merge=[0-9]*' "$W/s16.out" | cut -d= -f2)" 60
grep -q 'shard=1/2' "$OUT/logs/shard-${arr}_1.out" || { cat "$OUT/logs/shard-${arr}_1.out"; fail "--export=NONE: task 1 did not run shard 1/2"; }
same_exports "$W/direct" "$OUT/all"
echo "16. --export=NONE: both shards ran, merged = direct run ($(($(date +%s) - T0)) s)"

# --- 17. merge.sbatch OUTPUT N, N too small: it fails (COMPLETED with a partial store before) ------------------------
mkdir -p "$W/m2"
cp -r "$W/arr"/shard-{0,1,2} "$W/m2/"
mid=$(sbatch --parsable -n 1 -t 1 -o "$W/m2-a.out" "$SRC/jobs/slurm/merge.sbatch" "$W/m2" 2)
for _ in $(seq 150); do [ -z "$(squeue -h -j "${mid%%;*}" 2> /dev/null)" ] && break; sleep 0.2; done
rm -r "$W/m2/shard-2"
mid2=$(sbatch --parsable -n 1 -t 1 -o "$W/m2-b.out" "$SRC/jobs/slurm/merge.sbatch" "$W/m2" 2)
for _ in $(seq 150); do [ -z "$(squeue -h -j "${mid2%%;*}" 2> /dev/null)" ] && break; sleep 0.2; done
[ "$(state "${mid%%;*}")" = FAILED ] && grep -q "^merge.sbatch: error: $W/m2 holds shard-2, beyond the 2 shards" "$W/m2-a.out" ||
  { cat "$W/m2-a.out"; fail "merge.sbatch with shard-2 beyond N=2: $(state "${mid%%;*}")"; }
[ "$(state "${mid2%%;*}")" = FAILED ] && grep -q "^merge.sbatch: error: the merged store $W/m2/all is not the whole job" "$W/m2-b.out" ||
  { cat "$W/m2-b.out"; fail "merge.sbatch of 2 shards of 3: $(state "${mid2%%;*}")"; }
echo "17. merge.sbatch OUTPUT 2 of a 3-shard job: fails, with shard-2 there and without ($(($(date +%s) - T0)) s)"

# --- 18. a job that could never start is refused, before anything is queued or written --------------------------------
# (each was submitted and pended for good: PartitionConfig, PartitionTimeLimit; the array failed after the plan, exit 1)
refused "more CPUs than the partition has" "sbatch says this job could never start: allocation failure: Requested node configuration is not available" \
  "$W/small.opts" --output "$W/never" -n 64 -t 5
refused "a time limit above MaxTime" "the time limit 20 is above partition short's MaxTime=00:10:00" "$W/small.opts" --output "$W/never" -n 1 -t 20
refused "an array above MaxArraySize" "sbatch refuses the array of 2500 shards: allocation failure: Invalid job array specification (MaxArraySize is 2001" \
  "$W/small.opts" --array 2500 --output "$W/never" -n 1 -t 5
[ ! -e "$W/never" ] || fail "a job that could never start: submit created its output"
echo "18. submit refuses a job that could never start: too many CPUs, -t above MaxTime, an array above MaxArraySize"

# --- 19. submit's warnings --------------------------------------------------------------------------------------------
# no -t: the partition's MaxTime (10 min here, no DefaultTime) against the prediction (long.opts at 1 rank: ~430 s)
"$SRC/jobs/slurm/submit" "$W/long.opts" --output "$W/notl" -n 1 --hold > "$W/s19.out" 2> "$W/s19.err" || { cat "$W/s19.err"; fail "submit (no -t)"; }
scancel "$(grep -o 'sweep=[0-9]*' "$W/s19.out" | cut -d= -f2)"
grep -q "warning: the time limit 00:10:00 (partition short's MaxTime: no -t given) (600s) less the 120 s" "$W/s19.err" ||
  { cat "$W/s19.out" "$W/s19.err"; fail "submit without -t: no warning against the partition's limit"; }
# 1500 shards of a small job (plan prints 1000 shard lines), -t 0:01 (Slurm's minute), one_machine.sh's settings at 2 ranks
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 1500 --output "$W/wide" -n 2 -t 0:01 --hold > "$W/s19.out" 2> "$W/s19.err" ||
  { cat "$W/s19.err"; fail "submit --array 1500"; }
scancel "$(grep -o 'array=[0-9]*' "$W/s19.out" | cut -d= -f2)" "$(grep -o 'merge=[0-9]*' "$W/s19.out" | cut -d= -f2)"
n=$("$NNL" status "$W/direct" | grep -o ' total=[0-9]*' | cut -d= -f2)
grep -q "warning: $((1500 - n)) of the 1500 shards hold no task: the job has $n tasks (--array $n would do)" "$W/s19.err" ||
  { cat "$W/s19.err"; fail "submit --array 1500: the count of empty shards"; }
grep -q "warning: the time limit 0:01 (60s) leaves a run little or no time" "$W/s19.err" || { cat "$W/s19.err"; fail "submit -t 0:01: not read as a minute"; }
grep -q "^submit: note: OMPI_MCA_btl=self,vader (jobs/one_machine.sh's shared-memory-only setting)" "$W/s19.err" ||
  { cat "$W/s19.err"; fail "submit: no note of one_machine.sh's settings"; }
echo "19. submit warns without -t (the partition's MaxTime), counts 1500-$n empty shards, reads -t 0:01 as 60 s, notes" \
  "one_machine.sh's settings ($(($(date +%s) - T0)) s)"
# --- 20. a shard cancelled: the merge runs all the same, fails, and its log says which shard and how to finish it ----
# (under afterok the merge was cancelled with the shard: no log, no word of why); the command it gives finishes the job
OUT=$W/cancelled
"$SRC/jobs/slurm/submit" "$W/small.opts" --array 2 --output "$OUT" -n 1 -t 5 --hold > "$W/s20.out" 2>&1 ||
  { cat "$W/s20.out"; fail "submit (a shard cancelled)"; }
arr=$(grep -o 'array=[0-9]*' "$W/s20.out" | cut -d= -f2)
mrg=$(grep -o 'merge=[0-9]*' "$W/s20.out" | cut -d= -f2)
grep -q "^merge: runs once every shard's task has ended; .* in $OUT/logs/merge-$mrg.out" "$W/s20.out" ||
  { cat "$W/s20.out"; fail "submit does not say where the merge's log is"; }
# status of the shards says the merge is queued (held here), then that it failed, with its log's first error line
# (nothing but the merge's log said so)
"$NNL" status "$OUT"/shard-{0,1} > "$W/st20.out" 2>&1
grep -q "^status merge=queued job=$mrg .* log=$OUT/logs/merge-$mrg.out$" "$W/st20.out" ||
  { cat "$W/st20.out"; fail "a merge held: status of the shards does not say it is queued"; }
scancel "${arr}_0"
scontrol release "$arr" "$mrg"
for _ in $(seq 300); do [ -z "$(squeue -h -j "$mrg" 2> /dev/null)" ] && break; sleep 0.2; done
"$NNL" status "$OUT"/shard-{0,1} > "$W/st20.out" 2> "$W/st20.err"
grep -q "^status merge=failed job=$mrg .* log=$OUT/logs/merge-$mrg.out$" "$W/st20.out" &&
  grep -q "^status: merge failed (job $mrg): see $OUT/logs/merge-$mrg.out: merge.sbatch: error: unfinished: shard-0 (no store) .* --only 0 " "$W/st20.err" ||
  { cat "$W/st20.out" "$W/st20.err"; fail "a merge failed: status of the shards does not say so, with its error line"; }
again=$(sed -n 's/^merge.sbatch: error: unfinished: shard-0 (no store) .*Finish them with \(.* --only 0 --output [^ ]*\) (with .*/\1/p' \
  "$OUT/logs/merge-$mrg.out" 2> /dev/null || true)
[ "$(state "$mrg")" = FAILED ] && [ -n "$again" ] ||
  { cat "$OUT/logs/merge-$mrg.out" 2> /dev/null || true; fail "a shard cancelled: the merge is $(state "$mrg"), its log does not say why"; }
[[ $again == "$SRC/jobs/slurm/submit $OUT/logs/job-"*"-small.opts --array 2 --only 0 --output $OUT" ]] ||
  fail "a shard cancelled: the merge's command is '$again'"
$again -n 1 -t 5 > "$W/s20b.out" 2>&1 || { cat "$W/s20b.out"; fail "the merge's command: $again"; }
mrg=$(grep -o 'merge=[0-9]*' "$W/s20b.out" | cut -d= -f2)
wait_done "$mrg" 60
same_exports "$W/direct" "$OUT/all"
"$NNL" status "$OUT/all" > "$W/st20.out" 2>&1
grep -q "^status merge=complete job=$mrg .* log=$OUT/logs/merge-$mrg.out$" "$W/st20.out" ||
  { cat "$W/st20.out"; fail "the merge done: status of OUTPUT/all does not say so"; }
echo "20. a shard cancelled: the merge (afterany) fails naming it and the --only that finishes it (status says so);" \
  "that command's merge = direct run ($(($(date +%s) - T0)) s)"
# --- 21. a preemption (PreemptMode=REQUEUE, partition low's GraceTime=8): the run stops cleanly, requeues, resumes ------
# Slurm sends the tasks (not the batch shell) SIGTERM at once, and the job SIGTERM again GraceTime later, then SIGKILL
# KillWait after that (measured here: the tasks' SIGTERM, 10 s later the second, 5 s later SIGKILL): a preempted run
# has GraceTime + KillWait, so the grace under KillWait holds for it too. But the run stopped within the grace, the
# script exited 3, and Slurm recorded the job FAILED, not requeued (ExitCode 3:0, Restarts=0): the script now sees the
# preemption (scontrol's PreemptTime) and requeues itself. The sweep in low is preempted by a job in high.
OUT=$W/preempt
"$SRC/jobs/slurm/submit" "$W/big.opts" --output "$OUT" -n 2 -t 5 -p low > "$W/s21.out" 2>&1 || { cat "$W/s21.out"; fail "submit (preempt)"; }
job=$(grep -o 'sweep=[0-9]*' "$W/s21.out" | cut -d= -f2)
fifth "$OUT" || { cat "$OUT"/logs/*; fail "preempt: no progress within 30 s (state $(state "$job"))"; }
hi=$(sbatch --parsable -p high -n 2 -t 1 -o /dev/null --wrap 'sleep 2')
wait_done "${hi%%;*}" 60
wait_done "$job" 120
log=$OUT/logs/sweep-$job.out
scontrol show job "$job" | grep -q 'Restarts=1' || { scontrol show job "$job"; cat "$log"; fail "preempt: want one restart"; }
stopped=$(grep -o '^interrupted done=[0-9]*' "$log" | head -n 1 | cut -d= -f2)
[ -n "$stopped" ] && grep -q '^sweep.sbatch: preempted at 20' "$log" && grep -q '^sweep.sbatch: stopped early; requeueing job' "$log" &&
  ! grep -q 'killed by signal' "$log" || { cat "$log"; fail "preempt: the run did not stop cleanly and requeue itself"; }
grep -q "restart=1 " "$log" && grep -q "todo=$((total - stopped)) " "$log" || { cat "$log"; fail "preempt: the rerun did not resume"; }
same_exports "$W/bigdirect" "$OUT"
echo "21. preempted (GraceTime 8, KillWait 5) at $stopped/$total points: interrupted, requeued itself, resumed = direct" \
  "run ($(($(date +%s) - T0)) s)"
# --- 22. a preemption where the partition's PreemptMode is CANCEL: the run stops cleanly and is not requeued ----------
# (the script saw the preemption and requeued the job all the same, against the site's choice); its log says what is
# stored and how to finish it. The sweep in lowcancel is preempted by a job in high.
OUT=$W/precancel
"$SRC/jobs/slurm/submit" "$W/big.opts" --output "$OUT" -n 2 -t 5 -p lowcancel > "$W/s22.out" 2>&1 || { cat "$W/s22.out"; fail "submit (preempt, CANCEL)"; }
job=$(grep -o 'sweep=[0-9]*' "$W/s22.out" | cut -d= -f2)
fifth "$OUT" || { cat "$OUT"/logs/*; fail "preempt CANCEL: no progress within 30 s (state $(state "$job"))"; }
hi=$(sbatch --parsable -p high -n 2 -t 1 -o /dev/null --wrap 'sleep 2')
wait_done "${hi%%;*}" 60
for _ in $(seq 150); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 0.2; done
log=$OUT/logs/sweep-$job.out
scontrol show job "$job" > "$W/job.txt" 2>&1 || true
grep -q 'Restarts=0' "$W/job.txt" && [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] || { cat "$W/job.txt" "$log"; fail "preempt CANCEL: the job requeued"; }
grep -q '^interrupted done=' "$log" &&
  grep -q "^sweep.sbatch: preempted at 20.*, and preempted jobs are cancelled here (PreemptMode=CANCEL, partition lowcancel): not requeueing it. .* still pending in $OUT .*resubmit the same job to finish $OUT" "$log" &&
  ! grep -q 'requeueing job' "$log" || { cat "$log"; fail "preempt CANCEL: the log does not say it is not requeued, and how to finish"; }
echo "22. preempted where PreemptMode=CANCEL: interrupted, not requeued, the log says what is stored and how to finish" \
  "($(($(date +%s) - T0)) s)"
echo "slurm: all passed in $(($(date +%s) - T0)) s"
