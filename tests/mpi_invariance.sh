# The same sweep at 1, 2 and 3 ranks, and with rank 0 only coordinating, gives byte-identical CSV exports.
# Catches: random streams keyed by rank or schedule, rows written in arrival order, lost or duplicated points,
# a coordinator that drops results when it computes too. Then 3,001 tiny tasks, which go to the workers in chunks of
# several: a chunk's results lost, duplicated or attributed to the wrong point.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
JOB="-family mlp,resnet -grid_activation relu,tanh -grid_width 3,33 -grid_depth 3,7 -grid_seed 0-6 -inputs 3 -input_dim 5
     -sigma_b2 0.1 -progress_interval 0"
for np in 1 2 3; do run $np run $JOB -output "$W/np$np" > /dev/null; done
run 3 run $JOB -output "$W/np3c" -sched_rank0_computes 0 > /dev/null
n=$("$NNL" export "$W/np1" -table points | tail -n +2 | wc -l)
[ "$n" = 96 ] || fail "expected 96 points (2 families x 2 activations x 2 widths x 2 depths x 6 seeds), export has $n"
grep -q ',dense,' <("$NNL" export "$W/np1" -table points) || fail "no point used the dense sampler"
grep -q ',projection,' <("$NNL" export "$W/np1" -table points) || fail "no point used the projection sampler"
for d in np2 np3 np3c; do same_exports "$W/np1" "$W/$d"; done
echo "rank invariance: 1, 2, 3 ranks and a pure coordinator give identical exports of $n points"
# Tiny tasks go out in chunks (src/sched.c): the run must say so (-info), and its exports equal the 1-rank run's.
TINY="-family mlp -grid_activation relu -grid_width 3 -grid_depth 2 -grid_seed 0-3000 -inputs 2 -input_dim 3 -progress_interval 0"
run 1 run $TINY -output "$W/tiny1" > /dev/null
run 3 run $TINY -output "$W/tiny3" -sched_rank0_computes 0 -info > "$W/tiny3.info" 2>&1
line=$(grep -o 'sched: [0-9]* tasks to workers in [0-9]* chunks (largest [0-9]*)' "$W/tiny3.info") || fail "no sched: line in -info"
read -r tasks chunks largest <<< "$(echo "$line" | tr -cs '0-9' ' ')"
[ "$tasks" = 3001 ] || fail "expected 3001 tasks through the workers (3000 networks and 1 limit): $line"
[ "$chunks" -lt "$tasks" ] && [ "$largest" -gt 1 ] || fail "tiny tasks were not chunked: $line"
same_exports "$W/tiny1" "$W/tiny3"
echo "chunked hand-out: $line; exports identical to 1 rank"
# The dense sampler's W past 32 MB (m > 8: drawn whole) is kept from one network for the next that needs as much or
# up to half less (net.c). One process computing the 4 networks in turn equals 5 processes computing one task each
# (shards, merged), and 2 ranks. Catches a kept W not wholly redrawn: a network's numbers would depend on the one
# computed before it.
BIG="-family mlp -grid_activation relu -grid_width 2048,2800 -grid_depth 2 -grid_seed 0-2 -inputs 9 -input_dim 9
     -sampler dense -progress_interval 0"
run 1 run $BIG -output "$W/big1" > /dev/null
run 2 run $BIG -output "$W/big2" > /dev/null
for i in 0 1 2 3 4; do run 1 run $BIG -shard $i/5 -output "$W/bigs$i" > /dev/null; done
"$NNL" merge "$W"/bigs? -output "$W/bigm" > /dev/null
same_exports "$W/big1" "$W/big2"
same_exports "$W/big1" "$W/bigm"
echo "kept W: widths 2048 and 2800 with 9 inputs, one process, 2 ranks and a process a task give identical exports"
