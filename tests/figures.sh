# analysis/fig_*.py on tiny runs: each writes a real PNG and PDF with the run's provenance, and the numbers it prints
# (key=value) are those of the theory within bounds wide enough for a few hundred seeds yet tight enough to fail on
# a wrong sign, a wrong factor of 2 or a wrong axis. Catches: a figure script that crashes on a real store, reads
# the wrong column (pre vs post, kurtosis vs its ensemble version), groups by the wrong key, fits the wrong quantity.
# ctest-label: cli
source "$(dirname "$0")/lib.sh" "$@"
SRC=${NNL_SOURCE_DIR:?}
PY=/usr/bin/python3
export NNLIMITS=$NNL

# figure NAME SCRIPT RUN: run analysis/SCRIPT on RUN, keep its key=value lines in $W/NAME.txt, check PNG and PDF.
figure() { # NAME SCRIPT RUN [SCRIPT OPTIONS...]
  $PY "$SRC/analysis/$2" "$3" -o "$W/$1.png" --dpi 50 ${NULL_DRAWS:-} "${@:4}" > "$W/$1.txt" || fail "$2 failed"
  [ "$(head -c 8 "$W/$1.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1.png is not a PNG"
  [ "$(stat -c %s "$W/$1.png")" -gt 8000 ] || fail "$1.png is too small to hold the plot"
  head -c 5 "$W/$1.pdf" | grep -q '%PDF-' || fail "$1.pdf missing"
}

# check NAME 'SELECT' 'CONDITION': every line of NAME's output matching the awk pattern SELECT satisfies CONDITION
# (awk, on fields parsed into v["key"]); at least one line must match.
check() {
  awk -v name="$1" "
    { delete v; for (i = 1; i <= NF; i++) { split(\$i, kv, \"=\"); v[kv[1]] = kv[2] } }
    $2 { n++; if (!($3)) { print name \": fails \" \"$3\" \": \" \$0 > \"/dev/stderr\"; bad = 1 } }
    END { if (!n) { print name \": no line matches $2\" > \"/dev/stderr\"; bad = 1 }; exit bad }" "$W/$1.txt" \
    || fail "$1: printed numbers out of bounds"
}

# Hanin–Nica: slopes of mean and variance of ln‖x_L‖² in beta within 4 s.e. of the exact finite-n values (§4.3), and
# near the n → ∞ slopes −5/2 and 5 (n = 16, 32: exact −2.82, −2.64 and 6.71, 5.68).
run 2 run -family mlp -grid_activation relu,abs,leaky_relu:0.2 -grid_width 16,32 -grid_depth 4,8,16,32 -grid_seed 0-400 -inputs 1 \
  -record_layers last -progress_interval 0 -output "$W/hn" > /dev/null 2>&1 || fail "hanin-nica run"
figure hn fig_hanin_nica.py "$W/hn"
check hn '/width=[0-9]/' 'v["mean_slope"] - v["mean_exact"] <= 4 * v["mean_slope_se"] && v["mean_exact"] - v["mean_slope"] <= 4 * v["mean_slope_se"]'
check hn '/width=[0-9]/' 'v["var_slope"] - v["var_exact"] <= 4 * v["var_slope_se"] && v["var_exact"] - v["var_slope"] <= 4 * v["var_slope_se"]'
check hn '/width=all/' 'v["var_slope"] > 4 && v["var_slope"] < 8 && v["mean_slope"] < -2 && v["mean_slope"] > -3.5'
# the pooled slopes against the exact finite-n slopes pooled with the same weights (not against n → ∞, which the
# narrow widths that weigh most are furthest from: 12σ off on jobs/hanin_nica_lognormal.opts)
check hn '/width=all/' 'v["mean_slope"] - v["mean_exact"] <= 4 * v["mean_slope_se"] && v["mean_exact"] - v["mean_slope"] <= 4 * v["mean_slope_se"]'
check hn '/width=all/' 'v["var_slope"] - v["var_exact"] <= 4 * v["var_slope_se"] && v["var_exact"] - v["var_slope"] <= 4 * v["var_slope_se"]'
# Other a·min + b·max (the figure drew only relu): abs, whose R = chi²_n / n exactly (n = 16, 32: exact var slopes
# 2.13, 2.06, mean −1.02, −1.01), within 4 s.e. of its exact laws and printing c = 2; leaky_relu:0.2, whose c =
# 6(a⁴+1)/(a²+1)² − 1 = 4.5562 (no exact finite-n law: nan), its slopes near ±c. Catches: relu's theory or law kept
# for another activation (abs's var slope ~2.2 against relu's 5-6.7), the rows of another activation.
figure hn_abs fig_hanin_nica.py "$W/hn" --activation abs
check hn_abs '/width=[0-9]/' 'v["var_slope"] - v["var_exact"] <= 4 * v["var_slope_se"] && v["var_exact"] - v["var_slope"] <= 4 * v["var_slope_se"]'
check hn_abs '/width=[0-9]/' 'v["mean_slope"] - v["mean_exact"] <= 4 * v["mean_slope_se"] && v["mean_exact"] - v["mean_slope"] <= 4 * v["mean_slope_se"]'
check hn_abs '/width=all/' 'v["var_theory"] == 2 && v["mean_theory"] == -1 && v["var_exact"] > 2 && v["var_exact"] < 2.4'
figure hn_leaky fig_hanin_nica.py "$W/hn" --activation leaky_relu:0.2
check hn_leaky '/width=all/' 'v["var_theory"] - 4.55621 < 1e-4 && 4.55621 - v["var_theory"] < 1e-4 && v["mean_exact"] == "nan"'
check hn_leaky '/width=all/' 'v["var_slope"] > 3.5 && v["var_slope"] < 7.5 && v["mean_slope"] < -1.5 && v["mean_slope"] > -4'

# PDLT: kurtosis slopes in l/n near 5 (relu), 2 (linear), 2/3 (tanh, erf), 4.56 (leaky_relu:0.2); n = 32, l <= 8 (exact relu 4.65, linear 1.94);
# bounds ~4 jackknife s.e. (0.66, 0.17, 0.06 here), yet they exclude the neighbours' slopes and κ not divided by 3.
run 2 run -family mlp -grid_activation relu,linear,tanh,leaky_relu:0.2,erf -grid_width 32 -grid_depth 8 -grid_seed 0-1500 -inputs 1 \
  -record_layers all -progress_interval 0 -output "$W/pdlt" > /dev/null 2>&1 || fail "pdlt run"
figure pdlt fig_pdlt.py "$W/pdlt"
check pdlt '/activation=relu width=32/' 'v["slope"] > 2.5 && v["slope"] < 7.5'
check pdlt '/activation=linear width=32/' 'v["slope"] > 1.3 && v["slope"] < 2.7'
check pdlt '/activation=tanh width=32/' 'v["slope"] > 0.3 && v["slope"] < 1.0'
check pdlt '/activation=relu width=all/' 'v["exact_slope"] - 32 * log(1 + 5 / 32) < 1e-4 && 32 * log(1 + 5 / 32) - v["exact_slope"] < 1e-4'
# the theory for every a*min + b*max and the K* = 0 class (leaky_relu and erf printed theory=nan): leaky_relu:0.2's
# c = 6(a^4+1)/(a^2+1)^2 - 1 = 4.5562, its exact finite-n slope from it, erf's 2/3
check pdlt '/activation=leaky_relu:0.2 width=all/' 'v["theory"] - 4.55621 < 1e-4 && 4.55621 - v["theory"] < 1e-4 && v["exact_slope"] - 32 * log(1 + 4.556213 / 32) < 1e-4 && 32 * log(1 + 4.556213 / 32) - v["exact_slope"] < 1e-4'
check pdlt '/activation=leaky_relu:0.2 width=32/' 'v["slope"] > 2.3 && v["slope"] < 7'
check pdlt '/activation=erf width=all/' 'v["theory"] - 2 / 3 < 1e-5 && 2 / 3 - v["theory"] < 1e-5'

# Entries of a swept -sigma_w2 x -sigma_b2 (relu;sigma_w2=2.5;sigma_b2=0, ...), which the scripts read through
# nnlimits.entry. Off criticality a*min + b*max scales R by sigma_w2/sigma_c2 at every layer: Hanin-Nica's exact mean
# slope moves by n ln(sigma_w2/sigma_c2) (n = 32: -2.64 -> +4.50; the networks within 4 s.e. of it), its variance does
# not; with a bias no law is known (nan); --activation relu among four relu entries is refused, naming them. The PDLT
# kurtosis of a homogeneous phi is scale-free: at sigma_w2 = 2.5 it keeps c = 5 and the exact law; tanh's 2/3 holds at
# criticality only (nan at 2.5). Catches: an entry's name read as an activation (theory nan for relu;..., as before),
# the critical law kept off criticality (the mean slope ~80 s.e. away), settings read from another entry.
run 2 run -family mlp -grid_activation relu -sigma_w2 auto,2.5 -sigma_b2 0,0.1 -grid_width 16,32 -grid_depth 4,8,16,32 \
  -grid_seed 0-400 -inputs 1 -record_layers last -progress_interval 0 -output "$W/hnsw" > /dev/null 2>&1 || fail "swept hanin-nica run"
rc=0; $PY "$SRC/analysis/fig_hanin_nica.py" "$W/hnsw" -o "$W/hnsw_x.png" > /dev/null 2> "$W/hnsw_x.err" || rc=$?
[ "$rc" = 2 ] && grep -q "4 entries of relu (a swept setting): relu;sigma_w2=auto;sigma_b2=0, relu;sigma_w2=auto;sigma_b2=0.1, relu;sigma_w2=2.5;sigma_b2=0" "$W/hnsw_x.err" \
  || fail "hanin-nica: --activation relu among swept entries not refused with their names (exit $rc): $(cat "$W/hnsw_x.err")"
figure hnsw fig_hanin_nica.py "$W/hnsw" --activation 'relu;sigma_w2=2.5;sigma_b2=0'
check hnsw '/width=[0-9]/' 'v["mean_slope"] - v["mean_exact"] <= 4 * v["mean_slope_se"] && v["mean_exact"] - v["mean_slope"] <= 4 * v["mean_slope_se"]'
check hnsw '/width=[0-9]/' 'v["var_slope"] - v["var_exact"] <= 4 * v["var_slope_se"] && v["var_exact"] - v["var_slope"] <= 4 * v["var_slope_se"]'
check hnsw '/width=32/' 'v["mean_exact"] > 4.4 && v["mean_exact"] < 4.6 && v["mean_theory"] == "nan" && v["var_theory"] == 5 && v["sigma_w2"] == 2.5'
figure hnsw_b fig_hanin_nica.py "$W/hnsw" --activation 'relu;sigma_w2=2.5;sigma_b2=0.1'
check hnsw_b '/width=all/' 'v["mean_exact"] == "nan" && v["var_exact"] == "nan" && v["var_theory"] == "nan" && v["sigma_b2"] == 0.1'
figure hnsw_c fig_hanin_nica.py "$W/hnsw" --activation 'relu;sigma_w2=auto;sigma_b2=0'
check hnsw_c '/width=[0-9]/' 'v["mean_theory"] == -2.5 && v["mean_slope"] - v["mean_exact"] <= 4 * v["mean_slope_se"] && v["mean_exact"] - v["mean_slope"] <= 4 * v["mean_slope_se"]'
run 2 run -family mlp -grid_activation relu,tanh -sigma_w2 auto,2.5 -grid_width 32 -grid_depth 8 -grid_seed 0-1500 -inputs 1 \
  -record_layers all -progress_interval 0 -output "$W/pdltsw" > /dev/null 2>&1 || fail "swept pdlt run"
figure pdltsw fig_pdlt.py "$W/pdltsw"
check pdltsw '/activation=relu sigma_w2=2.5 width=32/' 'v["theory"] == 5 && v["slope"] - v["exact_slope"] <= 4 * v["slope_se"] && v["exact_slope"] - v["slope"] <= 4 * v["slope_se"]'
check pdltsw '/activation=tanh sigma_w2=auto width=all/' 'v["theory"] - 2 / 3 < 1e-5 && 2 / 3 - v["theory"] < 1e-5'
check pdltsw '/activation=tanh sigma_w2=2.5 width=all/' 'v["theory"] == "nan"'

# Hayou–Yang: RMS error to the ODE falls like n^(-1/2) along L = n^gamma; the tiny run's KS statistics look Gaussian.
run 2 run -family resnet -grid_activation relu -grid_width 16,64,256 -grid_depth 4,16,64,256 -grid_seed 0-24 \
  -inputs 2 -record_layers 4 -progress_interval 0 -output "$W/hy" > /dev/null 2>&1 || fail "hayou-yang run"
figure hy fig_hayou_yang.py "$W/hy"
check hy '/gamma=/' 'v["slope"] > -0.9 && v["slope"] < -0.15'
check hy '/max_rms=/' 'v["min_rms"] > 0 && v["min_rms"] < v["max_rms"] && v["max_rms"] < 1'
# its width-limit panel (-table extrapolate at t = 1): every depth's three entries fitted on the three widths, q_inf
# within 4 s.e. of the NNGP kernel (the n -> oo limit at that depth)
check hy '/c_rel=/' 'v["widths"] == 3 && v["z_nngp"] < 4 && v["z_nngp"] > -4 && v["c_rel_se"] > 0'
[ "$(grep -c 'c_rel=' "$W/hy.txt")" = 12 ] || fail "hayou-yang: want the 1/n coefficient of 4 depths x 3 entries"
NULL_DRAWS="--null 1000" figure hyqq fig_hayou_yang_qq.py "$W/hy"
# A swept -branch_alpha (entries relu;branch_alpha=0.5 and relu;branch_alpha=1): fig_hayou_yang draws the entry with a
# depth-limit ODE and names the other on stderr (it crashed on the All-NaN one before); fig_hayou_2022 refuses a bare
# relu among them (naming both) and α = 1, and draws relu;branch_alpha=0.5 with its SDE paths.
run 2 run -family resnet -grid_activation relu -grid_width 3,4,16 -grid_depth 16,64 -grid_seed 0-40 -inputs 2 -record_layers 8 \
  -branch_alpha 0.5,1 -sde_paths 100 -progress_interval 0 -output "$W/alpha" > /dev/null 2>&1 || fail "swept branch_alpha run"
$PY "$SRC/analysis/fig_hayou_yang.py" "$W/alpha" -o "$W/alpha_hy.png" > "$W/alpha_hy.txt" 2> "$W/alpha_hy.err" || fail "fig_hayou_yang on a swept alpha: $(cat "$W/alpha_hy.err")"
grep -q "relu;branch_alpha=1: no depth-limit ODE" "$W/alpha_hy.err" && grep -q "branch_alpha=0.5 min_rms=" "$W/alpha_hy.txt" &&
  ! grep -q "branch_alpha=1 " "$W/alpha_hy.txt" || fail "fig_hayou_yang: the alpha entries drawn wrong"
for a in relu 'relu;branch_alpha=1'; do
  $PY "$SRC/analysis/fig_hayou_2022.py" "$W/alpha" --activation "$a" -o "$W/alpha_h22.png" > /dev/null 2> "$W/alpha_h22.err" &&
    fail "fig_hayou_2022 drew --activation $a of a swept alpha"
  grep -q "relu;branch_alpha=0.5" "$W/alpha_h22.err" || fail "fig_hayou_2022 --activation $a: $(cat "$W/alpha_h22.err")"
done
figure alpha_h22 fig_hayou_2022.py "$W/alpha" --activation 'relu;branch_alpha=0.5'
check alpha_h22 '/width=4 depth=64/' 'v["sde_paths"] == 100 && v["seeds"] <= 40 && v["ks_sde"] < v["ks_crit001"]'

# Phase diagram (Poole et al. 2016): a tanh MLP swept over sigma_w2 x sigma_b2. The figure's own chi_1 (its quadrature of
# the length map's fixed point) against each entry's NNGP correlation from nnlimits: ordered (chi_1 < 0.9) entries at
# rho_L > 0.99, chaotic (chi_1 > 1.1) ones below 0.9; the networks' mean rho within 0.05 of their entry's NNGP (not a
# few s.e.: near chi_1 = 1 the width-128 bias of rho_L reaches 0.018, 5 s.e. at sigma_w2 1.5, sigma_b2 0.05, while the
# neighbouring settings' rho differ by 0.1 to 0.6); the critical sigma_w2
# at sigma_b2 = 0.05 is 1.76 (Schoenholz et al. 2017). Catches: entries' settings read wrong from their names (an
# ordered entry drawn as chaotic), an entry's networks or limits computed with another setting's sigmas.
run 2 run -family mlp -grid_activation tanh -grid_width 128 -grid_depth 32 -grid_seed 0-24 -inputs 2 -sigma_w2 0.5,1.5,3 \
  -sigma_b2 0.05,0.3 -record_layers last -progress_interval 0 -output "$W/phase" > /dev/null 2>&1 || fail "phase run"
figure phase fig_phase.py "$W/phase"
check phase '/phase=ordered/ && v["chi1"] < 0.9' 'v["rho_nngp"] > 0.99'
check phase '/phase=chaotic/ && v["chi1"] > 1.1' 'v["rho_nngp"] < 0.9'
check phase '/rho_net=/' '(v["rho_net"] - v["rho_nngp"]) ^ 2 <= 0.05 ^ 2'
check phase '/critical_sigma_w2=/ && v["sigma_b2"] == 0.05' 'v["critical_sigma_w2"] > 1.75 && v["critical_sigma_w2"] < 1.77'
[ "$(grep -c 'rho_nngp=' "$W/phase.txt")" = 6 ] || fail "phase: want 6 entries (3 sigma_w2 x 2 sigma_b2)"

# Signature kernel: the linear network's depth limit at t = 1 is I_0(2) (law 8), the infinite-width kernel approaches
# the depth limit at first order in 1/L (fitted slope −0.94 to −0.96 on depths 4…64), and the widest networks' means
# sit within 4.5 s.e. of their infinite-width kernel. Catches: q_nngp and q_ode swapped (slope 0 or +), the figure
# reading another family's rows or the wrong t.
run 2 run -family controlled_resnet -grid_activation linear,relu -grid_width 32,256 -grid_depth 4,16,64 -grid_seed 0-24 \
  -inputs 2 -record_layers 8 -limit_goursat_cells 1024 -progress_interval 0 -output "$W/sig" > /dev/null 2>&1 || fail "signature run"
figure sig fig_signature.py "$W/sig"
check sig '/law8_ode_t1=/' 'v["law8_ode_t1"] - 2.2795853 < 1e-5 && 2.2795853 - v["law8_ode_t1"] < 1e-5 && v["law8_exact"] - 2.2795853 < 1e-7 && 2.2795853 - v["law8_exact"] < 1e-7'
check sig '/nngp_depth_slope=/' 'v["nngp_depth_slope"] > -1.1 && v["nngp_depth_slope"] < -0.85'
check sig '/width=256 /' 'v["z_nngp"] < 4.5 && v["z_nngp"] > -4.5 && v["seeds"] == 24' 
check hyqq '/width=256/' 'v["median_ratio"] > 0.6 && v["median_ratio"] < 1.6'

# Hayou 2022: ln S drifts down at n = 2 and up at n = 8 (SDE drift -1/3, +0.25; s.e. ~0.05, 0.02 here); ~2^-n of the
# networks are dead (0.25, 0.004). SDE side (1000 paths): ln S_1 of networks and SDE paths agree (KS below its 0.1 %
# critical value) and the SDE's dead fraction is 2^-n within 4 s.e. (catches SDE paths of another input or width).
run 2 run -family resnet -grid_activation relu -grid_width 2,8 -grid_depth 32 -grid_seed 0-1000 -inputs 1 \
  -record_layers 6 -sde_paths 1000 -progress_interval 0 -output "$W/h22" > /dev/null 2>&1 || fail "hayou 2022 run"
figure h22 fig_hayou_2022.py "$W/h22"
check h22 '/width=2 /' 'v["mean_dlog_post"] < -0.1 && v["dead_fraction"] > 0.15 && v["dead_fraction"] < 0.35'
check h22 '/width=8 /' 'v["mean_dlog_post"] > 0.1 && v["dead_fraction"] < 0.03'
check h22 '/width=/' 'v["ks_sde"] < v["ks_crit001"] && (v["sde_dead_fraction"] - v["dead_sde"])^2 < 16 * v["dead_sde"] * (1 - v["dead_sde"]) / v["sde_paths"]'

# Li–Nica–Roy: shaped ReLU MLP (n = 32, T = L/n = 0.25 and 1) against its covariance SDE (400 paths) and the Fokker–Planck
# density; the unshaped MLP beside it. Bounds: the 0.1 % critical values of KS (two-sample, and one-sample against the
# density), 4 s.e. on the means; the unshaped ρ_T is near its NNGP value (0.856, 0.976) and near 1 (the collapse),
# the shaped one is not (SDE mean ~0.47). Catches: ρ from the wrong Gram entries or the wrong layer (rho_mean must be
# the laws table's net_mean), shaped and unshaped swapped, the SDE or density of another depth.
run 2 run -family mlp,shaped_mlp -grid_activation relu,tanh -grid_width 32 -grid_depth 8,32 -grid_seed 0-200 -inputs 2 \
  -input_correlation 0.5 -record_layers 4 -sde_paths 400 -fp_cells 200 -progress_interval 0 -output "$W/lnr" \
  > /dev/null 2>&1 || fail "li-nica-roy run"
figure lnr fig_li_nica_roy.py "$W/lnr"
check lnr '/family=/' 'v["activation"] == "relu" && v["rho_mean"] - v["net_mean"] < 1e-9 && v["net_mean"] - v["rho_mean"] < 1e-9 && v["n_net"] == 200'
check lnr '/family=shaped_mlp/' 'v["ks_sde"] < v["ks_crit001"] && v["ks_pde"] < v["ks_pde_crit001"] && v["net_mean"] < 0.7 && (v["net_mean"] - v["sde_mean"])^2 < 16 * (v["net_mean_se"]^2 + v["sde_mean_se"]^2)'
check lnr '/family=mlp /' 'v["net_mean"] > 0.83 && v["net_mean"] > v["nngp_rho"] - 4 * v["net_mean_se"] - 0.01'
check lnr '/family=mlp .*depth=32 /' 'v["net_mean"] > 0.95 && v["frac_above_0_9"] > 0.9'
# The smooth shaping of the same run (--activation tanh, φ_s(x) = s tanh(x/s), s = √n): the shaped tanh against its own
# SDE (KS and 4 s.e. on the mean), no Fokker–Planck density (ks_pde nan: none exists for smooth shaping), and the
# unshaped critical tanh MLP, whose ρ_T spreads like the shaped one's instead of piling up at 1 (measured at n = 32:
# means 0.37–0.43, a third or less above 0.9; the unshaped ReLU's are above 0.83). Catches: the option ignored or
# half-applied (relu's networks, NNGP or density drawn as tanh's: ks_pde a number, the unshaped mean near 1). It does
# not tell the two activations' SDEs apart (their ρ_T means differ by ~1 s.e. here): test_sde_laws checks the smooth
# drift.
figure lnr_tanh fig_li_nica_roy.py "$W/lnr" --activation tanh
check lnr_tanh '/family=/' 'v["activation"] == "tanh" && v["rho_mean"] - v["net_mean"] < 1e-9 && v["net_mean"] - v["rho_mean"] < 1e-9 && v["n_net"] == 200'
check lnr_tanh '/family=shaped_mlp/' 'v["ks_sde"] < v["ks_crit001"] && v["ks_pde"] == "nan" && (v["net_mean"] - v["sde_mean"])^2 < 16 * (v["net_mean_se"]^2 + v["sde_mean_se"]^2)'
check lnr_tanh '/family=mlp /' 'v["net_mean"] < 0.7 && v["frac_above_0_9"] < 0.5'
# --family shaped_attention (Noci et al. 2023's shaping, n = 32, T = 0.25 and 1, three tokens): the attention block's
# rows, against its own SDE (KS below the 0.1 % critical value, means within 4 s.e.), no density; softmax attention
# beside it, collapsing (mean ρ_T 0.989 by L = 8 at n = 32, > 0.999 and every network above 0.9 by L = 32) with no
# kernel limit. Catches: the script reading the shaped
# MLP's rows or filters for this family, the SDE of another family, the two attention families swapped.
run 2 run -family shaped_attention,softmax_attention -grid_activation linear -grid_width 32 -grid_depth 8,32 -grid_seed 0-200 -inputs 3 \
  -input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -record_layers 4 -sde_paths 400 -progress_interval 0 \
  -output "$W/att" > /dev/null 2>&1 || fail "attention run"
figure att fig_li_nica_roy.py "$W/att" --family shaped_attention
check att '/figure=li_nica_roy/' 'v["activation"] == "linear" && v["n_net"] == 200'
check att '/family=shaped_attention/' 'v["ks_pde"] == "nan"'
check att '/family=softmax_attention/' 'v["net_mean"] > 0.95 && v["nngp_rho"] == "nan"'
check att '/family=softmax_attention .*depth=32 /' 'v["net_mean"] > 0.999 && v["frac_above_0_9"] == 1'
check att '/family=shaped_attention/' 'v["ks_sde"] < v["ks_crit001"] && (v["net_mean"] - v["sde_mean"])^2 < 16 * (v["net_mean_se"]^2 + v["sde_mean_se"]^2)'

# --family shaped_transformer (n = 32, T = 0.25 and 1, three tokens, c₋ = −2): the whole block's rows against its own
# SDE (KS below the 0.1 % critical value, means within 4 s.e.), no density; softmax_transformer beside it, collapsed
# (ρ_T > 0.99), with no kernel limit. Catches: the script reading another family's rows or SDE (the attention block's
# SDE alone is 18 s.e. off on ln V, test_attention), the two transformers swapped.
run 2 run -family shaped_transformer,softmax_transformer -grid_activation relu -grid_width 32 -grid_depth 8,32 -grid_seed 0-200 -inputs 3 \
  -input_correlation 0.5,0.2,0.3 -attn_tau0 0.5 -attn_gamma 0.7 -shape_c_minus -2 -record_layers 4 -sde_paths 400 -progress_interval 0 \
  -output "$W/tr" > /dev/null 2>&1 || fail "transformer run"
figure tr fig_li_nica_roy.py "$W/tr" --family shaped_transformer
check tr '/family=shaped_transformer/' 'v["activation"] == "relu" && v["n_net"] == 200 && v["ks_pde"] == "nan"'
check tr '/family=softmax_transformer/' 'v["net_mean"] > 0.99 && v["nngp_rho"] == "nan" && v["n_net"] == 200'
check tr '/family=shaped_transformer/' 'v["ks_sde"] < v["ks_crit001"] && (v["net_mean"] - v["sde_mean"])^2 < 16 * (v["net_mean_se"]^2 + v["sde_mean_se"]^2)'

# fig_noci_temperature: a swept -attn_tau0 (0.25 and 2; n = 64, t = 1, three tokens; at n = 32 and τ₀ = 0.25 the
# networks sat 3.6 s.e. below the SDE: logits of 1/(τ₀√n) = 0.7 are not small). The shaped block against its
# own SDE at each τ₀ (KS below the 0.1 % critical value, means within 4 s.e.), softmax attention collapsed at both,
# and the temperature's effect on E ln V₀₀ (SDE: 0.10 at τ₀ = 0.25 against −0.77 at 2 on the shipped job), for the SDE
# paths and for the networks, more than 5 s.e. apart. Catches: a swept τ₀ that does not reach the networks or the SDE
# task (every entry at the first value, or the job's), entries' τ₀ read from the wrong part of the name, the SDE of
# another entry.
run 2 run -family shaped_attention,softmax_attention -grid_activation linear -grid_width 64 -grid_depth 64 -grid_seed 0-300 -inputs 3 \
  -input_correlation 0.5,0.2,0.3 -attn_tau0 2,0.25 -attn_gamma 0.7 -record_layers last -sde_paths 600 -progress_interval 0 \
  -output "$W/temp" > /dev/null 2>&1 || fail "attention temperature run"
figure temp fig_noci_temperature.py "$W/temp"
check temp '/figure=noci_temperature/' 'v["gamma"] == 0.7 && v["t"] == 1 && v["n_net"] == 300 && (v["tau0"] == 0.25 || v["tau0"] == 2)'
check temp '/family=shaped_attention/' 'v["n_sde"] == 600 && v["ks_sde"] < v["ks_crit001"] && (v["net_mean"] - v["sde_mean"])^2 < 16 * (v["net_mean_se"]^2 + v["sde_mean_se"]^2)'
check temp '/family=softmax_attention.*statistic=rho/' 'v["net_mean"] > 0.999'
for who in net sde; do
  awk -v who=$who '/family=shaped_attention/ && /statistic=logv/ {
      delete v; for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      m[v["tau0"]] += v[who "_mean"]; s2[v["tau0"]] += v[who "_mean_se"]^2; n[v["tau0"]]++ }
    END { d = m[0.25] - m[2]; if (n[0.25] != 1 || n[2] != 1 || !(d > 5 * sqrt(s2[0.25] + s2[2]))) {
      print "temperature: " who " E ln V at tau0 0.25 minus at 2 = " d > "/dev/stderr"; exit 1 } }' "$W/temp.txt" ||
    fail "temp: the temperature does not move the $who's E ln V"
done
# The (τ₀, γ) plane (jobs/noci_2023_attention_phase.opts, small): -attn_tau0 0.25,2 × -attn_gamma 0.3,0.9, n = 64, t = 1,
# of the shaped attention block and of the whole transformer block (--family shaped_transformer, its MLP linear).
# Every cell's networks against its own SDE (both means within 4 s.e., KS below its 0.1 % critical value; the
# tightest cell, the transformer's at τ₀ = 2 and γ = 0.3, is at 0.93 of it and z = 2.5 on ρ: 3000 seeds there sit at
# z = −1.4, and 6000 fresh ones at −0.2, so these 300 seeds' fluctuation), and γ's effect on E ln V₀₀ more than 5 s.e.
# for the networks and for the SDE at τ₀ = 2 (the transformer's ln V falls from −0.3 to −2.5; at τ₀ = 0.25 the strong
# attention holds the networks' within 0.45 of each other, under 5 s.e. of 300 seeds). At τ₀ = 0.25, γ = 0.9
# the SDE is stiff for -sde_dt 1e-3: 65 (attention) and 210 (transformer) of the 600 paths take steps in halves, and
# every cell keeps all 600 (without halving, 28 and 107 were lost). Catches: a swept γ that does not reach the networks
# or the SDE task (their two γ the same paths), cells matched with another γ's SDE (z of 6.6 or more on ln V₀₀ here), a
# figure that draws one family's rows as the other's, SDE paths lost at the stiff corner.
run 2 run -family shaped_attention,shaped_transformer -grid_activation linear -grid_width 64 -grid_depth 64 -grid_seed 0-300 \
  -inputs 3 -input_correlation 0.5,0.2,0.3 -attn_tau0 0.25,2 -attn_gamma 0.3,0.9 -record_layers last -sde_paths 600 \
  -progress_interval 0 -output "$W/plane" > /dev/null 2>&1 || fail "attention plane run"
figure plane fig_noci_temperature.py "$W/plane"
figure planetr fig_noci_temperature.py "$W/plane" --family shaped_transformer
for f in plane planetr; do
  fam=$([ $f = plane ] && echo shaped_attention || echo shaped_transformer)
  [ "$(grep -c "^plane=$fam " "$W/$f.txt")" = 4 ] && [ "$(grep -c "family=$fam " "$W/$f.txt")" = 8 ] || fail "$f: want 4 cells (2 tau0 x 2 gamma) of $fam"
  check $f '/^plane=/' 'v["z_logv"] < 4 && v["z_logv"] > -4 && v["z_rho"] < 4 && v["z_rho"] > -4 && v["ks_ratio"] < 1'
  check $f '/^figure=noci_temperature/' 'v["n_sde"] == 600'
  for who in net sde; do
    awk -v who=$who '/^figure=noci_temperature/ && /statistic=logv/ {
        delete v; for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        m[v["tau0"], v["gamma"]] = v[who "_mean"]; s2[v["tau0"], v["gamma"]] = v[who "_mean_se"]^2; n++ }
      END { d = m[2, 0.3] - m[2, 0.9]; bad = n != 4
        if (!(d > 5 * sqrt(s2[2, 0.3] + s2[2, 0.9]))) { print "plane: " who " at tau0 2: E ln V gamma 0.3 - 0.9 = " d > "/dev/stderr"; bad = 1 }
        exit bad }' "$W/$f.txt" || fail "$f: gamma does not move the $who's E ln V"
  done
done
# fig_li_nica_roy draws one entry of the swept job: --activation 'linear;attn_tau0=0.25' (the base name alone is
# refused, naming both), its networks against that entry's SDE. Catches: a figure that finds no rows for a swept
# job, or labels them with another entry. (It draws ρ, which τ₀ hardly moves: it could not tell the entries apart.)
figure templnr fig_li_nica_roy.py "$W/temp" --family shaped_attention --activation 'linear;attn_tau0=0.25'
check templnr '/family=shaped_attention/' 'v["attn_tau0"] == 0.25 && v["n_sde"] == 600 && v["ks_sde"] < v["ks_crit001"]'
check templnr '/family=softmax_attention/' 'v["attn_tau0"] == 0.25 && v["net_mean"] > 0.999'

# Makwana 2025: EDim of the feature matrix, m = 16 inputs, n = 8, 16, 32. Exact facts: at layer 1 the n×m ReLU
# features have full rank min(n, m); at n = 2m it stays m at nearly every layer, so the largest gap to the claim is
# at layer 1, m(1 − 2/π) (claim1 = 2m/π checks the claim's formula). "Nearly": a deep n = 32 ReLU layer loses a
# rank when too few of its units are active on the inputs' span, for about 0.7 % of networks at layer 10 (2000
# simulated with numpy); the mean last rank of 40 seeds must exceed 16 − 0.1, i.e. at most 3 seeds lose one (about
# 2e-4 by chance), where a real loss of rank (the Gram's rank, a wrong layer) costs every seed. Measured:
# 1 ≤ PR ≤ rank at rtol ≤ rank, and at n ≤ m the rank and the PR fall with depth (by ~8 and ~30 s.e. here; 4 s.e.
# required). Catches: the Gram read instead of the features, layers in the wrong order, the claim with a wrong
# exponent or factor, se/mean mixed up.
run 2 run -family mlp -grid_activation relu -grid_width 8,16,32 -grid_depth 10 -grid_seed 0-40 -inputs 16 \
  -input_dim 16 -input_correlation 0 -sigma_w2 2 -record_layers last -spectra_layers all -progress_interval 0 \
  -output "$W/mk" > /dev/null 2>&1 || fail "makwana run"
figure mk fig_makwana.py "$W/mk"
check mk '/measure=/' 'v["inputs"] == 16 && v["claim1"] > 10.1859 - 1e-3 && v["claim1"] < 10.1859 + 1e-3 && v["seeds"] == 40'
check mk '/measure=rank / && !/width=32/' 'v["layer1"] == v["width"] && v["last"] < v["layer1"] - 4 * v["last_se"]'
check mk '/width=32 / && /measure=rank /' 'v["layer1"] == 16 && v["last"] > 16 - 0.1 && v["max_abs_gap_over_m"] > 0.3634 - 1e-3 && v["max_abs_gap_over_m"] < 0.3634 + 1e-3'
check mk '/measure=pr/' 'v["last"] >= 1 && v["layer1"] > v["last"] + 4 * (v["layer1_se"] + v["last_se"]) && v["layer1"] < v["width"]'
paste -d' ' <(grep 'measure=rank ' "$W/mk.txt") <(grep 'measure=rank_rtol' "$W/mk.txt") <(grep 'measure=pr' "$W/mk.txt") \
  | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); k = kv[1] (i > 2 * NF / 3 ? "_pr" : i > NF / 3 ? "_rt" : ""); v[k] = kv[2] }
           if (!(v["last_pr"] <= v["last_rt"] && v["last_rt"] <= v["last"] && v["layer1_pr"] <= v["layer1_rt"] && v["layer1_rt"] <= v["layer1"])) bad = 1 }
         END { exit bad }' || fail "makwana: PR <= rank at rtol <= exact rank does not hold"

# provenance: the footer names the run's commit; a run directory without a store is refused with a message
grep -q "job command-line job" <($PY -c "import sys; sys.path.insert(0, '$SRC/analysis'); import nnlimits; print(nnlimits.provenance('$W/h22'))") \
  || fail "provenance line"
mkdir -p "$W/empty"
$PY "$SRC/analysis/fig_pdlt.py" "$W/empty" -o "$W/x.png" 2> "$W/err.txt" && fail "a directory without a store accepted"
grep -q Traceback "$W/err.txt" && fail "a directory without a store gives a traceback, not a message"
grep -q "not a run directory" "$W/err.txt" || fail "no message for a directory without a store"
echo "figures: 9 scripts on tiny runs, PNG and PDF written, fitted numbers within bounds"
