# Inputs of correlation 1 are copies of one another (x_b = x_a), and of correlation -1 negatives (x_b = -x_a); a
# network keeps them so to the last bit at every layer (NNLSqrtPSD gives a Gram column that is ± an earlier one that
# column's factor: src/sqrtpsd.c). Factored with the others, a copy's pivot is a rounding's worth, and the plain
# Cholesky takes it when it comes out > 0: the copy then has a part of its own of 1e-8 relative, and q_00, q_01, q_11
# of the next layer differ in their 9th digit (an earlier release). Checked in the gram export, bitwise:
#   q_00 = q_11 = s q_01 and q_02 = s q_12 at every recorded layer, s = 1 (copies) or -1 (negatives, with tanh, which
#   is odd: relu is not, so its negatives part after one layer);
# for the default sampler (the projection sampler; the controlled ResNet's dense one) at m = 3, and at m = 10 past
# NNL_SMALL_M (where the other columns' factor is LAPACK's), the dense sampler, and the shaped MLP's covariance SDE paths
# (sde export: their factors go through the 8-path lanes of src/sdelanes.c, which must hand a copy to the scalar code).
# Attention blocks and transformers, of either sampler and their SDE paths, keep copies too (tokens' correlations of ±1
# exactly: NNLAttentionCorrelation), not negatives (a softmax is not odd).
# A store of the previous schema holding networks of such inputs (no meta psd_copies) is refused for a run or a merge
# that would add to it; one of other correlations, or of one input, resumes, stamped and upgraded.
# Catches: copies factored with the others, a negative's sign lost, the SDE lanes taking copies, old and new rows in
# one store, a store refused for nothing.
source "$(dirname "$0")/lib.sh" "$@"
# law FILE S QCOL: every (key, layer or time) of the export FILE, keyed by its columns before a and b, obeys the law
# for sign S; prints how many
law() {
  awk -F, -v s="$2" -v qc="$3" 'NR > 1 { k = ""; for (i = 1; i < qc - 2; i++) k = k $i ","; q[k, $(qc - 2) $(qc - 1)] = $qc
      keys[k] = 1 }
    END { for (k in keys) { n++; a = q[k, "00"]; if (!(a == q[k, "11"] && a == s * q[k, "01"] && q[k, "02"] == s * q[k, "12"] && a != ""))
            { print "law broken at " k ": q00 " a ", q01 " q[k, "01"] ", q11 " q[k, "11"] ", q02 " q[k, "02"] ", q12 " q[k, "12"] > "/dev/stderr"; bad = 1 } }
      print n + 0; exit bad }' "$1"
}
J="-grid_width 16 -grid_depth 8 -grid_seed 0-2 -inputs 3 -record_layers all -progress_interval 0"
NETS="-family mlp,resnet,shaped_mlp,controlled_resnet"
ATT="-family shaped_attention,softmax_attention,shaped_transformer,softmax_transformer -grid_activation linear"
for case in "1:1,0.3,0.3:relu,tanh" "-1:-1,0.3,-0.3:tanh"; do
  IFS=: read -r s r acts <<< "$case"
  for sampler in auto dense; do
    d="$W/net$s$sampler"
    run 0 run $NETS -grid_activation "$acts" $J -input_correlation "$r" \
      -sampler $sampler -output "$d" > /dev/null 2> "$d.err" || { cat "$d.err"; fail "run of correlation $r ($sampler)"; }
    "$NNL" export "$d" -table gram -o "$d.gram.csv"
    n=$(law "$d.gram.csv" "$s" 10) || fail "correlation $r, $sampler sampler: inputs 0 and 1 part (gram export)"
    [ "$n" -ge 60 ] || fail "correlation $r, $sampler: $n layers checked"
    echo "correlation $r, $sampler sampler: $n networks' layers keep inputs 0 and 1 copies"
    [ "$s" = 1 ] || continue # a softmax is not odd: attention keeps copies, not negatives
    run 0 run $ATT $J -input_correlation "$r" -sampler $sampler -output "$d.att" > /dev/null 2> "$d.err" \
      || { cat "$d.err"; fail "attention run of correlation $r ($sampler)"; }
    "$NNL" export "$d.att" -table gram -o "$d.att.gram.csv"
    n=$(law "$d.att.gram.csv" "$s" 10) || fail "correlation $r, attention, $sampler sampler: tokens 0 and 1 part (gram export)"
    [ "$n" -ge 60 ] || fail "correlation $r, attention, $sampler: $n layers checked"
    echo "correlation $r, $sampler sampler: $n attention networks' layers keep tokens 0 and 1 copies"
  done
done
run 0 run -family mlp,resnet -grid_activation relu,tanh -grid_width 16 -grid_depth 8 -grid_seed 0-2 -inputs 10 -input_correlation 1 \
  -record_layers all -progress_interval 0 -output "$W/m10" > /dev/null 2>&1 || fail "run of 10 inputs of correlation 1"
"$NNL" export "$W/m10" -table gram | awk -F, 'NR > 1 { k = $1 "," $2 "," $5 "," $6; if (!(k in q)) q[k] = $10; else if ($10 != q[k]) bad = 1 }
  END { exit bad }' || fail "10 inputs of correlation 1: a Gram entry differs from the others"
for case in "1:1,0.3,0.3:relu,tanh" "-1:-1,0.3,-0.3:tanh" "1a:1,0.3,0.3:linear"; do
  IFS=: read -r s r acts <<< "$case"
  d="$W/sde$s" fam=shaped_mlp
  [ "$s" = 1a ] && s=1 fam=shaped_attention,shaped_transformer
  run 0 run -family $fam -grid_activation "$acts" -grid_width 16 -grid_depth 16 -grid_seed 0-1 -inputs 3 -input_correlation "$r" \
    -sde_paths 24 -fp_cells 50 -record_layers 4 -progress_interval 0 -output "$d" > /dev/null 2>&1 || fail "SDE run of correlation $r"
  "$NNL" export "$d" -table sde -o "$d.sde.csv"
  n=$(law "$d.sde.csv" "$s" 9) || fail "correlation $r, $fam: SDE paths part inputs 0 and 1"
  [ "$n" -ge 20 ] || fail "correlation $r, $fam: $n SDE paths checked"
  echo "correlation $r, $fam: $n SDE paths keep inputs 0 and 1 copies"
done

# the previous schema's stores
old() { cp -r "$1" "$2"; sqlite3 "$2/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'psd_copies'; UPDATE meta SET value = '$(($(schema_of "$1") - 1))' WHERE key = 'schema'"; }
refused() { # refused DIR JOB...: a run of JOB into DIR and a merge of DIR end with exit 2 and the convention's message
  local d=$1 rc; shift
  set +e; run 0 run "$@" -output "$d" > /dev/null 2> "$W/old.err"; rc=$?; set -e
  [ "$rc" = 2 ] && grep -q "which an earlier release factored with the other inputs" "$W/old.err" \
    || { cat "$W/old.err"; fail "an old store of $d resumed (exit $rc)"; }
  set +e; "$NNL" merge "$d" -output "$d.merged" > /dev/null 2> "$W/old.err"; rc=$?; set -e
  [ "$rc" = 2 ] && grep -q "which an earlier release factored with the other inputs" "$W/old.err" \
    || { cat "$W/old.err"; fail "an old store of $d merged (exit $rc)"; }
}
old "$W/net1auto" "$W/old1"
refused "$W/old1" -family mlp,resnet,shaped_mlp,controlled_resnet -grid_activation relu,tanh $J -input_correlation 1,0.3,0.3
old "$W/net-1dense" "$W/oldm1"
refused "$W/oldm1" -family mlp,resnet,shaped_mlp,controlled_resnet -grid_activation tanh $J -input_correlation -1,0.3,-0.3 -sampler dense
old "$W/sde1" "$W/oldsde"
refused "$W/oldsde" -family shaped_mlp -grid_activation relu,tanh -grid_width 16 -grid_depth 16 -grid_seed 0-1 -inputs 3 \
  -input_correlation 1,0.3,0.3 -sde_paths 24 -fp_cells 50 -record_layers 4 -progress_interval 0
for case in "3:0.3" "1:1"; do
  m=${case%:*} r=${case#*:}
  OJ="-family mlp -grid_activation relu -grid_width 8 -grid_depth 4 -grid_seed 0-3 -inputs $m -input_correlation $r -progress_interval 0"
  run 0 run $OJ -grid_seed 0-2 -output "$W/new$m" > /dev/null 2>&1 || fail "run of $m inputs, correlation $r"
  old "$W/new$m" "$W/resumed$m"
  run 0 run $OJ -output "$W/resumed$m" > /dev/null 2> "$W/old.err" || { cat "$W/old.err"; fail "an old store of $m inputs, correlation $r, refused"; }
  [ "$(sqlite3 "$W/resumed$m/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('schema', 'psd_copies') ORDER BY key)")" \
    = "copied $(schema_of "$W/new$m")" ] || fail "the resumed old store of $m inputs not stamped"
done
echo "old stores: networks and SDE paths of correlation 1 and -1 refused; of correlation 0.3, and of one input, resumed"
