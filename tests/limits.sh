# Limits through a real run (MATH.md §2, §4.1, §4.2), read back with `nnlimits export`:
#  (a) -table limits of a ReLU and a linear ResNet: q_ode is q_0 e^{t/2} on the ReLU diagonal and q_0 e^t for the
#      linear network, to 1e-9 relative, at every recorded layer; q_nngp of the linear ResNet is (1 + 1/L)^l q_0.
#      Catches: limits stored at the wrong layer or t, pairs swapped, the ODE fed the wrong initial covariance.
#  (b) -table compare at width 512: every (layer, a, b) mean over 64 seeds is within 4 standard errors of q_nngp,
#      for relu and tanh (the finite-width bias ~1/n is far below 4 s.e. here), and the table's mean, se, err and z
#      are those computed here from -table gram. Catches: a join that pairs a network with another depth's or
#      activation's limit, a wrong reduction over seeds, z computed against the wrong limit.
#  (c) a solver failure (-limit_ts_max_steps 3), or a kernel that overflows (leaky_relu:1e100), fails that limit
#      alone, with a message; the networks and q_nngp are all there and the run exits 0. A -limit_ts_* option that changes values is part of the job: a resume without
#      it is refused. Catches: a failed ODE aborting the sweep, -limit_ts_* options not reaching the solver.
#  (d)-(j) below.
# ctest-label: law
source "$(dirname "$0")/lib.sh" "$@"

run 2 run -family resnet -grid_activation relu,linear -grid_width 16 -grid_depth 7,64 -grid_seed 0-2 -inputs 3 -record_layers all \
  -input_correlation 0.3 -progress_interval 0 -output "$W/exact" > /dev/null 2>&1 || fail "exact run"
"$NNL" export "$W/exact" -table limits -o "$W/exact.csv"
head -1 "$W/exact.csv" | grep -qx 'family,activation,depth,layer,t,a,b,q_nngp,q_ode' || fail "limits header"
awk -F, 'NR > 1 {
  q0 = ($6 == $7) ? 1 : 0.3
  want = ($2 == "relu") ? q0 * exp($5 / 2) : q0 * exp($5)
  if ($2 == "relu" && $6 != $7) next   # the ReLU off-diagonal has no closed form (test_limits checks it)
  if (($9 - want) > 1e-9 * want || (want - $9) > 1e-9 * want) { print "ode", $0, want; bad++ }
  if ($2 == "linear") { nngp = q0 * (1 + 1 / $3) ^ $4
    if (($8 - nngp) > 1e-12 * nngp || (nngp - $8) > 1e-12 * nngp) { print "nngp", $0, nngp; bad++ } }
  rows++ }
  END { if (bad || rows != 2 * (8 + 65) * 6 - (8 + 65) * 3) exit 1 }' "$W/exact.csv" \
  || fail "limits table: closed forms not met (or wrong row count)"

run 2 run -family resnet -grid_activation relu,tanh -grid_width 512 -grid_depth 8,32 -grid_seed 0-64 -inputs 2 \
  -input_correlation 0.5 -record_layers 4 -progress_interval 0 -output "$W/mc" > /dev/null 2>&1 || fail "mc run"
"$NNL" export "$W/mc" -table compare -o "$W/compare.csv"
"$NNL" export "$W/mc" -table gram -o "$W/gram.csv"
head -1 "$W/compare.csv" \
  | grep -qx 'family,activation,width,depth,layer,t,a,b,seeds,mean,se,q_nngp,q_ode,err_nngp,z_nngp,err_ode,z_ode' \
  || fail "compare header"
awk -F, 'NR > 1 { n++; if ($9 != 64) { print "seeds", $0; bad++ }
  z = $15 < 0 ? -$15 : $15; if (z > 4) { print "z", $0; bad++ }
  if (($14 - ($10 - $12)) ^ 2 > 1e-28 || ($15 - $14 / $11) ^ 2 > 1e-20 || ($16 - ($10 - $13)) ^ 2 > 1e-28) { print "err", $0; bad++ } }
  END { if (bad || n != 2 * (5 + 5) * 3) { print n " rows"; exit 1 } }' "$W/compare.csv" \
  || fail "compare: a mean beyond 4 s.e. of q_nngp, or inconsistent errors"
/usr/bin/python3 - "$W/gram.csv" "$W/compare.csv" <<'PYEOF' || fail "compare mean/se differ from the gram export"
import csv, sys, math
groups = {}
for r in csv.DictReader(open(sys.argv[1])):
    groups.setdefault(tuple(r[k] for k in ("family", "activation", "width", "depth", "layer", "a", "b")), []).append(float(r["q"]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(groups), (len(rows), len(groups))
for r in rows:
    q = groups[tuple(r[k] for k in ("family", "activation", "width", "depth", "layer", "a", "b"))]
    m = sum(q) / len(q)
    se = math.sqrt(sum((x - m) ** 2 for x in q) / (len(q) - 1) / len(q))
    assert abs(float(r["mean"]) - m) <= 1e-13 * abs(m) and abs(float(r["se"]) - se) <= 1e-10 * se, (r, m, se)
PYEOF

set +e
run 2 run -family resnet -grid_activation tanh -grid_width 16 -grid_depth 8 -grid_seed 0-3 -limit_ts_max_steps 3 \
  -progress_interval 0 -output "$W/fail" > /dev/null 2> "$W/fail.err"; rc=$?
set -e
[ "$rc" = 0 ] || { cat "$W/fail.err"; fail "a failed limit ended the run (exit $rc)"; }
grep -q 'done=3 failed=1' "$W/fail.err" || { cat "$W/fail.err"; fail "the limit did not fail alone"; }
"$NNL" export "$W/fail" -table limits | awk -F, 'NR > 1 && ($8 == "" || $9 != "") { bad++ } END { exit bad || NR != 28 }' \
  || fail "failed limit: q_nngp must stay and q_ode be empty"
/usr/bin/sqlite3 -version > /dev/null 2>&1 && { sqlite3 "$W/fail/nnlimits.sqlite" "SELECT message FROM points WHERE kind='limit'" \
  | grep -q 'depth-limit ODE' || fail "failed limit: no message"; }
# The same for a kernel that overflows: leaky_relu:1e100 takes q past 1e200 in a step, and PETSc's step-error norm
# met a NaN and ended the whole run (exit 1, the other tasks pending); now that limit fails alone, saying why.
# 1e10 keeps q finite (~1e150 at t = 1) but past the ODE's 1e100 bound.
for a in 1e100 1e10; do
  set +e
  run 1 run -family resnet -grid_activation "leaky_relu:$a" -grid_width 4 -grid_depth 8 -grid_seed 0-2 -progress_interval 0 \
    -output "$W/huge$a" > /dev/null 2> "$W/huge.err"; rc=$?
  set -e
  [ "$rc" = 0 ] && grep -q 'done=2 failed=1' "$W/huge.err" || { cat "$W/huge.err"; fail "leaky_relu:$a: the limit did not fail alone (exit $rc)"; }
  sqlite3 "$W/huge$a/nnlimits.sqlite" "SELECT message FROM points WHERE kind='limit'" | grep -q 'beyond 1e+100 at t = ' \
    || fail "leaky_relu:$a: no message of the overflowing kernel"
  # status names it as a limit task (it has no width or seed) by the id the points export prints
  "$NNL" status "$W/huge$a" > /dev/null 2> "$W/huge.status"
  grep -q "1 failed: .*beyond 1e+100 .*(first: resnet leaky_relu:[^ ]* limit task, depth 8, id [0-9a-f]\{16\})" "$W/huge.status" \
    || fail "leaky_relu:$a: status's failure line: $(cat "$W/huge.status")"
done
set +e
run 1 run -family resnet -grid_activation tanh -grid_width 16 -grid_depth 8 -grid_seed 0-3 -progress_interval 0 \
  -output "$W/fail" > /dev/null 2> "$W/resume.err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'limit_ts_max_steps' "$W/resume.err" || { cat "$W/resume.err"; fail "resume without -limit_ts_max_steps accepted"; }
# (d) a solver that cannot give the ODE at the recorded layers is refused before anything runs, naming the option:
#     glle's q at t = 1 was half the exact value, pseudo is a steady-state solver. Catches: their numbers stored as limits.
for bad in "-limit_ts_type glle" "-limit_ts_type pseudo" "-limit_ts_exact_final_time stepover"; do
  set +e
  run 1 run -family resnet -grid_activation relu -grid_width 16 -grid_depth 8 -grid_seed 0-1 $bad -progress_interval 0 \
    -output "$W/refused" > /dev/null 2> "$W/refused.err"; rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q -- "${bad%% *} .* is not supported" "$W/refused.err" && [ ! -e "$W/refused/nnlimits.sqlite" ] \
    || { cat "$W/refused.err"; fail "$bad: exit $rc, want 2 with a message and no store"; }
done
# (e) controlled_resnet with linear φ (MATH.md law 8 through a run): q_ode at t is q_0 I_0(2t) (I_0(2) = 2.2795853 at
#     t = 1) to 2e-6 on 1024 cells, q_nngp at layer l of depth L is q_0 Σ_k binom(l,k)² L^-2k (Y_l = (I + A/L)^l Y_0 at
#     infinite width) to 1e-12, at every layer and pair. Catches: the march's values stored at the wrong layer or pair,
#     the depth limit's cells not a multiple of the depth, the limits of another family given to it.
run 2 run -family controlled_resnet -grid_activation linear -grid_width 16 -grid_depth 16 -grid_seed 0-2 -inputs 2 \
  -input_correlation 0.3 -record_layers all -limit_goursat_cells 1000 -progress_interval 0 -output "$W/sig" > /dev/null 2>&1 \
  || fail "controlled_resnet run"
"$NNL" export "$W/sig" -table limits | awk -F, 'NR > 1 {
  q0 = ($6 == $7) ? 1 : 0.3; t = $5; L = $3; l = $4
  i0 = 1; term = 1; for (k = 1; k < 60; k++) { term *= t * t / (k * k); i0 += term }
  nngp = 1; b = 1; for (k = 1; k <= l; k++) { b = b * (l - k + 1) / k; nngp += b * b / L ^ (2 * k) }
  if (($9 - q0 * i0) ^ 2 > (2e-6 * q0 * i0) ^ 2) { print "ode", $0, q0 * i0; bad++ }
  if (($8 - q0 * nngp) ^ 2 > (1e-12 * q0 * nngp) ^ 2) { print "nngp", $0, q0 * nngp; bad++ }
  rows++ }
  END { if (bad || rows != 17 * 3) exit 1 }' || fail "controlled_resnet limits: law 8 or the network's closed form not met"
# (f) -table extrapolate of MLPs of widths 64…512 (relu, tanh; 200 seeds): every row is the weighted least-squares line
#     mean = q_inf + slope/n through compare's means (weights 1/se²), as numpy's lstsq fits it here from -table compare
#     (q_inf, slope, their s.e., chi2, err and z, and one row per (depth, layer, pair) with two widths or more); q_inf
#     is within 4 s.e. of q_nngp everywhere, and the ReLU diagonal's slope within 4 s.e. of 0 (E q_aa is the NNGP's at
#     every width: MATH.md §4.1). Catches: a fit with other weights or abscissae (n instead of 1/n), the groups of other
#     depths or activations pooled, the standard errors of an unweighted fit, z against the wrong limit.
run 2 run -family mlp -grid_activation relu,tanh -grid_width 64,128,256,512 -grid_depth 4,16 -grid_seed 0-200 -inputs 2 \
  -input_correlation 0.5 -record_layers 3 -progress_interval 0 -output "$W/ex" > /dev/null 2>&1 || fail "extrapolate run"
"$NNL" export "$W/ex" -table compare -o "$W/ex.compare.csv"
"$NNL" export "$W/ex" -table extrapolate -o "$W/ex.csv"
head -1 "$W/ex.csv" | grep -qx 'family,activation,depth,layer,t,a,b,widths,q_inf,se_inf,slope,se_slope,chi2,q_nngp,q_ode,err_nngp,z_nngp,err_ode,z_ode' \
  || fail "extrapolate header"
/usr/bin/python3 - "$W/ex.compare.csv" "$W/ex.csv" <<'PYEOF' || fail "extrapolate: not the 1/n fit of compare, or q_inf beyond 4 s.e."
import csv, sys
import numpy as np
fits = {}
for r in csv.DictReader(open(sys.argv[1])):
    if int(r["seeds"]) >= 2 and float(r["se"]) > 0:
        fits.setdefault(tuple(r[k] for k in ("family", "activation", "depth", "layer", "a", "b")), []).append(
            (1 / float(r["width"]), float(r["mean"]), float(r["se"]), r["q_nngp"]))
fits = {k: v for k, v in fits.items() if len(v) >= 2}
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(fits) == 2 * 2 * 3 * 3, (len(rows), len(fits))
close = lambda a, b, tol: abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)
for r in rows:
    v = np.array([p[:3] for p in fits[tuple(r[k] for k in ("family", "activation", "depth", "layer", "a", "b"))]])
    A = np.stack([np.ones(len(v)), v[:, 0]], 1) / v[:, 2:3]
    coef, res, _, _ = np.linalg.lstsq(A, v[:, 1] / v[:, 2], rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(np.sum((A @ coef - v[:, 1] / v[:, 2]) ** 2))
    nngp = float(r["q_nngp"])
    assert int(r["widths"]) == len(v) == 4, r
    for key, want in (("q_inf", coef[0]), ("slope", coef[1]), ("se_inf", cov[0, 0] ** 0.5), ("se_slope", cov[1, 1] ** 0.5),
                      ("err_nngp", coef[0] - nngp), ("z_nngp", (coef[0] - nngp) / cov[0, 0] ** 0.5)):
        assert close(float(r[key]), want, 1e-9), (key, r, want)
    assert abs(float(r["chi2"]) - chi2) <= 1e-9 * max(chi2, 1), ("chi2", r, chi2)
    assert r["q_ode"] == "" and r["z_ode"] == "", r
    assert abs(float(r["z_nngp"])) <= 4, ("q_inf beyond 4 s.e. of q_nngp", r)
    if r["activation"] == "relu" and r["a"] == r["b"]:
        assert abs(float(r["slope"]) / float(r["se_slope"])) <= 4, ("relu diagonal: a 1/n slope", r)
PYEOF
# (g) -input_correlation per pair (m = 4: six values, pairs (0,1), (0,2), (0,3), (1,2), (1,3), (2,3)): the limits'
#     layer 1 is σ_w² C_ab pair by pair, and the networks' means over 200 seeds (both samplers: the dense one draws the
#     inputs x_a, the projection one starts from C) are within 4.5 s.e. of q_nngp at every layer and pair. Catches: a
#     pair's correlation given to another pair (in the limits, the inputs or the projection's first K), one sampler
#     still on a single r.
C="0.9,0.5,0,0.5,0.2,0.6"
for s in projection dense; do
  run 2 run -family mlp -grid_activation relu,tanh -grid_width 128 -grid_depth 3 -grid_seed 0-200 -inputs 4 -input_dim 6 \
    -input_correlation "$C" -sampler $s -record_layers all -progress_interval 0 -output "$W/pairs_$s" > /dev/null 2>&1 \
    || fail "per-pair correlation run ($s)"
  "$NNL" export "$W/pairs_$s" -table compare -o "$W/pairs_$s.csv"
  awk -F, -v c="$C" 'BEGIN { split(c, r, ","); k = 0
      for (a = 0; a < 4; a++) { want[a "," a] = 1; for (b = a + 1; b < 4; b++) want[a "," b] = r[++k] } }
    NR > 1 { n++; z = $15 < 0 ? -$15 : $15; if (z > 4.5) { print "z", $0; bad++ }
      sw2 = $2 == "relu" ? 2 : 1
      if ($5 == 1 && ($12 - sw2 * want[$7 "," $8]) ^ 2 > 1e-26) { print "layer 1", $0, sw2 * want[$7 "," $8]; bad++ } }
    END { if (bad || n != 2 * 3 * 10) { print n " rows"; exit 1 } }' "$W/pairs_$s.csv" \
    || fail "per-pair correlations ($s): limits not sigma_w2 C_ab at layer 1, or a mean beyond 4.5 s.e."
done
# (h) swept -sigma_w2, -sigma_b2, -branch_alpha: each (family, activation entry)'s limits are, to the bit, those of a job
#     of that one setting (MLP tanh at σ_w² 1.5, σ_b² 0.2; ResNet relu at α = 1), and every entry's networks (200 seeds)
#     are within 4.5 s.e. of their own q_nngp at every layer and pair. Catches: an entry computed with another
#     setting's σ or α (networks or limits), the ODE of α = 1/2 given to α = 1, the MLP repeated per α.
run 2 run -family mlp,resnet -grid_activation relu,tanh -grid_width 256 -grid_depth 6 -grid_seed 0-200 -inputs 2 \
  -sigma_w2 auto,1.5 -sigma_b2 0,0.2 -branch_alpha 0.5,1 -record_layers all -progress_interval 0 -output "$W/swept" > /dev/null 2>&1 \
  || fail "swept settings run"
"$NNL" export "$W/swept" -table limits -o "$W/swept.limits.csv"
"$NNL" export "$W/swept" -table compare -o "$W/swept.compare.csv"
awk -F, 'NR > 1 { n++; z = $15 < 0 ? -$15 : $15; if (z > 4.5) { print "z", $0; bad++ } ent[$1 "," $2]++ }
  END { for (e in ent) k++; if (bad || k != 12 || n != 8 * 6 * 3 + 4 * 7 * 3) { print n " rows, " k " entries"; exit 1 } }' "$W/swept.compare.csv" \
  || fail "swept settings: a mean beyond 4.5 s.e. of its entry's q_nngp, or not 8 MLP and 4 ResNet entries"
for one in "mlp|tanh|-sigma_w2 1.5 -sigma_b2 0.2|tanh;sigma_w2=1.5;sigma_b2=0.2" \
           "resnet|relu|-branch_alpha 1|relu;branch_alpha=1"; do
  IFS='|' read -r fam act opts entry <<< "$one"
  run 1 run -family $fam -grid_activation $act -grid_width 256 -grid_depth 6 -grid_seed 0-1 -inputs 2 $opts \
    -record_layers all -progress_interval 0 -output "$W/one_$fam" > /dev/null 2>&1 || fail "one-setting run ($fam)"
  "$NNL" export "$W/one_$fam" -table limits | awk -F, -v e="$entry" 'NR > 1 { $2 = e; print }' OFS=, > "$W/one_$fam.csv"
  [ -s "$W/one_$fam.csv" ] && grep -F "$fam,$entry," "$W/swept.limits.csv" | cmp -s - "$W/one_$fam.csv" \
    || { diff <(grep -F "$fam,$entry," "$W/swept.limits.csv") "$W/one_$fam.csv" | head -5; fail "swept $fam $entry: limits differ from its one-setting job's"; }
done
# (i) q far from 1: a ReLU MLP 700 layers deep at σ_w² = 1, 2, 4 (q ~ 2^-700, 1, 2^700): the NNGP's ρ at the last layer
#     is the same for all three (the ReLU correlation map does not depend on σ_w²) to 1e-12, and compare's se equals the
#     seeds' standard error computed here from -table gram in units of 2^∓700, to 1e-9, z filled in, the extrapolate
#     rows all there, and the summary's q with a non-zero ± for every group. Catches: the dual's k11 k22 overflowing
#     (ρ inf at σ_w² = 4) or underflowing (det 0: ρ frozen at σ_w² = 1), squared deviations that underflow or overflow
#     (se 0 or inf, z empty, extrapolate rows dropped, "± 0").
run 1 run -family mlp -grid_activation relu -sigma_w2 1,2,4 -grid_width 64,128 -grid_depth 700 -grid_seed 0-20 \
  -inputs 2 -record_layers last -progress_interval 0 -output "$W/far" > "$W/far.out" 2> /dev/null || fail "far-from-1 run"
"$NNL" export "$W/far" -table limits | awk -F, '$4 == 700 { q[$2 "," $6 "," $7] = $8; e[$2] = 1 }
  END { for (x in e) { r = q[x ",0,1"] / (sqrt(q[x ",0,0"]) * sqrt(q[x ",1,1"])); n++
          if (!(r > 0.99 && r < 1)) bad = 1; if (n == 1) r0 = r; else if ((r - r0) ^ 2 > 1e-24) bad = 1 }
        if (bad || n != 3) { for (x in q) print x, q[x]; exit 1 } }' \
  || fail "far from 1: the NNGP's rho at layer 700 not the same for sigma_w2 = 1, 2, 4 (or not finite)"
"$NNL" export "$W/far" -table gram -o "$W/far.gram.csv"
"$NNL" export "$W/far" -table compare -o "$W/far.compare.csv"
awk -F, 'function u(a) { return a ~ /=1$/ ? 2 ^ 700 : a ~ /=4$/ ? 2 ^ -700 : 1 }
  FNR == 1 { f++; next }
  f == 1 { k = $2 "," $3 "," $8 "," $9; v = $10 * u($2); n[k]++; s[k] += v; x[k, n[k]] = v }
  f == 2 { k = $2 "," $3 "," $7 "," $8; m = s[k] / n[k]; ss = 0; for (i = 1; i <= n[k]; i++) ss += (x[k, i] - m) ^ 2
    se = sqrt(ss / (n[k] - 1) / n[k]); rows++
    if (n[k] != 20 || $15 == "" || !(($11 * u($2) - se) ^ 2 <= 1e-18 * se ^ 2)) { print $0, se; bad++ } }
  END { if (bad || rows != 3 * 2 * 3) { print rows " rows"; exit 1 } }' "$W/far.gram.csv" "$W/far.compare.csv" \
  || fail "far from 1: compare's se not the seeds' standard error, or z empty"
[ "$("$NNL" export "$W/far" -table extrapolate | awk -F, 'NR > 1 && $9 != "" && $10 > 0' | wc -l)" = 9 ] \
  || fail "far from 1: extrapolate rows missing"
awk '$1 == "mlp" && $4 == 700 { n++; if ($7 != "±" || !($8 > 0)) bad = 1 } END { exit bad || n != 6 }' "$W/far.out" \
  || fail "far from 1: the summary's q without a non-zero standard error: $(cat "$W/far.out")"
# past double's range (σ_w² = 1e300: q and q_nngp inf, q01 +inf and -inf over seeds): compare leaves a mean that is not
# a number, and z against an infinite limit, empty (they read -nan and -0)
run 1 run -family mlp -grid_activation relu -sigma_w2 1e300 -grid_width 4 -grid_depth 3 -grid_seed 0-3 -progress_interval 0 \
  -output "$W/inf" > /dev/null 2>&1 || fail "sigma_w2 1e300 run"
"$NNL" export "$W/inf" -table compare | awk -F, 'NR > 1 && $5 == 3 { n++; if ($10 ~ /nan/ || $12 != "inf" || $15 != "") bad = 1 }
  END { exit bad || n != 3 }' || fail "compare of q past double's range: $("$NNL" export "$W/inf" -table compare)"
# and z against a limit that is infinite while the seeds' mean is not (a store's limit set to inf by hand): empty, not -0
cp -r "$W/far" "$W/farinf"
sqlite3 "$W/farinf/nnlimits.sqlite" "UPDATE limits SET q_nngp = 9e999 WHERE a = 0 AND b = 0"
"$NNL" export "$W/farinf" -table compare | awk -F, 'NR > 1 && $7 == 0 && $8 == 0 { n++; if ($12 != "inf" || $15 != "") bad = 1 }
  END { exit bad || n != 6 }' || fail "compare against an infinite limit: $("$NNL" export "$W/farinf" -table compare | head -3)"
# (j) A layer's q_ode does not depend on which other layers are recorded, for a solver without dense output as for the
#     default (whose interpolant reads every layer off one solve): the solver takes its own steps to t = 1 and each
#     layer between two steps' ends is reached from the earlier one (limits.c, ODESolveFree; meta "ode_steps"). Depth
#     16 alone (every layer recorded) and beside depth 32 (16 log-spaced layers of each) give the same q_ode at their
#     common layers, with rk 3bs (adaptive) and euler (fixed step), relu and tanh; and q_ode at a time t is the same at
#     both depths (layer l of 16 and 2l of 32). A store of the previous release (schema 10, no such meta) holding such
#     values before the last layer is refused for a run or a merge that would add to it; one recording the last layer
#     alone (whose value is the same: the solve ends at t = 1 either way) resumes, stamped and upgraded to this build's schema.
#     Catches: a solve that steps onto the recorded times (depth 16 at layer 16, 3bs: 1.648721270698057 alone against
#     ...0512 beside depth 32), the two conventions mixed in one store, a store of the last layer refused for nothing.
# same_q A B: the rows (key q) of B whose key A has, each with A's q: prints their count; fails if a q differs
same_q() { awk 'FNR == NR { q[$1] = $2; next } $1 in q { n++; if (q[$1] != $2) { print "differ:", $0, q[$1] > "/dev/stderr"; bad++ } }
  END { print n + 0; exit bad > 0 }' "$1" "$2"; }
for solver in "-limit_ts_type rk -limit_ts_rk_type 3bs" "-limit_ts_type euler"; do
  tag=${solver##* }
  OJ="-family resnet -grid_activation relu,tanh -grid_width 4 -grid_seed 0-2 -inputs 2 -input_correlation 0.3 -progress_interval 0 $solver"
  run 1 run $OJ -grid_depth 16 -output "$W/ode16$tag" > /dev/null 2>&1 || fail "ODE ($tag) run of depth 16"
  run 1 run $OJ -grid_depth 16,32 -output "$W/ode1632$tag" > /dev/null 2>&1 || fail "ODE ($tag) run of depths 16, 32"
  "$NNL" export "$W/ode16$tag" -table limits | awk -F, 'NR > 1 { print $2 "," $4 "," $6 "," $7, $9 }' > "$W/ode16$tag.q"
  "$NNL" export "$W/ode1632$tag" -table limits | awk -F, 'NR > 1 && $3 == 16 { print $2 "," $4 "," $6 "," $7, $9 }' > "$W/ode1632$tag.q"
  "$NNL" export "$W/ode1632$tag" -table limits | awk -F, 'NR > 1 && $3 == 32 && $4 % 2 == 0 { print $2 "," $4 / 2 "," $6 "," $7, $9 }' \
    > "$W/ode32$tag.q"
  n=$(same_q "$W/ode16$tag.q" "$W/ode1632$tag.q") || fail "ODE ($tag): q_ode of depth 16 at a layer differs with the layers recorded beside it"
  [ "$n" -gt 30 ] && [ "$n" = "$(wc -l < "$W/ode1632$tag.q")" ] || fail "ODE ($tag): $n rows of depth 16 in common"
  n=$(same_q "$W/ode16$tag.q" "$W/ode32$tag.q") || fail "ODE ($tag): q_ode at a time differs between depths 16 and 32"
  [ "$n" -gt 20 ] || fail "ODE ($tag): $n rows of common times at depths 16 and 32"
done
old10() { sqlite3 "$1/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'ode_steps'; UPDATE meta SET value = '10' WHERE key = 'schema'"; }
cp -r "$W/ode16euler" "$W/oldode" && old10 "$W/oldode"
set +e; run 0 run $OJ -grid_depth 16 -output "$W/oldode" > /dev/null 2> "$W/old.err"; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "which an earlier release stepped onto the recorded layers alone" "$W/old.err" \
  || { cat "$W/old.err"; fail "an old store of ODE values (euler) before the last layer resumed (exit $rc)"; }
set +e; "$NNL" merge "$W/oldode" -output "$W/oldode.merged" > /dev/null 2> "$W/old.err"; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "which an earlier release stepped onto the recorded layers alone" "$W/old.err" \
  || { cat "$W/old.err"; fail "an old store of ODE values (euler) before the last layer merged (exit $rc)"; }
run 1 run $OJ -grid_depth 16 -record_layers last -output "$W/oldlast" > /dev/null 2>&1 || fail "ODE (euler) run of the last layer"
old10 "$W/oldlast"
run 0 run $OJ -grid_depth 16 -record_layers last -output "$W/oldlast" > /dev/null 2> "$W/old.err" \
  || { cat "$W/old.err"; fail "an old store of the ODE's last layer alone (euler) was not resumed"; }
[ "$(sqlite3 "$W/oldlast/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('schema', 'ode_steps') ORDER BY key)")" = "solver $(schema_of "$W/ode16euler")" ] \
  || fail "resumed schema-10 store of the last layer: meta $(sqlite3 "$W/oldlast/nnlimits.sqlite" "SELECT key, value FROM meta WHERE key IN ('schema', 'ode_steps')")"
# rk 1fe is dense as 5dp is (PETSc's linear interpolant has its order, 1: ODEIsDense): its layers are read off one
# solve, in this release as in the last (the same bits), so a schema-10 store of them before the last layer resumes,
# and plan prices no solve to each layer. Catches: 1fe taken for a solver without dense output (its old stores
# refused for nothing, its plan priced as one).
FJ="-family resnet -grid_activation relu -grid_width 4 -grid_seed 0-2 -inputs 2 -progress_interval 0 -limit_ts_type rk -limit_ts_rk_type 1fe"
run 1 run $FJ -grid_depth 16 -output "$W/old1fe" > /dev/null 2>&1 || fail "ODE (rk 1fe) run of depth 16"
old10 "$W/old1fe"
run 0 run $FJ -grid_depth 16 -output "$W/old1fe" > /dev/null 2> "$W/old.err" \
  || { cat "$W/old.err"; fail "an old store of rk 1fe's ODE values (dense output) was refused"; }
# plan prices a solve to each recorded layer for such a solver (cost.c, C_LIM_REACH_*): bdf at every layer of depth 4096
# reads more than 10 times the default solver's (the limit task ran 0.91 s against 0.001 s), and the term grows with the
# layers recorded (4097 against the default 16 + 1), not with the depth. Catches: the term dropped, or priced per layer
# of the depth (the default 16 layers then as dear as every layer).
plan_s() { "$NNL" plan -family resnet -grid_activation relu -grid_width 2 -grid_seed 0-1 -grid_depth 4096 -inputs 2 "$@" 2>&1 \
  | sed -n 's/^plan .* core_seconds=\([^ ]*\).*/\1/p'; }
p0=$(plan_s -record_layers all); p1=$(plan_s -record_layers all -limit_ts_type bdf)
q0=$(plan_s); q1=$(plan_s -limit_ts_type bdf)
[ "$(plan_s -record_layers all -limit_ts_rk_type 1fe)" = "$p0" ] || fail "plan of rk 1fe (dense): $(plan_s -record_layers all -limit_ts_rk_type 1fe) s, the default's $p0 s"
awk -v a="$p0" -v b="$p1" -v c="$q0" -v d="$q1" 'BEGIN { r = d > c ? (b - a) / (d - c) : 0
  exit !(a > 0 && b > 10 * a && r > 0.9 * 4097 / 17 && r < 1.1 * 4097 / 17) }' \
  || fail "plan of a solver without dense output: every layer $p0 -> $p1 s, 16 layers $q0 -> $q1 s"
echo "limits: closed forms through the store, compare table within 4 s.e. and consistent, a failed ODE fails alone, unfit solvers refused, law 8, the 1/n extrapolation, per-pair input correlations, swept settings, q far from 1, q_ode of any solver independent of the other layers recorded"
