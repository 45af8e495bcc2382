#!/usr/bin/python3
"""Hayou (2022) network side: the law of the post-activation norm S_t = ‖φ(Y_t)‖²/n of a ReLU ResNet (branch
scale L^-1/2, one input) at small fixed widths (2…8) as the depth grows — the change of regime between n = 3 and 4.

Why 3 → 4 (derived from the fixed-width SDE dY = (‖φ(Y)‖/√n) dB of MATH.md §2, by Itô on S = Σ relu(Y_i)²):
d ln S = ((k_t − 2)/n) dt + (2/√n) dW, k_t the number of positive coordinates. At t = 0, E k = n/2, so ln S drifts
down for n ≤ 3, not at all at n = 4, and up for n ≥ 5; a network with k = 0 is dead for good (probability 2^-n).
Panels: (1) E[ln S_1 − ln S_0] over living networks against depth L, per width, with the t = 0 drift of the living
networks, E[(k − 2)/n | k ≥ 1] (−1/3, −2/21, +1/30 at n = 2, 3, 4: conditioned on k ≥ 1 the sign changes between 3
and 4 too, but n = 4 drifts up a little), as a reference; (2) E[ln S_t − ln S_0] against t at the largest depth; (3) quantiles (10, 50,
90 %) of ln S_1 against width at the largest depth; the dead fraction is printed beside 2^-n. When the run has SDE
tasks (-sde_paths > 0, e.g. jobs/hayou_2022_fixed_width.opts), panel 3 also shows the same quantiles of ln S_1 over
the fixed-width SDE's paths, and the printed line adds the SDE's dead fraction, median, and the two-sample KS distance
of networks to SDE paths (laws table) with its 0.1 % critical value. Prints key=value lines."""
import os
import sqlite3
import sys

import numpy as np
from scipy.stats import binom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def drift0(n):
    """E[(k − 2)/n | k ≥ 1], k ~ Bin(n, 1/2): the drift of ln S at t = 0 in the fixed-width SDE (derived)."""
    k = np.arange(1, n + 1)
    p = binom.pmf(k, n, 0.5)
    return np.sum(p * (k - 2) / n) / p.sum()


KS_C001 = 1.949  # two-sample Kolmogorov–Smirnov: P(√(nm/(n+m)) D > 1.949) ≈ 0.001 under the same law


def sde_side(run_dir, act, depth):
    """The fixed-width SDE at t = 1 for the ReLU ResNet tasks of this depth: {width: ln S_1 of input 0 per path}
    and {width: laws row index} with the laws table; ({}, {}, None) when the run has no SDE tasks."""
    try:
        s = nnlimits.load(run_dir, "sde", ["width", "a", "b", "lognorm_post"],
                          where=f"family='resnet' AND activation={nnlimits.sql(act)} AND depth={depth} AND a=0 AND b=0")
    except sqlite3.OperationalError:  # a store from before the SDE stage
        return {}, {}, None
    if len(s["width"]) == 0:
        return {}, {}, None
    paths = {int(w): s["lognorm_post"][s["width"] == w] for w in set(s["width"].tolist())}
    laws = nnlimits.load_export(run_dir, "laws")
    rows = {int(laws["width"][i]): i for i in np.flatnonzero(
        (laws["family"] == "resnet") & (laws["activation"] == act) & (laws["depth"] == depth)
        & (laws["statistic"] == "lognorm_post"))}
    return paths, rows, laws


def main():
    args = nnlimits.figure_args(__doc__, "hayou_2022_post_norm", [
        ("--max-width", int, 8, "widths up to this one (the fixed-width regime)"),
        ("--activation", str, "relu", "the ReLU entry drawn, where the job sweeps -branch_alpha: relu;branch_alpha=0.5")])
    act, base, setting = nnlimits.resolve_entry(args.run_dir, "resnet", args.activation)
    if base != "relu" or setting["branch_alpha"] not in (0.5, None):
        sys.exit(f"--activation {act}: this figure is the ReLU ResNet's with branch scale L^-1/2 (relu, or "
                 "relu;branch_alpha=0.5 where the job sweeps -branch_alpha)")
    d = nnlimits.load(args.run_dir, "stats", ["activation", "width", "depth", "seed", "layer", "lognorm_post"],
                      where=f"family='resnet' AND activation={nnlimits.sql(act)} AND input=0 AND width<={args.max_width}")
    if len(d["layer"]) == 0:
        sys.exit(f"{args.run_dir}: no ReLU ResNet stats at width <= {args.max_width} "
                 "(run jobs/hayou_2022_fixed_width.* or tests/figures.sh's job)")
    if not (d["layer"] == 0).any():
        sys.exit(f"{args.run_dir}: layer 0 not recorded (record_layers all or K keeps it)")
    # per network: ln S_0 (layer 0), to subtract: the drift is a statement about increments
    key = list(zip(d["width"], d["depth"], d["seed"]))
    s0 = {k: v for k, v, l in zip(key, d["lognorm_post"], d["layer"]) if l == 0}
    base = np.array([s0.get(k, np.nan) for k in key])
    with np.errstate(invalid="ignore"):  # dead from the start: −inf − (−inf)
        inc = d["lognorm_post"] - base
    alive = np.isfinite(inc)
    widths = sorted(set(int(w) for w in d["width"]))
    depths = sorted(set(int(L) for L in d["depth"]))
    Lmax = depths[-1]
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.7))
    last = d["layer"] == d["depth"]
    sde, rows, laws = sde_side(args.run_dir, act, Lmax)
    for j, w in enumerate(widths):
        c = f"C{j % 7}"
        sel = last & alive & (d["width"] == w)
        groups, m, se, n = nnlimits.group_mean_se([d["depth"][sel]], inc[sel])
        L = np.array([g[0] for g in groups], float)
        o = np.argsort(L)
        axes[0].errorbar(L[o], m[o], yerr=se[o], fmt="o-", ms=3, lw=0.8, color=c, label=f"n={w}")
        axes[0].axhline(drift0(w), color=c, lw=0.6, ls=":")
        selt = alive & (d["width"] == w) & (d["depth"] == Lmax)
        gt, mt, st, _ = nnlimits.group_mean_se([d["layer"][selt]], inc[selt])
        t = np.array([g[0] for g in gt], float) / Lmax
        o = np.argsort(t)
        axes[1].errorbar(t[o], mt[o], yerr=st[o], fmt=".-", ms=3, lw=0.8, color=c, label=f"n={w}")
        allw = last & (d["width"] == w) & (d["depth"] == Lmax)
        dead = 1 - np.mean(np.isfinite(d["lognorm_post"][allw]))
        q = np.quantile(d["lognorm_post"][allw & alive], [0.1, 0.5, 0.9])
        axes[2].errorbar([w], [q[1]], yerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="s", ms=4, color=c, capsize=3)
        i = int(np.argmax(L))
        extra = {}
        if w in sde:
            p = sde[w]
            qs = np.quantile(p[np.isfinite(p)], [0.1, 0.5, 0.9])
            axes[2].errorbar([w + 0.25], [qs[1]], yerr=[[qs[1] - qs[0]], [qs[2] - qs[1]]], fmt="o", ms=4, mfc="w",
                             color=c, capsize=3)
            extra = dict(sde_paths=len(p), sde_dead_fraction=float(np.mean(~np.isfinite(p))), sde_median_log_post=qs[1])
            if w in rows:
                r = rows[w]
                nn, ns = laws["n_net"][r], laws["n_sde"][r]
                extra.update(ks_sde=laws["ks_sde"][r], ks_crit001=KS_C001 * np.sqrt((nn + ns) / (nn * ns)))
        nnlimits.kv(figure="hayou_2022", width=w, depth=Lmax, seeds=int(allw.sum()), mean_dlog_post=m[i],
                    mean_dlog_post_se=se[i], drift_t0=drift0(w), dead_fraction=dead, dead_sde=2.0 ** -w,
                    median_log_post=q[1], **extra)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("depth L")
    axes[0].set_ylabel("E[ln S_1 − ln S_0]  (living networks)")
    axes[0].set_title("post-activation log-norm at t = 1\n(dotted: SDE drift at t = 0)")
    axes[0].legend(ncol=2)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_xlabel("t = layer / L")
    axes[1].set_ylabel("E[ln S_t − ln S_0]")
    axes[1].set_title(f"along depth, L = {Lmax}\n(SDE drift at t = 0 over all networks, (E k − 2)/n: < 0 for n ≤ 3, 0 at 4;\n"
                      "over living ones, E[(k − 2)/n | k ≥ 1] (dotted, left): < 0 for n ≤ 3, +1/30 at 4)")
    axes[2].set_xlabel("width n")
    axes[2].set_ylabel("ln S_1 = ln(‖φ(Y_L)‖²/n): 10 / 50 / 90 %")
    axes[2].set_title(f"law of ln S_1 at L = {Lmax}\n(living networks" + ("; ○ SDE paths)" if sde else ")"))
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
