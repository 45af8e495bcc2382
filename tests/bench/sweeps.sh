#!/usr/bin/env bash
# Benchmark (prints figures, asserts nothing): wall time of the default sweep at 1 and 2 ranks, parallel
# efficiency, and the projection vs dense sampler on one named sweep. Usage: bash tests/bench/sweeps.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
NNL=$PWD/build/nnlimits
[ -x "$NNL" ] || { echo "build first: bash tests/run (or cmake --build build)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
reps=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# median wall seconds of REPS fresh runs (each into an empty directory: a finished store would skip everything)
median_run() {
  local np=$1; shift
  for r in $(seq "$reps"); do
    rm -rf "$tmp/out"
    local t0 t1
    t0=$(date +%s.%N)
    mpiexec -n "$np" "$NNL" run "$@" -output "$tmp/out" -progress_interval 0 > /dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
  done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

t1=$(median_run 1)
t2=$(median_run 2)
echo "bench=default_sweep ranks=1 wall_s=$t1"
awk -v a="$t1" -v b="$t2" 'BEGIN {printf "bench=default_sweep ranks=2 wall_s=%.3f speedup=%.3f efficiency=%.3f\n", b, a / b, a / (2 * b)}'

# The sampler comparison: ResNet, relu, m = 4 inputs, widths 128 and 512, depth 64, 16 seeds, last layer only.
S="-family resnet -grid_activation relu -grid_width 128,512 -grid_depth 64 -grid_seed 0-16 -inputs 4 -record_layers last"
tp=$(median_run 1 $S -sampler projection)
td=$(median_run 1 $S -sampler dense)
awk -v p="$tp" -v d="$td" 'BEGIN {printf "bench=sampler sweep=resnet_relu_w128,512_L64_m4_16seeds projection_s=%.3f dense_s=%.3f dense_over_projection=%.2f\n", p, d, d / p}'
