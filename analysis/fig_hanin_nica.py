#!/usr/bin/python3
"""Hanin–Nica figure: mean and variance of ln(‖x_L‖²/n) − ln(‖x_0‖²/d) of a critical MLP with φ = a·min(x,0) +
b·max(x,0) (relu by default; --activation leaky_relu:0.2, abs, linear; one input, post-activations) against
beta = L/n, with the large-n lines −(c/2) beta and c beta, c = 3A₄/A₂² − 1, A_k = (a^k + b^k)/2 (relu 5: Hanin–Nica's
−5/2 and 5; leaky_relu:a 6(a⁴+1)/(a²+1)² − 1; abs and linear 2), and the exact finite-n laws L·E ln R, L·Var ln R
where they are known: R = (2/n) chi²_K, K ~ Bin(n, 1/2) for relu (MATH.md §4.3), R = chi²_n / n for abs and linear
(a² = b²); none for leaky_relu (printed nan).

Off criticality (an entry of a swept -sigma_w2, --activation 'relu;sigma_w2=2.5') every layer scales R by σ_w²/σ_c²
(σ_c² = 2/(a² + b²), auto's): the exact mean slopes move by n ln(σ_w²/σ_c²), the variances do not, and the n → ∞
mean slope does not exist (printed nan). With σ_b² > 0 no law is known (nan).

Rows: the stats table's lognorm_post (input 0) of the activation's MLPs, grouped by (width, layer); networks that died
(lognorm_post = −inf) are left out, as the law is conditional on K ≥ 1 at every layer. Slopes are fitted through
the origin against beta, weighted by the standard errors (independent networks when only the last layer is
recorded, as in jobs/hanin_nica_lognormal.opts). Prints key=value lines per width and pooled."""
import os
import sys

import numpy as np
from scipy.special import digamma, polygamma
from scipy.stats import binom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def log_ratio_moments(n, ab):
    """E ln R and Var ln R of one layer's R at width n for φ = a·min + b·max at criticality: relu (a = 0)
    R = (2/n) chi²_K, K ~ Bin(n, 1/2), given K >= 1; a² = b² R = chi²_n / n; (nan, nan) otherwise."""
    a, b = ab
    if a == 0:
        k = np.arange(1, n + 1)
        p = binom.pmf(k, n, 0.5)
        p /= p.sum()
        psi, tri = digamma(k / 2), polygamma(1, k / 2)
        return np.log(4 / n) + np.sum(p * psi), np.sum(p * tri) + np.sum(p * psi ** 2) - np.sum(p * psi) ** 2
    if a * a == b * b:
        return np.log(2 / n) + digamma(n / 2), polygamma(1, n / 2)
    return float("nan"), float("nan")


def moments(d):
    """Per (width, layer): beta, mean, its se, variance, its se, count."""
    keys = [d["width"], d["layer"]]
    groups, mean, se, n = nnlimits.group_mean_se(keys, d["lognorm_post"])
    index = {k: i for i, k in enumerate(groups)}
    g = np.array([index[k] for k in zip(*keys)])
    dev = d["lognorm_post"] - mean[g]
    c2 = np.bincount(g, dev ** 2) / n
    c4 = np.bincount(g, dev ** 4) / n
    var = c2 * n / (n - 1)
    var_se = np.sqrt(np.maximum(c4 - c2 ** 2, 0) / n)
    beta = np.array([l / w for w, l in groups], float)
    return groups, beta, mean, se, var, var_se, n


def main():
    args = nnlimits.figure_args(__doc__, "hanin_nica", [("--activation", str, "relu",
                                "the activation, a·min(x,0) + b·max(x,0): relu, leaky_relu:a, abs, linear")])
    act, base, setting = nnlimits.resolve_entry(args.run_dir, "mlp", args.activation)
    ab, c = nnlimits.two_slope(base), nnlimits.exact_c(base)
    if ab is None:
        sys.exit(f"--activation {act}: not of the form a·min(x,0) + b·max(x,0) (relu, leaky_relu:a, abs, linear)")
    # ln(σ_w²/σ_c²) per layer, the scale's share of E ln R; NaN where σ_b² > 0 (no law)
    shift = np.log(nnlimits.sigma_w2(base, setting) / nnlimits.auto_sigma_w2(base)) if not setting["sigma_b2"] else np.nan
    c_var = c if np.isfinite(shift) else np.nan  # a scale leaves the variance's slope as it is; a bias: no law
    c_mean = c if shift == 0 else np.nan  # off criticality the mean has no n → ∞ slope
    d = nnlimits.load(args.run_dir, "stats", ["width", "layer", "lognorm_post"],
                      where="family='mlp' AND activation='%s' AND input=0" % act.replace("'", "''"))
    alive = np.isfinite(d["lognorm_post"])
    dead = int((~alive).sum())
    d = {k: v[alive] for k, v in d.items()}
    if len(d["layer"]) == 0:
        sys.exit(f"{args.run_dir}: no {act} MLP stats (run jobs/hanin_nica_lognormal.opts, or -grid_activation {base})")
    groups, beta, mean, mse, var, vse, n = moments(d)
    widths = sorted(set(w for w, _ in groups))
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    fits = {"mean": [], "var": []}
    for j, w in enumerate(widths):
        sel = np.array([i for i, k in enumerate(groups) if k[0] == w])
        sel = sel[np.argsort(beta[sel])]
        mu, v = log_ratio_moments(w, ab)
        mu, v = (mu + shift, v) if np.isfinite(shift) else (np.nan, np.nan)
        col = f"C{j % 7}"
        axes[0].errorbar(beta[sel], mean[sel], yerr=mse[sel], fmt="o", ms=3, color=col, label=f"n={w}")
        axes[1].errorbar(beta[sel], var[sel], yerr=vse[sel], fmt="o", ms=3, color=col, label=f"n={w}")
        bx = np.linspace(0, beta[sel].max(), 50)
        axes[0].plot(bx, w * mu * bx, color=col, lw=0.6, ls=":")
        axes[1].plot(bx, w * v * bx, color=col, lw=0.6, ls=":")
        if len(sel) >= 2:
            bm, bmse, _ = nnlimits.fit_line(beta[sel], mean[sel], mse[sel], origin=True)
            bv, bvse, _ = nnlimits.fit_line(beta[sel], var[sel], vse[sel], origin=True)
            last = (w, bm, bmse, w * mu, bv, bvse, w * v)
            fits["mean"].append((bm, bmse, w * mu))
            fits["var"].append((bv, bvse, w * v))
            nnlimits.kv(figure="hanin_nica", **nnlimits.entry_kv(act), width=w, points=len(sel), seeds=int(n[sel].min()),
                        mean_slope=bm, mean_slope_se=bmse, mean_theory=-c_mean / 2, mean_exact=w * mu,
                        var_slope=bv, var_slope_se=bvse, var_theory=c_var, var_exact=w * v)
    # pooled over widths by inverse variance; the exact finite-n slopes pooled with the same weights are what it
    # estimates (the narrow widths weigh most, and their exact slopes are the furthest from n → ∞)
    pooled = {}
    for key, f in fits.items():
        if f:
            s, sse, ex = np.array(f).T
            wgt = 1 / sse ** 2
            pooled[key] = (np.sum(wgt * s) / np.sum(wgt), np.sqrt(1 / np.sum(wgt)), np.sum(wgt * ex) / np.sum(wgt))
    if pooled:
        nnlimits.kv(figure="hanin_nica", **nnlimits.entry_kv(act), width="all", dead=dead, mean_slope=pooled["mean"][0],
                    mean_slope_se=pooled["mean"][1], mean_theory=-c_mean / 2, mean_exact=pooled["mean"][2],
                    var_slope=pooled["var"][0], var_slope_se=pooled["var"][1], var_theory=c_var,
                    var_exact=pooled["var"][2])
    bx = np.linspace(0, beta.max(), 50)
    if np.isfinite(c_mean):
        axes[0].plot(bx, -c_mean / 2 * bx, "k--", lw=1.2, label=f"−({c_mean:.4g}/2) β (n → ∞)")
    if np.isfinite(c_var):
        axes[1].plot(bx, c_var * bx, "k--", lw=1.2, label=f"{c_var:.4g} β (n → ∞)")
    for ax, what in zip(axes, ["mean", "variance"]):
        ax.set_xlabel("β = L / n  (depth / width)")
        ax.set_ylabel(f"{what} of ln(‖x_L‖²/n) − ln(‖x_0‖²/d)")
        ax.legend(title="dotted: exact finite n (§4.3)" if np.isfinite(mu) else None, title_fontsize=7)  # a law known
    if pooled:
        w, bm, bmse, em, bv, bvse, ev = last
        for ax, s, se, ex, lim in ((axes[0], bm, bmse, em, -c_mean / 2), (axes[1], bv, bvse, ev, c_var)):
            exact = f"exact {ex:.2f}, " if np.isfinite(ex) else ""
            limit = f"n→∞ {lim:.4g}" if np.isfinite(lim) else "no n→∞ law off criticality"
            ax.set_title(f"{act} n={w}: slope {s:.2f} ± {se:.2f} ({exact}{limit})", fontsize=9)
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
