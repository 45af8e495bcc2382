#!/usr/bin/python3
"""Hayou & Yang (2023) commutation figure: how far the finite (n, L) ResNet covariance at t = 1 is from the
depth-limit ODE q_1, over the (width, depth) plane and along paths L = n^gamma.

From `nnlimits export DIR -table compare` (last layer, entries (0,0), (0,1), (1,1)):
- RMS error: sqrt(sum_ab [(mean - q_ode)^2 + sd^2]) / ||q_ode||, sd = se * sqrt(seeds): the typical distance of one
  network's Gram V_L to q_1 (its spread dominates; it decays like n^(-1/2) whatever L does, if the limits commute);
- bias: sqrt(sum_ab (mean - q_ode)^2) / ||q_ode||, cells whose every |z| < 2 grey and marked '~0' (no bias resolved).
Paths: for each width, the error at L = n^gamma, interpolated linearly in (ln L, ln error) between the grid's two
nearest depths (open markers; filled = on the grid); slope fitted on log-log axes.
Width limit by depth (`-table extrapolate`, t = 1): the means over widths fitted as q_inf + c/n; c, the 1/n
coefficient of E V_L relative to q_1, against L: if the limits commute it stays bounded as L grows (an MLP's grows
like L). Prints key=value lines."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def errors(c, act):
    """Per (width, depth) at the last layer: relative RMS error, relative bias, max |z|, seeds."""
    sel = (c["activation"] == act) & (c["family"] == "resnet") & (c["layer"] == c["depth"])
    out = {}
    for i in np.nonzero(sel)[0]:
        key = (int(c["width"][i]), int(c["depth"][i]))
        r = out.setdefault(key, {"e2": 0.0, "b2": 0.0, "q2": 0.0, "z": 0.0, "seeds": int(c["seeds"][i])})
        err, sd = c["err_ode"][i], c["se"][i] * np.sqrt(c["seeds"][i])
        w = 1 if c["a"][i] == c["b"][i] else 2  # (0,1) stands for (0,1) and (1,0) in the Frobenius norm
        r["e2"] += w * (err ** 2 + sd ** 2)
        r["b2"] += w * err ** 2
        r["q2"] += w * c["q_ode"][i] ** 2
        r["z"] = max(r["z"], abs(c["z_ode"][i]))
    widths = sorted(set(k[0] for k in out))
    depths = sorted(set(k[1] for k in out))
    rms = np.full((len(depths), len(widths)), np.nan)
    bias, zmax = rms.copy(), rms.copy()
    for (w, L), r in out.items():
        j, i = widths.index(w), depths.index(L)
        rms[i, j] = np.sqrt(r["e2"] / r["q2"])
        bias[i, j] = np.sqrt(r["b2"] / r["q2"])
        zmax[i, j] = r["z"]
    return widths, depths, rms, bias, zmax


def width_limit(ax, x, act):
    """The 1/n coefficient c of E V_L at t = 1, relative to q_ode, against depth, per entry (a, b), with its s.e."""
    sel = (x["family"] == "resnet") & (x["activation"] == act) & (x["layer"] == x["depth"]) & np.isfinite(x["q_ode"])
    for k, (a, b) in enumerate(sorted(set(zip(x["a"][sel], x["b"][sel])))):
        e = sel & (x["a"] == a) & (x["b"] == b)
        L, q = x["depth"][e], x["q_ode"][e]
        c, cse = x["slope"][e] / q, x["se_slope"][e] / q
        ax.errorbar(L * (1 + 0.04 * (k - 1)), c, yerr=2 * cse, fmt="o-", ms=3, lw=0.8, capsize=2, label=f"V_{a}{b}")
        for i in range(len(L)):
            nnlimits.kv(figure="hayou_yang", **nnlimits.entry_kv(act), depth=int(L[i]), a=int(a), b=int(b), widths=int(x["widths"][e][i]),
                        c_rel=c[i], c_rel_se=cse[i], z_nngp=x["z_nngp"][e][i], chi2=x["chi2"][e][i])
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("depth L")
    ax.set_ylabel("c / q_1, E V_L ≈ q_inf(L) + c/n  (±2 s.e.)")
    ax.set_title(f"{act}: 1/n coefficient at t = 1 by depth")
    ax.legend()


def path(widths, depths, err, gamma):
    """(n, L = n^gamma, error, on_grid) for each width whose n^gamma lies within the depth range."""
    lx = np.log(depths)
    pts = []
    for j, n in enumerate(widths):
        Lg = n ** gamma
        col = err[:, j]
        ok = np.isfinite(col) & (col > 0)
        if ok.sum() < 2 or not (lx[ok].min() - 1e-9 <= np.log(Lg) <= lx[ok].max() + 1e-9):
            continue
        e = np.exp(np.interp(np.log(Lg), lx[ok], np.log(col[ok])))
        pts.append((n, Lg, e, bool(np.min(np.abs(lx[ok] - np.log(Lg))) < 1e-6)))
    return pts


def heat(ax, fig, widths, depths, z, title, marks=None):
    """Heat map of log10 z; with marks (max |z-score| per cell), cells below 2 are grey and say '~0': their colour
    would be noise, not a bias."""
    zero = np.zeros(z.shape, bool) if marks is None else marks < 2
    import matplotlib
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad("0.88")
    shown = np.ma.masked_where(zero | ~(z > 0), z)
    im = ax.imshow(np.ma.log10(shown), origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set_yticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlabel("width n")
    ax.set_ylabel("depth L")
    ax.set_title(title)
    ax.grid(False)
    for i in range(len(depths)):
        for j in range(len(widths)):
            if np.isfinite(z[i, j]):
                txt = "~0" if zero[i, j] else f"{z[i, j]:.2g}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=5.5, color="0.3" if zero[i, j] else "w")
    if shown.count():
        fig.colorbar(im, ax=ax, label="log10 relative error")


def main():
    args = nnlimits.figure_args(__doc__, "hayou_yang_commute", [
        ("--gammas", str, "0.5,0.75,1,1.25", "exponents of the paths L = n^gamma")])
    gammas = [float(g) for g in args.gammas.split(",")]
    c = nnlimits.load_compare(args.run_dir)
    res = c["family"] == "resnet"
    # the entries with a depth-limit ODE: not those of a swept -branch_alpha other than 1/2 (said on stderr)
    names = list(dict.fromkeys(c["activation"][res]))
    acts = [a for a in names if np.isfinite(c["q_ode"][res & (c["activation"] == a)]).any()]
    other = [a for a in names if a not in acts]
    if not acts:
        sys.exit(f"{args.run_dir}: no ResNet rows with a depth-limit ODE (run jobs/hayou_yang_2023_commute.yaml)")
    if other:
        print(f"note: {', '.join(other)}: no depth-limit ODE (branch scale other than L^-1/2), not drawn", file=sys.stderr)
    x = nnlimits.load_export(args.run_dir, "extrapolate")
    plt = nnlimits.style()
    fig, axes = plt.subplots(len(acts), 4, figsize=(17, 3.5 * len(acts)), squeeze=False)
    for row, act in zip(axes, acts):
        widths, depths, rms, bias, zmax = errors(c, act)
        heat(row[0], fig, widths, depths, rms, f"{act}: RMS error of V_L to the ODE q_1")
        heat(row[1], fig, widths, depths, bias, f"{act}: bias |E V_L − q_1| (grey '~0': |z| < 2)", zmax)
        i, j = np.unravel_index(np.nanargmin(rms), rms.shape)
        nnlimits.kv(figure="hayou_yang", **nnlimits.entry_kv(act), min_rms=rms[i, j], at_width=widths[j], at_depth=depths[i],
                    max_rms=np.nanmax(rms), max_bias=np.nanmax(bias), max_abs_z=np.nanmax(zmax))
        ax = row[2]
        for k, g in enumerate(gammas):
            pts = path(widths, depths, rms, g)
            if not pts:
                continue
            n, _, e, on = (np.array(v) for v in zip(*pts))
            col = f"C{k % 7}"
            ax.plot(n, e, "-", color=col, lw=0.8)
            ax.scatter(n[on], e[on], color=col, s=14, zorder=3)
            ax.scatter(n[~on], e[~on], facecolors="none", edgecolors=col, s=14, zorder=3)
            label = f"γ={g:g}"
            if len(n) >= 3:
                b, bse, _ = nnlimits.fit_line(np.log(n), np.log(e))
                label += f": slope {b:.2f} ± {bse:.2f}"
                nnlimits.kv(figure="hayou_yang", **nnlimits.entry_kv(act), gamma=g, points=len(n), slope=b, slope_se=bse,
                            theory=-0.5)
            ax.plot([], [], "-o", color=col, ms=3, label=label)
        nn = np.array(widths, float)
        ax.plot(nn, rms[:, 0][np.isfinite(rms[:, 0])].mean() * (nn / nn[0]) ** -0.5, "k--", lw=1, label="n^(−1/2)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width n (path L = n^γ)")
        ax.set_ylabel("relative RMS error to q_1")
        ax.set_title(f"{act}: along paths (open: interpolated in L)")
        ax.legend()
        width_limit(row[3], x, act)
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
