# The command line as a user meets it: help, plan, YAML and plain job files, default output names, status,
# progress lines fit for a log file, sharding that partitions the grid, the end-of-run summary.
# ctest-label: cli
source "$(dirname "$0")/lib.sh" "$@"
SRC=${NNL_SOURCE_DIR:?}
cd "$W"

# help lists options with their defaults and runs nothing
run 0 run -help > help.txt 2>&1 || fail "run -help failed"
grep -q -- '-grid_width <now 32,64,128,256,512,1024 ' help.txt || fail "help lacks -grid_width with its default"
grep -q -- '-sampler <now auto' help.txt || fail "help lacks -sampler"
# the depth-limit solver's help shows what the ODE runs with (it showed a plain TSRK's 3bs at 1e-4 while 5dp at 1e-12 ran)
grep -q -- '-limit_ts_rk_type <now 5dp' help.txt && grep -q -- '-limit_ts_rtol <1e-12' help.txt \
  && grep -q -- '-limit_ts_atol <1e-12' help.txt && grep -q -- '-limit_ts_exact_final_time <now MATCHSTEP' help.txt \
  || { grep -E 'limit_ts_(rk_type|rtol|atol|exact_final_time) ' help.txt; fail "help shows other -limit_ts_* defaults than the ODE uses"; }
# and lists the ODE types the run takes, not PETSc's every type (irk, pseudo, ... are refused)
grep -q -- "-limit_ts_type <now rk : formerly rk>: TS method (one of) rk euler ssp bdf rosw arkimex glee beuler cn theta alpha (TSSetType; PETSc's other types are refused; rk 5dp reads the layers off its interpolant, the others reach each layer from their last step before it)" help.txt \
  || fail "help's -limit_ts_type: $(grep -- -limit_ts_type help.txt)"
[ ! -e results ] || fail "-help created results/"
# the sweep's options first, not after PETSc's 78-line page of generic options, and once at 2 ranks (every rank printed
# the limits' solver options, interleaved mid-line)
! grep -q 'Options for all PETSc programs' help.txt || fail "run -help opens with PETSc's page of generic options"
[ "$(grep -n -m1 -- '-grid_width <' help.txt | cut -d: -f1)" -le 8 ] || fail "run -help: the sweep's options do not come first"
run 2 run -help > help2.txt 2>&1 || fail "run -help at 2 ranks failed"
[ "$(grep -c -- '-limit_ts_rk_type <' help2.txt)" = 1 ] && [ "$(grep -c -- '-grid_width <' help2.txt)" = 1 ] \
  || fail "run -help at 2 ranks: the options $(grep -c -- '-limit_ts_rk_type <' help2.txt) times"
# run -help is a page, not PETSc's 974 lines (900 of its solvers' options, monitors and viewers): of those, the main
# options of each solver under its own heading; -help full has them all. A type's list (-limit_ts_type) once at 2 ranks
# too: PETSc printed it on every rank (PETSC_COMM_SELF). A word after -help other than full is an error.
[ "$(wc -l < help.txt)" -lt 100 ] && ! grep -q 'Viewer (' help.txt && ! grep -q -- '-limit_ksp_type <' help.txt \
  && grep -q -- '-limit_fp_ts_type <now beuler' help.txt && grep -q "'nnlimits run -help full' lists them" help.txt \
  || fail "run -help: $(wc -l < help.txt) lines, PETSc's solvers' options not cut to their main ones"
[ "$(grep -c -- '-limit_ts_type <' help2.txt)" = 1 ] || fail "run -help at 2 ranks: -limit_ts_type $(grep -c -- '-limit_ts_type <' help2.txt) times"
run 2 run -help full > helpfull.txt 2>&1 || fail "run -help full failed"
[ "$(grep -c -- '-limit_ts_type <' helpfull.txt)" = 1 ] && grep -q -- '-limit_ksp_type <' helpfull.txt \
  && grep -q 'Viewer (-limit_ts_monitor' helpfull.txt && [ "$(wc -l < helpfull.txt)" -gt 500 ] \
  || fail "run -help full: not every PETSc option once ($(wc -l < helpfull.txt) lines)"
set +e; run 0 run -help foo > hfoo.txt 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q -- "-help foo: the one word -help takes is full" hfoo.txt || { cat hfoo.txt; fail "run -help foo: exit $rc"; }
# PETSC_OPTIONS as the command line: a word after an option's value is an error (PETSc dropped it, and "-grid_width 16
# 32" planned and ran width 16 alone)
set +e; PETSC_OPTIONS="-grid_width 16 32" run 0 plan -output "$W/penv" > penv.txt 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "PETSC_OPTIONS: unexpected word '32' after -grid_width 16" penv.txt \
  || { cat penv.txt; fail "PETSC_OPTIONS with a stray word: exit $rc"; }
# a misspelt option of PETSC_OPTIONS is named with where it is (it was named alone: the environment is the last place
# a user looks); one of the command line is not said to be there
set +e; PETSC_OPTIONS="-progress_interval 0 -grid_widht 64" run 0 plan -output "$W/penv" > penv.txt 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -qF "unknown option -grid_widht in PETSC_OPTIONS ('-progress_interval 0 -grid_widht 64') (did you mean -grid_width?)" penv.txt \
  || { cat penv.txt; fail "a misspelt option of PETSC_OPTIONS: exit $rc"; }
set +e; PETSC_OPTIONS="-progress_interval 0" run 0 plan -grid_widht 64 -output "$W/penv" > penv.txt 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "unknown option -grid_widht (did you mean" penv.txt || { cat penv.txt; fail "a misspelt option: exit $rc"; }
PETSC_OPTIONS="-grid_width 16,32 -sigma_b2 -0.5 -family mlp" run 0 plan -sigma_b2 0 -output "$W/penv" > penv.txt 2>&1 \
  || { cat penv.txt; fail "PETSC_OPTIONS with a negative value refused"; }
run 0 > usage.txt 2>&1 && fail "no command should exit non-zero"
grep -q 'nnlimits run' usage.txt || fail "usage text missing"
# -help with no command is the usage, exit 0, without PETSc's page of generic options (it exited 2 after that page,
# and under mpiexec a non-zero exit aborts the job: a 2 s wait and a banner)
run 0 -help > usage_help.txt 2>&1 || fail "nnlimits -help exited non-zero"
cmp -s usage.txt usage_help.txt || { diff usage.txt usage_help.txt | head; fail "nnlimits -help is not the usage"; }
run 2 --help > usage_help2.txt 2>&1 || fail "mpiexec -n 2 nnlimits --help exited non-zero"
cmp -s usage.txt usage_help2.txt || { diff usage.txt usage_help2.txt | head; fail "nnlimits --help at 2 ranks is not the usage once"; }

# plan: counts, cost, memory; shards partition the tasks (networks and limits)
run 0 plan -grid_seed 0-10 -shard 0/3 > plan.txt
grep -q '^plan points=600 limits=10 shards=3' plan.txt || { cat plan.txt; fail "plan header"; }
sum=$(grep '^shard ' plan.txt | grep -o 'tasks=[0-9]*' | awk -F= '{s+=$2} END {print s}')
[ "$sum" = 610 ] || fail "plan shards hold $sum tasks, not 610 (6 widths x 5 depths x 10 seeds x 2 activations + 5 x 2 limits)"

# plan in words: the compute in its largest unit that keeps it at least 1 (s, min, h, days), the same figure (to its
# three digits) as its core_seconds (dense 4096-wide ReLU MLPs of depth 1024: ~41 s each; 10, 1000 and 10000 of
# them). Catches a unit whose divisor is wrong, or a boundary that prints "0.5 days" (no job of a test reached the h
# and days branches).
for seeds in 0-10 0-1000 0-10000; do
  run 0 plan -family mlp -grid_activation relu -grid_width 4096 -grid_depth 1024 -sampler dense -grid_seed $seeds > words.txt
  awk '/^plan points=/ { for (i = 1; i <= NF; i++) if ($i ~ /^core_seconds=/) { split($i, kv, "="); c = kv[2] } }
       /^plan in_words:/ { x = $3; u = $4 }
       END { d = (u == "s") ? 1 : (u == "min") ? 60 : (u == "h") ? 3600 : (u == "days") ? 86400 : 0
             lim = (u == "s") ? 120 : (u == "min") ? 7200 : (u == "h") ? 172800 : 1e300
             if (!d || x < 1 || c >= lim || (x * d - c) ^ 2 > (0.005 * c) ^ 2) { print "in_words " x " " u " for " c " s" > "/dev/stderr"; exit 1 } }' \
    words.txt || { cat words.txt; fail "plan in_words for -grid_seed $seeds"; }
done
grep -q 'in_words: [0-9.]* days of compute' words.txt || fail "plan in_words: 10^4 dense networks are not days: $(grep in_words words.txt)"

# under mpiexec, plan predicts for the ranks it runs on (it said "at 1 rank" unless told -plan_ranks)
run 2 plan -grid_seed 0-10 | grep -q '^plan predicted_wall_seconds=.* (slowest shard at 2 ranks)$' || fail "plan at 2 ranks predicts for $(run 2 plan -grid_seed 0-10 | tail -1)"
run 2 plan -grid_seed 0-10 -plan_ranks 8 | grep -q '(slowest shard at 8 ranks)$' || fail "-plan_ranks 8 at 2 ranks"
# plan beside a live writer: a run into the directory now would be refused, and plan says so (it predicted that run as
# if it could start, with no word). The lock is taken as a run takes it: an fcntl write lock on nnlimits.lock.
mkdir -p "$W/locked"
/usr/bin/python3 -c 'import fcntl, os, sys, time; f = open(sys.argv[1] + "/nnlimits.lock", "w"); fcntl.lockf(f, fcntl.LOCK_EX)
print(os.getpid(), flush=True); time.sleep(60)' "$W/locked" > "$W/lockpid" &
lockjob=$!
for _ in $(seq 100); do [ -s "$W/lockpid" ] && break; sleep 0.1; done
run 0 plan -grid_seed 0-2 -output "$W/locked" > locked.txt 2>&1 || { cat locked.txt; fail "plan of a directory being written"; }
kill $lockjob; wait $lockjob 2> /dev/null || true
grep -q "^plan note: $W/locked is being written now by another nnlimits process (pid $(cat "$W/lockpid")," locked.txt ||
  { cat locked.txt; fail "plan beside a live writer: no note"; }
run 0 plan -grid_seed 0-2 -output "$W/locked" | grep -q "^plan note: .* being written" && fail "plan: a note of a writer that has ended"

# plan's wall time at R ranks (src/plan.c PlanWall): the tasks' compute (core_seconds less commit_core_seconds) over the
# ranks that compute, rank 0 among them up to 8 ranks (or as -sched_rank0_computes says) with its commits beside its
# share, and never less than rank 0's commits: it alone writes the store. A commit-bound shard says so in a note. Job:
# 2000 MLPs n = 1024, L = 16 (commits 6 % of core_seconds), one shard. Catches: commits spread over the ranks (the
# former model: 1/4096 of them at 4096 ranks), rank 0 counted as a worker past 8 ranks or when the option says no.
PJ="-family mlp -grid_activation relu -grid_width 1024 -grid_depth 16 -grid_seed 0-2000"
for rr in 1:1 2:1 "2 -sched_rank0_computes false:2" 9:2 "9 -sched_rank0_computes true:1" 64:3 4096:3; do
  args=${rr%:*} R=${rr%%[ :]*}
  run 0 plan $PJ -plan_ranks $args > pw.txt 2>&1 || { cat pw.txt; fail "plan -plan_ranks $args"; }
  # case 1: core/R with rank 0 computing; 2: (core - commits)/(R - 1) without it; 3: either, bounded by the commits
  awk -v R="$R" -v how="${rr##*:}" -v r0="$([[ $args == *false* || ($R -gt 8 && $args != *true*) ]] && echo 0 || echo 1)" '
    /^plan points=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    /^plan predicted_wall_seconds=/ { split($2, kv, "="); w = kv[2] }
    /^plan note: the slowest shard/ { note = 1 }
    END { c = v["core_seconds"]; k = v["commit_core_seconds"]
          e = r0 ? c / R : (c - k) / (R - 1); if (e < k) e = k
          ok = (w - e) ^ 2 <= (0.002 * e) ^ 2 && (how == 3) == (e == k) && note == (e == k)
          printf "cli: plan at %s ranks (rank 0 computes: %d): wall %s, expected %.4g (core %s, commits %s)%s\n", R, r0, w, e, c, k, note ? ", commit-bound" : ""
          exit !ok }' pw.txt || { cat pw.txt; fail "plan's wall time at -plan_ranks $args"; }
done

# plan -plan_calibrate S: it runs some of the job's tasks and scales the predicted compute by their measured seconds
# over the model's (printed factor; each figure printed to 4 digits), not rank 0's commits (commit_core_seconds, which
# the tasks' times do not hold: a job of small tasks with spectra, mostly commits, was predicted at half its time).
# Catches (on any machine whose measured factor is not within 0.2 % of 1): a factor printed but not applied to
# core_seconds or a shard's wall_seconds, applied twice or to the commits, a calibration that runs no task or leaves a
# run directory, a negative S accepted.
run 0 plan -grid_seed 0-10 -shard 0/3 -plan_calibrate 0.3 > cal.txt 2>&1 || { cat cal.txt; fail "plan -plan_calibrate"; }
read -r ntask fac <<< "$(sed -n 's/^plan_calibration tasks=\([0-9]*\) .* factor=\([0-9.e+-]*\)$/\1 \2/p' cal.txt)"
[ "${ntask:-0}" -ge 1 ] || { cat cal.txt; fail "plan -plan_calibrate ran no task"; }
cm=$(grep -o -m1 " commit_core_seconds=[0-9.e+-]*" plan.txt | cut -d= -f2)
[ "$cm" = "$(grep -o -m1 " commit_core_seconds=[0-9.e+-]*" cal.txt | cut -d= -f2)" ] || fail "plan -plan_calibrate changed the commits"
a=$(grep -o -m1 " core_seconds=[0-9.e+-]*" plan.txt | cut -d= -f2) b=$(grep -o -m1 " core_seconds=[0-9.e+-]*" cal.txt | cut -d= -f2)
awk -v a="$a" -v b="$b" -v f="$fac" -v c="$cm" 'BEGIN {w = f * (a - c) + c; exit !(c > 0 && a > c && b / w > 0.998 && b / w < 1.002)}' \
  || fail "plan -plan_calibrate: core_seconds $b is not the factor $fac times $a less its commits $cm, plus them"
a=$(grep -o -m1 " wall_seconds=[0-9.e+-]*" plan.txt | cut -d= -f2) b=$(grep -o -m1 " wall_seconds=[0-9.e+-]*" cal.txt | cut -d= -f2)
awk -v a="$a" -v b="$b" -v f="$fac" 'BEGIN {lo = f < 1 ? f : 1; hi = f < 1 ? 1 : f; exit !(b >= 0.998 * lo * a && b <= 1.002 * hi * a && (f > 0.99 && f < 1.01 || b != a))}' \
  || fail "plan -plan_calibrate: a shard's wall_seconds $b is not between $a and the factor $fac times it"
[ ! -e results ] || fail "plan -plan_calibrate left a run directory"
run 0 plan -plan_calibrate -1 > /dev/null 2> calneg.txt && fail "plan -plan_calibrate -1 accepted"
grep -q 'plan_calibrate' calneg.txt || fail "plan -plan_calibrate -1: the error does not name the option"
# a budget no task fits measures nothing: said, not a silent factor 1
run 0 plan -grid_seed 0-2 -plan_calibrate 1e-9 > /dev/null 2> calnone.txt || fail "plan -plan_calibrate 1e-9"
grep -q 'warning: -plan_calibrate 1e-09: no task of this job fits in 1e-09 s here, so nothing was measured' calnone.txt ||
  fail "plan -plan_calibrate 1e-9: $(cat calnone.txt)"

# plan's store size against the store a run leaves (deterministic at 1 rank: the same rows in the same order), for a
# job with every kind of row: networks recording all layers, spectra, limits, SDE paths and Fokker-Planck cells. Within
# 25 % either way (1.09 here). Catches: an estimate without store_mb, or one that leaves out a large kind of row
# (without the SDE paths, a third of this store, it reads 0.77).
MIX="-family resnet,shaped_mlp -grid_activation relu -grid_width 16,32 -grid_depth 16,64 -grid_seed 0-20 -inputs 3 -record_layers all
     -spectra_layers 4 -sde_paths 200 -fp_cells 100 -progress_interval 0"
run 0 plan $MIX > mix_plan.txt # (not piped into head: under pipefail, plan's SIGPIPE would end the script)
pmb=$(sed -n '1s/.* store_mb=\([0-9.e+]*\).*/\1/p' mix_plan.txt)
run 0 run $MIX -output mix > /dev/null 2>&1 || fail "mixed job"
mb=$(awk -v b="$(stat -c %s mix/nnlimits.sqlite)" 'BEGIN {print b / 1048576}')
awk -v p="$pmb" -v m="$mb" 'BEGIN {exit !(p != "" && p >= m / 1.25 && p <= 1.25 * m)}' \
  || fail "plan predicts a ${pmb:-missing} MB store, the run left $mb MB"
# plan reads what a run would find in -output, without writing: the points stored there, a smaller job that the run
# would extend, and (refused, as the run would refuse them) another job's store or another shard's. jobs/slurm/submit
# relies on it to refuse a submit whose jobs would all fail in the queue.
# (into files, not piped into grep -q: under pipefail, plan's SIGPIPE would fail the check)
run 0 plan $MIX -output mix > planmix.txt
grep -q "^plan output=mix stored=$(sqlite3 mix/nnlimits.sqlite 'SELECT count(*) FROM points') of shard 0/1's " planmix.txt ||
  fail "plan of a finished run's job: $(grep output planmix.txt)"
run 0 plan $MIX -grid_seed 0-30 -output mix > plangrown.txt
grep -q "^plan output=mix .* (a run of fewer axis values, which this job's run extends)$" plangrown.txt || fail "plan of a grown job"
run 0 plan $MIX -grid_seed 1-20 -output mix > /dev/null 2> planother.txt && fail "plan of another job into a store accepted"
grep -q "holds a run made with different options: grid_seed=0-20 there, grid_seed=1-20 here" planother.txt || fail "plan: $(cat planother.txt)"
run 0 plan $MIX -shard 1/2 -output mix > /dev/null 2> planshard.txt && fail "plan of another shard into a store accepted"
grep -q "holds shard 0/1 of this job, not 1/2 (to finish that shard, give -shard 0/1" planshard.txt || fail "plan: $(cat planshard.txt)"
run 0 plan $MIX -output planned > planned.txt
grep -q output= planned.txt && fail "plan of a new directory says it holds points"
[ ! -e planned ] || fail "plan created its -output"

# a YAML job file: default output is results/<file name>; the summary is printed; progress is one line per report
cat > tiny.yaml <<'Y'
family: mlp
grid_width: 8,16
grid_depth: 3
grid_seed: 0-4
grid_activation: relu
progress_interval: 0.000001
Y
run 2 run -options_file tiny.yaml > out.txt 2> err.txt || { cat err.txt; fail "yaml run"; }
[ -f results/tiny/nnlimits.sqlite ] || fail "YAML job did not write results/tiny"
grep -q 'q_00' out.txt || fail "no summary printed"
grep -q '^mlp .* 4  [0-9.]* ± [0-9.]' out.txt || { cat out.txt; fail "summary: no mean ± se over 4 seeds"; }
# one seed has no standard error: the summary prints the mean alone (it printed "± 0")
run 1 run -grid_width 8 -grid_depth 2 -grid_seed 0-1 -output one_seed > one.txt 2> /dev/null || fail "one-seed run"
grep -q '^resnet ' one.txt && ! grep -q '^resnet .*±' one.txt || { cat one.txt; fail "summary of one seed: a standard error"; }
# the summary shows the default job's 60 rows (2 activations x 6 widths x 5 depths) whole (it cut them at 40), and a
# bigger sweep's first 64 with a pointer to the rest
run 1 run -grid_width 2,3,4,5,6,7,8 -grid_depth 2,3,4,5,6 -grid_seed 0-2 -output rows > rows.txt 2> /dev/null || fail "70-row run"
[ "$(grep -c '^resnet ' rows.txt)" = 64 ] && grep -q '^\.\.\. 6 more rows' rows.txt || { cat rows.txt; fail "summary of 70 rows"; }
run 1 run -grid_width 2,3,4,5,6,7 -grid_depth 2,3,4,5,6 -grid_seed 0-2 -output rows60 > rows60.txt 2> /dev/null || fail "60-row run"
[ "$(grep -c '^resnet ' rows60.txt)" = 60 ] && ! grep -q 'more rows' rows60.txt || { cat rows60.txt; fail "summary of 60 rows"; }
grep -Eq '^progress done=9/9 .* store=([0-9]|[1-9][0-9]|100)%$' err.txt || fail "no final progress line (with rank 0's store share): $(grep progress err.txt)"
grep -Eq '^finished output=.* done=9 failed=0 store=([0-9]|[1-9][0-9]|100)%$' err.txt || fail "finished line (with the store share): $(grep finished err.txt)"
! grep -q $'\r' err.txt || fail "carriage return in a non-terminal log"
run 0 status results/tiny | grep -q 'done=9 .*pending=0' || fail "status after a finished run"
# a rerun of the finished job computes nothing: status keeps the rate of the run that did (it read rate=0/s)
rate=$(run 0 status results/tiny | grep -o ' rate=[^ ]*')
run 2 run -options_file tiny.yaml > /dev/null 2>&1 || fail "rerun of a finished job"
run 0 status results/tiny | grep -q "last_run=complete$rate " || fail "status after a no-op rerun: $(run 0 status results/tiny) (was$rate)"
[ "$rate" != " rate=0/s" ] || fail "status of a finished run: rate=0/s"

# Progress during a long task, with an ETA that counts the task's work so far: one SDE task of ~0.8 s (5000 paths)
# after a network and a limit. At 1 rank rank 0 computes it (lines from its poll between steps); at 2 a worker does
# (lines from rank 0's wait). Catches: no line until the task ends (rank 0 in a blocking MPI_Probe, or a 1-rank task
# without a poll), and an ETA from committed work alone (~700 s here: the task's cost / the two small tasks').
for np in 1 2; do
  run $np run -family resnet -grid_width 4 -grid_depth 100 -grid_seed 0-1 -grid_activation relu -sde_paths 5000 \
    -sde_dt 1e-3 -progress_interval 0.05 -output long$np > /dev/null 2> long$np.err || { cat long$np.err; fail "long-task run"; }
  grep '^progress done=2/3 ' long$np.err > long$np.lines || true
  [ "$(wc -l < long$np.lines)" -ge 2 ] || { cat long$np.err; fail "$np rank(s): fewer than 2 progress lines during a 0.8 s task"; }
  awk '{for (i = 1; i <= NF; i++) if ($i ~ /^eta=/) {v = substr($i, 5); sub(/s$/, "", v); if (v == "unknown" || v + 0 > 60) bad = 1}}
       END {exit bad}' long$np.lines || { cat long$np.lines; fail "$np rank(s): ETA unknown or over 60 s during the last task"; }
done

# A task that outlives its predicted cost (an Euler depth-limit ODE at dt 1e-5, ~1 s here, priced at ~3 ms) is taken
# to need as long again as it has run: the ETA grows with it. Catches an ETA capped at the prediction (eta=0.0s for as
# long as the task ran on).
run 2 run -family resnet -grid_width 4 -grid_depth 100 -grid_seed 0-1 -grid_activation tanh -limit_ts_type euler \
  -limit_ts_adapt_type none -limit_ts_dt 1e-5 -progress_interval 0.05 -output overrun > /dev/null 2> overrun.err ||
  { cat overrun.err; fail "run with a task that overruns its prediction"; }
awk '/^progress done=1\/2 / {for (i = 1; i <= NF; i++) {if ($i ~ /^elapsed=/) e = substr($i, 9) + 0; if ($i ~ /^eta=/) v = substr($i, 5) + 0}
                             if (e >= 0.3) {n++; if (v < 0.25 * e) bad = 1}}
     END {exit bad || n < 2}' overrun.err || { cat overrun.err; fail "ETA of a task past its predicted cost"; }
# At 1 rank the same task (at dt 4e-6, ~1.5 s) polls too (a limit task's cost depends on solver options the model does not know): progress
# lines during it, and a stop that comes then lets it finish within -stop_grace, after which nothing is left: the run
# ends complete, exit 0. Catches no line until the task ends (rank 0 polled only within tasks priced long), and
# "interrupted ... rerun the same command to finish" (exit 3) for a run with nothing left to do.
"$NNL" run -family resnet -grid_width 4 -grid_depth 100 -grid_seed 0-1 -grid_activation tanh -limit_ts_type euler \
  -limit_ts_adapt_type none -limit_ts_dt 4e-6 -progress_interval 0.05 -output overrun1 > /dev/null 2> overrun1.err &
pid=$!
for _ in $(seq 100); do grep -q '^progress done=1/2 .*elapsed=0\.[3-9]' overrun1.err 2> /dev/null && break; sleep 0.05; done
kill -TERM $pid 2> /dev/null || true
set +e; wait $pid; rc=$?; set -e
[ "$(grep -c '^progress done=1/2 ' overrun1.err)" -ge 2 ] || { cat overrun1.err; fail "1 rank: fewer than 2 progress lines during a long limit task"; }
[ "$rc" = 0 ] && grep -q '^stopping: no new tasks' overrun1.err && grep -q '^finished .* done=2 failed=0' overrun1.err ||
  { cat overrun1.err; fail "a stop whose last task finished within the grace: exit $rc, want 0 and finished"; }
# The same task, longer (dt 1e-6, ~5 s), stopped after 2 s with -stop_grace 0.2: it is abandoned within the grace,
# past its predicted cost. The ETA left for the rerun counts it as twice what it ran, and status's rate counts the run
# until its end (stored to the second). Catches an ODE that ignores the abandon and runs to its end (a monitor's
# converged reason is reset by the next step), eta=0s (its 3 ms prediction alone), and a rate of ~300/s (one quick
# task over the time to its commit).
"$NNL" run -family resnet -grid_width 4 -grid_depth 100 -grid_seed 0-1 -grid_activation tanh -limit_ts_type euler \
  -limit_ts_adapt_type none -limit_ts_dt 1e-6 -progress_interval 0.05 -stop_grace 0.2 -output overrun2 > /dev/null \
  2> overrun2.err &
pid=$!
for _ in $(seq 200); do grep -q '^progress done=1/2 .*elapsed=[2-9]\.' overrun2.err 2> /dev/null && break; sleep 0.05; done
kill -TERM $pid 2> /dev/null || true
set +e; wait $pid; rc=$?; set -e
grep -q '^interrupted .*abandoned=1 ' overrun2.err || { cat overrun2.err; fail "an abandoned task past its prediction: exit $rc"; }
secs=$(sed -n 's/^interrupted .* seconds=\([0-9.]*\) .*/\1/p' overrun2.err)
at=$(grep '^stopping: no new tasks' -B1 overrun2.err | sed -n 's/.*elapsed=\([0-9.]*\)s.*/\1/p')
awk -v t="$secs" -v a="$at" 'BEGIN {exit !(t > 2 && t < a + 1.5)}' ||
  { cat overrun2.err; fail "the ODE abandoned ${secs}s into the run, its stop at ${at}s with -stop_grace 0.2"; }
# The same for the Fokker-Planck solve of a shaped SDE task (~10 s at -limit_fp_ts_dt 2e-5, T = 4): stopped 1 s in, it
# ends within the grace. Catches a solve with no poll (the stop waited for its end, with no progress line).
"$NNL" run -family shaped_mlp -grid_activation relu -grid_width 64 -grid_depth 256 -grid_seed 0 -inputs 2 \
  -input_correlation 0.5 -shape_c_plus 0 -shape_c_minus -1 -sde_paths 100 -limit_fp_ts_dt 2e-5 -progress_interval 0.05 \
  -stop_grace 0.1 -output fpstop > /dev/null 2> fpstop.err &
pid=$!
for _ in $(seq 200); do grep -q '^progress done=2/3 .*elapsed=[1-9]\.' fpstop.err 2> /dev/null && break; sleep 0.05; done
kill -TERM $pid 2> /dev/null || true
set +e; wait $pid; rc=$?; set -e
s=$(sed -n 's/^interrupted .*abandoned=1 .* seconds=\([0-9.]*\) .*/\1/p' fpstop.err)
[ -n "$s" ] && awk -v s="$s" 'BEGIN {exit !(s < 4)}' ||
  { cat fpstop.err; fail "a Fokker-Planck solve stopped 1 s in with -stop_grace 0.1: exit $rc, seconds '$s' (want < 4)"; }
"$NNL" status overrun2 > overrun2.st
awk -v t="$secs" '{for (i = 1; i <= NF; i++) {if ($i ~ /^eta=/) e = substr($i, 5) + 0; if ($i ~ /^rate=/) r = substr($i, 6) + 0}}
     END {exit !(e >= t && r < 1 / (t - 1))}' overrun2.st ||
  { cat overrun2.err overrun2.st; fail "status after a stop that abandoned a task past its prediction (ran ${secs}s)"; }

# status while a run is live gives the run's own ETA (eta_from=run: the predicted cost left and the work in progress),
# and after it ends no stale one. One 3 s SDE task at 2 ranks; status polled meanwhile. Catches: status extrapolating
# its point count instead (eta_from=rate: it would say the 3-task run is nearly done when its one long task starts),
# an estimate left behind by a finished run, and the two small tasks' commit held back (with the estimate) until the
# long one ends: rank 0 commits its open group while it waits.
run 2 run -family resnet -grid_width 4 -grid_depth 100 -grid_seed 0-1 -grid_activation relu -sde_paths 20000 \
  -sde_dt 1e-3 -progress_interval 0.1 -output live > /dev/null 2>&1 &
live=$!
seen=
for _ in $(seq 100); do
  sleep 0.1
  st=$(run 0 status live 2> /dev/null) || continue
  if echo "$st" | grep -q 'done=2 .*pending=1 .* eta=[0-9.]*s eta_from=run'; then seen=$st; break; fi
done
# a second later, still in the long task: the rate counts the time until now (2 points in over a second), not until
# the latest commit (the two small tasks' few ms: hundreds a second)
sleep 1
st2=$(run 0 status live 2> /dev/null) || true
if echo "$st2" | grep -q 'pending=1 .*last_run=running'; then
  r=$(echo "$st2" | sed 's/.* rate=\([0-9.e+-]*\)\/s.*/\1/')
  awk -v r="$r" 'BEGIN {exit !(r < 3)}' || fail "status of a live run: rate ${r}/s with 2 points in over a second"
fi
wait "$live" || fail "live run"
[ -n "$seen" ] || fail "status of a live run: no eta_from=run (last: ${st:-none})"
e=$(echo "$seen" | sed 's/.* eta=\([0-9.]*\)s.*/\1/')
awk -v e="$e" 'BEGIN {exit !(e <= 60)}' || fail "status of a live run: eta ${e}s for a 3 s task"
run 0 status live | grep -q 'pending=0 .*eta=0s$' || fail "status after the run: $(run 0 status live)"

# values are case-insensitive, as option names are (-family MLP was "unknown family"): one job, one store
run 0 run -family mlp,resnet -grid_activation relu,silu -grid_width 8 -grid_depth 2 -grid_seed 0-2 -sampler projection -output cased \
  > /dev/null 2>&1 || fail "lower-case run"
run 0 run -family MLP,ResNet -grid_activation ReLU,SiLU -grid_width 8 -grid_depth 2 -grid_seed 0-2 -sampler Projection -output cased \
  > /dev/null 2> cased.err && grep -q 'todo=0' cased.err || fail "the same job in capitals is another: $(cat cased.err)"
"$NNL" export cased -table COMPARE -o cased.csv && head -1 cased.csv | grep -q '^family,activation' || fail "export -table COMPARE"
# a table the job makes no rows of is its header, exit 0, and a line on stderr naming the option that would make them
# (it was the header alone, without a word); a table it makes rows of, none. Catches: the note missing, or given for a
# job that has the rows.
for t in spectra spectrum sde fokker_planck; do
  "$NNL" export cased -table $t > none.csv 2> none.err || fail "export of $t (none)"
  [ "$(wc -l < none.csv)" = 1 ] && grep -q "^export: 'cased' has no rows of table $t: its job .* give -s" none.err \
    || fail "export of $t of a job that makes none: $(cat none.err)"
done
for t in gram spectra sde fokker_planck; do # the mixed job makes every kind of row
  "$NNL" export mix -table $t > /dev/null 2> none.err && [ ! -s none.err ] || fail "export of $t (mixed job): $(cat none.err)"
done
# heavy-tailed seeds (NNLStoreHeavyTailed: of 64 or more, one seed's squared deviation is more than half of all): a
# ReLU MLP at depth/width 4 (log-normal q) is marked in the run's summary and named in compare's and extrapolate's
# note on stderr; a ResNet's are not. Catches: z of a log-normal's mean read as a Gaussian's without a word (z = -6 at
# 200 seeds of width 64, depth 256, against a limit its diagonal has exactly), the rule firing for light tails.
run 0 run -family mlp,resnet -grid_activation relu -grid_width 16 -grid_depth 64 -grid_seed 0-200 -output heavy > heavy.out 2> /dev/null \
  || fail "heavy-tailed run"
grep -q '^mlp  *relu  *16  *64  *200  .* \* ' heavy.out && grep -q '^\* 1 rows of heavy-tailed seeds' heavy.out \
  && ! grep -q '^resnet .* \* ' heavy.out || fail "the run's summary of heavy-tailed seeds: $(cat heavy.out)"
for t in compare extrapolate; do
  "$NNL" export heavy -table $t > /dev/null 2> heavy.err && grep -q "^export: [1-9][0-9]* of [0-9]* rows are of heavy-tailed seeds (first: mlp relu width 16 depth 64)" heavy.err \
    || fail "export $t of heavy-tailed seeds: $(cat heavy.err)"
done
run 0 run -family resnet -grid_activation relu,tanh -grid_width 16,64 -grid_depth 4,64 -grid_seed 0-200 -output light > light.out 2> /dev/null \
  || fail "light-tailed run"
"$NNL" export light -table compare > /dev/null 2> light.err && [ ! -s light.err ] && ! grep -q '\*' light.out \
  || fail "light tails taken for heavy: $(cat light.err light.out)"
# an export that fails part way (the store's pairs table emptied by hand) leaves no file, not even its .partial
cp -r cased damaged && sqlite3 damaged/nnlimits.sqlite "DELETE FROM pairs"
"$NNL" export damaged -table gram -o damaged.csv 2> damaged.err && fail "export of a store without pairs"
[ -z "$(ls damaged.csv* 2> /dev/null)" ] || fail "a failed export left $(ls damaged.csv*)"

# rerunning a finished job recomputes nothing
run 1 run -options_file tiny.yaml 2> rerun.err > /dev/null || fail "rerun of a finished job"
grep -q 'todo=0' rerun.err || fail "rerun of a finished job did work"

# shards of a plain options file: union of the three shard stores = the whole grid
printf -- '-family resnet\n-grid_width 8,16\n-grid_depth 2,4\n-grid_seed 0-5\n# a comment\n-progress_interval 0\n' > job.opts
for s in 0 1 2; do run 1 run -options_file job.opts -shard $s/3 > /dev/null 2>&1; done
[ -d results/job/shard-1-of-3 ] || fail "sharded default output"
for s in 0 1 2; do "$NNL" export results/job/shard-$s-of-3 -table points | tail -n +2; done | sort > shards.csv
run 1 run -options_file job.opts -output whole > /dev/null 2>&1
# the ETA of work left rounds up (a pending point at hundreds a second read "eta=0s", as if done)
cp -r whole eta1 && sqlite3 eta1/nnlimits.sqlite "DELETE FROM points WHERE ord=(SELECT max(ord) FROM points WHERE kind='network')"
"$NNL" status eta1 | grep -q ' pending=1 .* eta=1s eta_from=rate$' || fail "status with one point left: $("$NNL" status eta1)"
# a path that is not a run directory but near one says what to give instead
"$NNL" status results/job > /dev/null 2> near.err && fail "status of a directory of shards"
grep -q "it holds the shards of a job; combine them with nnlimits merge results/job/shard-\* -output results/job/all" near.err \
  || fail "no merge hint: $(cat near.err)"
# once merged (into DIR/all, as jobs/slurm/submit does), the hint names the merge (it said to merge again)
"$NNL" merge results/job/shard-* -output results/job/all > /dev/null 2>&1 || fail "merge of the default shards"
"$NNL" status results/job > /dev/null 2> near.err && fail "status of a directory of shards and their merge"
grep -q "it holds the shards of a job and their merge, 'results/job/all'" near.err || fail "no hint of the merge: $(cat near.err)"
"$NNL" export whole/nnlimits.sqlite > /dev/null 2> near.err && fail "export of the store file"
grep -q "give its directory, 'whole'" near.err || fail "no directory hint: $(cat near.err)"
"$NNL" export whole -table points | tail -n +2 | sort > whole.csv
cmp -s shards.csv whole.csv || fail "shards do not partition the grid"
[ "$(wc -l < whole.csv)" = 40 ] || fail "whole grid has $(wc -l < whole.csv) points, not 40 (2 widths x 2 depths x 5 seeds x 2 activations)"

# Slurm array variables choose the shard
# (output to a file: grep -q on a pipe may exit before plan has written, and pipefail would call that a failure)
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 run 0 plan -options_file job.opts > slurm_plan.txt
grep -q "^plan points=40 limits=4 shards=3" slurm_plan.txt \
  || fail "shard count not taken from SLURM_ARRAY_TASK_COUNT"

# The "N singletons" launch (srun without MPI wiring, or another MPI's mpiexec): a 1-rank world in a step of several
# tasks is refused with one line naming the fix, from task 0 only, before anything is stored; a batch script's shell
# (SLURM_NTASKS but no SLURM_STEP_ID), a 1-task step, and status in a step are left alone. Catches: N copies of the
# whole sweep racing for one store, and a check so eager that it breaks `nnlimits status` or a run in the batch shell.
step="SLURM_JOB_ID=7 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 SLURM_NTASKS=2"
for t in 0 1; do
  set +e; env $step SLURM_PROCID=$t "$NNL" run -options_file job.opts -output singles > singles$t.out 2>&1; rc=$?; set -e
  [ "$rc" = 2 ] || { cat singles$t.out; fail "N singletons, task $t: exit $rc, want 2"; }
done
# task 0's note comes before MPI_Init (Debian's Open MPI stops inside it under a plain srun, with twenty lines of its
# own), then, where MPI went on, the refusal
[ "$(wc -l < singles0.out)" = 2 ] && [ "$(grep -c -- 'srun --mpi=pmix' singles0.out)" = 2 ] &&
  head -1 singles0.out | grep -q '^nnlimits: note: srun started 2 tasks without PMIx' ||
  { cat singles0.out; fail "N singletons: want the note and one error line, each naming srun --mpi=pmix"; }
[ ! -s singles1.out ] || { cat singles1.out; fail "N singletons: task 1 should leave the message to task 0"; }
[ ! -e singles ] || fail "N singletons: the refused run created its output directory"
set +e; PMI_SIZE=2 PMI_RANK=0 "$NNL" run -options_file job.opts -output singles > pmi.out 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q 'use the mpiexec of the MPI nnlimits was built with' pmi.out || { cat pmi.out; fail "another MPI's mpiexec: exit $rc"; }
SLURM_JOB_ID=7 SLURM_NTASKS=2 SLURM_PROCID=0 "$NNL" run -options_file job.opts -output batchshell > /dev/null 2>&1 \
  || fail "a 1-rank run in a batch script's shell (SLURM_NTASKS=2, no step) was refused"
env $step SLURM_STEP_NUM_TASKS=1 SLURM_NTASKS=1 "$NNL" run -options_file job.opts -output onetask > /dev/null 2>&1 \
  || fail "a 1-task srun step was refused"
env $step "$NNL" status whole > /dev/null || fail "status inside a 2-task step was refused"

# a job file with CRLF line ends reads as with LF (the '\r' stayed in the last value: "'2\r' is not an integer")
printf -- '-grid_width 8\r\n-grid_depth 2\r\n-grid_seed 0-2\r\n' > crlf.opts
run 0 plan -options_file crlf.opts > crlf.txt && grep -q '^plan points=4 ' crlf.txt || fail "a CRLF job file"

# status, export and merge -help say what the command does and its options, and do nothing (merge -help merged,
# export -help wrote the CSV after a page of PETSc's generic options)
run 0 export whole -help > exhelp.txt || fail "export -help failed"
grep -q -- '-table <gram>' exhelp.txt && ! grep -q '^family,' exhelp.txt && ! grep -q 'PETSc' exhelp.txt || { cat exhelp.txt; fail "export -help"; }
run 0 merge whole -output merged_by_help -help > mhelp.txt && grep -q -- '-output <required>' mhelp.txt || fail "merge -help"
[ ! -e merged_by_help ] || fail "merge -help merged"
run 0 status -help > shelp.txt && grep -q 'nnlimits status DIR' shelp.txt || fail "status -help"
# -h and --help are -help for every command (run --help was "unknown option", run -h "did you mean -isa?", status -h
# "which run directory?")
for h in -h --help; do
  run 0 run $h > "help$h.txt" 2>&1 || fail "run $h failed"
  grep -q -- '-grid_width <now 32,64,128,256,512,1024 ' "help$h.txt" || fail "run $h is not run -help"
  run 0 status $h > "shelp$h.txt" && cmp -s shelp.txt "shelp$h.txt" || fail "status $h is not status -help"
done

# A word after an option's one value is an error that names it, for every command: PETSc takes one word an option and
# ignored the rest, so -grid_width 32 64 ran width 32 alone, and exit 0. A negative number is a value, not a word.
run 0 plan -grid_width 32 64 -grid_seed 0-2 > /dev/null 2> stray.err && fail "plan -grid_width 32 64 accepted"
grep -q "unexpected argument '64' after -grid_width 32: an option takes one word" stray.err || fail "stray word: $(cat stray.err)"
run 2 run -grid_width 8 -grid_depth 2 -grid_seed 0 - 2 -output stray > /dev/null 2> stray.err && fail "-grid_seed 0 - 2 accepted"
grep -q "unexpected argument '-' after -grid_seed 0" stray.err || fail "stray '-': $(cat stray.err)"
[ ! -e stray ] || fail "a refused run made its directory"
run 0 export whole -table points extra > /dev/null 2> stray.err && fail "export DIR -table points extra accepted"
grep -q "unexpected argument 'extra' after -table points.*run directories come right after the command" stray.err \
  || fail "export stray word: $(cat stray.err)"
run 0 plan -input_correlation -0.25 -grid_seed 0-2 > /dev/null 2> stray.err || fail "-input_correlation -0.25: $(cat stray.err)"

# status, export and merge under mpiexec: rank 0 does the work once, the others end quietly (it was refused: "drop mpirun")
run 0 export whole -table points > ex1.csv && run 2 export whole -table points > ex2.csv && cmp -s ex1.csv ex2.csv \
  || fail "export at 2 ranks is not the export at 1"
run 2 status whole > st2.txt && [ "$(grep -c '^' st2.txt)" = "$(run 0 status whole | grep -c '^')" ] || fail "status at 2 ranks: $(cat st2.txt)"

# a Slurm array with a step (--array=0-6:2: tasks 0, 2, 4, 6) is shards 0..3 of 4 (task 6 was '6/4', refused)
SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2 "$NNL" plan -grid_seed 0-10 > step.txt ||
  fail "a Slurm array with a step"
grep -q '^plan points=600 limits=10 shards=4' step.txt || { cat step.txt; fail "a Slurm array with a step: shards"; }
# an -output whose store path passes SQLite's 512 bytes says so (it was SQLite's bare "unable to open database file")
long=$W/long/$(printf 'c%.0s' $(seq 200))/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 90))
"$NNL" run -grid_seed 0-2 -grid_width 4 -grid_depth 2 -output "$long" > /dev/null 2> long.err && fail "a store path past 512 bytes opened"
grep -q "unable to open database file (SQLite opens files by their absolute paths, symlinks followed, of at most 512 bytes" long.err || fail "long -output: $(cat long.err)"
# ... also through a short symlink, which SQLite follows before it counts (the hint was missing there)
mkdir -p "$long" && ln -sfn "$long" "$W/short"
"$NNL" run -grid_seed 0-2 -grid_width 4 -grid_depth 2 -output "$W/short" > /dev/null 2> long.err && fail "a store's real path past 512 bytes opened"
grep -q "symlinks followed, of at most 512 bytes" long.err || fail "long real path through a symlink: $(cat long.err)"
# plan refuses a dangling symlink as -output, as the run does (it planned the run)
ln -sfn "$W/nowhere" "$W/dangling"
"$NNL" plan -grid_seed 0-2 -output "$W/dangling" > /dev/null 2> dangling.err && fail "plan into a dangling symlink"
grep -q "exists and is not a directory" dangling.err || fail "plan into a dangling symlink: $(cat dangling.err)"
# plan refuses an -output a run would refuse: a read-only directory (a bind mount remounted read-only, where root may
# mount; root writes through mere permissions), and a missing one under it. It said what a run there would compute.
mkdir -p "$W/ro"
"$NNL" run -grid_seed 0-2 -grid_width 4 -grid_depth 2 -output "$W/ro/s" -progress_interval 0 > /dev/null 2>&1 || fail "run into ro/s"
if mount --bind "$W/ro" "$W/ro" 2> /dev/null; then
  mount -o remount,bind,ro "$W/ro" 2> /dev/null || true
  set +e
  "$NNL" plan -grid_seed 0-4 -grid_width 4 -grid_depth 2 -output "$W/ro/s" > /dev/null 2> ro.err; rc1=$?
  "$NNL" plan -grid_seed 0-4 -grid_width 4 -grid_depth 2 -output "$W/ro/new/x" > /dev/null 2> ro2.err; rc2=$?
  touch "$W/ro/probe" 2> /dev/null; rw=$?
  set -e
  umount "$W/ro"
  if [ "$rw" != 0 ]; then
    [ "$rc1" = 2 ] && grep -q "directory '$W/ro/s' is not writable" ro.err || fail "plan into a read-only -output: $(cat ro.err)"
    [ "$rc2" = 2 ] && grep -q "cannot be created ('$W/ro' is not a writable directory)" ro2.err || fail "plan under a read-only directory: $(cat ro2.err)"
  else echo "cli: the read-only remount did not hold here: plan of a read-only -output untested"; fi
else echo "cli: cannot bind-mount here: plan of a read-only -output untested"; fi
# an option given twice on the command line: the later is taken, with a warning (PETSc kept it silently)
"$NNL" plan -grid_width 8 -grid_seed 0-2 -GRID_WIDTH 16 > twice.out 2> twice.err || fail "plan with an option twice"
grep -q "warning: -grid_width is given twice on the command line: the later, '16', is taken" twice.err || fail "option twice: $(cat twice.err)"
# a negative number is a value, not an option given twice
"$NNL" plan -family shaped_mlp -grid_seed 0-2 -shape_c_minus 1 -shape_c_minus -1 -limit_ts_atol 1e-12 > /dev/null 2> twice.err || fail "plan with -shape_c_minus twice"
grep -q "warning: -shape_c_minus is given twice on the command line: the later, '-1', is taken" twice.err && [ "$(grep -c warning twice.err)" = 1 ] \
  || fail "option twice with a negative value: $(cat twice.err)"
# an option two job files set: the later file's is taken, with a warning naming both (PETSc kept it silently: a second
# job file overrode the first's width with no word); none where the command line sets it, which wins over both
printf -- '-grid_width 8\n-grid_seed 0-2\n' > twice_a.opts
printf 'grid_depth: 2\nGRID_WIDTH: 16\n' > twice_b.yaml
"$NNL" plan -options_file twice_a.opts -options_file twice_b.yaml -output "$W/twice" > twice.out 2> twice.err || fail "plan with two job files"
grep -q "warning: -grid_width is set by 'twice_a.opts' line 1 and by 'twice_b.yaml' line 2: the later, '16', is taken" twice.err \
  && grep -q '^plan points=4 ' twice.out || fail "an option two job files set: $(cat twice.err twice.out)"
"$NNL" plan -options_file twice_a.opts -options_file twice_b.yaml -grid_width 4 -output "$W/twice" > twice.out 2> twice.err \
  || fail "plan with two job files and the command line"
! grep -q warning twice.err || fail "an option two job files set, given on the command line too: $(cat twice.err)"
# every option -help lists, misspelt (its last letter dropped), is refused with a "did you mean" naming it: the names the
# suggestions come from had drifted from the options read (-stop_grac, -plan_calibrat, -limit_goursat_cell and the
# solver's -limit_ts_typ got none)
for o in $({ "$NNL" run -help; "$NNL" plan -help; } 2> /dev/null | sed -n 's/^  -\([a-z0-9_]*\) <.*/\1/p' | sort -u); do
  "$NNL" plan "-${o%?}" 1 -output "$W/none" > /dev/null 2> mis.err && fail "plan -${o%?} was not refused"
  grep -q "(did you mean -$o?)" mis.err || fail "-${o%?} (for -$o): $(cat mis.err)"
done
# a job file that starts with a UTF-8 byte-order mark reads as without it (its first option was "not an option")
printf '\xef\xbb\xbf-grid_width 8\n-grid_depth 2\n-grid_seed 0-2\n' > bom.opts
printf -- '-grid_width 8\n-grid_depth 2\n-grid_seed 0-2\n' > nobom.opts
[ "$("$NNL" plan -options_file bom.opts 2>&1 | head -1)" = "$("$NNL" plan -options_file nobom.opts 2>&1 | head -1)" ] \
  || fail "a job file with a byte-order mark: $("$NNL" plan -options_file bom.opts 2>&1 | head -2)"
# a task id that is not a number (set by hand) is refused, not read as shard 0 ('abc') or 1 ('1x')
for v in abc 1x; do
  SLURM_ARRAY_TASK_ID=$v SLURM_ARRAY_TASK_COUNT=3 "$NNL" plan -grid_seed 0-10 > /dev/null 2> taskid.err && fail "SLURM_ARRAY_TASK_ID=$v taken"
  grep -q "SLURM_ARRAY_TASK_ID='$v' is not an integer: give -shard i/k" taskid.err || fail "SLURM_ARRAY_TASK_ID=$v: $(cat taskid.err)"
done

# the embedded default job exists and is what 'run' with no options would run
run 0 plan > default_plan.txt
grep -q '^plan points=30720 ' default_plan.txt || { cat default_plan.txt; fail "default job size"; }
# -record_layers' default: 16 log-spaced layers (the default job's depth-1024 networks would store 1025), but every
# layer when no network of the job is deeper than 16 (K at least the deepest depth is every layer: test_job). At depth
# 17 the 16 log-spaced layers in [1, 17] round to 11 distinct ones, plus layer 0.
for d in 16 17; do
  run 0 run -grid_width 8 -grid_depth $d -grid_seed 0-1 -grid_activation relu -output rec$d -progress_interval 0 > /dev/null 2>&1 \
    || fail "record default, depth $d"
done
[ "$(sqlite3 rec16/nnlimits.sqlite 'select nrec from netlayers')" = 17 ] || fail "record default: a depth-16 job records every layer"
n17=$(sqlite3 rec17/nnlimits.sqlite 'select nrec from netlayers')
[ "$n17" = 12 ] || fail "record default: depth 17 records $n17 layers, not 16 log-spaced (12: with layer 0, merged)"
# the default written out is the same job: the store resumes (it was refused: "16 layers, more than the deepest
# network's 17")
run 0 run -grid_width 8 -grid_depth 16 -grid_seed 0-1 -grid_activation relu -record_layers 16 -output rec16 -progress_interval 0 \
  > rec16b.txt 2>&1 || { cat rec16b.txt; fail "-record_layers 16 written out on the default's depth-16 store"; }

# the binary's RUNPATH has no empty entry: the loader would read it as the current directory and search there for
# every library at every start (CMake's default build RUNPATH ended in one)
rp=$(readelf -d "$NNL" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
[ -z "$rp" ] || case ":$rp:" in *::*) fail "RUNPATH [$rp] has an empty entry (the current directory)" ;; esac

# after MPI_Init the binary sets TCP_NODELAY on its TCP connections (sockets.c): without it, MPI_Finalize waited 40 ms
# for the PMIx server's delayed acknowledgement. Seen from outside with strace (ptrace may be refused in a container).
if strace -o /dev/null true 2> /dev/null; then
  strace -f -e trace=execve,connect,setsockopt -o nodelay.txt "$MPIEXEC" -n 1 "$NNL" plan > /dev/null 2>&1 \
    || fail "plan under strace"
  pid=$(grep -m1 "execve(\"$NNL\"" nodelay.txt | cut -d' ' -f1) # the rank, not mpiexec
  fd=$(grep "^$pid .*connect(.*AF_INET" nodelay.txt | head -1 | sed 's/.*connect(\([0-9]*\),.*/\1/')
  [ -n "$fd" ] || { cat nodelay.txt; fail "the rank made no TCP connection (the PMIx server's)"; }
  grep -q "^$pid .*setsockopt($fd, SOL_TCP, TCP_NODELAY, \[1\]" nodelay.txt \
    || { cat nodelay.txt; fail "nnlimits left TCP_NODELAY off on its PMIx connection (fd $fd)"; }
else
  echo "cli: strace cannot trace here: TCP_NODELAY seen by test_sockets only"
fi

# An exploding network (relu MLP at σ_w² = 50: q ~ 25^ℓ, past 1e250 at its last layer) still has ρ ≈ 1 in the
# summary and the laws table, q its standard error, and the NNGP's ρ its limit. Catches: ρ as q01/√(q00·q11), whose
# product overflows to inf and gave ρ = 0, a summary "± 0" for a standard error whose squares overflowed (then none),
# and the dual's k11 k22 overflowing (the limit of ρ inf).
"$NNL" run -family mlp -grid_activation relu -sigma_w2 50 -grid_width 8 -grid_depth 200 -grid_seed 0-4 -record_layers last \
  -progress_interval 0 -output "$W/explode" > explode.out 2> /dev/null || fail "exploding run"
grep -Eq '^mlp +relu +8 +200 +4 +[0-9.]+e\+2[0-9]{2} ± [0-9.]+e\+2[0-9]{2} +[0-9.]+e\+2[0-9]{2} +- +1\.00000 ± 0\.00000 +0\.99[0-9]{3}$' explode.out || { cat explode.out; fail "summary of an exploding network"; }
"$NNL" export "$W/explode" -table laws | awk -F, '$6 == "rho" { found = 1; if ($9 < 0.999) bad = 1 } END { exit !(found && !bad) }' \
  || fail "laws table ρ of an exploding network: $("$NNL" export "$W/explode" -table laws | grep rho)"

# status says why points failed: each message with its count and first point; the points export has the message too.
# (softplus is not positively homogeneous, so its state cannot be rescaled into double's range: these MLPs overflow.)
# Each overflows at its own layer, so each message is its own line.
"$NNL" run -family mlp -grid_activation softplus -sigma_w2 50 -sigma_b2 0.1 -grid_width 32 -grid_depth 600 -grid_seed 0-2 -record_layers last \
  -progress_interval 0 -output "$W/fails" > /dev/null 2>&1 || fail "run with failing points"
"$NNL" status "$W/fails" > /dev/null 2> fails.err || fail "status of a run with failed points"
for s in 0 1; do
  grep -q "fails: 1 failed: overflow at layer [0-9]*: the state left double's range (only a positively homogeneous activation is rescaled exactly) (first: mlp softplus width 32 depth 600 seed $s, id [0-9a-f]\{16\})" fails.err \
    || fail "status: failure messages: $(cat fails.err)"
done
[ "$(wc -l < fails.err)" = 2 ] \
  || fail "status: failure messages: $(cat fails.err)"
# The same with 8 seeds at 1 and 2 ranks: the worker's failures reach the store with the same messages (a result's
# message crosses MPI as its bytes to the NUL). Catches a message lost, cut short or run on in the packing.
for np in 1 2; do
  "$MPIEXEC" -n $np "$NNL" run -family mlp -grid_activation softplus -sigma_w2 50 -sigma_b2 0.1 -grid_width 32 -grid_depth 600 \
    -grid_seed 0-8 -record_layers last -progress_interval 0 -output "$W/fails$np" > /dev/null 2>&1 || fail "$np-rank run with failing points"
  "$NNL" status "$W/fails$np" 2>&1 > /dev/null | sed "s/fails$np:/fails:/" > "fails$np.err"
done
grep -q "overflow at layer" fails1.err && cmp -s fails1.err fails2.err \
  || fail "status at 1 and 2 ranks: failure messages: $(cat fails1.err) // $(cat fails2.err)"
"$NNL" export "$W/fails" -table points -o fails_points.csv
grep -q "^mlp,softplus,32,600,0,[0-9a-f]*,failed,[a-z]*,,overflow at layer [0-9]*: the state left" fails_points.csv \
  || fail "points export: no message column: $(head -2 fails_points.csv)"

# An option the job does not use is a warning naming what it needs (the run goes on); the shipped job files use every
# option they set. Catches: -sigma_w2 given for a ResNet, or -shape_c_plus without shaped_mlp, passing silently.
"$NNL" plan -family resnet -sigma_w2 3 -shape_c_plus 1 -sde_dt 0.01 -limit_goursat_cells 64 2> warn.err > /dev/null || fail "plan with unused options"
for o in "-sigma_w2 has no effect in this job (it needs -family mlp or controlled_resnet)" \
  "-shape_c_plus has no effect in this job (it needs -family shaped_mlp or shaped_transformer with -grid_activation relu)" "-sde_dt has no effect in this job (it needs -sde_paths > 0)" \
  "-limit_goursat_cells has no effect in this job (it needs -family controlled_resnet)"; do
  grep -qF -- "nnlimits: warning: $o" warn.err || fail "no warning '$o': $(cat warn.err)"
done
# the shaping options of the other kind of activation (a user audit: -shape_a for relu, -shape_c_plus for tanh, silent);
# a job of both kinds uses both
"$NNL" plan -family shaped_mlp -grid_activation relu -shape_a 2 2> warn.err > /dev/null || fail "plan shaped relu -shape_a"
grep -qF "nnlimits: warning: -shape_a has no effect in this job (it needs -family shaped_mlp or shaped_transformer with a smooth activation" warn.err ||
  fail "shaped relu -shape_a: $(cat warn.err)"
"$NNL" plan -family shaped_mlp -grid_activation tanh -shape_c_plus 1 2> warn.err > /dev/null || fail "plan shaped tanh -shape_c_plus"
grep -qF "nnlimits: warning: -shape_c_plus has no effect in this job (it needs -family shaped_mlp or shaped_transformer with -grid_activation relu)" warn.err ||
  fail "shaped tanh -shape_c_plus: $(cat warn.err)"
"$NNL" plan -family shaped_mlp -grid_activation relu,tanh -shape_c_plus 1 -shape_a 2 2> warn.err > /dev/null && ! grep -q warning warn.err ||
  fail "shaped relu,tanh: $(cat warn.err)"
# -sde_paths where no family has SDE tasks (an MLP; a ResNet whose branches are not scaled by L^-1/2) ran none silently
for f in "-family mlp" "-family resnet -branch_alpha 1"; do
  "$NNL" plan $f -sde_paths 10 2> warn.err > /dev/null || fail "plan $f -sde_paths 10"
  grep -qF "nnlimits: warning: -sde_paths has no effect in this job" warn.err || fail "$f -sde_paths 10: no warning: $(cat warn.err)"
done
"$NNL" plan -family mlp,shaped_mlp -sde_paths 10 2> warn.err > /dev/null && ! grep -q warning warn.err || fail "shaped_mlp SDE: $(cat warn.err)"
# a correlation for one input (a user audit: accepted silently); two inputs use it
"$NNL" plan -inputs 1 -input_correlation 0.3 2> warn.err > /dev/null || fail "plan -inputs 1 -input_correlation 0.3"
grep -qF "nnlimits: warning: -input_correlation has no effect in this job (it needs -inputs 2 or more)" warn.err || fail "-inputs 1: $(cat warn.err)"
"$NNL" plan -inputs 2 -input_correlation 0.3 2> warn.err > /dev/null && ! grep -q warning warn.err || fail "-inputs 2: $(cat warn.err)"
# -sigma_w2 auto is 1 where no critical value is known (gelu, swish, softplus, sin with a phase): a gelu MLP's kernel fell
# to 5e-14 over 24 layers and nothing said auto was not critical there
"$NNL" plan -family mlp,resnet -grid_activation relu,gelu,sin:1:1:0.2,erf 2> warn.err > /dev/null || fail "plan mlp gelu"
grep -qF "nnlimits: warning: -sigma_w2 auto is 1, not critical, for the MLP of gelu, sin:1:1:0.2 (" warn.err || fail "auto σ_w² for gelu: $(cat warn.err)"
for o in "-family mlp -grid_activation gelu -sigma_w2 1.5" "-family resnet -grid_activation gelu" "-family mlp -grid_activation relu,tanh,erf,leaky_relu:0.2"; do
  "$NNL" plan $o 2> warn.err > /dev/null && ! grep -q warning warn.err || fail "plan $o: $(cat warn.err)"
done
# controlled_resnet reads σ_A², σ_b² and its march's cells (no warning), and refuses the projection sampler, which cannot
# share weights across layers
"$NNL" plan -family controlled_resnet -sigma_w2 2 -sigma_b2 0.1 -limit_goursat_cells 64 2> warn.err > /dev/null || fail "plan controlled_resnet"
! grep -q warning warn.err || fail "controlled_resnet: $(cat warn.err)"
! "$NNL" plan -family resnet,controlled_resnet -sampler projection > /dev/null 2> proj.err || fail "controlled_resnet with the projection sampler ran"
grep -q "sampler projection: controlled_resnet shares its weights across layers" proj.err || fail "projection refusal: $(cat proj.err)"
# shaped_attention: its options are a warning without the family and silent with it (which also has SDE tasks); it
# has no activation, so any but linear is refused naming the way out; its settings are in the job's text only when it
# is there (a job without it keeps its fingerprint). Catches: -attn_tau0 ignored silently, a relu attention run that
# would be a linear one under another name, every old store refused for a new line in its text.
"$NNL" plan -family mlp -attn_tau0 0.5 -attn_gamma 0.3 2> warn.err > /dev/null || fail "plan mlp -attn_tau0"
for o in -attn_tau0 -attn_gamma; do
  grep -qF -- "nnlimits: warning: $o has no effect in this job (it needs -family shaped_attention, softmax_attention, shaped_transformer or softmax_transformer)" warn.err ||
    fail "no $o warning: $(cat warn.err)"
done
"$NNL" plan -family shaped_attention -grid_activation linear -attn_tau0 0.5 -attn_gamma 0.3 -attn_key_width 8 -sde_paths 10 2> warn.err > /dev/null &&
  ! grep -q warning warn.err || fail "shaped_attention: $(cat warn.err)"
for f in shaped_attention softmax_attention; do
  ! "$NNL" plan -family $f > /dev/null 2> att.err || fail "$f with relu ran"
  grep -qF "family $f: activation 'relu' (the attention block has no activation: give -grid_activation linear" att.err ||
    fail "$f relu refusal: $(cat att.err)"
done
for bad in "-attn_gamma 0" "-attn_gamma 1.5" "-attn_tau0 0" "-attn_key_width -1" "-attn_gamma 0.5,1.5" "-attn_tau0 1,0" "-attn_tau0 1,1.0"; do
  ! "$NNL" plan -family shaped_attention -grid_activation linear $bad > /dev/null 2> att.err || fail "shaped_attention $bad ran"
  grep -qF -- "${bad%% *}" att.err || fail "shaped_attention $bad: $(cat att.err)"
done
run 0 run -family shaped_attention -grid_activation linear -grid_width 8 -grid_depth 4 -grid_seed 0-2 -attn_tau0 0.5 -progress_interval 0 \
  -output "$W/att" > /dev/null 2>&1 || fail "shaped_attention run"
sqlite3 "$W/att/nnlimits.sqlite" "SELECT value FROM meta WHERE key='job'" | grep -q "^attn_tau0,attn_gamma,attn_key_width=0.5,0.5,0$" ||
  fail "the attention settings are not in the job's text"
# shaped_transformer: the shaped MLP's activations (relu, or φ(0) = 0 and φ'(0) = 1), refused otherwise naming its family;
# its job text has both the shaping's and the attention's lines, and -shape_c_minus counts for it (no warning).
! "$NNL" plan -family shaped_transformer -grid_activation gelu > /dev/null 2> att.err || fail "shaped_transformer with gelu ran"
grep -qF "family shaped_transformer: activation 'gelu' has phi(0) = 0, phi'(0) = 0.5" att.err || fail "transformer gelu refusal: $(cat att.err)"
"$NNL" plan -family shaped_transformer -grid_activation relu,tanh -shape_c_minus -2 -shape_a 2 -attn_tau0 0.5 -sde_paths 10 2> warn.err > /dev/null ||
  fail "plan shaped_transformer"
! grep -q warning warn.err || fail "shaped_transformer: $(cat warn.err)"
run 0 run -family shaped_transformer -grid_activation relu -grid_width 8 -grid_depth 4 -grid_seed 0-2 -shape_c_minus -2 -progress_interval 0 \
  -output "$W/tr" > /dev/null 2>&1 || fail "shaped_transformer run"
sqlite3 "$W/tr/nnlimits.sqlite" "SELECT value FROM meta WHERE key='job'" > tr.job
grep -q "^shape_c_plus,shape_c_minus,shape_a=0,-2,1$" tr.job && grep -q "^attn_tau0,attn_gamma,attn_key_width=1,0.5,0$" tr.job ||
  fail "the transformer's settings are not in its job's text: $(cat tr.job)"
run 0 run -family mlp -grid_activation linear -grid_width 8 -grid_depth 4 -grid_seed 0-2 -attn_tau0 0.5 -progress_interval 0 \
  -output "$W/noatt" > /dev/null 2>&1 || fail "mlp run with -attn_tau0"
! sqlite3 "$W/noatt/nnlimits.sqlite" "SELECT value FROM meta WHERE key='job'" | grep -q attn || fail "attention settings in an MLP job's text"
for f in "$SRC"/jobs/*.opts "$SRC"/jobs/*.yaml; do
  "$NNL" plan -options_file "$f" > /dev/null 2> warn.err || fail "plan $f"
  ! grep -q warning warn.err || fail "$f: $(cat warn.err)"
done

# a spectra team size the ranks do not fill is said, not taken silently
run 2 plan -spectra_team_size 3 > /dev/null 2> team.err || fail "plan -spectra_team_size 3"
grep -q "warning: -spectra_team_size 3 does not divide the 2 ranks: the last team has 2" team.err || fail "team warning: $(cat team.err)"
run 0 plan -spectra_team_size 2 > /dev/null 2> team.err || fail "plan -spectra_team_size 2"
grep -q "warning: -spectra_team_size 2 has no effect on 1 rank" team.err || fail "team warning at 1 rank: $(cat team.err)"
# plan warns for the ranks it plans for (-plan_ranks), not for the one it runs on
run 0 plan -spectra_team_size 2 -plan_ranks 4 > /dev/null 2> team.err || fail "plan -spectra_team_size 2 -plan_ranks 4"
! grep -q "warning" team.err || fail "team warning for plan's own rank: $(cat team.err)"
run 0 plan -spectra_team_size 2 -plan_ranks 3 > /dev/null 2> team.err || fail "plan -spectra_team_size 2 -plan_ranks 3"
grep -q "warning: -spectra_team_size 2 does not divide the 3 ranks: the last team has 1" team.err || fail "team warning at -plan_ranks 3: $(cat team.err)"
# plan prices spectra teams where a run at -plan_ranks uses them (src/cost.c SpectraLayerCost): a 2048×8 Φ reaches
# -spectra_team_min 2048, so at 2 ranks in teams of 2 its SVD is the team's (another cost than LAPACK's), a task holds
# both ranks (core_seconds twice the leaders' cost, the wall that cost on the one leader); above -spectra_team_min, or
# on 1 rank, nothing changes but the ranks held. Catches: teams ignored (plan priced every spectrum as LAPACK's on one
# rank, the cores the team holds uncounted), or priced where the run computes alone.
TJ="-family mlp -grid_activation relu -grid_width 2048 -grid_depth 1 -grid_seed 0-3 -inputs 8 -spectra_layers last"
tplan() { run 0 plan $TJ "$@" 2> /dev/null | awk '/^plan points=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  /^plan predicted_wall_seconds=/ { split($2, kv, "="); w = kv[2] } END { print v["cost"], v["core_seconds"], w }'; }
read -r c0 k0 w0 <<< "$(tplan -plan_ranks 2)"
read -r c1 k1 w1 <<< "$(tplan -plan_ranks 2 -spectra_team_size 2)"
read -r c2 k2 w2 <<< "$(tplan -plan_ranks 2 -spectra_team_size 2 -spectra_team_min 4096)"
read -r c3 k3 w3 <<< "$(tplan -plan_ranks 1 -spectra_team_size 2)"
awk -v c0="$c0" -v k0="$k0" -v c1="$c1" -v k1="$k1" -v w1="$w1" -v c2="$c2" -v k2="$k2" -v c3="$c3" -v k3="$k3" 'BEGIN {
  ok = c1 != c0 && c2 == c0 && c3 == c0 && k3 == k0 &&
    (k1 - 2 * c1 / 1e9) ^ 2 <= (0.001 * k1) ^ 2 && (w1 - c1 / 1e9) ^ 2 <= (0.001 * w1) ^ 2 &&
    (k2 - 2 * c2 / 1e9) ^ 2 <= (0.001 * k2) ^ 2
  printf "cli: plan with spectra teams: cost %s alone, %s in teams of 2 (%s above -spectra_team_min, %s on 1 rank); core %s, %s\n", c0, c1, c2, c3, k0, k1
  exit !ok }' || fail "plan's spectra teams: cost $c0 / $c1 / $c2 / $c3, core $k0 / $k1 / $k2 / $k3, wall $w0 / $w1"
# A rank's first task of a size touches its arrays' pages fresh (src/plan.c NNL_TOUCH_NS_PER_BYTE): plan adds it once
# to a shard's wall and once per computing rank to core_seconds, for a task past 32 MB (width 2·10^6: 40 ms of a 45 ms
# network here). Catches: the touch left out (a few wide networks ran 1.5-1.6x their plan), or priced per task.
WJ="-family mlp -grid_activation relu -grid_width 2000000 -grid_depth 1"
wplan() { run 0 plan $WJ "$@" 2> /dev/null | awk '/^plan points=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
  /^plan predicted_wall_seconds=/ { split($2, kv, "="); w = kv[2] } END { print w - v["cost"] / 1e9, v["core_seconds"] - v["cost"] / 1e9 }'; }
read -r d3 e3 <<< "$(wplan -grid_seed 0-3)"
read -r d9 e9 <<< "$(wplan -grid_seed 0-9)"
read -r d92 e92 <<< "$(wplan -grid_seed 0-9 -plan_ranks 2)"
awk -v d3="$d3" -v d9="$d9" -v e3="$e3" -v e92="$e92" 'BEGIN { ok = d3 > 0.01 && (d9 - d3) ^ 2 < 1e-8 && (e3 - d3) ^ 2 < 1e-8 && (e92 - 2 * d3) ^ 2 < 1e-8
  printf "cli: plan of wide networks: first touch %.4g s a rank (3 networks), %.4g s (9), core %.4g s more at 2 ranks\n", d3, d9, e92
  exit !ok }' || fail "plan's first touch: $d3 / $d9 s over the tasks' cost, core $e3 / $e92"

# -version names this build (PETSc's own -version printed only PETSc's), and the store's provenance records the same
# commit, read at build time from the source tree (a commit fixed at configure time went stale with every new commit).
v=$("$NNL" -version 2>&1 | sed -n 1p)
echo "$v" | grep -Eq '^nnlimits [0-9.]+ \(git ([0-9a-f]{12}(-dirty)?|unknown)\)$' || fail "-version: $v"
# and its libraries on a second line, instead of PETSc's banner of nine lines after it
"$NNL" -version > ver.txt 2>&1 && [ "$(grep -c '^' ver.txt)" = 2 ] && grep -qi '^libraries: .*petsc.*; Open MPI.*; SQLite .*; OpenBLAS' ver.txt \
  || { cat ver.txt; fail "-version: not two lines, or no libraries"; }
g=$(sqlite3 "$W/explode/nnlimits.sqlite" "SELECT git FROM runs ORDER BY run DESC LIMIT 1")
[ "$v" = "${v%% (git*} (git $g)" ] || fail "runs.git '$g' is not this build's ($v)"
if git -C "${NNL_SOURCE_DIR:?}" rev-parse HEAD > /dev/null 2>&1; then [ "$g" != unknown ] || fail "git commit unknown in a checkout"; fi

# Deep networks that record few layers: the store's seq table holds a row per recorded layer of the network that records
# most, not per layer of the deepest (3e7 rows, 268 MB, for a depth-3e7 job recording 16), and the views still give
# every recorded layer (4 log-spaced of 1..L, and layer 0 of a ResNet); a depth past 2^30 is refused, and plan's
# limit task memory counts the recorded layers (a feasible depth-3e8 job was refused, blaming -inputs).
run 0 run -family mlp,resnet -grid_activation relu -grid_width 2 -grid_depth 100000,7 -record_layers 4 -grid_seed 0-2 -inputs 2 \
  -output "$W/deep" -progress_interval 0 > /dev/null 2>&1 || fail "deep run"
[ "$(sqlite3 "$W/deep/nnlimits.sqlite" "SELECT count(*) FROM seq")" = 6 ] || fail "seq rows: $(sqlite3 "$W/deep/nnlimits.sqlite" "SELECT count(*) FROM seq")"
"$NNL" export "$W/deep" -table gram -o deep.csv || fail "export of the deep run"
[ "$(grep -c '^resnet,relu,2,100000,' deep.csv)" = $((2 * 5 * 3)) ] && [ "$(grep -c '^mlp,relu,2,100000,' deep.csv)" = $((2 * 4 * 3)) ] ||
  fail "deep run's gram rows: $(cut -d, -f1,4 deep.csv | sort | uniq -c)"
! "$NNL" plan -grid_depth 2147483647 > /dev/null 2> deep.err && grep -q "too deep (at most 2^30" deep.err || fail "depth 2^31-1: $(cat deep.err)"
"$NNL" plan -family mlp -grid_width 2 -grid_depth 300000000 -grid_seed 0-1 -record_layers 16 > deep.plan 2>&1 || fail "plan of depth 3e8: $(cat deep.plan)"
# a shard that holds no network (its one task a limit): the summary's header stood alone, with no word of why
run 0 run -grid_width 8 -grid_depth 4 -grid_seed 0-1 -grid_activation relu -shard 0/3 -output "$W/limitshard" > lshard.out 2> /dev/null ||
  fail "run of a shard of a limit task"
[ "$(sqlite3 "$W/limitshard/nnlimits.sqlite" "SELECT group_concat(kind) FROM points")" = limit ] || fail "shard 0/3 is not one limit task"
grep -q "^(no finished network in $W/limitshard to summarise: its other tasks' rows are in nnlimits export" lshard.out ||
  { cat lshard.out; fail "summary of a shard without networks"; }

# jobs/slurm/submit --help prints its usage and queues nothing (it went to sbatch, after a plan of the default job), and
# an error names an activation as the exports do (leaky_relu:0.2, not its 17-digit canonical form).
bash "$SRC/jobs/slurm/submit" --help > submit_help.txt 2>&1 || fail "submit --help exited non-zero: $(cat submit_help.txt)"
grep -q "^Submit an nnlimits sweep to Slurm" submit_help.txt && ! grep -q "^plan " submit_help.txt \
  || fail "submit --help: $(head -3 submit_help.txt)"
# submit against a stub Slurm (sbatch, scontrol, squeue: two partitions, short with a 10-minute MaxTime and long with
# 2 days; sbatch --test-only answering with a QOS refusal): -p short,long -t 2:00:00 is submitted (Slurm would run it
# in long; the first partition's MaxTime alone refused it), -p short -t 2:00:00 is refused before anything is created,
# and the QOS refusal (a submit limit may pass) is a warning, not "could never start".
mkdir -p stub
printf '#!/bin/bash\nfor a in "$@"; do [ "$a" = --test-only ] && { echo "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user'"'"'s size and/or time limits)" >&2; exit 1; }; done\necho 123\n' > stub/sbatch
printf '#!/bin/bash\ncase "$*" in\n  "show partition -o short") echo "PartitionName=short Default=YES DefaultTime=NONE MaxTime=00:10:00 State=UP" ;;\n  "show partition -o long") echo "PartitionName=long Default=NO DefaultTime=NONE MaxTime=2-00:00:00 State=UP" ;;\n  *) exit 0 ;;\nesac\n' > stub/scontrol
printf '#!/bin/bash\nexit 0\n' > stub/squeue
chmod +x stub/*
PATH=$PWD/stub:$PATH NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" job.opts --output stubmp -p short,long -t 2:00:00 -n 1 \
  > stub.out 2> stub.err || { cat stub.err; fail "submit -p short,long -t 2:00:00 refused"; }
grep -q "warning: sbatch --test-only: .*QOS" stub.err || fail "submit: the QOS refusal not a warning: $(cat stub.err)"
set +e; PATH=$PWD/stub:$PATH NNLIMITS=$NNL bash "$SRC/jobs/slurm/submit" job.opts --output stubone -p short -t 2:00:00 -n 1 \
  > stub.out 2> stub.err; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "above partition short's MaxTime" stub.err && [ ! -e stubone ] || { cat stub.err; fail "submit -p short -t 2:00:00: exit $rc"; }
"$NNL" plan -family shaped_mlp -grid_activation leaky_relu:0.2 > /dev/null 2> shaped.err && fail "shaped leaky_relu:0.2 accepted"
grep -q "activation 'leaky_relu:0.2' has phi(0) = 0" shaped.err || fail "shaped activation's name: $(cat shaped.err)"

echo "cli: help, plan, yaml and plain job files, status, progress, shards, N-singleton launch, summary, RUNPATH,"
echo "     TCP_NODELAY all behave"
