# A finished run extended with more values of its axes (seeds, widths, depths, activations, families) into the same
# directory keeps its points and computes only the new ones, and ends with exports byte-identical to a fresh run of
# the bigger job (points in its order: the kept points' ords are rewritten). Anything else is still a different job.
# Catches: a grown grid refused (it was: "different options"), kept points recomputed or lost, exports in the old
# grid's order, a store that says the old total, an extension of a shard or with another option accepted.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
cd "$W"
SMALL="-family resnet -grid_activation relu -grid_width 16 -grid_depth 4,8 -grid_seed 0-6 -progress_interval 0"
BIG="-family resnet,mlp -grid_activation tanh,relu -grid_width 8,16 -grid_depth 4,8 -grid_seed 0-12 -progress_interval 0"
run 0 run $SMALL -output grown > /dev/null 2>&1 || fail "small run"
small=$("$NNL" status grown | grep -o ' done=[0-9]*' | cut -d= -f2)
# the bigger job, its axes in another order too, at 2 ranks
run 2 run $BIG -output grown > grow.out 2> grow.err || fail "extension refused: $(cat grow.err)"
grep -q "extending 'grown': its $small points are kept" grow.err || fail "no extension line: $(cat grow.err)"
read -r total todo <<< "$(sed -n 's/^run .* tasks=\([0-9]*\) .* todo=\([0-9]*\) .*/\1 \2/p' grow.err)"
[ "$todo" = $((total - small)) ] || fail "extension computes $todo tasks, not the $((total - small)) new ones of $total"
[ "$(sqlite3 grown/nnlimits.sqlite "SELECT count(*) FROM points WHERE run=1")" = "$small" ] || fail "kept points recomputed"
run 1 run $BIG -output fresh > /dev/null 2>&1 || fail "fresh run of the bigger job"
same_exports grown fresh
"$NNL" status grown | grep -q "done=$total failed=0 pending=0 total=$total " || fail "status after the extension: $("$NNL" status grown)"
# rerunning the smaller job there now is a different job (the store is the bigger one's), as is another option
run 0 run $SMALL -output grown > /dev/null 2> small.err && fail "the smaller job ran in the grown store"
grep -q "different options" small.err || fail "smaller job: $(cat small.err)"
run 0 run $BIG -inputs 3 -output grown > /dev/null 2> in.err && fail "an extension with another -inputs ran"
grep -q "different options: inputs=2 there, inputs=3 here" in.err || fail "-inputs: $(cat in.err)"
# numbers as the user wrote them, not the job text's 17 digits (input_correlation=0.5 there, 0.29999999999999999 here)
run 0 run $BIG -input_correlation 0.3 -output grown > /dev/null 2> in.err && fail "an extension with another correlation ran"
grep -q "different options: input_correlation=0.5 there, input_correlation=0.3 here" in.err || fail "-input_correlation: $(cat in.err)"
# a shard is not extended: a grown grid's shards hold other points
run 0 run $SMALL -shard 0/2 -output sharded > /dev/null 2>&1 || fail "shard run"
run 0 run $SMALL -grid_seed 0-12 -shard 0/2 -output sharded > /dev/null 2> sh.err && fail "a shard was extended"
grep -q "different options" sh.err || fail "shard: $(cat sh.err)"
# the same values in another order add nothing: said so (it said "extending", with the grid "now" its old size)
run 0 run ${BIG/-grid_width 8,16/-grid_width 16,8} -output fresh > /dev/null 2> reorder.err || fail "reordered job: $(cat reorder.err)"
grep -q "reordering 'fresh': the same $total points with the axes' values in the order given" reorder.err &&
  ! grep -q extending reorder.err && grep -q " todo=0 " reorder.err || fail "reordered job: $(cat reorder.err)"
# a store whose job text an earlier build wrote with words this build drops (-record_layers K at least the depth, a
# solver's option at its default or for a solver the job does not run) is the same job: it resumes, and takes this
# build's text. Catches: such a store refused for good ("limit_ts_rtol=1e-12 there, (absent) here": the option, given
# again, is dropped again).
run 0 run $SMALL -output old > /dev/null 2>&1 || fail "small run (old)"
sqlite3 old/nnlimits.sqlite "UPDATE meta SET value = replace(value, 'record_layers=all', 'record_layers=8') ||
  'limit_goursat_cells=64' || char(10) || 'limit_ts_rtol=1e-12' || char(10) WHERE key = 'job'"
run 0 run $SMALL -output old > /dev/null 2> old.err || fail "an earlier build's words for the same job refused: $(cat old.err)"
grep -q " todo=0 " old.err || fail "old: $(cat old.err)"
run 0 run $SMALL -output fresh_small > /dev/null 2>&1 || fail "small run (fresh)"
[ "$(sqlite3 old/nnlimits.sqlite "SELECT value FROM meta WHERE key = 'job'")" = \
  "$(sqlite3 fresh_small/nnlimits.sqlite "SELECT value FROM meta WHERE key = 'job'")" ] ||
  fail "old: its job text is not this build's"
# -record_layers 1 records the last layer alone, as 'last' does (README: K = 1 is last): the same job, so a directory of
# one resumes with the other, and a store an earlier build wrote with 'record_layers=1' too. Catches 'record_layers=1
# there, record_layers=last here' for the same layers.
run 0 run $SMALL -record_layers 1 -output k1 > /dev/null 2>&1 || fail "record_layers 1"
run 0 run $SMALL -record_layers last -output k1 > /dev/null 2> k1.err && grep -q " todo=0 " k1.err ||
  fail "-record_layers last into a run of -record_layers 1: $(cat k1.err)"
sqlite3 k1/nnlimits.sqlite "UPDATE meta SET value = replace(value, 'record_layers=last', 'record_layers=1') WHERE key = 'job'"
run 0 run $SMALL -record_layers 1 -output k1 > /dev/null 2> k1.err && grep -q " todo=0 " k1.err ||
  fail "an earlier build's record_layers=1: $(cat k1.err)"
# swept settings (-sigma_w2 1,2 -branch_alpha 0.5,1): more values of a swept list, and another activation, extend the
# run as its axes do (the entries' names, and so their ids, stay), with exports as a fresh run's; a setting that was one
# value and is now a list renames every entry: another job. Catches: a swept setting's new value refused, or the kept
# entries recomputed (their ids changed).
SW="-family mlp,resnet -grid_width 16 -grid_depth 4 -grid_seed 0-6 -branch_alpha 0.5,1 -progress_interval 0"
run 0 run $SW -grid_activation relu -sigma_w2 1,2 -output swept > /dev/null 2>&1 || fail "swept run"
kept=$("$NNL" status swept | grep -o ' done=[0-9]*' | cut -d= -f2)
run 2 run $SW -grid_activation relu,tanh -sigma_w2 2,3,1 -output swept > /dev/null 2> sw.err || fail "swept extension refused: $(cat sw.err)"
grep -q "extending 'swept': its $kept points are kept" sw.err || fail "swept: no extension line: $(cat sw.err)"
[ "$(sqlite3 swept/nnlimits.sqlite "SELECT count(*) FROM points WHERE run=1")" = "$kept" ] || fail "swept: kept points recomputed"
run 1 run $SW -grid_activation relu,tanh -sigma_w2 2,3,1 -output swept_fresh > /dev/null 2>&1 || fail "fresh swept run"
same_exports swept swept_fresh
run 0 run $SW -grid_activation relu -sigma_w2 1 -output one > /dev/null 2>&1 || fail "one-value run"
run 0 run $SW -grid_activation relu -sigma_w2 1,2 -output one > /dev/null 2> one.err && fail "a single sigma_w2 became a list in place"
grep -q "different options: sigma_w2=1 there, sigma_w2=1,2 here" one.err || fail "single to list: $(cat one.err)"
# the attention blocks' swept -attn_tau0, -attn_gamma: the same rule through their own lines of the job text (one line
# for both while neither is a list). Catches: an attention list's new value refused, or its kept entries recomputed.
AT="-family shaped_attention,softmax_attention -grid_activation linear -inputs 3 -grid_width 8 -grid_depth 4 -attn_gamma 0.5,0.7 -progress_interval 0"
run 0 run $AT -grid_seed 0-4 -attn_tau0 0.5,1 -output att > /dev/null 2>&1 || fail "swept attention run"
kept=$("$NNL" status att | grep -o ' done=[0-9]*' | cut -d= -f2)
run 2 run $AT -grid_seed 0-6 -attn_tau0 2,0.5,1 -output att > /dev/null 2> at.err || fail "attention extension refused: $(cat at.err)"
grep -q "extending 'att': its $kept points are kept" at.err || fail "attention: no extension line: $(cat at.err)"
run 1 run $AT -grid_seed 0-6 -attn_tau0 2,0.5,1 -output att_fresh > /dev/null 2>&1 || fail "fresh swept attention run"
same_exports att att_fresh
# A job no deeper than its -record_layers K stores 'all': a deeper depth is another job (K log-spaced layers), and
# its refusal says so and how to extend (-record_layers all), which then extends.
R="-family resnet -grid_activation relu -grid_width 8 -grid_seed 0-2 -progress_interval 0"
run 0 run $R -grid_depth 16 -output shallow > /dev/null 2>&1 || fail "shallow run"
run 0 run $R -grid_depth 16,64 -output shallow > /dev/null 2> deep.err && fail "a deeper depth with record_layers 16 taken"
grep -q "record_layers=all there, record_layers=16 here .*to extend this run deeper, give -record_layers all)" deep.err \
  || fail "record_layers refusal without its reason: $(cat deep.err)"
run 0 run $R -grid_depth 16,64 -record_layers all -output shallow > /dev/null 2> deep.err || fail "-record_layers all: $(cat deep.err)"
grep -q "extending 'shallow'" deep.err || fail "-record_layers all did not extend: $(cat deep.err)"
# the other way (a deep run there, 'all' given here) the hint would be wrong: none
run 0 run $R -grid_depth 32 -output deep > /dev/null 2>&1 || fail "deep run"
run 0 run $R -grid_depth 32 -record_layers all -output deep > /dev/null 2> deep.err && fail "record_layers all over 16 taken"
grep -q "record_layers=16 there, record_layers=all here" deep.err && ! grep -q "give -record_layers all" deep.err \
  || fail "record_layers refusal the other way: $(cat deep.err)"
# A job line past 511 bytes (110 widths): extended by one width, and a rerun with another run seed named as such. Each
# stored line was cut at 512 bytes when compared: "grid_width: empty item in list" for both.
LONGW=$(seq -s, 1000 2 1218)
run 0 run -family mlp -grid_activation relu -grid_width $LONGW -grid_depth 1 -grid_seed 0 -progress_interval 0 \
  -output longline > /dev/null 2>&1 || fail "run of 110 widths"
run 0 run -family mlp -grid_activation relu -grid_width $LONGW,3000 -grid_depth 1 -grid_seed 0 -progress_interval 0 \
  -output longline > /dev/null 2> longline.err && grep -q "extending 'longline': its 111 points are kept" longline.err \
  || fail "extension of a job with a 600-byte line: $(cat longline.err)"
run 0 run -family mlp -grid_activation relu -grid_width $LONGW,3000 -grid_depth 1 -grid_seed 0 -progress_interval 0 \
  -run_seed 7 -output longline > /dev/null 2> longline.err && fail "another run seed taken"
grep -q "run_seed=0 there, run_seed=7 here" longline.err || fail "refusal of another run seed: $(cat longline.err)"
# a store whose job text an earlier build cut at 1023 bytes (made here by hand: a 200-width job's text cut there) is
# refused with the reason, not as "(absent) there, sampler=auto here"
CUTW=$(seq -s, 1000 2 1398)
run 0 run -family mlp -grid_activation relu -grid_width $CUTW -grid_depth 1 -grid_seed 0 -progress_interval 0 \
  -output cut > /dev/null 2>&1 || fail "run of 200 widths"
sqlite3 cut/nnlimits.sqlite "UPDATE meta SET value=substr(value, 1, 1023) WHERE key='job'"
run 0 run -family mlp -grid_activation relu -grid_width $CUTW -grid_depth 1 -grid_seed 0 -progress_interval 0 \
  -output cut > /dev/null 2> cut.err && fail "a store with a cut job text resumed"
grep -q "was written by an earlier nnlimits, which cut its job's text at 1023 bytes" cut.err || fail "cut job text: $(cat cut.err)"
echo "extend: a grown job resumes its store, computes only its new points, exports as a fresh run (swept settings too)"
