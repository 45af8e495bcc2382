# ctest-label: mpi
# The same sweep at 1, 2 and 3 ranks, and with rank 0 only coordinating, gives byte-identical CSV exports.
# Catches: random streams keyed by rank or schedule, rows written in arrival order, lost or duplicated points,
# a coordinator that drops results when it computes too.
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
