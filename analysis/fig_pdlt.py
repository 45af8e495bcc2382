#!/usr/bin/python3
"""PDLT figure: normalised excess kurtosis of pre-activations against l/n at criticality (MLP, one input), with the
leading-order slopes 5 (relu), 2 (linear, abs), 6(a^4+1)/(a^2+1)^2 - 1 (leaky_relu:a), 2/3 (tanh, erf, sin without a
phase: the K* = 0 class) and, for a*min + b*max, the exact finite-n laws 3(1 + c/n)^(l-1) (MATH.md §4.4).

kappa_l = E z^4 / (3 (E z^2)^2) - 1 over networks and coordinates, rebuilt per seed from the stats table
(E z^2: mean of q = e^lognorm; E z^4: mean of q^2 (kurtosis + 3)); standard errors by the delta method. The slope
is fitted on ln(1 + kappa) (exactly linear in l for relu and linear: (l-1) ln(1 + c/n)) for l/n <= --max-beta and
l >= --min-layer; its standard error is a jackknife over 10 seed blocks (layers of one network are correlated).
Beyond l/n ~ 0.3 the relu fourth moment is so heavy-tailed (relative variance ~ e^(20 l/n)) that a few thousand
seeds underestimate it: keep --max-beta small unless the run has many more seeds. Prints one key=value line per (activation, width) and one per activation (widths pooled)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def exact_c(act, setting):
    """c of the finite-n law 3(1 + c/n)^(l-1) of an entry (activation, its settings: nnlimits.entry), a*min + b*max
    without bias at any σ_w² (a scale changes no ratio of moments); None otherwise."""
    return nnlimits.exact_c(act) if not setting["sigma_b2"] else None


def theory_slope(act, setting):
    """Leading-order slope of the kurtosis against l/n: c for a*min + b*max without bias (at any σ_w²), 2/3 for the
    K* = 0 class (odd smooth: tanh, erf, sin without a phase) at criticality; NaN where no slope is known (gelu, swish,
    softplus, sin with a phase, a smooth φ off criticality, a·min + b·max with a bias)."""
    c = exact_c(act, setting)
    if c is not None:
        return c
    name, *p = act.split(":")
    if (name in ("tanh", "erf") or (name == "sin" and (len(p) < 3 or float(p[2]) == 0))) and nnlimits.critical(act, setting):
        return 2.0 / 3.0
    return float("nan")


BLOCKS = 10  # seed blocks for the jackknife: layers of one network are correlated, a per-layer fit se is not honest


def ensemble_kurtosis(d):
    """Per (activation, width, layer): E z^4/(3 (E z^2)^2), its delta-method standard error, seeds, and the same
    ratio with each of BLOCKS seed blocks left out (jackknife). Dead networks (NaN kurtosis) are left out."""
    ok = np.isfinite(d["kurtosis"]) & np.isfinite(d["lognorm"])
    q = np.exp(d["lognorm"][ok])
    u = q * q * (d["kurtosis"][ok] + 3)
    keys = [d["activation"][ok], d["width"][ok], d["layer"][ok]]
    groups, A, _, n = nnlimits.group_mean_se(keys, u)
    _, B, _, _ = nnlimits.group_mean_se(keys, q)
    index = {k: i for i, k in enumerate(groups)}
    g = np.array([index[k] for k in zip(*keys)])
    du, dv = u - A[g], q - B[g]
    vu = np.bincount(g, du * du) / (n - 1)
    vv = np.bincount(g, dv * dv) / (n - 1)
    cuv = np.bincount(g, du * dv) / (n - 1)
    ratio = A / B ** 2
    se = np.sqrt(np.maximum(vu / B ** 4 - 4 * A * cuv / B ** 5 + 4 * A * A * vv / B ** 6, 0) / n)
    blk = d["seed"][ok] % BLOCKS
    G = len(groups)
    jack = []
    for b in range(BLOCKS):
        keep = blk != b
        nk = np.bincount(g[keep], minlength=G)
        jack.append((np.bincount(g[keep], u[keep], G) / nk) / (np.bincount(g[keep], q[keep], G) / nk) ** 2 / 3)
    return groups, ratio / 3, se / 3, n, np.array(jack)


def fit_slope(beta, kappa):
    """Slope of ln(1 + kappa) against beta (ordinary least squares with intercept; its s.e. comes from the jackknife
    over seed blocks, as the layers of one network are correlated) and the fit's line."""
    return nnlimits.fit_line(beta, np.log1p(kappa))


def main():
    args = nnlimits.figure_args(__doc__, "pdlt_kurtosis", [
        ("--max-beta", float, 0.25, "fit layers with l/n up to this"),
        ("--min-layer", int, 2, "fit layers from this one (tanh reaches its slope only at large l)")])
    d = nnlimits.load(args.run_dir, "stats", ["activation", "width", "seed", "layer", "lognorm", "kurtosis"],
                      where="family='mlp' AND input=0")
    if len(d["layer"]) == 0:
        sys.exit(f"{args.run_dir}: no MLP stats (run jobs/pdlt_kurtosis.opts)")
    groups, r, se, n, jack = ensemble_kurtosis(d)
    acts = [a for a in dict.fromkeys(k[0] for k in groups)]
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    colors = {"relu": "C0", "linear": "C3", "tanh": "C5"}
    markers = ["o", "s", "^", "v", "D", "x"]
    xmax = args.max_beta
    job = nnlimits.job_settings(args.run_dir)
    for i, act in enumerate(acts):
        base, setting = nnlimits.entry(act, job)
        ec, th = exact_c(base, setting), theory_slope(base, setting)  # the finite-n law's c (None: no law), the leading slope
        widths = sorted(set(k[1] for k in groups if k[0] == act))
        slopes = []
        for j, w in enumerate(widths):
            sel = np.array([i for i, k in enumerate(groups) if k[0] == act and k[1] == w])
            ell = np.array([groups[i][2] for i in sel], float)
            beta, kap, kse = ell / w, r[sel] - 1, se[sel]
            c = colors.get(act, f"C{i % 7}")
            show = beta <= 1.2 * xmax
            axes[0].errorbar(beta[show], kap[show], yerr=kse[show], fmt=markers[j % 6], ms=2.5, color=c, lw=0.6,
                             label=f"{act} n={w}")
            y, yse = np.log1p(kap), kse / (1 + kap)
            fit = (beta <= xmax) & (ell >= args.min_layer) & np.isfinite(y)
            axes[1].errorbar(beta[show], y[show], yerr=yse[show], fmt=markers[j % 6], ms=2.5, color=c, lw=0.6)
            if fit.sum() >= 3:
                b, _, a = fit_slope(beta[fit], kap[fit])
                bj = np.array([fit_slope(beta[fit], jk[sel][fit] - 1)[0] for jk in jack])
                bse = np.sqrt((BLOCKS - 1) / BLOCKS * np.sum((bj - bj.mean()) ** 2))
                extra = {}
                if ec is not None:
                    extra["exact_slope"] = w * np.log1p(ec / w)
                slopes.append((b, bse, extra.get("exact_slope", float("nan"))))
                nnlimits.kv(figure="pdlt", **nnlimits.entry_kv(act), width=w, seeds=int(n[sel].min()), layers=int(fit.sum()),
                            slope=b, slope_se=bse, theory=th, **extra)
                xs = np.linspace(0, xmax, 50)
                axes[1].plot(xs, a + b * xs, color=c, lw=0.6, alpha=0.6)
            if ec is not None:
                lx = np.arange(1, ell.max() + 1)
                axes[0].plot(lx[lx / w <= 1.2 * xmax] / w, (1 + ec / w) ** (lx[lx / w <= 1.2 * xmax] - 1) - 1,
                             color=c, lw=0.5, ls=":")
        if slopes:
            # pooled by inverse variance; the exact finite-n slopes pooled with the same weights are what it estimates
            s, sse, ex = np.array(slopes).T
            wgt = 1 / sse ** 2
            pooled = np.sum(wgt * s) / np.sum(wgt)
            extra = {"exact_slope": np.sum(wgt * ex) / np.sum(wgt)} if ec is not None else {}
            nnlimits.kv(figure="pdlt", **nnlimits.entry_kv(act), width="all", slope=pooled, slope_se=np.sqrt(1 / np.sum(wgt)),
                        theory=th, **extra)
        if np.isfinite(th):
            xs = np.linspace(0, 1.2 * xmax, 50)
            for ax in axes:
                ax.plot(xs, th * xs, color=colors.get(act, f"C{i % 7}"), lw=1.2, ls="--",
                        label=f"{act}: slope {th:.3g} (PDLT)" if ax is axes[0] else None)
    axes[0].set_xlabel("l / n  (layer / width)")
    axes[0].set_ylabel("κ = E z⁴ / (3 (E z²)²) − 1")
    axes[0].set_title("normalised excess kurtosis (dotted: exact κ = (1+c/n)^(l−1) − 1)")
    axes[0].set_xlim(0, 1.2 * xmax)
    axes[0].set_ylim(bottom=-0.05, top=min(np.nanmax(r - 1) if len(r) else 1, 5 * 1.2 * xmax * 1.6))
    axes[0].legend(ncol=2)
    axes[1].set_xlabel("l / n")
    axes[1].set_ylabel("ln(1 + κ)")
    axes[1].set_title(f"fitted slopes (l/n ≤ {xmax:g}), dashed: PDLT leading order")
    axes[1].set_xlim(0, 1.2 * xmax)
    axes[1].set_ylim(-0.05, 5 * 1.2 * xmax * 1.1)
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
