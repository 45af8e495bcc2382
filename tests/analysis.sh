# analysis/: the Python loader reads a store exactly as `nnlimits export` writes it, and summary.py's numbers and
# figure are right. Catches: a loader whose query drifts from the export (columns, order, NULL handling), a
# summary that averages the wrong layer or entry, a figure script that crashes or writes an empty file; a loader
# query whose condition on the points (family='resnet') lets SQLite loop over seq (one row per layer index up to
# the deepest network) outside the points: 182 s instead of 4–7 for fig_hayou_2022.py on its job.
# ctest-label: cli
source "$(dirname "$0")/lib.sh" "$@"
SRC=${NNL_SOURCE_DIR:?}
PY=/usr/bin/python3
run 1 run -family resnet,mlp -grid_width 16,64 -grid_depth 4,16 -grid_seed 0-8 -grid_activation relu,tanh \
  -record_layers 5 -progress_interval 0 -output "$W/run" > /dev/null 2>&1 || fail "sweep"
export_all "$W/run" "$W/x"

# (a0) the loader reads this build's store schema: its SCHEMAS ends at NNL_STORE_SCHEMA (include/nnlimits/store.h).
#      Catches a schema bump that leaves analysis/ refusing every new store as "newer" (it happened twice).
h=$(sed -n 's/^ *\([0-9][0-9]*\) \/\* 2: limit tasks.*/\1/p' "$SRC/include/nnlimits/store.h")
p=$(sed -n 's/^SCHEMAS = ([0-9]*, \([0-9]*\)).*/\1/p' "$SRC/analysis/nnlimits.py")
[ -n "$h" ] && [ "$h" = "$p" ] || fail "analysis/nnlimits.py reads store schemas up to '$p', this build writes '$h'"
# (a1) every script with a #! line is executable, as the README and the job files run them (fig_phase.py was not).
for f in "$SRC"/analysis/*; do
  [ ! -f "$f" ] || [ "$(head -c 2 "$f")" != '#!' ] || [ -x "$f" ] || fail "$f has a #! line but is not executable (git update-index --chmod=+x)"
done
# (a2) fig_phase.py's critical line in closed form where the length map has no positive fixed point to iterate to: odd φ
#      at σ_b² = 0 (q* = 0, χ₁ = σ_w² φ'(0)²: tanh 1, erf π/4; iterated, tanh's took 30 s and gave 1.0001) and relu (2).
PYTHONPATH="$SRC/analysis" $PY -c 'import math, fig_phase as f
assert f.critical_sw2("tanh", 0) == 1 and abs(f.critical_sw2("erf", 0) - math.pi / 4) < 1e-15, "odd phi at sigma_b2 = 0"
assert f.chi1("tanh", 1, 0) == (1, 0) and f.critical_sw2("relu", 0.3) == 2 and f.chi1("relu", 1, 0.1) == (0.5, 0.2)
assert abs(f.critical_sw2("tanh", 0.05) - 1.7609546) < 1e-6, f.critical_sw2("tanh", 0.05)' || fail "fig_phase.py critical line"
# (a3) a figure's default name carries a non-default --activation (or --family): one does not overwrite another
$PY "$SRC/analysis/fig_phase.py" "$W/run" --dpi 30 > /dev/null 2>&1 || fail "fig_phase.py (tanh) on the run"
$PY "$SRC/analysis/fig_phase.py" "$W/run" --dpi 30 --activation relu > /dev/null 2>&1 || fail "fig_phase.py --activation relu"
[ -s "$W/run/figures/phase.png" ] && [ -s "$W/run/figures/phase_relu.png" ] || fail "default figure names: $(ls "$W/run/figures")"
rm -rf "$W/run/figures"
# (a) load() from SQLite == load_csv() of the export, every value of every table
PYTHONPATH="$SRC/analysis" $PY - "$W/run" "$W/x" <<'PYEOF' || fail "loader differs from export"
import sys, numpy as np, nnlimits
run, prefix = sys.argv[1], sys.argv[2]
for t in ("gram", "points", "stats", "limits"):
    a, b = nnlimits.load(run, t), nnlimits.load_csv(f"{prefix}.{t}.csv")
    assert list(a) == list(b), (t, list(a), list(b))
    for k in a:
        x, y = a[k], b[k]
        assert len(x) == len(y) > 0, (t, k)
        if x.dtype == float:
            assert np.array_equal(x, y, equal_nan=True), (t, k)
        else:
            assert (x == y).all(), (t, k)
PYEOF

# (a1) a message with a comma, quotes and a line break (none of today's have them) is quoted in the export, and read
# back equal to the loader's. Catches: a message column that a comma shifts, quotes not doubled.
cp -r "$W/run" "$W/msg" && sqlite3 "$W/msg/nnlimits.sqlite" \
  "UPDATE points SET message = 'bad, \"worse\"' || char(10) || 'worst' WHERE id IN (SELECT id FROM points ORDER BY ord LIMIT 2)"
"$NNL" export "$W/msg" -table points -o "$W/msg.points.csv"
PYTHONPATH="$SRC/analysis" $PY - "$W/msg" "$W/msg.points.csv" <<'PYEOF' || fail "a message with a comma, quotes and a newline"
import sys, nnlimits
a, b = nnlimits.load(sys.argv[1], "points"), nnlimits.load_csv(sys.argv[2])
assert list(a) == list(b) and len(a["message"]) == len(b["message"]) > 2
assert (a["message"] == b["message"]).all() and b["message"][1] == 'bad, "worse"\nworst' and b["message"][2] == "", b["message"][:3]
PYEOF

# (a1b) activations with parameters are shown as typed (leaky_relu:0.2, not the stored leaky_relu:0.20000000000000001),
# by the export, the summary and the loader alike, and a condition on the typed name finds its rows. Catches: a
# loader whose where="activation='leaky_relu:0.2'" found nothing, the loader's names and the export's apart.
run 1 run -family mlp -grid_activation leaky_relu:0.2,sin:0.1:3e-7:-2.5,relu -grid_width 8 -grid_depth 2 -grid_seed 0-2 \
  -progress_interval 0 -output "$W/act" > "$W/act.out" 2>&1 || fail "sweep with parametrised activations"
grep -q '^mlp     leaky_relu:0.2 ' "$W/act.out" || { cat "$W/act.out"; fail "summary: leaky_relu:0.2 not as typed"; }
for t in points stats compare laws; do "$NNL" export "$W/act" -table $t -o "$W/act.$t.csv"; done
cut -d, -f2 "$W/act.points.csv" | sort -u | tr '\n' ' ' | grep -qx 'activation leaky_relu:0.2 relu sin:0.1:3e-07:-2.5 ' ||
  fail "points export names: $(cut -d, -f2 "$W/act.points.csv" | sort -u | tr '\n' ' ')"
for t in stats compare laws; do grep -q '^mlp,leaky_relu:0.2,' "$W/act.$t.csv" || fail "$t export: leaky_relu:0.2 not as typed"; done
PYTHONPATH="$SRC/analysis" $PY - "$W/act" "$W/act.stats.csv" <<'PYEOF' || fail "loader: activation names"
import sys, nnlimits
a, b = nnlimits.load(sys.argv[1], "stats"), nnlimits.load_csv(sys.argv[2])
assert (a["activation"] == b["activation"]).all()
d = nnlimits.load(sys.argv[1], "stats", where="activation='leaky_relu:0.2'")
assert len(d["layer"]) == (b["activation"] == "leaky_relu:0.2").sum() > 0, len(d["layer"])
assert nnlimits.nnl_act("sin:0.10000000000000001:2.9999999999999999e-07:-2.5") == "sin:0.1:3e-07:-2.5"
PYEOF

# (a2) the same for the SDE tables and the spectra, on a small job that has them: a shaped MLP's SDE time t = ℓ/n and
# its Fokker–Planck cells' edges (rho_lo, rho_hi, from the store's grid) as the export computes them; and a condition
# on one cell keeps that cell's edges. Catches: a loader that kept an earlier release's t = (ℓ − 1)/n, edges computed
# from the filtered rows.
run 1 run -family shaped_mlp,resnet -grid_activation relu -grid_width 8 -grid_depth 4,8 -grid_seed 0-3 -inputs 2 \
  -sde_paths 16 -fp_cells 32 -record_layers 3 -spectra_layers last -progress_interval 0 -output "$W/sde" > /dev/null 2>&1 || fail "SDE sweep"
for t in sde fokker_planck spectra; do "$NNL" export "$W/sde" -table $t -o "$W/y.$t.csv"; done
PYTHONPATH="$SRC/analysis" $PY - "$W/sde" "$W/y" <<'PYEOF' || fail "loader differs from export (SDE tables, spectra)"
import sys, numpy as np, nnlimits
run, prefix = sys.argv[1], sys.argv[2]
for t in ("sde", "fokker_planck", "spectra"):
    a, b = nnlimits.load(run, t), nnlimits.load_csv(f"{prefix}.{t}.csv")
    assert list(a) == list(b), (t, list(a), list(b))
    for k in a:
        assert len(a[k]) == len(b[k]) > 0, (t, k)
        assert np.array_equal(a[k], b[k], equal_nan=True) if a[k].dtype == float else (a[k] == b[k]).all(), (t, k)
fp = nnlimits.load(run, "fokker_planck")
one = nnlimits.load(run, "fokker_planck", where="cell=20")
keep = fp["cell"] == 20
assert np.array_equal(one["rho_lo"], fp["rho_lo"][keep]) and np.array_equal(one["rho_hi"], fp["rho_hi"][keep])
PYEOF

# (b) summary.py's q00 means == means computed here from the exported CSV (last layer, a = b = 0)
$PY "$SRC/analysis/summary.py" "$W/run" -o "$W/summary.png" > "$W/summary.txt" || fail "summary.py"
awk -F, 'NR > 1 && $6 == $4 && $8 == 0 && $9 == 0 { k = $1 " " $2 " " $3 " " $4; s[k] += $10; n[k]++ }
         END { for (k in s) printf "%s %.12g\n", k, s[k] / n[k] }' "$W/x.gram.csv" | sort > "$W/want.txt"
sed -n 's/^family=\([^ ]*\) activation=\([^ ]*\) width=\([^ ]*\) depth=\([^ ]*\) seeds=8 q00_mean=\([^ ]*\) .*/\1 \2 \3 \4 \5/p' \
  "$W/summary.txt" | awk '{ printf "%s %s %s %s %.12g\n", $1, $2, $3, $4, $5 }' | sort > "$W/got.txt"
[ "$(wc -l < "$W/want.txt")" = 16 ] || fail "expected 16 groups, got $(wc -l < "$W/want.txt")"
cmp -s "$W/want.txt" "$W/got.txt" || { diff "$W/want.txt" "$W/got.txt" >&2; fail "summary means differ"; }
# (b1) its key=value lines read by `| head` (as `nnlimits export DIR | head`): the script ends quietly when the reader
#      has gone. Catches 'summary.py: error: [Errno 32] Broken pipe' on stderr (its last line comes after the figure,
#      long after head has read one).
{ $PY "$SRC/analysis/summary.py" "$W/run" -o "$W/summary_pipe.png" 2> "$W/pipe.err" || true; } | head -1 > /dev/null
[ ! -s "$W/pipe.err" ] || fail "summary.py | head: $(cat "$W/pipe.err")"

# (b2) with dead networks (ReLU at n = 4: about half die by depth 8, and a dead network's ρ is 0/0), summary.py's ρ
# mean and s.e. are over the networks that have a ρ, as the run's own summary prints them. Catches: a NaN mean (NaN
# not left out), and the run's summary's s.e. taken over every seed (0.0102 here instead of 0.0142).
run 1 run -family mlp -grid_activation relu -grid_width 4 -grid_depth 8 -grid_seed 0-200 -inputs 2 -progress_interval 0 \
  -output "$W/dead" > "$W/dead.out" 2> /dev/null || fail "run with dead networks"
c=$(awk '$1 == "mlp" && $2 == "relu" { print $(NF - 3), $(NF - 1) }' "$W/dead.out")
p=$($PY "$SRC/analysis/summary.py" "$W/dead" | sed -n 's/.* rho01_mean=\([^ ]*\) rho01_se=\([^ ]*\) rho01_seeds=\([0-9]*\).*/\1 \2 \3/p' \
    | awk '{ printf "%.5f %.5f %d", $1, $2, $3 }')
[ "$c" = "${p% *}" ] && [ "${p##* }" -gt 50 ] && [ "${p##* }" -lt 180 ] \
  || fail "ρ with dead networks: run summary '$c', summary.py '$p' (mean, s.e., seeds with a ρ)"
# (b3) the run summary's last column, the limit of ρ: the NNGP's ρ at the last layer (from the limits export) for an
# MLP, the covariance SDE's mean over paths (from the sde export) for the shaped MLP, whose NNGP is its input kernel.
# Catches: a ρ made of the wrong entries, the shaped MLP's input-kernel ρ (0.5 here) or another width's SDE.
run 1 run -family mlp,shaped_mlp -grid_activation relu -grid_width 16,32 -grid_depth 8 -grid_seed 0-3 -inputs 2 -sde_paths 40 \
  -record_layers last -progress_interval 0 -output "$W/rholim" > "$W/rholim.out" 2> /dev/null || fail "run for the ρ limit"
"$NNL" export "$W/rholim" -table limits -o "$W/rholim.limits.csv"
"$NNL" export "$W/rholim" -table sde -o "$W/rholim.sde.csv"
$PY - "$W/rholim" "$W/rholim.out" << 'PYEOF' || fail "summary: the limit of ρ"
import csv, math, sys
from collections import defaultdict
d, out = sys.argv[1], sys.argv[2]
q = {(r["a"], r["b"]): float(r["q_nngp"]) for r in csv.DictReader(open(d + ".limits.csv"))
     if r["family"] == "mlp" and r["layer"] == r["depth"]}
want = {("mlp", w): "%.5f" % (q["0", "1"] / math.sqrt(q["0", "0"] * q["1", "1"])) for w in ("16", "32")}
paths = defaultdict(dict)
for r in csv.DictReader(open(d + ".sde.csv")):
    paths[r["width"], r["path"]][r["a"], r["b"]] = float(r["q"])
for w in ("16", "32"):
    rho = [p["0", "1"] / math.sqrt(p["0", "0"] * p["1", "1"]) for (pw, _), p in paths.items() if pw == w]
    assert len(rho) == 40, len(rho)
    want["shaped_mlp", w] = "%.5f" % (sum(rho) / len(rho))
got = {(l.split()[0], l.split()[2]): l.split()[-1] for l in open(out) if l.split()[:1] in (["mlp"], ["shaped_mlp"])}
assert got == want, (got, want)
assert abs(float(want["shaped_mlp", "16"]) - 0.5) > 1e-3
PYEOF

# (c) the figure: a real PNG and a PDF beside it
[ "$(head -c 8 "$W/summary.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "summary.png is not a PNG"
[ "$(stat -c %s "$W/summary.png")" -gt 10000 ] || fail "summary.png is too small to hold the plot"
head -c 5 "$W/summary.pdf" | grep -q '%PDF-' || fail "summary.pdf missing"
# (d) a condition on the points makes load() read fewer rows, never more: with seq (2002 rows, depth 2000) in an
# outer loop, the filtered query visits pairs × seq × points rows. Counted in SQLite VM instructions (the progress
# handler, deterministic for a given SQLite), not timed; and the rows are those of the unfiltered load, filtered here.
run 1 run -family resnet,mlp -grid_width 4 -grid_depth 4,2000 -grid_seed 0-3 -grid_activation relu -record_layers 3 \
  -progress_interval 0 -output "$W/deep" > /dev/null 2>&1 || fail "deep sweep"
PYTHONPATH="$SRC/analysis" $PY - "$W/deep" <<'PYEOF' || fail "a condition on the points makes load() visit more rows"
import sys, numpy as np, nnlimits
run = sys.argv[1]
def steps(sql):
    n = [0]
    with nnlimits._connect(run) as db:
        db.set_progress_handler(lambda: n.__setitem__(0, n[0] + 1), 10)
        db.execute(sql).fetchall()
    return n[0]
for t, key in (("gram", "q"), ("stats", "lognorm")):
    full, cost = nnlimits.load(run, t), steps(nnlimits.query(run, t))
    for where, keep in (("family='resnet'", full["family"] == "resnet"), ("seed=1", full["seed"] == 1),
                        ("activation='relu' AND depth=2000", (full["activation"] == "relu") & (full["depth"] == 2000)),
                        ("family IN ('mlp') AND width<=4", full["family"] == "mlp")):
        sql = nnlimits.query(run, t, where=where)
        got = steps(sql)
        with nnlimits._connect(run) as db:
            plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql)]
        assert got <= cost, (t, where, f"{got} steps, {cost} without the condition; plan {plan}")
        part = nnlimits.load(run, t, where=where)
        assert 0 < len(part[key]) < len(full[key]), (t, where)
        for k in full:
            assert np.array_equal(part[k], full[k][keep]) if part[k].dtype == object else \
                np.array_equal(part[k], full[k][keep], equal_nan=True), (t, where, k)
PYEOF

# (e) a quoted literal in a condition is left as it is: "message = 'bad seed 3'" read 'bad (seed) 3' and found no rows
cp -r "$W/run" "$W/quoted" && sqlite3 "$W/quoted/nnlimits.sqlite" \
  "UPDATE points SET message = 'bad seed 3' WHERE id IN (SELECT id FROM points ORDER BY ord LIMIT 3)"
PYTHONPATH="$SRC/analysis" $PY - "$W/quoted" <<'PYEOF' || fail "a quoted literal in load()'s condition"
import sys, nnlimits
run = sys.argv[1]
assert "'bad seed 3'" in nnlimits.query(run, "points", ["seed"], where="message = 'bad seed 3'")
assert len(nnlimits.load(run, "points", ["seed"], where="message = 'bad seed 3' AND seed >= 0")["seed"]) == 3
assert len(nnlimits.load(run, "points", ["seed"], where="message = 'it''s seed'")["seed"]) == 0
for table, columns, says in (("spectrum", None, "load_export(DIR, 'spectrum')"), ("gram", ["widht"], "no column 'widht'")):
    try:
        nnlimits.load(run, table, columns)
        raise SystemExit(f"load({table}, {columns}) accepted")
    except ValueError as e:
        assert says in str(e), str(e)
PYEOF

# (f) a run that is not finished (an interrupted one: points missing, its last run 'interrupted'; a died one) is refused by the
# figure scripts in one line that says how to finish it, and drawn with --partial (said on stderr); errors are one line
# (exit 2), not tracebacks: a missing directory (summary.py), an output that cannot be written. fig_li_nica_roy.py,
# fig_hayou_yang.py and fig_hayou_2022.py crashed on interrupted runs (ZeroDivisionError, All-NaN slice, IndexError).
cp -r "$W/run" "$W/part"
sqlite3 "$W/part/nnlimits.sqlite" "DELETE FROM points WHERE ord % 3 = 1; UPDATE runs SET status = 'interrupted'"
for s in summary.py fig_hayou_yang.py; do
  $PY "$SRC/analysis/$s" "$W/part" -o "$W/part_$s.png" > /dev/null 2> "$W/part.err" && fail "$s drew an interrupted run"
  [ $? = 2 ] && [ "$(grep -c . "$W/part.err")" = 1 ] && grep -q "the run is not finished: .* tasks pending (last run: interrupted, rerun the same nnlimits command" "$W/part.err" ||
    fail "$s on an interrupted run: $(cat "$W/part.err")"
done
# A run whose last row says 'running' while no process holds its lock died (nnlimits status says so): told to rerun,
# not that it is being written now; with its lock held (fcntl, as a run holds it), being written now.
sqlite3 "$W/part/nnlimits.sqlite" "UPDATE runs SET status = 'running'"
$PY "$SRC/analysis/summary.py" "$W/part" -o "$W/part_died.png" > /dev/null 2> "$W/part.err" && fail "summary.py drew a died run"
grep -q "(last run: died, rerun the same nnlimits command" "$W/part.err" || fail "summary.py on a died run: $(cat "$W/part.err")"
# one marked stopping (a stop signal came) with no lock held was killed in its stop: interrupted, as status says
sqlite3 "$W/part/nnlimits.sqlite" "UPDATE runs SET status = 'stopping'"
$PY "$SRC/analysis/summary.py" "$W/part" -o "$W/part_died.png" > /dev/null 2> "$W/part.err" && fail "summary.py drew a run killed in its stop"
grep -q "(last run: interrupted, rerun the same nnlimits command" "$W/part.err" || fail "summary.py on a run killed in its stop: $(cat "$W/part.err")"
sqlite3 "$W/part/nnlimits.sqlite" "UPDATE runs SET status = 'running'"
$PY -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); fcntl.lockf(fd, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)' \
  "$W/part/nnlimits.lock" > "$W/holder.out" &
holder=$!
for _ in $(seq 100); do grep -q locked "$W/holder.out" && break; sleep 0.1; done
$PY "$SRC/analysis/summary.py" "$W/part" -o "$W/part_live.png" > /dev/null 2> "$W/part.err" && fail "summary.py drew a run being written"
kill $holder; wait $holder 2> /dev/null || true
grep -q "(last run: running, being written now)" "$W/part.err" || fail "summary.py on a run being written: $(cat "$W/part.err")"
sqlite3 "$W/part/nnlimits.sqlite" "UPDATE runs SET status = 'interrupted'"
$PY "$SRC/analysis/summary.py" "$W/part" --partial -o "$W/part.png" > /dev/null 2> "$W/part.err" || fail "summary.py --partial: $(cat "$W/part.err")"
grep -q "^warning: .* the run is not finished" "$W/part.err" || fail "summary.py --partial said nothing"
$PY "$SRC/analysis/fig_hayou_yang.py" "$W/part" --partial -o "$W/part2.png" > /dev/null 2> "$W/part.err"
[ "$(grep -c Traceback "$W/part.err")" = 0 ] || fail "fig_hayou_yang.py --partial: a traceback: $(cat "$W/part.err")"
$PY "$SRC/analysis/summary.py" "$W/nosuch" > /dev/null 2> "$W/nosuch.err" && fail "summary.py of a missing directory"
[ "$(grep -c . "$W/nosuch.err")" = 1 ] && grep -q "is not a run directory" "$W/nosuch.err" || fail "summary.py: $(cat "$W/nosuch.err")"
$PY "$SRC/analysis/summary.py" "$W/run" -o /proc/nope/x.png > /dev/null 2> "$W/ro.err" && fail "summary.py wrote into /proc"
[ "$(grep -c . "$W/ro.err")" = 1 ] && grep -q "^summary.py: error: " "$W/ro.err" || fail "summary.py -o /proc/...: $(cat "$W/ro.err")"

# (h) an entry's settings (nnlimits.entry, job_settings): the job's one values where a name carries none, the name's
# where it does; the attention settings of a one-value job from their combined line; a swept setting None in the job.
# Catches: the figure scripts' theory given the job's setting instead of the entry's, or a list read as a number.
cp -r "$W/run" "$W/jobtext" && sqlite3 "$W/jobtext/nnlimits.sqlite" "UPDATE meta SET value = replace(value, 'sigma_w2=auto',
  'sigma_w2=1,2') || char(10) || 'attn_tau0,attn_gamma,attn_key_width=0.5,0.7,0' || char(10) WHERE key = 'job'"
PYTHONPATH="$SRC/analysis" $PY - "$W/run" "$W/jobtext" <<'PYEOF' || fail "entry settings"
import sys, nnlimits
other = nnlimits.job_settings(sys.argv[2])
assert other == {"sigma_w2": None, "sigma_b2": 0.0, "branch_alpha": 0.5, "attn_tau0": 0.5, "attn_gamma": 0.7}, other
job = nnlimits.job_settings(sys.argv[1])
assert job == {"sigma_w2": "auto", "sigma_b2": 0.0, "branch_alpha": 0.5, "attn_tau0": None, "attn_gamma": None}, job
assert nnlimits.entries(sys.argv[1], "mlp") == ["relu", "tanh"] and nnlimits.entries(sys.argv[1]) == ["relu", "tanh"]
act, s = nnlimits.entry("tanh;sigma_w2=1.5;sigma_b2=0.05", job)
assert act == "tanh" and s["sigma_w2"] == 1.5 and s["sigma_b2"] == 0.05 and s["branch_alpha"] == 0.5
assert nnlimits.critical("tanh", job) and not nnlimits.critical("tanh", s) and nnlimits.critical("relu", dict(job, sigma_w2=2.0))
assert nnlimits.sigma_w2("leaky_relu:0.5", job) == 2 / 1.25 and nnlimits.sigma_w2("gelu", job) is None
assert nnlimits.entry_kv("relu;sigma_w2=2.5") == {"activation": "relu", "sigma_w2": "2.5"}
assert nnlimits.pick_entry(sys.argv[1], "mlp", "tanh") == "tanh" and nnlimits.pick_entry(sys.argv[1], "mlp", "erf") is None
assert nnlimits.resolve_entry(sys.argv[1], "mlp", "tanh") == ("tanh", "tanh", job)
assert nnlimits.resolve_entry(sys.argv[1], "mlp", "erf") == ("erf", "erf", job)
PYEOF
echo "analysis: loader = export for 7 tables, summary means match, PNG and PDF written, conditions cut the rows visited;"
echo "  quoted literals kept; unfinished runs refused in one line (--partial draws them); errors one line"
