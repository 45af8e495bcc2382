# Job arrays: a job run as 3 shards (each its own store), merged with `nnlimits merge`, equals one direct run at
# 2 ranks byte for byte; merging again changes nothing; status sums the shards; the full job rerun on the merged
# store computes nothing; a store merged into itself or into a shard's store is refused. Catches: shards that overlap
# or miss points, a merge that loses or duplicates rows, a non-idempotent merge step (Slurm may run it twice), a
# merged store that does not resume as the whole job, a merge that turns a shard's store into a mislabelled one.
# ctest-label: cli
source "$(dirname "$0")/lib.sh" "$@"
JOB="-family mlp,resnet -grid_activation relu,erf -grid_width 8,32 -grid_depth 3,9 -grid_seed 0-5 -inputs 3
     -progress_interval 0"
for s in 0 1 2; do run 1 run $JOB -shard $s/3 -output "$W/s$s" > /dev/null 2>&1 || fail "shard $s"; done
run 2 run $JOB -output "$W/direct" > /dev/null 2>&1 || fail "direct run"
# one shard alone says it is one: its status (total and "complete" are the shard's) and its export (statistics over
# that shard's seeds); the merged store says nothing of the kind
"$NNL" status "$W/s1" 2> "$W/s1.err" > /dev/null && grep -q "^status: $W/s1: shard 1/3 of its job (" "$W/s1.err" ||
  fail "status of one shard: $(cat "$W/s1.err")"
"$NNL" export "$W/s1" -table compare 2> "$W/s1.err" > /dev/null && grep -q "^export: '$W/s1' is shard 1/3 of its job" "$W/s1.err" ||
  fail "export of one shard: $(cat "$W/s1.err")"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/merged" > "$W/merge.out" || fail "merge"
grep -q 'pending=0' "$W/merge.out" || { cat "$W/merge.out"; fail "merged store is not complete"; }
same_exports "$W/direct" "$W/merged"
"$NNL" status "$W/merged" 2>&1 > /dev/null | grep -q "shard" && fail "status of the merged store speaks of a shard"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/merged" -info > "$W/merge2.out" 2>&1 || fail "second merge"
same_exports "$W/direct" "$W/merged"
# An input merged before and unchanged since is skipped (the output's meta 'merged <its path>' holds what it held:
# a re-merge of 10^6 points compared every one again, 34 s against the first merge's 7.4); a rerun into a shard (a
# new runs row) makes it merge again, and only it. Catches a skip that is never taken, and one taken for a changed
# input (the rerun's provenance would be missing from the output).
[ "$(grep -c "unchanged since merged into '$W/merged': skipped" "$W/merge2.out")" = 3 ] ||
  { cat "$W/merge2.out"; fail "a second merge of 3 unchanged shards skipped fewer than 3"; }
# Provenance: each point's run is the runs row of the shard it came from, each shard's run once after two merges
# (every shard's own first run is 1: copied as they are, all points named shard 0's run). A merged store's status
# has no rate or ETA of its own (pending points wait for more shards, or a run here).
prov=$(sqlite3 "$W/merged/nnlimits.sqlite" "SELECT r.source, count(*) FROM points p JOIN runs r ON r.run = p.run GROUP BY r.run ORDER BY r.source")
want=$(for s in 0 1 2; do echo "$(readlink -f "$W/s$s")|$(sqlite3 "$W/s$s/nnlimits.sqlite" 'SELECT count(*) FROM points')"; done)
[ "$prov" = "$want" ] || fail "merged points' runs: $prov (want $want)"
[ "$(sqlite3 "$W/merged/nnlimits.sqlite" 'SELECT count(*) FROM runs')" = 3 ] || fail "runs duplicated by a second merge"
# the same shards spelled otherwise (relative, ./, a trailing /) are the same runs: 3 rows still, each named by its
# canonical path (each spelling added 3 rows, and the points moved to the newest)
(cd "$W" && "$NNL" merge s0 ./s1 s2/ -output merged > /dev/null) || fail "merge of relative paths"
prov=$(sqlite3 "$W/merged/nnlimits.sqlite" "SELECT r.source, count(*) FROM points p JOIN runs r ON r.run = p.run GROUP BY r.run ORDER BY r.source")
[ "$prov" = "$want" ] && [ "$(sqlite3 "$W/merged/nnlimits.sqlite" 'SELECT count(*) FROM runs')" = 3 ] ||
  fail "runs of shards spelled otherwise: $(sqlite3 "$W/merged/nnlimits.sqlite" 'SELECT run, source FROM runs')"
# a store merged by an earlier build (every point on run 1, and no record of what it merged): merging its inputs
# again repairs the points' runs
sqlite3 "$W/merged/nnlimits.sqlite" "UPDATE points SET run = 1; DELETE FROM meta WHERE key LIKE 'merged %'"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/merged" > /dev/null || fail "merge over an earlier build's merge"
prov=$(sqlite3 "$W/merged/nnlimits.sqlite" "SELECT r.source, count(*) FROM points p JOIN runs r ON r.run = p.run GROUP BY r.run ORDER BY r.source")
[ "$prov" = "$want" ] || fail "runs of an earlier build's merge not repaired: $prov (want $want)"
# a rerun into shard 1 (a new runs row, no new point): the next merge takes it, and skips the two others
run 1 run $JOB -shard 1/3 -output "$W/s1" > /dev/null 2>&1 || fail "rerun of shard 1"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/merged" -info > "$W/merge3.out" 2>&1 || fail "merge after a rerun"
grep "unchanged since merged" "$W/merge3.out" | grep -q "/s1'" && fail "shard 1 skipped after a rerun into it"
[ "$(grep -c "unchanged since merged into" "$W/merge3.out")" = 2 ] || { cat "$W/merge3.out"; fail "merge after a rerun of shard 1"; }
[ "$(sqlite3 "$W/merged/nnlimits.sqlite" 'SELECT count(*) FROM runs')" = 4 ] ||
  fail "the rerun of shard 1 is not in the merged store's runs: $(sqlite3 "$W/merged/nnlimits.sqlite" 'SELECT run, source, status FROM runs')"
same_exports "$W/direct" "$W/merged"
# An input's directory deleted and run again as another shard of the job with as many points, ending within the same
# second as the one merged (forced here; 6 of 8 tries in a loop did so): the merge takes it (its print holds its run's
# start to the microsecond). Catches a re-created input skipped as the one merged, its points missing in silence.
J2="-family mlp -grid_activation relu -grid_width 8 -grid_depth 3 -grid_seed 0-1 -inputs 3"
run 0 run $J2 -shard 0/2 -output "$W/re" > /dev/null 2>&1 || fail "re-created input: shard 0"
"$NNL" merge "$W/re" -output "$W/reall" > /dev/null 2>&1 || fail "re-created input: merge of shard 0"
fin=$(sqlite3 "$W/re/nnlimits.sqlite" "SELECT finished FROM runs")
rm -rf "$W/re"; run 0 run $J2 -shard 1/2 -output "$W/re" > /dev/null 2>&1 || fail "re-created input: shard 1"
sqlite3 "$W/re/nnlimits.sqlite" "UPDATE runs SET finished = '$fin'"
"$NNL" merge "$W/re" -output "$W/reall" > /dev/null 2>&1 || fail "re-created input: merge of shard 1"
[ "$(sqlite3 "$W/reall/nnlimits.sqlite" 'SELECT count(*) FROM points')" = 2 ] ||
  fail "an input re-created at a merged input's path as another shard was skipped: $("$NNL" status "$W/reall" 2>&1)"
# A merge killed before it ended (its flag left in meta, no process holding the lock) is reported died, with the
# advice to rerun the merge; the rerun ends it. Catches: a killed merge shown as "merged", looking finished.
sqlite3 "$W/merged/nnlimits.sqlite" "INSERT INTO meta VALUES ('merging', 'yes')"
"$NNL" status "$W/merged" 2> "$W/killed.err" | grep -q ' last_run=died ' || fail "status of a killed merge: $("$NNL" status "$W/merged" 2>&1)"
grep -q 'a merge into it was killed (or failed: a full disk) before it ended; rerun the same merge' "$W/killed.err" || fail "killed merge hint: $(cat "$W/killed.err")"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/merged" | grep -q ' last_run=merged ' || fail "the merge rerun did not end the killed one"
# a run into it instead takes over (it computes what the merge's other inputs would have brought): status follows the
# run, not the merge (it said "died ... rerun the merge" for good)
cp -r "$W/s0" "$W/killedmerge"
sqlite3 "$W/killedmerge/nnlimits.sqlite" "INSERT INTO meta VALUES ('merging', 'yes')"
run 1 run $JOB -shard 0/3 -output "$W/killedmerge" > /dev/null 2>&1 || fail "run into a killed merge's output"
"$NNL" status "$W/killedmerge" 2>&1 | grep -q ' last_run=complete ' || fail "status after a run into a killed merge: $("$NNL" status "$W/killedmerge" 2>&1)"
"$NNL" merge "$W/s1" -output "$W/part" > /dev/null 2> "$W/part.err" || fail "merge of one shard"
"$NNL" status "$W/part" | grep -q ' last_run=merged rate=0/s eta=-$' || fail "status of a partial merge: $("$NNL" status "$W/part")"
# a merge that lacks shards (merge.sbatch given too small an N) said so only in its status line's pending=
grep -q "of the job's points are in none of the stores merged into it .* merge them into it too" "$W/part.err" ||
  fail "partial merge: no hint on stderr: $(cat "$W/part.err")"
# export of a store with tasks pending said nothing (a user audit: the compare table of a live run mixed seed counts);
# now one line on stderr, exit 0, and none for a finished store
"$NNL" export "$W/part" -table points -o "$W/part.csv" 2> "$W/part.exp" || fail "export of a partial merge"
grep -q "export: '$W/part' is not finished: [0-9]* of its [0-9]* tasks pending (last_run=merged: merge the other shards into it)" \
  "$W/part.exp" || fail "export of a partial merge: no note on stderr: $(cat "$W/part.exp")"
"$NNL" export "$W/merged" -table points -o "$W/merged.csv" 2> "$W/merged.exp" && [ ! -s "$W/merged.exp" ] ||
  fail "export of a finished store: $(cat "$W/merged.exp")"
# status given one directory twice summed it twice; shards of two splits (0/2 beside 2/3) were summed with no word
"$NNL" status "$W/s0" "$W/s0/" 2> "$W/twice.err" | tail -n 1 | grep -q "^status dir=(all) done=$(sqlite3 "$W/s0/nnlimits.sqlite" 'SELECT count(*) FROM points') " ||
  fail "status of one shard given twice: $("$NNL" status "$W/s0" "$W/s0/" 2>&1)"
grep -q "is given twice: counted once" "$W/twice.err" || fail "status of a directory given twice: no word on stderr"
# a copy of a shard's directory beside it (the same job's same shard) was summed twice with no word
cp -r "$W/s0" "$W/s0copy"
"$NNL" status "$W/s0" "$W/s0copy" > /dev/null 2> "$W/copy.err" || fail "status of a shard and its copy"
grep -q "status: $W/s0 and $W/s0copy hold the same job's shard 0/3: (all) counts its points twice" "$W/copy.err" ||
  fail "status of a shard and its copy: no word on stderr: $(cat "$W/copy.err")"
"$NNL" status "$W/s0" "$W/s1" "$W/s2" 2> "$W/three.err" > /dev/null && ! grep -q "counts its points twice" "$W/three.err" ||
  fail "status of three shards warned: $(cat "$W/three.err")"
# stores of different jobs: shard 1/3 of another job of the same grid and shard count was taken for s0's job's other
# shard, and whole runs of two jobs were summed with no word
run 1 run $JOB -input_correlation 0.3 -shard 1/3 -output "$W/other1" > /dev/null 2>&1 || fail "shard 1 of another job"
"$NNL" status "$W/s0" "$W/other1" > /dev/null 2> "$W/other1.err" || fail "status of shards of two jobs"
grep -q "adds up parts of different splits or jobs" "$W/other1.err" || fail "status of shards of two jobs: no word: $(cat "$W/other1.err")"
! grep -q "counts the whole job" "$W/other1.err" || fail "status of shards of two jobs: taken for one job: $(cat "$W/other1.err")"
run 1 run -family mlp -grid_width 8 -grid_depth 3 -grid_seed 0-1 -inputs 3 -output "$W/other" > /dev/null 2>&1 || fail "another job"
"$NNL" status "$W/direct" "$W/other" > /dev/null 2> "$W/jobs.err" || fail "status of two jobs"
grep -q "status: (all) adds up the runs of different jobs" "$W/jobs.err" || fail "status of two jobs: no word: $(cat "$W/jobs.err")"
! grep -q "different" "$W/three.err" || fail "status of one job's three shards: $(cat "$W/three.err")"
"$NNL" status "$W/s9" "$W/s9" > /dev/null 2> "$W/twice9.err" && fail "status of one directory without a store, given twice, accepted"
grep -q "none of the 1 directories holds a store yet" "$W/twice9.err" || fail "status of s9 twice: $(cat "$W/twice9.err")"
# (all)'s ETA is the last shard's to end: two interrupted shards whose reruns take 13 s and 10 s (their stores say so)
# made (all) fall back on the summed rate, as if the 10 s one had no estimate (a user audit: eta=6s beside 13s and 10s)
for s in 0 1; do
  cp -r "$W/s$s" "$W/eta$s"
  sqlite3 "$W/eta$s/nnlimits.sqlite" "DELETE FROM points WHERE ord IN (SELECT ord FROM points ORDER BY ord DESC LIMIT 5);
    UPDATE runs SET status = 'interrupted'; INSERT OR REPLACE INTO meta VALUES ('eta', '0 $((13 - 3 * s)).0')"
done
for order in "$W/eta0 $W/eta1" "$W/eta1 $W/eta0"; do
  "$NNL" status $order 2> /dev/null | tail -n 1 | grep -q ' eta=13s eta_from=last_run$' || fail "status $order: (all)'s ETA: $("$NNL" status $order 2>&1)"
done
run 1 run $JOB -shard 1/2 -output "$W/other_split" > /dev/null 2>&1 || fail "shard 1/2"
"$NNL" status "$W/s0" "$W/other_split" > /dev/null 2> "$W/split.err"
grep -q "adds up parts of different splits or jobs" "$W/split.err" || fail "status of two splits' shards: no warning: $(cat "$W/split.err")"
"$NNL" status "$W/s0" "$W/s1" "$W/s2" 2>&1 > /dev/null | grep -q "different splits" && fail "status of one split's shards warns"
"$NNL" status "$W/s0" "$W/s1" "$W/s2" > "$W/status.out"
tail -n 1 "$W/status.out" | grep -q '^status dir=(all) done=88 failed=0 pending=0 total=88' || { cat "$W/status.out"; fail "status of the shards"; }
# A job array's watch command names every shard: one not started yet (no store) is said so, and (all) still counts the
# whole job; so does a list that leaves shards out. Catches: status stopping at the first missing directory (exit 2,
# no (all) line), and (all) saying pending=0 for 2 of 3 shards.
"$NNL" status "$W/s0" "$W/s1" "$W/s9" > "$W/status.out" 2> "$W/status.err" || { cat "$W/status.out" "$W/status.err"; fail "status with a shard not started"; }
grep -q "^status dir=$W/s9 no_store" "$W/status.out" || { cat "$W/status.out"; fail "status: the missing shard"; }
d01=$(( $(sqlite3 "$W/s0/nnlimits.sqlite" 'SELECT count(*) FROM points') + $(sqlite3 "$W/s1/nnlimits.sqlite" 'SELECT count(*) FROM points') ))
tail -n 1 "$W/status.out" | grep -q "^status dir=(all) done=$d01 failed=0 pending=$((88 - d01)) total=88 " || { cat "$W/status.out"; fail "status (all) of 2 of 3 shards"; }
grep -q "2 of its 3 shards have a store" "$W/status.err" || { cat "$W/status.err"; fail "status: shards seen"; }
run 1 run $JOB -output "$W/merged" 2> "$W/rerun.err" > /dev/null || { cat "$W/rerun.err"; fail "rerun on the merged store"; }
grep -q 'todo=0' "$W/rerun.err" || { cat "$W/rerun.err"; fail "the whole job rerun on the merged store did work"; }
[ ! -e "$W/merged/nnlimits.sqlite-wal" ] && [ ! -e "$W/merged/nnlimits.sqlite-shm" ] || fail "merged store left -wal/-shm"
set +e; "$NNL" merge "$W/s0" -output "$W/s0" > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "merging a store into itself: exit $rc, want 2"
# a shard's store is no merge output (it would hold other shards' points under its shard's total)
"$NNL" export "$W/s0" -table points -o "$W/s0.before.csv"
set +e; "$NNL" merge "$W/s1" -output "$W/s0" > /dev/null 2> "$W/into-shard.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "merging into a shard's store: exit $rc, want 2"
grep -q 'shard 0/3' "$W/into-shard.err" || { cat "$W/into-shard.err"; fail "merge into a shard: message lacks the shard"; }
"$NNL" export "$W/s0" -table points | cmp -s - "$W/s0.before.csv" || fail "a refused merge changed the shard store"
# A point both an input and the output hold must hold the same rows: one value changed (as another release's last
# digits would be) is an error naming the point, whichever input comes first; an equal copy merges as before.
# Catches: the first merged copy winning silently, so that the merged store depended on the order of the inputs.
cp -r "$W/s1" "$W/s1x"
sqlite3 "$W/s1x/nnlimits.sqlite" "UPDATE netlayers SET q = zeroblob(length(q)) WHERE point = (SELECT id FROM points WHERE kind = 'network' ORDER BY ord LIMIT 1)"
# The message names the point as a user knows it (it named its ord, which no export shows), and the refusal comes
# before anything is written, wherever the conflicting inputs stand in the list: s0 before them was merged, the output
# left half written and marked as a killed merge ("rerun the same merge", which failed the same way).
what=$(sqlite3 -separator ' ' "$W/s1x/nnlimits.sqlite" "SELECT family, activation, 'network of width', width || ', depth', depth || ', seed', seed
  FROM points WHERE kind = 'network' ORDER BY ord LIMIT 1")
for order in "$W/s1 $W/s1x" "$W/s1x $W/s1" "$W/s0 $W/s1 $W/s1x"; do
  rm -rf "$W/conflict"
  set +e; "$NNL" merge $order -output "$W/conflict" > /dev/null 2> "$W/conflict.err"; rc=$?; set -e
  [ "$rc" = 2 ] || fail "merge of conflicting copies ($order): exit $rc, want 2"
  grep -q "both hold the $what (point id [0-9a-f]\{16\}) with results that differ" "$W/conflict.err" ||
    { cat "$W/conflict.err"; fail "conflict message (want the $what)"; }
  [ ! -e "$W/conflict" ] || fail "a refused merge ($order) created its output"
done
sqlite3 "$W/s1x/nnlimits.sqlite" "UPDATE limits SET q_nngp = q_nngp * (1 + 1e-15) WHERE layer = (SELECT max(layer) FROM limits) AND a = 0 AND b = 0"
"$NNL" merge "$W/s1" -output "$W/conflict2" > /dev/null
"$NNL" export "$W/conflict2" -table points -o "$W/conflict2.csv" 2> /dev/null
set +e; "$NNL" merge "$W/s0" "$W/s1x" -output "$W/conflict2" > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "merge of a limit differing in its last digit: exit $rc, want 2"
"$NNL" export "$W/conflict2" -table points 2> /dev/null | cmp -s - "$W/conflict2.csv" || fail "a refused merge changed its output"
"$NNL" status "$W/conflict2" | grep -q ' last_run=merged ' || fail "a refused merge left its output: $("$NNL" status "$W/conflict2" 2>&1)"
"$NNL" merge "$W/s1" -output "$W/conflict2" > /dev/null || fail "a second merge of the same input"
# An input that gains a point after the check, before its own turn (a run still writing it): MergeOne checks it again
# inside its transaction. Here the output holds s1's first network point and the input is s1 without it; while the
# merge waits for the output's database (held by a transaction of another connection) with its lock taken (its check
# done), the input gains that point back with one value changed. The merge stops there, the output holding the
# inputs before it, whole, and not marked as a killed merge ("rerun the same merge" would stop at the same point).
# Catches: a gained point merged unchecked (the output's copy kept silently: exit 0), and the refusal leaving the
# output marked died.
"$NNL" merge "$W/s1" -output "$W/gain" > /dev/null
cp -r "$W/s1" "$W/s1g"
X=$(sqlite3 "$W/s1g/nnlimits.sqlite" "SELECT id FROM points WHERE kind = 'network' ORDER BY ord LIMIT 1")
sqlite3 "$W/s1g/nnlimits.sqlite" "DELETE FROM netlayers WHERE point = $X; DELETE FROM points WHERE id = $X"
# hold DB NAME: another connection's write transaction on DB, open until `release` (a sqlite3 reading a fifo)
hold() {
  mkfifo "$W/$2"
  sqlite3 "$1" < "$W/$2" > "$W/$2.out" &
  exec {holdfd}> "$W/$2"
  echo "BEGIN IMMEDIATE; SELECT 'held';" >&$holdfd
  for _ in $(seq 100); do grep -q held "$W/$2.out" && break; sleep 0.1; done
  grep -q held "$W/$2.out" || fail "the write transaction on $1 never began"
}
release() { echo "ROLLBACK;" >&$holdfd; exec {holdfd}>&-; }
hold "$W/gain/nnlimits.sqlite" hold
"$NNL" merge "$W/s0" "$W/s1g" -output "$W/gain" > /dev/null 2> "$W/gain.err" &
merge=$!
ino=$(stat -c %i "$W/gain/nnlimits.lock")
for _ in $(seq 300); do grep -q ":$ino " /proc/locks && break; sleep 0.1; done
grep -q ":$ino " /proc/locks || fail "the merge never took the output's lock"
sqlite3 "$W/s1g/nnlimits.sqlite" "ATTACH '$W/s1/nnlimits.sqlite' AS o; INSERT INTO points SELECT * FROM o.points WHERE id = $X;
  INSERT INTO netlayers SELECT * FROM o.netlayers WHERE point = $X; UPDATE netlayers SET q = zeroblob(length(q)) WHERE point = $X"
release
set +e; wait "$merge"; rc=$?; set -e
[ "$rc" = 2 ] || { cat "$W/gain.err"; fail "merge of an input that gained a conflicting point: exit $rc, want 2"; }
grep -q "both hold the .* network of width .* with results that differ" "$W/gain.err" || { cat "$W/gain.err"; fail "gained conflict message"; }
grep -q "holds the inputs before '$W/s1g' (1 of 2), not it or those after it" "$W/gain.err" || { cat "$W/gain.err"; fail "what the output holds"; }
"$NNL" status "$W/gain" 2> /dev/null | grep -q ' last_run=merged ' || fail "after a gained conflict: $("$NNL" status "$W/gain" 2>&1)"
[ "$(sqlite3 "$W/gain/nnlimits.sqlite" 'SELECT count(*) FROM points')" = "$(( $(sqlite3 "$W/s0/nnlimits.sqlite" 'SELECT count(*) FROM points') + \
  $(sqlite3 "$W/s1/nnlimits.sqlite" 'SELECT count(*) FROM points') ))" ] || fail "after a gained conflict, the output lacks s0 or holds more"
# Two splits of one job (3 shards, then 2, as after a re-split): several overlapping pairs of inputs, each checked in
# turn, merge to the direct run; a second pair's check failed with "database src is already in use" (an input left
# attached by the first pair's), naming neither input. And a conflict in the second overlapping pair is named.
for s in 0 1; do run 1 run $JOB -shard $s/2 -output "$W/h$s" > /dev/null 2>&1 || fail "shard $s/2"; done
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" "$W/h0" "$W/h1" -output "$W/resplit" > /dev/null 2> "$W/resplit.err" \
  || fail "merge of two splits: $(cat "$W/resplit.err")"
same_exports "$W/direct" "$W/resplit"
cp -r "$W/h1" "$W/h1bad"
sqlite3 "$W/h1bad/nnlimits.sqlite" "UPDATE netlayers SET q = zeroblob(length(q)) WHERE point = (SELECT id FROM points WHERE kind = 'network' ORDER BY ord DESC LIMIT 1)"
"$NNL" merge "$W/s0" "$W/s1" "$W/s2" "$W/h0" "$W/h1bad" -output "$W/resplit_bad" > /dev/null 2> "$W/resplit.err" \
  && fail "merge of a conflicting second split accepted"
grep -q "h1bad' both hold the .* with results that differ" "$W/resplit.err" || fail "conflict in a later pair: $(cat "$W/resplit.err")"
# An input that another connection is writing (a run between its commits: here a write transaction held open) is
# merged at once from its last commit: the merge took a write lock on every attached input (BEGIN IMMEDIATE) and
# waited up to SQLite's 60 s busy timeout, then stalled the run's commits while it copied.
hold "$W/s0/nnlimits.sqlite" hold2
set +e; timeout 30 "$NNL" merge "$W/s0" "$W/s1" "$W/s2" -output "$W/busy" > /dev/null 2> "$W/busy.err"; rc=$?; set -e
release
[ "$rc" = 0 ] || fail "merge of an input being written: exit $rc (124: it waited for the writer): $(cat "$W/busy.err")"
same_exports "$W/direct" "$W/busy"
# Points of runs with other OpenBLAS builds or kernel types (runs.versions) may differ in their last bits (spectra,
# Fokker-Planck densities, past 8 inputs everything): a merge of such shards, and a run into such a store, warn, naming
# them; a merge of shards of one machine does not. Catches two node types' shards merged in silence.
"$NNL" merge "$W/s0" "$W/s1" -output "$W/k01" > /dev/null 2> "$W/k01.err" || fail "merge of two shards"
grep -q "OpenBLAS" "$W/k01.err" && fail "a merge of one machine's shards warns of OpenBLAS: $(cat "$W/k01.err")"
cp -r "$W/s0" "$W/k0" && sqlite3 "$W/k0/nnlimits.sqlite" "UPDATE runs SET versions = replace(versions, 'OpenBLAS ', 'OpenBLAS Prescott ')"
"$NNL" merge "$W/k0" "$W/s1" -output "$W/k2" > /dev/null 2> "$W/k2.err" || fail "merge of shards of two kernels"
grep -q "warning: '$W/k2' holds points of runs with other OpenBLAS builds or kernels (OpenBLAS Prescott " "$W/k2.err" ||
  fail "merge of shards of two OpenBLAS kernels: no warning: $(cat "$W/k2.err")"
run 1 run $JOB -shard 0/3 -output "$W/k0" > /dev/null 2> "$W/k0.err" || fail "run into a store of another kernel"
grep -q "warning: '$W/k0' holds points of runs with other OpenBLAS" "$W/k0.err" ||
  fail "run into a store of another OpenBLAS kernel: no warning: $(cat "$W/k0.err")"

# A point's shard does not depend on the ranks of the shard's run: spectra teams (-spectra_team_size 2, its spectra
# from 8 rows on the team) change the cost model's price of a task with the ranks a run has, and the shards were cut
# by those prices: shard 0/2 at 1 rank and 1/2 at 2 ranks held 54 and 52 of the 108 points, 2 of them in both (whose
# spectra, LAPACK's and ScaLAPACK's, differ in the last digits: the merge refused them) and 4 in neither.
TJOB="-family mlp,resnet -grid_activation relu,tanh -grid_width 16,64,200,700 -grid_depth 2,6,20 -grid_seed 0-2
      -inputs 4 -input_dim 4 -spectra_layers all -record_layers last -spectra_team_size 2 -spectra_team_min 8
      -progress_interval 0"
run 1 run $TJOB -shard 0/2 -output "$W/t0" > /dev/null 2>&1 || fail "shard 0/2 of the team job at 1 rank"
run 2 run $TJOB -shard 1/2 -output "$W/t1" > /dev/null 2>&1 || fail "shard 1/2 of the team job at 2 ranks"
"$NNL" merge "$W/t0" "$W/t1" -output "$W/tall" > "$W/tmerge.out" 2>&1 &&
  grep -q '^status dir=.* done=108 failed=0 pending=0 total=108 ' "$W/tmerge.out" ||
  { cat "$W/tmerge.out"; fail "shards of a job with spectra teams run at 1 and 2 ranks do not make the whole job"; }

# Shards are cut by the cost model: a shard begun by a build of another model holds points this build gives to other
# shards. Such a store (shard 0's points in a store stamped shard 1, as an older cut would leave) makes the run say so,
# compute shard 1 as this build cuts it, and the two shards merge into the whole job; a shard of this build's own cut
# says nothing. status counts such a store as this build cuts it (it read finished). Catches the warning lost, or the
# run or status taking the store's points for its shard's.
CJOB="-family mlp -grid_width 8,16 -grid_depth 3 -grid_seed 0-6 -grid_activation relu -progress_interval 0"
run 0 run $CJOB -shard 0/2 -output "$W/c0" > /dev/null 2> "$W/c0.err" || fail "shard 0/2 of the cut job"
grep -q "other shards" "$W/c0.err" && fail "a shard of this build's cut warns: $(cat "$W/c0.err")"
cp -r "$W/c0" "$W/c1"
sqlite3 "$W/c1/nnlimits.sqlite" "UPDATE meta SET value = '1/2' WHERE key = 'shard'"
# status counts such a shard as this build cuts the job: its 6 points are shard 0's, its own 7 pending (it read
# done=6 pending=0, finished, and submit and merge.sbatch took it for finished), and says why and what to do
"$NNL" status "$W/c1" > "$W/c1.st" 2> "$W/c1.sterr" || fail "status of a shard of another cut"
grep -q "^status dir=$W/c1 done=0 failed=0 pending=7 total=7 last_run=complete rate=[^ ]* eta=-$" "$W/c1.st" &&
  grep -q "^status: $W/c1: shard 1/2 was cut by a build with another cost model: it holds 6 points that this build gives to other shards of the job, and this build gives it 7 (its store counts 6), 7 of them pending; .*Run every shard of the job with this build before merging" "$W/c1.sterr" ||
  { cat "$W/c1.st" "$W/c1.sterr"; fail "status of a shard of another cut reads finished, or says nothing"; }
st=$("$NNL" status "$W/c0" "$W/c1" 2>&1)
grep -q "^status dir=(all) done=6 failed=0 pending=7 total=13 " <<< "$st" || fail "status (all) of two shards of two cuts: $st"
st=$("$NNL" status "$W/c0" 2>&1)
! grep -q "another cost model" <<< "$st" || fail "status of a shard of this build's cut warns: $st"
run 0 run $CJOB -shard 1/2 -output "$W/c1" > /dev/null 2> "$W/c1.err" || fail "shard 1/2 into a store of another cut"
grep -q "warning: '$W/c1' holds 6 points that this build gives to other shards of the job" "$W/c1.err" ||
  fail "a shard of another cut: no warning: $(cat "$W/c1.err")"
st=$("$NNL" status "$W/c1" 2>&1)
grep -q "^status dir=$W/c1 done=7 failed=0 pending=0 total=7 " <<< "$st" || fail "status of a shard of another cut, run by this build: $st"
# A run stamps its shard's store with its cut (meta shard_cut), and status trusts a stamp of this build's cut rather than
# cutting the job again (seconds and GBs at 10^8 points); a store run into by another cut is 'mixed' for good, and cut
# again. The job's own options price the cells when status cuts it: a limit's cost reads -limit_ts_type, and with the
# options status itself was given (none) a job of -limit_ts_type bdf read as cut by another model, shard 0/2 with 25 of
# its 26 points pending. Catches a stamp not written, not trusted, or trusted after another cut's run, and the cut
# priced without the job's options (stamped or not).
st=$("$NNL" status "$W/c0" -info 2>&1)
grep -q "shard 0/2: its stamp is this build's cut" <<< "$st" || fail "status of a stamped shard cut the job again: $st"
cp -r "$W/c0" "$W/cx"
sqlite3 "$W/cx/nnlimits.sqlite" "UPDATE meta SET value = '0123456789abcdef' WHERE key = 'shard_cut'"
run 0 run $CJOB -shard 0/2 -output "$W/cx" > /dev/null 2>&1 || fail "shard 0/2 into a store of another stamp"
[ "$(sqlite3 "$W/cx/nnlimits.sqlite" "SELECT value FROM meta WHERE key = 'shard_cut'")" = mixed ] ||
  fail "a store of another cut's stamp is not marked mixed by this build's run"
st=$("$NNL" status "$W/cx" -info 2>&1)
! grep -q "its stamp is" <<< "$st" && grep -q "^status dir=$W/cx done=6 failed=0 pending=0 total=6 " <<< "$st" ||
  fail "status of a mixed store: $st"
BJOB="-family mlp,resnet -grid_width 8,16 -grid_depth 3,50 -grid_seed 0-3 -grid_activation relu,tanh -limit_ts_type bdf"
BJOB="$BJOB -record_layers all -progress_interval 0"
run 0 run $BJOB -shard 0/2 -output "$W/b0" > /dev/null 2>&1 && run 0 run $BJOB -shard 1/2 -output "$W/b1" > /dev/null 2>&1 ||
  fail "the shards of a job of -limit_ts_type bdf"
for stamp in kept removed; do
  st=$("$NNL" status "$W/b0" "$W/b1" 2>&1)
  ! grep -q "another cost model" <<< "$st" && grep -q "^status dir=(all) done=56 failed=0 pending=0 total=56 " <<< "$st" ||
    fail "status of the shards of a job of -limit_ts_type bdf (stamp $stamp): $st"
  sqlite3 "$W/b0/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'shard_cut'"
  sqlite3 "$W/b1/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'shard_cut'"
done
# status reads a store's job back to cut it as this build does; a job it cannot read back (a text of options this
# build would not write so) leaves the store's counts as they are. Every shipped job reads back: the store of an empty
# shard of each (its run is instant), stamped shard 0/2, is counted as this build gives shard 0/2 its points.
for j in "${NNL_SOURCE_DIR:?}"/jobs/*.opts "$NNL_SOURCE_DIR"/jobs/*.yaml; do
  d=$W/rt-$(basename "$j")
  run 0 run -options_file "$j" -shard 99999/100000 -output "$d" -progress_interval 0 > /dev/null 2>&1 || fail "empty shard of $j"
  sqlite3 "$d/nnlimits.sqlite" "UPDATE meta SET value = '0/2' WHERE key = 'shard'"
  st=$("$NNL" status "$d" 2>&1) || fail "status of the empty shard of $j: $st"
  grep -q "^status: $d: shard 0/2 was cut by a build with another cost model" <<< "$st" ||
    fail "status does not read $j's stored job back: $st"
done
"$NNL" merge "$W/c0" "$W/c1" -output "$W/call" > /dev/null 2>&1 || fail "merge of the shards of two cuts"
run 0 run $CJOB -output "$W/cref" > /dev/null 2>&1 || fail "the cut job's direct run"
same_exports "$W/call" "$W/cref"

echo "merge: 3 shards merged = direct run (twice), status sums shards, merged store resumes as the whole job," \
  "merges into an input or a shard store refused, conflicting copies of a point refused before anything is written," \
  "a point an input gains during the merge checked, two splits of a job merged, shards at 1 and 2 ranks with spectra" \
  "teams, a shard of another build's cut said and completed, a shard's cut stamp trusted (not after another cut's" \
  "run), a job's own options pricing its cut"
