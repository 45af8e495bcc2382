#!/usr/bin/python3
"""Neural signature kernel figure (Cirone–Lemercier–Salvi 2023): the controlled ResNet with shared weights driven by
x_t = t (-family controlled_resnet) against its limits, the Goursat problem ∂s∂t K = σ_A² F_φ(Σ) + σ_b² (MATH.md §2).

Left: at t = 1, the gap of the infinite-width kernel of the depth-L network (q_nngp, the march on L cells) to the
depth limit (q_ode), against L, for each activation and pair: first order, slope −1 on log axes; beside it the
networks' mean at the widest width, minus q_ode, ± 1 s.e. (in absolute value; where it is within 2 s.e. of 0,
a triangle at 2 s.e. instead: an upper bound, as a log axis cannot show an error bar that reaches 0). Right: K(t, t) along depth at the widest width and the
deepest depth, means ± s.e. over seeds, against the depth limit; for the linear network with σ_A = 1 and σ_b = 0 the
depth limit is q_0 I_0(2t) (law 8: I_0(2) = 2.2795853 at t = 1). Rows: the compare table. Prints key=value lines:
per (activation, pair) the fitted slope of log|q_nngp − q_ode| in log L, per (activation, width, depth) the z of
the mean against q_nngp at t = 1, and, for a linear network at σ_A = 1 and σ_b = 0, q_ode at t = 1 and I_0(2) q_0."""
import os
import sys

import numpy as np
from scipy.special import i0

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def main():
    args = nnlimits.figure_args(__doc__, "signature")
    c = nnlimits.load_compare(args.run_dir)
    sel = c["family"] == "controlled_resnet"
    c = {k: v[sel] for k, v in c.items()}
    if not len(c["t"]):
        sys.exit(f"{args.run_dir}: no controlled_resnet networks (run jobs/cirone_2023_signature.opts)")
    job = nnlimits.job_settings(args.run_dir)
    acts = list(dict.fromkeys(c["activation"]))
    pairs = [(0, 0), (0, 1)] if (c["b"] == 1).any() else [(0, 0)]
    wmax, lmax = c["width"].max(), c["depth"].max()
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, act in enumerate(acts):
        base, setting = nnlimits.entry(act, job)  # law 8: linear φ with σ_A² = 1 (auto's) and σ_b² = 0
        plain = setting["sigma_w2"] in ("auto", None, 1.0) and not setting["sigma_b2"]
        for j, (a, b) in enumerate(pairs):
            col, mk = f"C{(2 * i + j) % 7}", "os"[j]
            last = (c["activation"] == act) & (c["a"] == a) & (c["b"] == b) & (c["t"] == 1.0)
            depths = np.unique(c["depth"][last])
            gap = np.array([c["q_nngp"][last & (c["depth"] == L)][0] - c["q_ode"][last & (c["depth"] == L)][0] for L in depths])
            axes[0].loglog(depths, np.abs(gap), "-", color=col, lw=1, label=f"{act} ({a},{b}): |q_nngp − q_ode|")
            wide = last & (c["width"] == wmax)
            d, se = np.abs(c["mean"][wide] - c["q_ode"][wide]), c["se"][wide]
            seen = d > 2 * se  # resolved from 0: its error bar stays above 0 on the log axis
            axes[0].errorbar(c["depth"][wide][seen], d[seen], yerr=se[seen], fmt=mk, ms=3, color=col, mfc="none")
            axes[0].plot(c["depth"][wide][~seen], 2 * se[~seen], "v", ms=4, color=col, mfc="none")  # upper bounds
            ok = np.abs(gap) > 0
            if ok.sum() >= 2:
                slope, slope_se, _ = nnlimits.fit_line(np.log(depths[ok]), np.log(np.abs(gap[ok])))
                nnlimits.kv(figure="signature", **nnlimits.entry_kv(act), pair=f"{a}{b}", depths=int(ok.sum()), nngp_depth_slope=slope,
                            nngp_depth_slope_se=slope_se)
            path = (c["activation"] == act) & (c["a"] == a) & (c["b"] == b) & (c["width"] == wmax) & (c["depth"] == lmax)
            o = np.argsort(c["t"][path])
            axes[1].errorbar(c["t"][path][o], c["mean"][path][o], yerr=c["se"][path][o], fmt=mk, ms=3, color=col, mfc="none",
                             label=f"{act} ({a},{b}), n={wmax}, L={lmax}")
            axes[1].plot(c["t"][path][o], c["q_ode"][path][o], "-", color=col, lw=1)
        for w in np.unique(c["width"]):
            for L in np.unique(c["depth"]):
                r = (c["activation"] == act) & (c["a"] == 0) & (c["b"] == 0) & (c["t"] == 1.0) & (c["width"] == w) & (c["depth"] == L)
                if r.any():
                    nnlimits.kv(figure="signature", **nnlimits.entry_kv(act), width=w, depth=L, seeds=int(c["seeds"][r][0]),
                                mean=c["mean"][r][0], se=c["se"][r][0], q_nngp=c["q_nngp"][r][0], q_ode=c["q_ode"][r][0],
                                z_nngp=c["z_nngp"][r][0])
        if base == "linear" and plain:
            r = (c["activation"] == act) & (c["a"] == 0) & (c["b"] == 0) & (c["t"] == 1.0) & (c["depth"] == lmax)
            q0 = c["q_ode"][(c["activation"] == act) & (c["a"] == 0) & (c["b"] == 0) & (c["t"] == 0.0)]
            q0 = q0[0] if len(q0) else 1.0
            nnlimits.kv(figure="signature", **nnlimits.entry_kv(act), law8_ode_t1=f'{c["q_ode"][r][0]:.10f}', law8_exact=f"{i0(2.0) * q0:.10f}")
            tt = np.linspace(0, 1, 50)
            axes[1].plot(tt, q0 * i0(2 * tt), "k:", lw=1.2, label="q₀ I₀(2t) (law 8)")
    axes[0].set_xlabel("depth L")
    axes[0].set_ylabel("gap to the depth limit at t = 1")
    axes[0].set_title(f"markers: n = {wmax}, |mean − q_ode| ± s.e.; ▽: 2 s.e.\n(within 2 s.e. of 0); lines: infinite width")
    axes[0].legend()
    axes[1].set_xlabel("t = ℓ / L")
    axes[1].set_ylabel("K(t, t)")
    axes[1].set_title("networks (markers) against the Goursat depth limit\n(lines join its recorded layers)")
    axes[1].legend()
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
