# SDE and Fokker–Planck tasks through real runs (MATH.md §2), read back with `nnlimits export`:
#  (a) rank invariance: the same job with SDE tasks at 1 and 3 ranks gives byte-identical sde, fokker_planck and laws
#      exports. Catches: Brownian increments keyed by rank or schedule, paths written in arrival order.
#  (b) shards merged equal the direct run (sde_paths and fokker_planck rows are merged). Catches: a merge that drops the
#      new tables.
#  (c) the Fokker–Planck density in the store has mass 1 (to 1e-12) at every recorded layer, is >= 0, and at layer 1
#      (t = 1/n) has its mean moved from ρ_0 by about the drift times t. Catches: lost mass at the boundaries, a point
#      mass placed off ρ_0, densities stored per wrong layer or at t = (ℓ − 1)/n.
#  (d) the laws table: its header, one row per (family, activation, width, depth, statistic), SDE columns empty for the
#      plain MLP, KS/W1 in [0, 1] / >= 0, and its net_mean / n_net equal to what -table gram gives. Catches: a join that
#      pairs a group with another depth's SDE task, statistics taken at the wrong layer.
#  (e) a shaped_mlp with an activation that cannot be shaped (erf: φ'(0) ≠ 1) is refused, naming the option; the two
#      Stage 3 job files are valid (plan reads them) and have the grid sizes the README describes.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
JOB="-family mlp,shaped_mlp,resnet -grid_activation relu -grid_width 16,32 -grid_depth 9,17 -grid_seed 0-12 -inputs 2
     -input_correlation 0.3 -sde_paths 64 -sde_dt 0.01 -fp_cells 64 -record_layers 3 -progress_interval 0"
run 1 run $JOB -output "$W/np1" > /dev/null 2>&1 || fail "np1 run"
run 3 run $JOB -output "$W/np3" > /dev/null 2>&1 || fail "np3 run"
for s in 0 1; do run 2 run $JOB -shard $s/2 -output "$W/shard$s" > /dev/null 2>&1 || fail "shard $s"; done
"$NNL" merge "$W/shard0" "$W/shard1" -output "$W/merged" || fail "merge"
for t in sde fokker_planck laws gram; do
  "$NNL" export "$W/np1" -table $t -o "$W/np1.$t.csv"
  for d in np3 merged; do
    "$NNL" export "$W/$d" -table $t -o "$W/$d.$t.csv"
    cmp -s "$W/np1.$t.csv" "$W/$d.$t.csv" || fail "$t export of np1 and $d differ"
  done
done
# 3 families x 2 widths x 2 depths x 12 seeds = 144 networks, 3 x 2 depths = 6 limits, 2 families x 2 x 2 = 8 SDE tasks
"$NNL" status "$W/np1" | grep "done=158 failed=0 pending=0 total=158" > /dev/null \
  || fail "status: expected 158 tasks (144 networks, 6 limits, 8 SDE): $("$NNL" status "$W/np1")"
n=$(tail -n +2 "$W/np1.sde.csv" | wc -l)
[ "$n" = $((8 * 64 * 3)) ] || fail "sde export: $n rows, expected 8 tasks x 64 paths x 3 pairs"
/usr/bin/python3 - "$W/np1.fokker_planck.csv" <<'PYEOF' || fail "fokker_planck: mass, sign or initial mean wrong"
import csv, sys, collections
g = collections.defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    g[(r["width"], r["depth"], r["layer"])].append(tuple(float(r[c]) for c in ("rho", "density", "rho_lo", "rho_hi")))
assert len(g) == 2 * 2 * 3, len(g)   # shaped relu: 2 widths x 2 depths x 3 recorded layers
for k, cells in g.items():
    # the cells tile [-1, 1] in order, each centre inside its cell, narrower towards +-1 (uniform in atanh rho)
    assert cells[0][2] == -1 and cells[-1][3] == 1 and all(a[3] == b[2] for a, b in zip(cells, cells[1:])), k
    assert all(lo < x < hi for x, _, lo, hi in cells), k
    w = [hi - lo for _, _, lo, hi in cells]
    assert w[len(w) // 2] > 10 * w[len(w) // 8] and w[len(w) // 2] > 10 * w[-len(w) // 8], k
    mass = sum(d * wi for (_, d, _, _), wi in zip(cells, w))
    assert abs(mass - 1) < 1e-12 and min(d for _, d, _, _ in cells) >= -1e-14, (k, mass)
    if k[2] == "1":  # t = 1/n: the point mass at ρ_0 = 0.3 has moved by about ν(ρ_0)·t, ν the drift (negative here)
        mean, t, kk = sum(x * d * wi for (x, d, _, _), wi in zip(cells, w)), 1 / int(k[0]), 1 / (2 * 3.141592653589793)
        nu = kk * ((1 - 0.09) ** 0.5 - 0.3 * 1.2661036727794992) - 0.5 * 0.3 * (1 - 0.09)
        assert 0.3 + 1.5 * nu * t - 1e-4 < mean < 0.3 - 1e-4, (k, mean, nu * t)
PYEOF
head -1 "$W/np1.laws.csv" | grep -qx 'family,activation,width,depth,t,statistic,n_net,n_sde,net_mean,net_sd,sde_mean,sde_sd,net_q05,net_q25,net_q50,net_q75,net_q95,sde_q05,sde_q25,sde_q50,sde_q75,sde_q95,ks_sde,w1_sde,ks_pde,w1_pde,ks_sde_pde,w1_sde_pde' \
  || fail "laws header"
/usr/bin/python3 - "$W/np1.laws.csv" "$W/np1.gram.csv" <<'PYEOF' || fail "laws table inconsistent"
import csv, sys, math, collections
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3 * 2 * 2 * 3, len(rows)
rho = collections.defaultdict(dict)
for r in csv.DictReader(open(sys.argv[2])):
    if r["layer"] == r["depth"]:
        rho[(r["family"], r["width"], r["depth"], r["seed"])][(r["a"], r["b"])] = float(r["q"])
for r in rows:
    fam = r["family"]
    if fam == "mlp":
        assert r["n_sde"] == "0" and r["ks_sde"] == "", r
    else:
        assert r["n_sde"] == "64" and 0 <= float(r["ks_sde"]) <= 1 and float(r["w1_sde"]) >= 0, r
    has_pde = fam == "shaped_mlp" and r["statistic"] == "rho"
    assert (r["ks_pde"] != "") == has_pde and (r["ks_sde_pde"] != "") == has_pde, r
    if r["statistic"] == "rho":
        v = [g[("0", "1")] / math.sqrt(g[("0", "0")] * g[("1", "1")]) for k, g in rho.items() if k[:3] == (fam, r["width"], r["depth"])]
        assert int(r["n_net"]) == len(v) == 12 and abs(float(r["net_mean"]) - sum(v) / len(v)) < 1e-13, (r, v)
        # the sample s.d. (n − 1), and the row's time: t = l/n at the last layer (ResNet: 1). Catches an s.d. over n
        # (4 % off at 12 seeds), a t one layer off
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
        assert abs(float(r["net_sd"]) - sd) <= 1e-12 * sd, (r, sd)
    want_t = 1.0 if fam == "resnet" else int(r["depth"]) / int(r["width"])
    assert abs(float(r["t"]) - want_t) < 1e-12, (r, want_t)
PYEOF
set +e
run 0 run -family shaped_mlp -grid_activation erf -sde_paths 4 -output "$W/bad" > /dev/null 2> "$W/bad.err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "shaped_mlp: activation 'erf'" "$W/bad.err" || { cat "$W/bad.err"; fail "erf accepted by shaped_mlp (exit $rc)"; }
[ ! -e "$W/bad/nnlimits.sqlite" ] || fail "a refused job wrote a store"
SRC=${NNL_SOURCE_DIR:?}
"$NNL" plan -options_file "$SRC/jobs/hayou_2022_fixed_width.opts" | grep '^plan points=5376 limits=3 .* sde=21$' > /dev/null \
  || fail "jobs/hayou_2022_fixed_width.opts: $("$NNL" plan -options_file "$SRC/jobs/hayou_2022_fixed_width.opts" 2>&1 | head -2)"
"$NNL" plan -options_file "$SRC/jobs/li_nica_roy_2022_shaped.opts" | grep '^plan points=16000 limits=20 .* sde=20$' > /dev/null \
  || fail "jobs/li_nica_roy_2022_shaped.opts: $("$NNL" plan -options_file "$SRC/jobs/li_nica_roy_2022_shaped.opts" 2>&1 | head -2)"
# (f) The shaped MLP's SDE time is t = ℓ/n (MATH.md §0). A store of an earlier release (no meta "sde_time": its paths
#     end at (L − 1)/n) exports its own t, and a run or merge that would add paths of the other convention is refused;
#     a store without shaped SDE paths takes the new convention when resumed. Catches: old paths relabelled with the
#     new t, old and new paths mixed in one store.
awk -F, 'NR > 1 && $1 == "shaped_mlp" && $5 != $4 / $3 { bad = 1 } END { exit bad }' "$W/np1.sde.csv" || fail "sde t is not depth/width"
awk -F, 'NR > 1 && $6 != $5 / $3 { bad = 1 } END { exit bad }' "$W/np1.fokker_planck.csv" || fail "fokker_planck t is not layer/width"
cp -r "$W/np1" "$W/old" && sqlite3 "$W/old/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'sde_time'"
"$NNL" export "$W/old" -table sde | awk -F, 'NR > 1 && $1 == "shaped_mlp" && $5 != ($4 - 1) / $3 { bad = 1 } END { exit bad }' \
  || fail "an earlier release's store: sde t is not (depth-1)/width"
# refused DIR PATTERN WHAT: a run of $JOB into DIR, and a merge of DIR, both end with exit 2 and PATTERN on stderr
refused() {
  local rc
  set +e; run 0 run $JOB -output "$1" > /dev/null 2> "$W/old.err"; rc=$?; set -e
  [ "$rc" = 2 ] && grep -q "$2" "$W/old.err" || { cat "$W/old.err"; fail "$3 resumed (exit $rc)"; }
  set +e; "$NNL" merge "$1" -output "$1.merged" > /dev/null 2> "$W/old.err"; rc=$?; set -e
  [ "$rc" = 2 ] && grep -q "$2" "$W/old.err" || { cat "$W/old.err"; fail "$3 merged (exit $rc)"; }
}
refused "$W/old" "integrated to t = (L-1)/n by an earlier release" "old SDE store"
run 0 run -family resnet -grid_width 8 -grid_depth 4 -grid_seed 0-2 -progress_interval 0 -output "$W/oldres" > /dev/null 2>&1
sqlite3 "$W/oldres/nnlimits.sqlite" "DELETE FROM meta WHERE key IN ('sde_time', 'fp_grid', 'attention_logits', 'relu_drift', 'fp_layers', 'ode_steps', 'psd_copies'); UPDATE meta SET value = '7' WHERE key = 'schema'"
run 0 run -family resnet -grid_width 8 -grid_depth 4 -grid_seed 0-2 -progress_interval 0 -output "$W/oldres" > /dev/null 2>&1 || fail "resume of an old store without SDE paths"
[ "$(sqlite3 "$W/oldres/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('sde_time', 'fp_grid', 'attention_logits', 'relu_drift', 'fp_layers', 'ode_steps', 'psd_copies', 'schema') ORDER BY key)")" = "bartlett atanh 14 every solver copied series $(schema_of "$W/np1") layer/width" ] \
  || fail "resumed store not stamped with this release's conventions"
# (h) The Fokker–Planck cells are uniform in atanh ρ (meta "fp_grid"). A store of an earlier release (no such meta: cells
#     uniform in ρ) exports its own edges, and a run or merge that would add densities on the other grid is refused.
#     Catches: old densities read with the new edges, old and new grids mixed in one store.
cp -r "$W/np1" "$W/oldfp" && sqlite3 "$W/oldfp/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'fp_grid'"
"$NNL" export "$W/oldfp" -table fokker_planck | awk -F, 'NR > 1 { d = $11 - $10 - 2 / 64; if (d > 1e-12 || d < -1e-12) bad = 1 } END { exit bad }' \
  || fail "an earlier release's store: fokker_planck cells are not uniform in rho"
refused "$W/oldfp" "cells uniform in rho" "old Fokker-Planck store"
# An unfinished store of an earlier release (schema 6, no meta fp_grid) that holds no densities yet resumes: it is
# stamped with this grid, upgraded to this build's schema (which earlier builds refuse), and finishes to the bytes of a direct
# run. Catches: a job-text mark that refused every old store of a job with Fokker-Planck tasks, a store whose meta and
# rows disagree.
cp -r "$W/np1" "$W/oldfp2" && sqlite3 "$W/oldfp2/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'fp_grid';
  DELETE FROM fokker_planck; DELETE FROM sde_paths; DELETE FROM points WHERE kind = 'sde'; UPDATE meta SET value = '6' WHERE key = 'schema'"
run 0 run $JOB -output "$W/oldfp2" > /dev/null 2> "$W/old.err" || { cat "$W/old.err"; fail "an unfinished old store without densities was not resumed"; }
[ "$(sqlite3 "$W/oldfp2/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('schema', 'fp_grid') ORDER BY key)")" = "atanh 14 $(schema_of "$W/np1")" ] \
  || fail "resumed old store: meta $(sqlite3 "$W/oldfp2/nnlimits.sqlite" "SELECT key, value FROM meta WHERE key IN ('schema', 'fp_grid')")"
for t in fokker_planck laws; do
  "$NNL" export "$W/oldfp2" -table $t -o "$W/oldfp2.$t.csv"
  cmp -s "$W/np1.$t.csv" "$W/oldfp2.$t.csv" || fail "$t export of the resumed old store differs from a direct run"
done
# (g) The shaped ReLU's post-activation norm at width n: ‖φ_n(y)‖²/n = V_aa/c for Gaussian y (c = 2/(s₊² + s₋²), 1.28 at
#     n = 16), so in the laws table lognorm_post − logv is −ln c for the SDE paths and, up to its 4 s.e. (~0.045 over
#     1000 seeds), for the networks. Catches: the SDE's lognorm_post as ln V_aa (the n → ∞ value), 0.25 off at n = 16.
run 0 run -family shaped_mlp -grid_activation relu -grid_width 16 -grid_depth 16 -grid_seed 0-1000 -sde_paths 1000 \
  -record_layers last -progress_interval 0 -output "$W/post" > /dev/null 2>&1 || fail "post-activation run"
"$NNL" export "$W/post" -table laws | awk -F, '$6 == "logv" { nv = $9; sv = $11 } $6 == "lognorm_post" { np = $9; sp = $11 }
  END { d = (np - nv) - (sp - sv); printf "sde: lognorm_post - logv: networks %.4f, SDE %.4f (-ln c = -0.2469)\n", np - nv, sp - sv
        exit !(d < 0.045 && d > -0.045 && sp - sv < -0.246 && sp - sv > -0.248) }' || fail "shaped post-activation norms"
# (h) SDE paths that leave the state space: the shaped attention SDE at τ₀ = 0.1, where V collapses towards a singular
#     matrix and Euler-Maruyama steps of 0.1 step out of the positive semidefinite cone. At T = 25 the integrator halves
#     those steps on their Brownian bridges (src/sde.c) and every path stays in: the note says how many were halved, and
#     the laws table has all 200. A smooth-shaped tanh MLP with a = 0.1 (drift ∝ a⁻² = 100) at steps of 1 blows up on
#     some paths even at steps of 1/1024: a V not finite or with a variance <= 0, whose ρ and ln V_aa the laws table
#     leaves out (two inputs: its rho row misses exactly those paths). The run's summary says how many, in a note; the
#     task is done. Catches: halving lost (a note of paths that left, at T = 25), the count lost (a user saw n_sde <
#     -sde_paths in the laws table and nothing else), a count that does not match the laws table's.
run 0 run -family shaped_attention -grid_activation linear -grid_width 4 -grid_depth 100 -sde_dt 0.1 -grid_seed 0-2 -inputs 2 \
  -attn_tau0 0.1 -sde_paths 200 -progress_interval 0 -output "$W/halved" > "$W/halved.out" 2>&1 || fail "collapsing attention run"
note=$(grep "^note: sde shaped_attention linear width=4 depth=100: [0-9]* of 200 SDE paths left the state space (V not positive semidefinite) in a step of -sde_dt and took it again in halves" "$W/halved.out") ||
  fail "no note of the halved paths: $(tail -3 "$W/halved.out")"
[ "$("$NNL" export "$W/halved" -table laws | awk -F, '$6 == "rho" { print $8 }')" = 200 ] || fail "halved paths missing from the laws table"
run 0 run -family shaped_mlp -grid_activation tanh -shape_a 0.1 -grid_width 4 -grid_depth 64 -sde_dt 1 -grid_seed 0-2 -inputs 2 \
  -sde_paths 200 -record_layers last -progress_interval 0 -output "$W/nan" > "$W/nan.out" 2>&1 || fail "blow-up run"
note=$(grep "^note: sde shaped_mlp tanh width=4 depth=64: [0-9]* of 200 SDE paths left the state space .* even with steps halved 10 times" "$W/nan.out") ||
  fail "no note of the paths that left the state space: $(tail -3 "$W/nan.out")"
bad=$(echo "$note" | sed 's/.*64: \([0-9]*\) of 200.*/\1/')
[ "$bad" -gt 0 ] && [ "$("$NNL" export "$W/nan" -table laws | awk -F, '$6 == "rho" { print $8 }')" = $((200 - bad)) ] ||
  fail "the note's $bad paths are not the laws table's missing ones"
# The same blow-up with 9 inputs (past NNL_SMALL_M: V's square root by LAPACK): a path whose V is not finite is counted
# as with 2. Catches: the factor handing the NaN V to dsyev, whose failure (info > 0) aborted the whole run with a
# PETSc traceback, at every rerun (found by tests/fuzz_jobs.py: a shaped_transformer with -shape_c_minus 1e20).
run 0 run -family shaped_mlp -grid_activation tanh -shape_a 0.1 -grid_width 4 -grid_depth 64 -sde_dt 1 -grid_seed 0 -inputs 9 \
  -input_dim 9 -sde_paths 20 -record_layers last -progress_interval 0 -output "$W/nan9" > "$W/nan9.out" 2>&1 ||
  fail "blow-up run of 9 inputs: $(grep -m3 'error\|ERROR' "$W/nan9.out")"
grep -q "^note: sde shaped_mlp tanh width=4 depth=64: [0-9]* of 20 SDE paths left the state space .* even with steps halved" \
  "$W/nan9.out" || fail "blow-up run of 9 inputs: no note of the paths that left: $(tail -3 "$W/nan9.out")"
# (j) The projection sampler draws an attention layer's logits from m×m factors (meta "attention_logits"; the same law
#     as its queries and keys, other numbers). A store of an earlier release (no such meta) that holds such networks is
#     refused for a run or a merge that would add to it. Catches: networks of the two releases mixed in one store.
cp -r "$W/halved" "$W/oldatt" && sqlite3 "$W/oldatt/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'attention_logits'"
JOB="-family shaped_attention -grid_activation linear -grid_width 4 -grid_depth 100 -sde_dt 0.1 -grid_seed 0-3 -inputs 2
  -attn_tau0 0.1 -sde_paths 200 -progress_interval 0" refused "$W/oldatt" "whose queries and keys an earlier release drew" \
  "old attention store"
[ "$(sqlite3 "$W/halved/nnlimits.sqlite" "SELECT value FROM meta WHERE key = 'attention_logits'")" = bartlett ] \
  || fail "a store of attention networks not stamped with this release's logits"
# (k) The shaped ReLU SDE's drift is nnlimits' own arithmetic (meta "relu_drift": src/relufactor.h, a series near ρ = 1;
#     earlier releases called libm's acos and sincos: the same law, other last digits). A store of the previous
#     release (schema 8, no such meta) that holds shaped-ReLU SDE paths, of the shaped MLP or of the shaped
#     transformer, is refused for a run or a merge that would add to it; one that holds only their networks resumes,
#     is upgraded to this build's schema and stamped, and finishes to the bytes of a direct run; np1 is stamped. Catches: paths
#     of the two drifts mixed in one store, a family left out of the refusal, schema 8 not upgraded.
[ "$(sqlite3 "$W/np1/nnlimits.sqlite" "SELECT value FROM meta WHERE key = 'relu_drift'")" = series ] \
  || fail "a store of shaped-ReLU SDE paths not stamped with this release's drift"
old8() { sqlite3 "$1/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'relu_drift'; UPDATE meta SET value = '8' WHERE key = 'schema'"; }
cp -r "$W/np1" "$W/oldrelu" && old8 "$W/oldrelu"
refused "$W/oldrelu" "whose drift an earlier release computed with libm" "old shaped-ReLU SDE store"
TJOB="-family shaped_transformer -grid_activation relu -grid_width 8 -grid_depth 8 -grid_seed 0-2 -inputs 3
  -sde_paths 16 -record_layers last -progress_interval 0"
run 0 run $TJOB -output "$W/trf" > /dev/null 2>&1 || fail "transformer SDE run"
cp -r "$W/trf" "$W/oldtrf" && old8 "$W/oldtrf"
JOB=$TJOB refused "$W/oldtrf" "whose drift an earlier release computed with libm" "old shaped-transformer SDE store"
cp -r "$W/np1" "$W/oldrelu2" && old8 "$W/oldrelu2" && sqlite3 "$W/oldrelu2/nnlimits.sqlite" \
  "DELETE FROM fokker_planck; DELETE FROM sde_paths; DELETE FROM points WHERE kind = 'sde'"
run 0 run $JOB -output "$W/oldrelu2" > /dev/null 2> "$W/old.err" || { cat "$W/old.err"; fail "an old store without shaped-ReLU SDE paths was not resumed"; }
[ "$(sqlite3 "$W/oldrelu2/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('schema', 'relu_drift') ORDER BY key)")" = "series $(schema_of "$W/np1")" ] \
  || fail "resumed schema-8 store: meta $(sqlite3 "$W/oldrelu2/nnlimits.sqlite" "SELECT key, value FROM meta WHERE key IN ('schema', 'relu_drift')")"
for t in sde fokker_planck laws; do
  "$NNL" export "$W/oldrelu2" -table $t -o "$W/oldrelu2.$t.csv"
  cmp -s "$W/np1.$t.csv" "$W/oldrelu2.$t.csv" || fail "$t export of the resumed schema-8 store differs from a direct run"
done
# (i) Inputs of correlation 1 keep V singular, and the noise's square root turns rounding into drifts off the cone of
#     1e-8 and more. The state space has a tolerance of 1e-6 of V, and a V off the cone within it goes back onto it
#     (src/sde_task.c ShapedProject): at T = 16 no step is halved, and every path's ρ is at most 1 (to 1e-12). Catches:
#     rounding taken for leaving (a strictly positive definite test halved 884 of 1000 paths, a note), the drift left
#     alone (10 % of the paths then end past ρ = 1 + 1e-6, up to 2.25: E ρ 1.0003 and 1.0014).
run 0 run -family shaped_mlp -grid_activation relu,tanh -grid_width 16 -grid_depth 256 -grid_seed 0-4 -inputs 2 -input_correlation 1 \
  -sde_paths 300 -record_layers last -fp_cells 50 -progress_interval 0 -output "$W/rho1" > "$W/rho1.out" 2>&1 || fail "correlation-1 run"
! grep "^note: sde" "$W/rho1.out" || fail "inputs of correlation 1: SDE steps halved for rounding"
"$NNL" export "$W/rho1" -table laws | awk -F, '$6 == "rho" { n++; if (!($8 == 300 && $11 <= 1 + 1e-12 && $12 < 1e-6)) bad = 1
    printf "sde: correlation 1 at T = 16, %s: SDE paths %d, E rho - 1 = %.3g, sd %.3g\n", $2, $8, $11 - 1, $12 }
  END { exit bad || n != 2 }' || fail "inputs of correlation 1: SDE paths off the cone (rho > 1)"
# The same past NNL_SMALL_M = 8 inputs, where V's square root is LAPACK's (dpotrf, then dsyev's eigenvalues clipped at 0):
# m = 10 at steps of 0.01 (2 s). Without the projection there: 36 of 100 paths halved (a note), E rho - 1 = 0.0034.
run 0 run -family shaped_mlp -grid_activation relu -grid_width 16 -grid_depth 256 -grid_seed 0-2 -inputs 10 -input_correlation 1 \
  -sde_paths 100 -sde_dt 0.01 -record_layers last -progress_interval 0 -output "$W/rho1m10" > "$W/rho1m10.out" 2>&1 || fail "correlation-1 run, m = 10"
! grep "^note: sde" "$W/rho1m10.out" || fail "inputs of correlation 1, m = 10: SDE steps halved for rounding"
"$NNL" export "$W/rho1m10" -table laws | awk -F, '$6 == "rho" { n++; if (!($8 == 100 && $11 <= 1 + 1e-12 && $22 <= 1 && $12 < 1e-6)) bad = 1
    printf "sde: correlation 1 at T = 16, m = 10: SDE paths %d, E rho - 1 = %.3g, sd %.3g, q95 - 1 = %.3g\n", $8, $11 - 1, $12, $22 - 1 }
  END { exit bad || n != 1 }' || fail "inputs of correlation 1, m = 10: SDE paths off the cone (rho > 1)"
# A failed SDE task (its Fokker-Planck solve stopped by -limit_fp_ts_max_steps 1) is named by status as one, with its
# width and depth and the id the points export prints.
run 1 run -family shaped_mlp -grid_activation relu -grid_width 8 -grid_depth 8 -grid_seed 0-2 -sde_paths 10 -fp_cells 50 \
  -limit_fp_ts_max_steps 1 -progress_interval 0 -output "$W/fpfail" > /dev/null 2>&1 || fail "run with a failing Fokker-Planck solve"
"$NNL" status "$W/fpfail" > /dev/null 2> "$W/fpfail.err"
grep -q "1 failed: Fokker-Planck: TS stopped .* (first: shaped_mlp relu SDE task, width 8 depth 8, id [0-9a-f]\{16\})" "$W/fpfail.err" \
  || fail "status of a failed SDE task: $(cat "$W/fpfail.err")"

# (l) A layer's Fokker-Planck density does not depend on which other layers are recorded: the solve stops at every
#     layer (its backward Euler steps end on each stop; meta "fp_layers"), so depth 16 alone (every layer recorded)
#     and beside depth 32 (16 log-spaced layers of each) give the same density at their common layers. A store of the
#     previous release (schema 9, no such meta) holding densities at log-spaced layers is refused for a run or a
#     merge that would add to it; one holding them at every layer resumes, stamped and upgraded to this build's schema. Catches
#     a solve stopped at the recorded layers only (the last layer's density then differs in its last digits,
#     4.6129144923206711e-207 against ...6677e-207 at width 16: the reproducibility review), the two mixed in one store.
FPJ="-family shaped_mlp -grid_activation relu -grid_width 16 -grid_seed 0-2 -sde_paths 10 -fp_cells 30 -progress_interval 0"
run 0 run $FPJ -grid_depth 16 -output "$W/fp16" > /dev/null 2>&1 || fail "Fokker-Planck run of depth 16"
run 0 run $FPJ -grid_depth 16,32 -output "$W/fp1632" > /dev/null 2>&1 || fail "Fokker-Planck run of depths 16, 32"
"$NNL" export "$W/fp16" -table fokker_planck -o "$W/fp16.csv"
"$NNL" export "$W/fp1632" -table fokker_planck | grep '^shaped_mlp,relu,16,16,' > "$W/fp1632.csv"
[ "$(wc -l < "$W/fp1632.csv")" -gt 30 ] || fail "Fokker-Planck: depth 16 beside 32 has no density rows"
fpdiff=$(grep -vxFf "$W/fp16.csv" "$W/fp1632.csv" || true)
[ -z "$fpdiff" ] || fail "Fokker-Planck: depth 16's density at a layer differs with the layers recorded beside it: $(echo "$fpdiff" | head -2)"
old9() { sqlite3 "$1/nnlimits.sqlite" "DELETE FROM meta WHERE key = 'fp_layers'; UPDATE meta SET value = '9' WHERE key = 'schema'"; }
cp -r "$W/fp1632" "$W/oldfpl" && old9 "$W/oldfpl"
JOB="$FPJ -grid_depth 16,32" refused "$W/oldfpl" "whose solve an earlier release stepped onto the recorded layers alone" \
  "old store of log-spaced Fokker-Planck densities"
cp -r "$W/fp16" "$W/oldfpa" && old9 "$W/oldfpa"
run 0 run $FPJ -grid_depth 16 -output "$W/oldfpa" > /dev/null 2> "$W/old.err" ||
  { cat "$W/old.err"; fail "an old store of densities at every layer was not resumed"; }
[ "$(sqlite3 "$W/oldfpa/nnlimits.sqlite" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('schema', 'fp_layers') ORDER BY key)")" = "every $(schema_of "$W/np1")" ] \
  || fail "resumed schema-9 store of densities at every layer: meta $(sqlite3 "$W/oldfpa/nnlimits.sqlite" "SELECT key, value FROM meta WHERE key IN ('schema', 'fp_layers')")"

echo "sde: rank-invariant, mergeable, mass-conserving on cells uniform in atanh rho; laws table consistent; SDE time l/n, the grid, the attention logits, the ReLU drift and the densities at every layer: old stores kept apart; steps that leave halved, paths out of the state space counted"
