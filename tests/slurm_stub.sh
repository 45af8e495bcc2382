# jobs/slurm/sweep.sbatch and submit run by hand against stub sbatch, scontrol and squeue: what the scripts decide, in
# seconds, without a Slurm (tests/slurm.sh runs them on a real one):
#  1. a stop by the time limit's USR1 of a job requeued NNL_MAX_REQUEUES times already is not requeued again, and its
#     log says why and what to do (a job whose runs each stored a point or two requeued itself for good); one requeued
#     fewer times is requeued; a NNL_MAX_REQUEUES that is not a count is refused before anything runs.
#  2. the plan that submit prints for a resubmit of some shards (--only, or some finished) is of the shards it queues,
#     each less what its store holds (it was the whole job's slowest shard).
#  3. a -stop_grace in a nested YAML key (stop: / grace: 2) is the user's, and the script passes none of its own.
#  4. a USR1 that comes while the script asks plan for that grace stops the job before its launch, and requeues it.
#  5. status of an array's shards, or of OUTPUT/all, says whether its merge is queued, failed (and its log's first
#     error line), complete, or died (killed while merging).
#  6. a shard whose store another build's cut left (it holds shard 0's points) is unfinished to merge.sbatch, which
#     names it with the --only that finishes it, and to submit, which queues it.
#  7. a preemption with a GraceTime (SIGTERM to the run alone) under PreemptMode=CANCEL (the partition's; under
#     preempt/qos the QOS's, else the cluster's) is not requeued, and says what is stored and how to finish it; under
#     REQUEUE it is requeued.
#  8. submit refuses an -o or -e into a missing directory and --test-only, gives the merge its own -e and the job's
#     options; the commands that finish shards carry those options, quoted; the merge's log ends with the store's line;
#     merge.sbatch by hand with too small an N leaves the merge's record as it was; an output of 2 shards submitted as
#     3 is refused in submit's words (--array 2).
# Catches: a requeue loop without end, a cap that stops every requeue, a cap without a word in the log.
source "$(dirname "$0")/lib.sh" "$@"
SRC=${NNL_SOURCE_DIR:?}
cd "$W"
for v in $(compgen -v | grep -E '^(SLURM|SBATCH|SRUN)_' || true); do unset "$v"; done
# scontrol: KillWait 5 s, and a requeue recorded (not done); squeue: 1:30 left, as at the time limit's USR1
mkdir -p stub
cat > stub/scontrol << EOF
#!/bin/bash
case "\$1" in
  show) [ "\$2" = config ] && echo "KillWait                = 5 sec" ;;
  requeue) echo "\$*" >> "$W/requeued" ;;
esac
exit 0
EOF
printf '#!/bin/bash\necho 1:30\n' > stub/squeue
chmod +x stub/*
# about 60 tasks of 0.1-0.2 s each
printf -- '-family resnet\n-grid_width 1024\n-grid_depth 32\n-grid_seed 0-30\n-record_layers last\n-sampler dense\n-progress_interval 0\n' \
  > slow.opts

# sweep OUT LOG RESTARTS [NAME=VALUE...]: sweep.sbatch (one rank, launched by env) with USR1 once it has stored a point;
# sets rc
sweep() {
  local out=$1 log=$2 restarts=$3 pid d0
  shift 3
  d0=$("$NNL" status "$out" 2> /dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)
  env PATH="$W/stub:$PATH" SLURM_JOB_ID=77 SLURM_RESTART_COUNT="$restarts" NNLIMITS="$NNL" NNL_LAUNCH=env "$@" \
    bash "$SRC/jobs/slurm/sweep.sbatch" slow.opts "$out" > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [ "$("$NNL" status "$out" 2> /dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)" -gt "${d0:-0}" ] 2> /dev/null && break
    sleep 0.1
  done
  kill -USR1 "$pid"
  rc=0
  wait "$pid" || rc=$?
}

# --- 1. the cap on self-requeues --------------------------------------------------------------------------------
rm -f requeued
sweep "$W/capped" capped.log 2 NNL_MAX_REQUEUES=2
[ "$rc" = 3 ] && [ ! -e requeued ] || { cat capped.log; fail "a stop after 2 requeues of NNL_MAX_REQUEUES=2: exit $rc, requeued: $(cat requeued 2> /dev/null)"; }
grep -q "^sweep.sbatch: stopped early, and not requeued again: this job was requeued 2 times already (at most NNL_MAX_REQUEUES=2" capped.log &&
  grep -q "with [1-9][0-9]* still pending in $W/capped.*give a longer -t, or more ranks (-n), and resubmit the same job" capped.log ||
  { cat capped.log; fail "the capped stop's message"; }
sweep "$W/capped" capped2.log 1 NNL_MAX_REQUEUES=2
[ "$rc" = 0 ] && [ "$(cat requeued 2> /dev/null)" = "requeue 77" ] || { cat capped2.log; fail "a stop after 1 requeue of 2: exit $rc, not requeued"; }
set +e
env PATH="$W/stub:$PATH" NNLIMITS="$NNL" NNL_LAUNCH=env bash "$SRC/jobs/slurm/sweep.sbatch" NNL_MAX_REQUEUES=x slow.opts bad > bad.log 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "NNL_MAX_REQUEUES='x' is not a count" bad.log && [ ! -e bad ] || { cat bad.log; fail "NNL_MAX_REQUEUES=x: exit $rc"; }
# submit passes NNL_MAX_REQUEUES on, and warns when the prediction needs more runs than it allows (stub sbatch: the
# arguments recorded; a job of ~430 s at one rank, -t 5: 180 s a run, 3 runs, 2 allowed)
printf '#!/bin/bash\necho "$*" >> "%s/sbatch.args"\necho 123\n' "$W" > stub/sbatch
chmod +x stub/sbatch
printf -- '-family resnet\n-grid_width 4096\n-grid_depth 1024\n-grid_seed 0-10000\n-record_layers last\n' > long.opts
PATH="$W/stub:$PATH" NNLIMITS=$NNL NNL_MAX_REQUEUES=1 bash "$SRC/jobs/slurm/submit" long.opts --output long -n 1 -t 5 \
  > submit.out 2> submit.err || { cat submit.err; fail "submit with NNL_MAX_REQUEUES=1"; }
grep -q "warning: at this time limit the slowest shard takes ~3 runs: more than the 2 that sweep.sbatch's NNL_MAX_REQUEUES=1" \
  submit.err || { cat submit.out submit.err; fail "submit: no warning of more runs than NNL_MAX_REQUEUES allows"; }
grep -q "sweep.sbatch NNLIMITS=.* NNL_MAX_REQUEUES=1 " sbatch.args || { cat sbatch.args; fail "submit: NNL_MAX_REQUEUES not passed on"; }
echo "1. a time limit's stop after NNL_MAX_REQUEUES requeues: not requeued, said why; one requeue fewer: requeued;" \
  "submit passes the cap on and warns of a job that needs more runs"
# --- 2. a resubmit of some shards: the plan printed is of the shards queued, each less what its store holds ----------
# (it was the whole job's slowest shard, whatever was resubmitted). slow.opts in 3 shards: shards 0 and 2 finished,
# shard 1 stopped halfway; then shard 2 removed.
OUT=$W/arr
for i in 0 2; do "$NNL" run -options_file slow.opts -shard $i/3 -output "$OUT/shard-$i" > /dev/null 2>&1 || fail "shard $i/3"; done
"$NNL" run -options_file slow.opts -shard 1/3 -output "$OUT/shard-1" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do "$NNL" status "$OUT/shard-1" 2> /dev/null | grep -q ' done=\([89]\|[1-9][0-9]\)' && break; sleep 0.1; done
kill -USR1 "$pid"
wait "$pid" && fail "shard 1/3 was not stopped (make slow.opts larger)"
plan1=$("$NNL" plan -options_file slow.opts -shard 1/3 -output "$OUT/shard-1")
left1=$(sed -n 's/^plan left .* wall_seconds=\([0-9.e+]*\) .*/\1/p' <<< "$plan1")
whole=$(sed -n 's/^plan predicted_wall_seconds=\([0-9.e+]*\).*/\1/p' <<< "$plan1")
line2=$(sed -n 's/^shard index=2 tasks=[0-9]* wall_seconds=\([0-9.e+]*\) .*/\1/p' <<< "$plan1")
awk -v l="$left1" -v w="$whole" 'BEGIN {exit !(l > 0 && l < 0.8 * w)}' ||
  fail "shard 1 left ${left1}s of the slowest shard's ${whole}s: want 0 < left < 0.8 x (make slow.opts larger)"
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" slow.opts --array 3 --output "$OUT" -n 1 -t 5 \
  > s2.out 2> s2.err || { cat s2.err; fail "submit of the array with shard 1 unfinished"; }
grep -q "^submit: shards already finished, not queued again: 0,2$" s2.out &&
  grep -q "^plan: slowest shard queued: shard 1 of those queued, 1, less what its store holds ~${left1}s at 1 rank " s2.out ||
  { cat s2.out; fail "the plan of shard 1 alone: want ${left1}s (the whole job's slowest shard: ${whole}s)"; }
rm -r "$OUT/shard-2" "$OUT/logs/submitted" # (stub squeue would report the submit's jobs as running)
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" slow.opts --array 3 --only 2 --output "$OUT" -n 1 -t 5 \
  > s2.out 2> s2.err || { cat s2.err; fail "submit --only 2"; }
grep -q "^plan: slowest shard queued: shard 2 of those queued, 2 ~${line2}s at 1 rank " s2.out || { cat s2.out; fail "the plan of --only 2: want ${line2}s"; }
# (plan read shard 0's store, which --only 2 leaves alone: its "already in" line is not said of the shards queued)
! grep -q "^plan: already in " s2.out || { cat s2.out; fail "the plan of --only 2 says what shard 0 holds"; }
# a reversed range names no shard: submit ended without a word, exit 1 (set -e on an empty grep)
rc=0
rm "$OUT/logs/submitted"
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" slow.opts --array 3 --only 2-1 --output "$OUT" -n 1 -t 5 \
  > s2.out 2> s2.err || rc=$?
[ "$rc" = 2 ] && grep -q "^submit: error: --only: '2-1' is not a range (write 1-2)" s2.err || { cat s2.out s2.err; fail "--only 2-1: exit $rc"; }
echo "2. a resubmit of shard 1 of 3, stopped: the plan is what is left of it, ${left1}s (the whole job's slowest shard:" \
  "${whole}s); --only 2 (no store): shard 2's whole ${line2}s"
# --- 3. a -stop_grace of the user's, in a nested YAML key, is kept ----------------------------------------------------
# (the script read the job file with sed, saw no stop_grace, and passed its own: -stop_grace 3 under the stub's KillWait)
printf 'family: mlp\ngrid_seed: 0-2\nprogress_interval: 0\n' > plain.yaml
{ cat plain.yaml; printf 'stop:\n  grace: 2\n'; } > nested.yaml
{ cat plain.yaml; printf 'stop: {grace: 2}\n'; } > flow.yaml
for j in plain nested flow; do
  env PATH="$W/stub:$PATH" SLURM_JOB_ID=78 NNLIMITS="$NNL" NNL_LAUNCH=env bash "$SRC/jobs/slurm/sweep.sbatch" $j.yaml "$W/g-$j" \
    > g-$j.log 2>&1 || { cat g-$j.log; fail "sweep.sbatch of $j.yaml"; }
done
grep -q '^sweep.sbatch: job=78 .* stop_grace=3 (KillWait 5)$' g-plain.log || { cat g-plain.log; fail "no -stop_grace of the script's under KillWait 5"; }
for j in nested flow; do
  grep -q '^sweep.sbatch: job=78 ' g-$j.log && ! grep -q 'stop_grace=' g-$j.log || { cat g-$j.log; fail "$j.yaml: the user's stop: grace: 2 overridden"; }
done
echo "3. a nested YAML stop: grace: 2 (block or flow) is the user's -stop_grace, kept; without it, the script's 3 s"
# --- 4. a USR1 while the script asks plan for the user's -stop_grace stops and requeues it ---------------------------
# (the traps were set after that plan: the signal ended the shell, exit 138, nothing requeued, no word in the log)
mkdir -p stub4
printf '#!/bin/bash\necho 50:00\n' > stub4/squeue # 50 min left: a user's USR1, not the time limit's
printf '#!/bin/bash\n[ "$1" != plan ] || { : > "%s/planning"; sleep 2; }\nexec "%s" "$@"\n' "$W" "$NNL" > stub4/nnlimits
chmod +x stub4/*
rm -f requeued planning
env PATH="$W/stub4:$W/stub:$PATH" SLURM_JOB_ID=79 NNLIMITS="$W/stub4/nnlimits" NNL_LAUNCH=env \
  bash "$SRC/jobs/slurm/sweep.sbatch" plain.yaml "$W/g-usr1" > g-usr1.log 2>&1 &
pid=$!
for _ in $(seq 100); do [ -e planning ] && break; sleep 0.1; done
[ -e planning ] || fail "sweep.sbatch did not ask plan for the grace"
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] && [ "$(cat requeued 2> /dev/null)" = "requeue 79" ] && grep -q "stopped before nnlimits was launched" g-usr1.log ||
  { cat g-usr1.log; fail "a USR1 during the grace's plan: exit $rc, requeued: $(cat requeued 2> /dev/null)"; }
echo "4. a USR1 while the script reads the grace from plan: not launched, requeued"
# --- 5. status says what became of an array's merge ----------------------------------------------------------------
# (once the shards had finished, nothing but the merge's log said whether it waited, ran, failed or was done): submit
# records the merge it queues, merge.sbatch its run and end; status of the shards, and of OUTPUT/all, prints a line
# "status merge=..." and, of a failed merge, the log's first error line, which names the submit --only that finishes it.
OUT=$W/m5
rm -f sbatch.args
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" plain.yaml --array 2 --output "$OUT" -n 1 -t 5 \
  > s5.out 2> s5.err || { cat s5.err; fail "submit --array 2 (stub sbatch)"; }
"$NNL" status "$OUT"/shard-{0,1} > st5.out 2> st5.err || { cat st5.out st5.err; fail "status of the shards, none begun"; }
grep -q "^status merge=queued job=123 at=20[0-9-]*T[0-9:]*Z output=$OUT/all log=$OUT/logs/merge-123.out$" st5.out &&
  grep -q "^status: merge queued (job 123): it runs once every shard's task has ended" st5.err ||
  { cat st5.out st5.err; fail "status of the shards: the merge queued is not said"; }
"$NNL" status "$OUT/all" > st5.out 2> st5.err && grep -q "^status dir=$OUT/all no_store " st5.out &&
  grep -q "^status merge=queued job=123 " st5.out || { cat st5.out st5.err; fail "status of OUTPUT/all before the merge"; }
"$NNL" run -options_file plain.yaml -shard 0/2 -output "$OUT/shard-0" > /dev/null 2>&1 || fail "shard 0/2"
# the merge job, by hand: shard 1 never ran, so it fails, its log (stderr) appended as Slurm's -o does
rc=0
env PATH="$W/stub:$PATH" SLURM_JOB_ID=123 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" NNL_SUBMIT=/x/submit "$OUT" 2 \
  >> "$OUT/logs/merge-123.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$OUT/logs/merge-123.out"; fail "merge.sbatch with shard 1 unfinished: exit $rc"; }
"$NNL" status "$OUT"/shard-{0,1} > st5.out 2> st5.err || fail "status of the shards after the merge failed"
sed -n '$p' st5.out | grep -q '^status dir=(all) ' || { cat st5.out; fail "status: (all) is no longer the last line"; }
grep -q "^status merge=failed job=123 .* log=$OUT/logs/merge-123.out$" st5.out &&
  grep -q "^status: merge failed (job 123): see $OUT/logs/merge-123.out: merge.sbatch: error: unfinished: shard-1 (no store) .*Finish them with /x/submit .* --array 2 --only 1 --output $OUT " st5.err ||
  { cat st5.out st5.err; fail "status of the shards: the merge's failure and its error line are not said"; }
"$NNL" run -options_file plain.yaml -shard 1/2 -output "$OUT/shard-1" > /dev/null 2>&1 || fail "shard 1/2"
# a merge by hand after the job's failed: the record still says failed, and status says OUTPUT/all changed since
"$NNL" merge "$OUT"/shard-{0,1} -output "$OUT/all" > /dev/null 2>&1 || fail "the merge by hand"
"$NNL" status "$OUT"/shard-{0,1} > st5.out 2> st5.err || fail "status of the shards after a merge by hand"
grep -q "^status merge=failed job=123 " st5.out && grep -q "^status: $OUT/all was written after that (a merge by hand?)" st5.err ||
  { cat st5.out st5.err; fail "status after a merge by hand: the failed merge's record is not qualified"; }
rm -r "$OUT/all"
env PATH="$W/stub:$PATH" SLURM_JOB_ID=124 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" "$OUT" 2 \
  >> "$OUT/logs/merge-124.out" 2>&1 || { cat "$OUT/logs/merge-124.out"; fail "merge.sbatch of 2 finished shards"; }
"$NNL" status "$OUT/all" > st5.out 2> st5.err && grep -q "^status dir=$OUT/all done=.* pending=0 .*last_run=merged" st5.out &&
  grep -q "^status merge=complete job=124 .* log=$OUT/logs/merge-124.out$" st5.out && [ ! -s st5.err ] ||
  { cat st5.out st5.err; fail "status of OUTPUT/all after the merge"; }
# a merge SIGKILLed in its merge (scancel -s KILL, the out-of-memory killer, a lost node: no trap of its runs) leaves
# its record at running: status reads OUTPUT/all's merge flag and lock, says died, and of the shards that merging again
# finishes it. Catches: merge=running for good beside OUTPUT/all's last_run=died. A merge holding the lock is running.
printf 'state=running job=126 time=%s log=%s\n' "$(date +%s.%N)" "$OUT/logs/merge-126.out" > "$OUT/logs/merge.state"
sqlite3 "$OUT/all/nnlimits.sqlite" "INSERT INTO meta VALUES ('merging', 'yes')"
"$NNL" status "$OUT"/shard-{0,1} > st5.out 2> st5.err || fail "status of the shards after a merge was killed"
grep -q "^status merge=died job=126 .* log=$OUT/logs/merge-126.out$" st5.out &&
  grep -q "^status: merge died (job 126): killed while merging (SIGKILL, .* merging again finishes it (merge.sbatch $OUT N, or the same submit)$" st5.err ||
  { cat st5.out st5.err; fail "status of the shards: a merge killed while merging is not said"; }
"$NNL" status "$OUT/all" > st5.out 2> st5.err
grep -q "^status dir=$OUT/all .* last_run=died" st5.out && grep -q "^status merge=died job=126 " st5.out &&
  ! grep -q "^status: merge died" st5.err || { cat st5.out st5.err; fail "status of OUTPUT/all after its merge was killed"; }
rm -f held
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.lockf(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(60)' \
  "$OUT/all/nnlimits.lock" held &
holder=$!
for _ in $(seq 100); do [ -e held ] && break; sleep 0.1; done
"$NNL" status "$OUT"/shard-{0,1} > st5.out 2> st5.err
kill "$holder"; wait "$holder" 2> /dev/null || true
grep -q "^status merge=running job=126 " st5.out && ! grep -q "merge died" st5.err ||
  { cat st5.out st5.err; fail "status of the shards: a merge that holds the lock is not running"; }
echo "5. status of an array's shards and OUTPUT/all: merge queued, failed (with its log's error line), complete, died"
# --- 6. a shard finished under another cut is unfinished to submit and merge.sbatch --------------------------------
# (shards are cut by the cost model: shard 1's store holding shard 0's points, as a build with another model leaves it,
# read finished; submit queued nothing of it, and merge.sbatch merged, then failed saying the merged store was not the
# whole job, with no --only to finish it): status counts it as this build cuts the job, 7 pending
OUT=$W/m6
printf -- '-family mlp\n-grid_width 8,16\n-grid_depth 3\n-grid_seed 0-6\n-grid_activation relu\n-progress_interval 0\n' > cut.opts
"$NNL" run -options_file cut.opts -shard 0/2 -output "$OUT/shard-0" > /dev/null 2>&1 || fail "shard 0/2 of cut.opts"
cp -r "$OUT/shard-0" "$OUT/shard-1"
sqlite3 "$OUT/shard-1/nnlimits.sqlite" "UPDATE meta SET value = '1/2' WHERE key = 'shard'"
rc=0
env PATH="$W/stub:$PATH" SLURM_JOB_ID=125 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" NNL_SUBMIT=/x/submit "$OUT" 2 \
  > m6.log 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "^merge.sbatch: error: unfinished: shard-1 (7 pending) .* --array 2 --only 1 --output $OUT " m6.log &&
  [ ! -e "$OUT/all" ] || { cat m6.log; fail "merge.sbatch of a shard of another cut: exit $rc"; }
rm -f "$OUT/logs/submitted"
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" cut.opts --array 2 --output "$OUT" -n 1 -t 5 \
  > s6.out 2> s6.err || { cat s6.err; fail "submit of an array with a shard of another cut"; }
grep -q "^submit: shards already finished, not queued again: 0$" s6.out && grep -q "^submitted array=123 shards=2 only=1 " s6.out ||
  { cat s6.out s6.err; fail "submit of an array with a shard of another cut: shard 1 not queued"; }
echo "6. a shard of another cut: merge.sbatch names it unfinished (7 pending) with the --only, submit queues it"
# --- 7. a preemption with a GraceTime follows the site's PreemptMode --------------------------------------------------
# (its SIGTERM reaches the tasks alone; the script saw scontrol's PreemptTime and requeued the job, under
# PreemptMode=CANCEL too, against the site's policy): under CANCEL it is not requeued, and its log says what is stored
# and the command that finishes it; under REQUEUE it requeues itself. Stub scontrol: the job preempted, the partition's
# PreemptMode from STUB_PMODE, the cluster's PreemptType and PreemptMode from STUB_PTYPE and STUB_CMODE; stub sacctmgr:
# the QOS's from STUB_QMODE. The preemption's SIGTERM is sent to the run alone (the launched process, not the shell).
# Under preempt/qos the QOS's mode, else the cluster's, decides, not the partition's (Slurm's preempt/qos plugin): the
# script read the partition's alone, and requeued a job whose QOS cancels preempted jobs (case qos-cancel).
mkdir -p stub7
{
  echo '#!/bin/bash'
  echo 'case "$1 $2" in'
  echo '  "show config") printf "KillWait                = 5 sec\nPreemptMode             = %s\nPreemptType             = %s\n" "$STUB_CMODE" "$STUB_PTYPE" ;;'
  echo '  "show job") echo "   PreemptTime=2026-12-07T12:00:00 SuspendTime=None" ;;'
  echo '  "show partition") echo "   PreemptMode=$STUB_PMODE State=UP" ;;'
  echo "  requeue*) echo \"\$*\" >> '$W/requeued' ;;"
  echo 'esac'
} > stub7/scontrol
printf '#!/bin/bash\n[ "$*" = "-n -P show qos lowq format=PreemptMode" ] && echo "$STUB_QMODE"\n' > stub7/sacctmgr
chmod +x stub7/scontrol stub7/sacctmgr
# case: partition's mode, QOS's mode, cluster's mode, type, and whether the job is requeued
for c in CANCEL:-:REQUEUE:preempt/partition_prio:no REQUEUE:-:REQUEUE:preempt/partition_prio:yes \
  REQUEUE:cancel:REQUEUE:preempt/qos:no CANCEL:cluster:REQUEUE:preempt/qos:yes REQUEUE:cluster:CANCEL:preempt/qos:no; do
  IFS=: read -r mode qmode cmode ptype rq <<< "$c"
  rm -f requeued
  env PATH="$W/stub7:$W/stub:$PATH" STUB_PMODE=$mode STUB_QMODE=$qmode STUB_CMODE=$cmode STUB_PTYPE=$ptype SLURM_JOB_ID=80 \
    SLURM_JOB_PARTITION=low SLURM_JOB_QOS=lowq NNLIMITS="$NNL" NNL_LAUNCH=env \
    bash "$SRC/jobs/slurm/sweep.sbatch" slow.opts "$W/pre-$mode" > pre-$mode.log 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [ "$("$NNL" status "$W/pre-$mode" 2> /dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)" -gt 0 ] 2> /dev/null && break
    sleep 0.1
  done
  task=$(pgrep -P "$pid" || true)
  [ -n "$task" ] || { cat pre-$mode.log; fail "$c: no run launched"; }
  kill -TERM $task
  rc=0
  wait "$pid" || rc=$?
  grep -q '^interrupted done=' pre-$mode.log || { cat pre-$mode.log; fail "$c: the run did not stop cleanly"; }
  if [ $rq = no ]; then
    by="PreemptMode=$mode, partition low"
    [ "$ptype" = preempt/partition_prio ] || by="PreemptMode=$qmode, QOS lowq"
    [ "$qmode" != cluster ] || by="PreemptMode=$cmode"
    [ "$rc" = 3 ] && [ ! -e requeued ] || { cat pre-$mode.log; fail "$c: exit $rc, requeued: $(cat requeued 2> /dev/null)"; }
    grep -q "^sweep.sbatch: preempted at 2026-12-07T12:00:00, and preempted jobs are cancelled here ($by): not requeueing it. This run stored [1-9][0-9]* points; [1-9][0-9]* are still pending in $W/pre-$mode .*: resubmit the same job to finish $W/pre-$mode" pre-$mode.log ||
      { cat pre-$mode.log; fail "$c: the log does not say what is stored and how to finish it"; }
  else
    [ "$rc" = 0 ] && [ "$(cat requeued 2> /dev/null)" = "requeue 80" ] && grep -q '^sweep.sbatch: preempted at 2026-12-07T12:00:00 (' pre-$mode.log ||
      { cat pre-$mode.log; fail "$c: exit $rc, requeued: $(cat requeued 2> /dev/null)"; }
  fi
  rm -rf "$W/pre-$mode"
done
echo "7. a preemption (its SIGTERM to the run alone): under PreemptMode=CANCEL not requeued, the log says what is stored" \
  "and how to finish it; under REQUEUE requeued; under preempt/qos the QOS's mode, else the cluster's, not the partition's"
# --- 8. what submit gives sbatch and what its jobs tell the user (a user's review on a real Slurm) ------------------
# (a) an -o or -e into a directory that does not exist is refused before anything is queued (Slurm does not create it:
#     every task failed at launch with no log, and the merge pointed at logs never written); --test-only too (submit
#     runs it itself; given by the user it queued a merge on a job that did not exist). (b) the merge gets its own -e
#     (with the user's -e FILE its errors went there, not to OUTPUT/logs/merge-ID.out, the log every message names),
#     and the job's nnlimits options. (c) the command that finishes a stopped shard (sweep.sbatch) or the unfinished
#     shards (merge.sbatch) carries those options, shell-quoted with the output (pasted without them, it was refused
#     as another job), and, for the default job, no job file (it said JOBFILE). (d) the merge's log ends with the
#     merged store's status line, not with its own record's "status merge=running".
rm -f sbatch.args
queued() { grep -v '^--test-only ' sbatch.args 2> /dev/null || true; } # what submit queued (not its own check)
for o in "-o nosuch/%x-%A_%a.out" "-e nosuch/err.txt" "--error=nosuch/err.txt"; do
  rc=0
  PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" plain.yaml --array 2 --output "$W/m8o" -n 1 -t 5 $o \
    > s8.out 2> s8.err || rc=$?
  [ "$rc" = 2 ] && grep -q "the directory nosuch does not exist, and Slurm does not create it" s8.err && [ -z "$(queued)" ] \
    || { cat s8.out s8.err; fail "submit $o: exit $rc, sbatch: $(queued)"; }
done
mkdir -p logdir
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" plain.yaml --array 2 --output "$W/m8ok" -n 1 -t 5 \
  -o logdir/%x.out > /dev/null 2> s8.err || { cat s8.err; fail "submit -o into a directory that exists"; }
rm -rf sbatch.args "$W/m8ok"
rc=0
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" plain.yaml --array 2 --output "$W/m8t" -n 1 -t 5 --test-only \
  > s8.out 2> s8.err || rc=$?
[ "$rc" = 2 ] && grep -q "^submit: error: --test-only: submit runs sbatch --test-only itself" s8.err && [ -z "$(queued)" ] \
  || { cat s8.out s8.err; fail "submit --test-only: exit $rc"; }
OUT="$W/m8 out" # a space: the commands printed must be quoted to paste
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" --array 2 --output "$OUT" -n 1 -t 5 -e "$W/err-%A.txt" \
  -- -grid_width 8 -grid_depth 4 -grid_seed 0-8 > s8.out 2> s8.err || { cat s8.err; fail "submit of the default job with -e"; }
grep "merge.sbatch" sbatch.args | grep -q -- "-e $OUT/logs/merge-%j.out --job-name=nnlimits-merge .*merge.sbatch .* $OUT 2 -grid_width 8 -grid_depth 4 -grid_seed 0-8$" \
  || { cat sbatch.args; fail "the merge's sbatch: its own -e and the job's options"; }
grep -qF "status $W/m8\\ out/shard-{0..1}" s8.out || { cat s8.out; fail "submit's watch line, quoted"; }
"$NNL" run -grid_width 8 -grid_depth 4 -grid_seed 0-8 -shard 0/2 -output "$OUT/shard-0" > /dev/null 2>&1 || fail "shard 0/2 of m8"
rc=0
env PATH="$W/stub:$PATH" SLURM_JOB_ID=128 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" NNL_SUBMIT=/x/submit "$OUT" 2 \
  -grid_width 8 -grid_depth 4 -grid_seed 0-8 > m8.log 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qF "Finish them with /x/submit --array 2 --only 1 --output $W/m8\ out -- -grid_width 8 -grid_depth 4 -grid_seed 0-8 (with your sbatch options)" m8.log \
  || { cat m8.log; fail "merge.sbatch of the default job with shard 1 unfinished: exit $rc"; }
"$NNL" run -grid_width 8 -grid_depth 4 -grid_seed 0-8 -shard 1/2 -output "$OUT/shard-1" > /dev/null 2>&1 || fail "shard 1/2 of m8"
env PATH="$W/stub:$PATH" SLURM_JOB_ID=129 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" NNL_SUBMIT=/x/submit "$OUT" 2 \
  > m8.log 2>&1 || { cat m8.log; fail "merge.sbatch of m8"; }
sed -n '$p' m8.log | grep -q "^status dir=$OUT/all done=.* pending=0 .*last_run=merged" && ! grep -q "^status merge=" m8.log \
  || { cat m8.log; fail "the merge's log: its last line"; }
# (e) merge.sbatch by hand with too small an N is refused before it records anything: the record of the merge that
#     made the whole store stays complete (it said failed beside it)
rc=0
env PATH="$W/stub:$PATH" SLURM_JOB_ID=130 NNLIMITS="$NNL" bash "$SRC/jobs/slurm/merge.sbatch" "$OUT" 1 > m8.log 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "holds shard-1, beyond the 1 shards asked for" m8.log && grep -q "^state=complete job=129 " "$OUT/logs/merge.state" \
  || { cat m8.log "$OUT/logs/merge.state"; fail "merge.sbatch OUT 1 of a 2-shard job: exit $rc"; }
# (f) an output split into 2 shards, submitted as 3: refused in submit's words (--array 2), not nnlimits's (-shard 0/2)
rm -f "$OUT/logs/submitted"
rc=0
PATH="$W/stub:$PATH" NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" --array 3 --output "$OUT" -n 1 -t 5 \
  -- -grid_width 8 -grid_depth 4 -grid_seed 0-8 > s8.out 2> s8.err || rc=$?
[ "$rc" = 2 ] && grep -qF "submit: error: $OUT was split into 2 shards by an earlier submit: give --array 2" s8.err \
  || { cat s8.out s8.err; fail "--array 3 into 2 shards: exit $rc"; }
# a shard's stop, not requeued (NNL_MAX_REQUEUES=0): its log's command carries the job's options, the output quoted
env PATH="$W/stub:$PATH" SLURM_JOB_ID=78 SLURM_ARRAY_TASK_ID=1 SLURM_RESTART_COUNT=0 NNL_SHARDS=2 NNL_MAX_REQUEUES=0 NNLIMITS="$NNL" \
  NNL_LAUNCH=env NNL_SUBMIT=/x/submit bash "$SRC/jobs/slurm/sweep.sbatch" slow.opts "$W/m8 s" -grid_seed 0-40 > m8s.log 2>&1 &
pid=$!
for _ in $(seq 300); do
  [ "$("$NNL" status "$W/m8 s/shard-1" 2> /dev/null | grep -o ' done=[0-9]*' | cut -d= -f2 || true)" -gt 0 ] 2> /dev/null && break
  sleep 0.1
done
kill -USR1 "$pid"
wait "$pid" || true
grep -qF "resubmit this shard alone to finish it: /x/submit slow.opts --array 2 --only 1 --output $W/m8\ s -- -grid_seed 0-40 (with your sbatch options)" m8s.log \
  || { cat m8s.log; fail "a stopped shard's log: the command that finishes it"; }
echo "8. -o or -e into a missing directory and --test-only refused; the merge's own -e and the job's options; the" \
  "commands that finish a shard carry the options, quoted; the merge's log ends with the merged store's status"
echo "slurm_stub: all passed"
