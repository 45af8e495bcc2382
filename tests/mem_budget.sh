# The per-rank memory budget (-mem_budget_mb, default 80% of the node's memory / its ranks): a task whose estimate
# exceeds it is refused before anything is allocated (exit 2, one line naming the width, the sampler and both
# sizes), and the estimate is an honest bound: the measured peak RSS a dense task adds over a tiny one is within
# [0.7, 1.15] × its estimate. Catches: an estimate that undercounts (the budget would not protect the node), a check
# made after allocating (the refused run's RSS would be the task's), a default budget that is not the machine's.
# ctest-label: reliability
source "$(dirname "$0")/lib.sh" "$@"
# m = 12 inputs: past 8 the dense sampler holds W whole (n² doubles) for DGEMM; up to 8 it draws W by chunks of
# columns (512 KB), checked at the end.
ONE="-family mlp -grid_activation relu -grid_depth 2 -grid_seed 0 -inputs 12 -sampler dense -progress_interval 0"
rss() { # rss ARGS...: peak RSS (MB) of nnlimits ARGS on one rank
  /usr/bin/time -f '%M' -o "$W/rss" "$NNL" "$@" > /dev/null 2> "$W/err" || true
  echo $(( $(tail -1 "$W/rss") / 1024 ))
}
est() { "$NNL" plan $ONE -grid_width "$1" | grep -o 'peak_mem_mb=[0-9.e+]*' | cut -d= -f2; }
# Refused before allocating: a width-40000 dense task needs ~12 GB; with a 100 MB budget the refusal costs no more
# than start-up does.
base=$(rss run $ONE -grid_width 8 -output "$W/tiny")
big=$(rss run $ONE -grid_width 40000 -mem_budget_mb 100 -output "$W/refused")
grep -q "^nnlimits: error: -grid_width: a network of width 40000, depth [0-9]* (sampler dense) needs .* MB, more than the budget of 100 MB per task" "$W/err" ||
  { cat "$W/err" >&2; fail "budget: no clear refusal"; }
[ ! -e "$W/refused" ] || fail "budget: the refused run created its output directory"
[ "$big" -lt $((base + 50)) ] || fail "budget: the refused run used ${big} MB (start-up alone: ${base} MB): it allocated first"
# The default budget is the machine's: a task needing 4x the node's memory is refused without -mem_budget_mb.
node_mb=$(( $(getconf _PHYS_PAGES) * $(getconf PAGESIZE) / 1048576 ))
w=$(python3 -c "import math; print(int(math.sqrt(4 * $node_mb * 1048576 / 8)))")
set +e; "$NNL" run $ONE -grid_width "$w" -output "$W/huge" > /dev/null 2> "$W/err"; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "more than the budget" "$W/err" || { cat "$W/err" >&2; fail "default budget: width $w accepted"; }
# The estimate bounds what a task really takes.
for width in 2048 4096; do
  e=$(est $width)
  m=$(rss run $ONE -grid_width $width -output "$W/w$width")
  python3 -c "import sys; e, m = $e, $m - $base; sys.exit(0 if 0.7 * e <= m <= 1.15 * e else 1)" ||
    fail "width $width: estimate ${e} MB, measured ${m} - ${base} MB"
  echo "mem_budget width=$width estimate_mb=$e measured_mb=$((m - base)) (peak RSS $m MB - start-up $base MB)"
done
# m <= 8: W by chunks, so a width-40000 dense task fits in a few MB, estimated and measured.
e=$("$NNL" plan ${ONE/-inputs 12/-inputs 4} -grid_width 40000 | grep -o 'peak_mem_mb=[0-9.e+]*' | cut -d= -f2)
m=$(rss run ${ONE/-inputs 12/-inputs 4} -grid_width 40000 -grid_depth 1 -mem_budget_mb 100 -output "$W/chunked")
python3 -c "import sys; e, m = $e, $m - $base; sys.exit(0 if e < 20 and m <= max(1.15 * e, 8) else 1)" ||
  fail "width 40000, m = 4: estimate ${e} MB, measured ${m} - ${base} MB (W should be drawn by chunks)"
echo "mem_budget width=40000 m=4 estimate_mb=$e measured_mb=$((m - base)) (W by chunks)"
# The two ends of the projection and dense estimates, within [0.7, 1.15] of the measured peak as above: one input of a
# wide network (the KS distance's copy and scratch, 2n, beside Y, Phi and Z: 161 MB estimated, 128 measured), and many
# inputs of a narrow one (the inputs' and the layer's m x m factors, 4m^2: 36 MB estimated for 114 before).
P="-family mlp -grid_activation relu -grid_seed 0 -progress_interval 0"
for c in "-grid_width 4194304 -grid_depth 1 -inputs 1" "-grid_width 4 -grid_depth 1 -inputs 1500 -input_dim 1500 -record_layers last"; do
  e=$("$NNL" plan $P $c | grep -o 'peak_mem_mb=[0-9.e+]*' | cut -d= -f2)
  m=$(rss run $P $c -output "$W/ends$RANDOM")
  python3 -c "import sys; e, m = $e, $m - $base; sys.exit(0 if 0.7 * e <= m <= 1.15 * e else 1)" ||
    fail "$c: estimate ${e} MB, measured ${m} - ${base} MB"
  echo "mem_budget $c: estimate_mb=$e measured_mb=$((m - base))"
done
# plan's peak memory counts the grid every rank holds (it said 1.0 MB for 4e6 points that took 288 MB): within
# [0.7, 1.15] of plan's own RSS above a tiny plan's, for 10^6 tiny points.
G="-grid_seed 0-250000 -grid_width 8 -grid_depth 2,3,4,5 -grid_activation relu"
# (peak_mem_mb also counts the run's SQLite page cache, 64 bytes a point beyond 16 MB, which plan does not open:
# 1000004 points, 45 MB of it, taken off here)
g=$("$NNL" plan $G | grep -o 'peak_mem_mb=[0-9.e+]*' | cut -d= -f2)
g=$(python3 -c "print($g - max(0, min(1024, 64 * 1000004 / 2**20) - 16))")
gm=$(( $(rss plan $G) - $(rss plan $ONE -grid_width 8) ))
python3 -c "import sys; sys.exit(0 if 0.7 * $gm <= $g <= 1.15 * $gm else 1)" ||
  fail "plan of 10^6 points: peak_mem_mb less the run's page cache=$g, measured $gm MB above a tiny plan"
echo "mem_budget grid of 10^6 points: estimate_mb=$g measured_mb=$gm"
# No rank expands the grid (each point decoded from its cell when needed): on 2 ranks, shard 0/1000 of the same 10^6
# points (~1000 tasks), the worker's peak RSS is a tiny run's and rank 0's its ids and indices more (~15 MB). Catches
# an expanded grid on either (68 bytes a point: 65 MB here; it was on every rank, 64 copies on a node of 64 ranks).
G1="$G -shard 0/1000 -progress_interval 0"
"$MPIEXEC" -n 2 sh -c "/usr/bin/time -f %M -o '$W/rss.'\$OMPI_COMM_WORLD_RANK '$NNL' run $G1 -output '$W/sharded'" > /dev/null 2> "$W/err" ||
  { cat "$W/err" >&2; fail "2-rank run of shard 0/1000"; }
r0=$(( $(tail -1 "$W/rss.0") / 1024 )) r1=$(( $(tail -1 "$W/rss.1") / 1024 ))
[ "$r1" -le $((base + 8)) ] || fail "grid on 2 ranks: the worker's peak RSS is ${r1} MB (a tiny run: ${base} MB): it holds the grid"
[ "$r0" -le $((base + 30)) ] || fail "grid on 2 ranks: rank 0's peak RSS is ${r0} MB (a tiny run: ${base} MB): it expands the grid"
echo "mem_budget grid of 10^6 points on 2 ranks: rank 0 ${r0} MB, worker ${r1} MB, a tiny run ${base} MB"
echo "mem_budget: refused before allocating (refused run ${big} MB vs start-up ${base} MB), default budget from ${node_mb} MB"
