# Networks of m <= 8 inputs have the same bits on every x86-64 machine (README, How it works): the same sweep with
# each of our kernel builds (-isa) and each OpenBLAS core type (OPENBLAS_CORETYPE: Debian's OpenBLAS picks its
# kernels by CPU, and they round differently) gives byte-identical gram, stats and points exports. Inputs of
# correlation 1 make every layer's m×m Gram singular (the factor then is our pivoted Cholesky: LAPACK's dsyev, used
# before, gave other bits with each core type from m = 3); correlation 0.3 takes the plain Cholesky. The dense
# sampler at correlation 0.3 (its product W·A is ours: it was OpenBLAS's DGEMM). Catches: a kernel build or a
# generator kernel with other bits than the portable one, a singular or regular factor or a dense product through
# OpenBLAS.
source "$(dirname "$0")/lib.sh" "$@"
JOB="-family mlp,resnet -grid_activation relu,tanh -grid_width 4,9 -grid_depth 5,40 -grid_seed 0-3 -inputs 3
     -input_dim 5 -record_layers all -progress_interval 0"
isas="plain"
grep -qw avx2 /proc/cpuinfo && isas="$isas avx2"
grep -qw avx512f /proc/cpuinfo && isas="$isas avx512"
for case in projection:1 projection:0.3 dense:0.3; do
  r=${case#*:} sampler=${case%:*}
  run 0 run $JOB -sampler $sampler -input_correlation $r -output "$W/ref$sampler$r" > /dev/null 2>&1
  for t in gram points stats; do "$NNL" export "$W/ref$sampler$r" -table $t -o "$W/ref.$t.csv"; done
  for isa in $isas; do
    for core in Prescott Haswell SkylakeX; do
      [ $isa$core = avx512SkylakeX ] && continue # the reference on an AVX-512 machine
      OPENBLAS_CORETYPE=$core run 0 run $JOB -sampler $sampler -input_correlation $r -isa $isa -output "$W/$isa$core$sampler$r" > /dev/null 2>&1 ||
        fail "-isa $isa with OPENBLAS_CORETYPE=$core: the run failed"
      for t in gram points stats; do
        "$NNL" export "$W/$isa$core$sampler$r" -table $t -o "$W/b.csv"
        cmp -s "$W/ref.$t.csv" "$W/b.csv" || fail "$sampler, correlation $r: -isa $isa with OPENBLAS_CORETYPE=$core: $t export differs"
      done
    done
  done
  echo "$sampler, correlation $r: exports identical with -isa $isas x OPENBLAS_CORETYPE Prescott, Haswell, SkylakeX"
done
