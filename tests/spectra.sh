# Spectra through real runs: -spectra_layers rows in the store and the spectra / spectrum exports; the same values
# when spectra teams (ScaLAPACK, -spectra_team_size) compute them at 2 and 4 ranks; nothing when spectra are off.
# Catches: spectra lost in packing between ranks, a team protocol that hangs or mixes matrices between points, rows
# keyed to the wrong layer, scalars that disagree with the values they summarise.
# ctest-label: mpi
source "$(dirname "$0")/lib.sh" "$@"
JOB="-family mlp,resnet -grid_activation relu,leaky_relu:0.2 -grid_width 6,40 -grid_depth 4 -grid_seed 0-2 -inputs 9 -input_dim 12
     -spectra_layers 3 -progress_interval 0"
run 1 run $JOB -output "$W/np1" > /dev/null
run 2 run $JOB -output "$W/np2t" -spectra_team_size 2 -spectra_team_min 1 > /dev/null
run 4 run $JOB -output "$W/np4t" -spectra_team_size 2 -spectra_team_min 10 > /dev/null
run 1 run $JOB -output "$W/none" -spectra_layers none > /dev/null
# Shards merged: the same spectra bytes as one run (merge carries the spectra tables).
for i in 0 1; do run 1 run $JOB -output "$W/shard$i" -shard $i/2 > /dev/null; done
"$NNL" merge "$W/shard0" "$W/shard1" -output "$W/merged" > /dev/null
for t in spectra spectrum; do
  "$NNL" export "$W/np1" -table $t -o "$W/a.csv"; "$NNL" export "$W/merged" -table $t -o "$W/b.csv"
  cmp -s "$W/a.csv" "$W/b.csv" || fail "$t export of merged shards differs from one run"
done
for d in np1 np2t np4t; do
  "$NNL" export "$W/$d" -table spectra -o "$W/$d.spectra.csv"
  "$NNL" export "$W/$d" -table spectrum -o "$W/$d.spectrum.csv"
done
[ "$("$NNL" export "$W/none" -table spectra | wc -l)" = 1 ] || fail "spectra rows without -spectra_layers"
# Width 6 (max(6, 9) < 10) and the 9x9 Grams stay local at 4 ranks, width 40 goes to the teams.
# Everything but the spectra is bit-identical with teams (the sampler never sees them).
for t in gram stats points; do
  "$NNL" export "$W/np1" -table $t -o "$W/a.csv"; "$NNL" export "$W/np4t" -table $t -o "$W/b.csv"
  cmp -s "$W/a.csv" "$W/b.csv" || fail "$t export differs with spectra teams"
done
/usr/bin/python3 - "$W" <<'EOF' || fail "spectra checks (above)"
import csv, math, sys
W = sys.argv[1]
def load(name):
    with open(f"{W}/{name}") as f:
        return list(csv.DictReader(f))
key = lambda r: (r["family"], r["activation"], r["width"], r["depth"], r["seed"], r["layer"], r["matrix"])
ok = True
def bad(msg):
    global ok
    print("FAIL:", msg); ok = False
base = load("np1.spectra.csv")
vals = {}
for r in load("np1.spectrum.csv"):
    vals.setdefault(key(r), []).append(float(r["value"]))
# 2 activations x 2 widths x 2 seeds x (MLP layers 1, 2, 4; ResNet 0, 1, 2, 4) x 2 matrices
if len(base) != 2 * 2 * 2 * (3 + 4) * 2: bad(f"{len(base)} spectra rows")
for r in base:
    v = vals[key(r)]
    k = int(r["k"]); n = int(r["width"]); m = 9
    if k != len(v) or k != (m if r["matrix"] == "gram" else min(n, m)): bad(f"k={k}, {len(v)} values, at {key(r)}")
    if any(v[i] < v[i + 1] for i in range(len(v) - 1)): bad(f"values not descending at {key(r)}")
    sq = r["matrix"] == "gram"
    s2 = [max(x, 0) if sq else x * x for x in v]
    pr = sum(s2) ** 2 / sum(x * x for x in s2)
    if abs(pr - float(r["pr"])) > 1e-12 * pr: bad(f"pr {r['pr']} != {pr} at {key(r)}")
    if int(r["rank_rtol"]) != sum(x > 1e-3 * v[0] for x in v): bad(f"rank_rtol at {key(r)}")
    if not int(r["rank_rtol"]) <= int(r["rank"]) <= k: bad(f"ranks out of order at {key(r)}")
    # the Gram of pre-activations has rank <= min(n, m): width 6 < 9 inputs must show it
    if sq and n == 6 and int(r["rank"]) > 6: bad(f"Gram rank {r['rank']} > n = 6 at {key(r)}")
for d in ("np2t", "np4t"):
    other = {}
    for r in load(f"{d}.spectrum.csv"):
        other.setdefault(key(r), []).append(float(r["value"]))
    if other.keys() != vals.keys(): bad(f"{d}: different (point, layer, matrix) set")
    worst = max(max(abs(a - b) for a, b in zip(vals[k], other[k])) / max(abs(x) for x in vals[k]) for k in vals)
    if worst > 1e-10: bad(f"{d}: team spectra differ from LAPACK by {worst:.3g} (relative to the largest)")
    print(f"{d}: worst relative difference to 1 rank {worst:.3g}")
    for a, b in zip(base, load(f"{d}.spectra.csv")):
        if key(a) != key(b) or a["rank_rtol"] != b["rank_rtol"]: bad(f"{d}: rank_rtol differs at {key(a)}")
sys.exit(0 if ok else 1)
EOF
# Past double's range: a ReLU MLP (no bias) at σ_w² = 2^1002 is the σ_w² = 4 one times 2^(500 l) at layer l, exactly
# (powers of two), so its spectra's ranks, PR and condition numbers are the same bits and its values are scaled by
# 2^(500 l) (features) and 2^(1000 l) (Gram), inf past double's range. Catches a spectrum scaled back before its
# ratios: from layer 2 on its Gram read rank 0 and an empty PR.
HUGE="-family mlp -grid_activation relu -grid_width 16 -grid_depth 4 -grid_seed 0-2 -inputs 3 -spectra_layers all
      -progress_interval 0"
run 1 run $HUGE -sigma_w2 4 -output "$W/w4" > /dev/null
run 1 run $HUGE -sigma_w2 4.2860344287450693e+301 -output "$W/w2p1002" > /dev/null
for d in w4 w2p1002; do
  "$NNL" export "$W/$d" -table spectra -o "$W/$d.spectra.csv"; "$NNL" export "$W/$d" -table spectrum -o "$W/$d.spectrum.csv"
done
/usr/bin/python3 - "$W" <<'EOF2' || fail "spectra past double's range (above)"
import csv, math, sys
W = sys.argv[1]
load = lambda n: list(csv.DictReader(open(f"{W}/{n}")))
def scaled(x, r):
    try: return math.ldexp(x, (500 if r["matrix"] == "features" else 1000) * int(r["layer"]))
    except OverflowError: return math.inf
bad = []
for t, cols, val in (("spectra", ("k", "rank", "rank_rtol", "pr", "cond"), ("vmax", "vmin")), ("spectrum", ("i",), ("value",))):
    a, b = load(f"w4.{t}.csv"), load(f"w2p1002.{t}.csv")
    if len(a) != len(b) or len(a) < 2 * 4 * 2: bad.append(f"{t}: {len(a)} and {len(b)} rows")
    for x, y in zip(a, b):
        if any(x[c] != y[c] for c in cols) or any(scaled(float(x[c]), x) != float(y[c]) for c in val):
            bad.append(f"{t} layer {x['layer']} {x['matrix']}: {[x[c] for c in cols + val]} vs {[y[c] for c in cols + val]}")
    if t == "spectra" and not any(math.isinf(float(y["vmax"])) for y in b): bad.append("no spectrum past double's range")
for m in bad[:5]: print("FAIL:", m)
sys.exit(1 if bad else 0)
EOF2
echo "spectra: exports consistent; teams at 2 and 4 ranks agree with LAPACK within 1e-10; past double's range the same ranks and ratios"
