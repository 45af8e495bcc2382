#!/usr/bin/python3
"""Hayou & Yang (2023) Gaussianity figure: are the last layer's pre-activation coordinates Gaussian?

The store keeps no per-coordinate values (they would be n per network); what it keeps per network and input is the
Kolmogorov–Smirnov distance D of the n coordinates of y/‖y‖·√n to N(0,1) (stats.ks, last recorded layer). This
figure is therefore a QQ plot of the KS statistic: quantiles of √n·D over seeds (input 0) at the largest depth,
one line per width, against the quantiles of the same statistic for n iid Gaussian coordinates normalised the same
way (simulated here, --null draws, fixed seed). On the diagonal: the coordinates look as Gaussian as iid Gaussian
samples of that size; above it: measurably non-Gaussian. Prints, per (activation, width), the median ratio
observed/null and a two-sample KS p-value."""
import os
import sys

import numpy as np
from scipy.stats import ks_2samp, norm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def null_ks(n, draws, rng):
    """√n · KS distance to N(0,1) of n iid N(0,1) normalised by their root mean square (as observe.c does)."""
    out = np.empty(draws)
    i = np.arange(n)
    for k in range(0, draws, 256):
        x = rng.standard_normal((min(256, draws - k), n))
        x /= np.sqrt(np.mean(x * x, axis=1, keepdims=True))
        x.sort(axis=1)
        F = norm.cdf(x)
        d = np.maximum((i + 1) / n - F, F - i / n).max(axis=1)
        out[k:k + len(d)] = np.sqrt(n) * d
    return out


def main():
    args = nnlimits.figure_args(__doc__, "hayou_yang_gaussianity", [
        ("--null", int, 4000, "draws of the iid-Gaussian null per width")])
    d = nnlimits.load(args.run_dir, "stats", ["activation", "width", "depth", "ks"],
                      where="family='resnet' AND input=0 AND ks IS NOT NULL")
    if len(d["ks"]) == 0:
        sys.exit(f"{args.run_dir}: no ResNet KS distances (run jobs/hayou_yang_2023_commute.yaml)")
    acts = list(dict.fromkeys(d["activation"]))
    Lmax = int(d["depth"].max())
    rng = np.random.default_rng(20230201)
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, len(acts), figsize=(4.2 * len(acts), 3.8), squeeze=False)
    probs = (np.arange(1, 100) - 0.5) / 99
    for ax, act in zip(axes[0], acts):
        sel = (d["activation"] == act) & (d["depth"] == Lmax)
        widths = sorted(set(int(w) for w in d["width"][sel]))
        top = 0
        for j, w in enumerate(widths):
            obs = np.sqrt(w) * d["ks"][sel & (d["width"] == w)]
            null = null_ks(w, args.null, rng)
            qo, qn = np.quantile(obs, probs), np.quantile(null, probs)
            top = max(top, qo.max(), qn.max())
            p = ks_2samp(obs, null).pvalue
            ax.plot(qn, qo, ".-", ms=3, lw=0.7, color=f"C{j % 7}", label=f"n={w} (p={p:.2g})")
            nnlimits.kv(figure="hayou_yang_gaussianity", **nnlimits.entry_kv(act), width=w, depth=Lmax, seeds=len(obs),
                        median_ratio=np.median(obs) / np.median(null), ks2_pvalue=p)
        ax.plot([0, top], [0, top], "k--", lw=1, label="iid Gaussian coordinates")
        ax.set_xlabel("√n·D quantile, n iid N(0,1) (simulated)")
        ax.set_ylabel(f"√n·D quantile, network (L={Lmax}, t=1)")
        ax.set_title(f"{act} ResNet: KS distance of y_L to N(0,1)")
        ax.legend(title="p: two-sample KS, network vs null", title_fontsize=6)
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
