# Networks of m <= 8 inputs have the same bits on every x86-64 machine (README, How it works): the same sweep with
# each of our kernel builds (-isa) and each OpenBLAS core type (OPENBLAS_CORETYPE: Debian's OpenBLAS picks its
# kernels by CPU, and they round differently) gives byte-identical gram, stats and points exports. Inputs of
# correlation 1 make every layer's m×m Gram singular (copies: the factor then is one column's, copied; before copies,
# our pivoted Cholesky; LAPACK's dsyev, used before that, gave other bits with each core type from m = 3);
# correlation 0.3 takes the plain Cholesky. The dense
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
# SDE paths (the fixed-width ResNet SDE and the shaped MLP's covariance SDE, m = 3): their m×m products are our own
# loops too, so every -isa and OpenBLAS core type gives the same paths. (Their Fokker–Planck density goes through
# PETSc's solvers and BLAS: not compared.) Catches: an SDE step through OpenBLAS's DGEMM (its paths differed between
# the Prescott and Haswell core types).
SDEJOB="-family shaped_mlp,resnet -grid_activation relu,tanh -grid_width 8,16 -grid_depth 16 -grid_seed 0-1 -inputs 3
        -input_dim 5 -sde_paths 40 -fp_cells 50 -progress_interval 0"
cores="Prescott Haswell"
grep -qw avx512f /proc/cpuinfo && cores="$cores SkylakeX" # its kernels need AVX-512, and the limits call BLAS
# same_bits NAME "TABLES" JOB...: the job run once as it is, then with every -isa and core type, exports TABLES equal
same_bits() {
  local name=$1 tables=$2; shift 2
  run 0 run "$@" -output "$W/$name.ref" > /dev/null 2>&1 || fail "$name: the run failed"
  for t in $tables; do "$NNL" export "$W/$name.ref" -table $t -o "$W/$name.ref.$t.csv"; done
  for isa in $isas; do
    for core in $cores; do
      OPENBLAS_CORETYPE=$core run 0 run "$@" -isa $isa -output "$W/$name.$isa$core" > /dev/null 2>&1 ||
        fail "$name, -isa $isa with OPENBLAS_CORETYPE=$core: the run failed"
      for t in $tables; do
        "$NNL" export "$W/$name.$isa$core" -table $t -o "$W/b.csv"
        cmp -s "$W/$name.ref.$t.csv" "$W/b.csv" || fail "$name: -isa $isa with OPENBLAS_CORETYPE=$core: $t export differs"
      done
    done
  done
}
same_bits sde sde $SDEJOB
echo "SDE paths: exports identical with -isa $isas x OPENBLAS_CORETYPE $cores"
# The shaped and softmax attention blocks (m = 3 tokens), both samplers and the shaped one's SDE task: the logits, the
# softmax (NNLExp), A V Aᵀ, the dense W^Q·Y and the SDE's drift and noise are our own loops. Catches a step of it
# through OpenBLAS or libm's exp.
for sampler in projection dense; do
  same_bits att$sampler "gram stats sde" -family shaped_attention,softmax_attention -grid_activation linear -grid_width 4,9 \
    -grid_depth 5,40 -grid_seed 0-3 -inputs 3 -input_dim 5 -input_correlation 0.3 -attn_tau0 0.5 -record_layers all -sde_paths 20 \
    -sampler $sampler -progress_interval 0
  same_bits tr$sampler "gram stats sde" -family shaped_transformer -grid_activation relu -grid_width 4,9 -grid_depth 5,40 \
    -grid_seed 0-3 -inputs 3 -input_dim 5 -input_correlation 0.3 -attn_tau0 0.5 -shape_c_minus -2 -record_layers all -sde_paths 20 \
    -sampler $sampler -progress_interval 0
done
echo "shaped and softmax attention, shaped transformer: exports identical with -isa $isas x OPENBLAS_CORETYPE $cores, both samplers"
