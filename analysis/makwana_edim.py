#!/usr/bin/python3
"""Makwana 2025 effective dimension: EDim three ways per (width, layer) against the claim m[1 - (1 - 2/pi)^l].

Input: the spectra export of a run of jobs/makwana_2025_effective_dimension.opts
  (nnlimits export DIR -table spectra -o spectra.csv). Prints one table per width (mean ± standard error over seeds
  of the exact rank, the rank at -spectra_rtol and the participation ratio of the feature matrix), and with --plot FILE
  draws the three curves beside the claim.
Usage: python3 analysis/makwana_edim.py spectra.csv [--inputs M] [--width N] [--plot edim.png]
"""
import argparse
import csv
import math
from collections import defaultdict


def claim(m, layer):
    return m * (1 - (1 - 2 / math.pi) ** layer)


def mean_se(xs):
    n = len(xs)
    mu = sum(xs) / n
    var = sum((x - mu) ** 2 for x in xs) / (n - 1) if n > 1 else float("nan")
    return mu, math.sqrt(var / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--inputs", type=int, default=None, help="m (default: k of the gram rows)")
    ap.add_argument("--width", type=int, default=None, help="only this width")
    ap.add_argument("--plot", default=None, help="write a figure (matplotlib) to this file")
    a = ap.parse_args()
    rows = defaultdict(lambda: defaultdict(list))  # (width) -> layer -> [(rank, rank_rtol, pr)]
    m = a.inputs
    with open(a.csv) as f:
        for r in csv.DictReader(f):
            if r["matrix"] == "gram":
                m = m or int(r["k"])
                continue
            w = int(r["width"])
            if a.width and w != a.width:
                continue
            rows[w][int(r["layer"])].append((int(r["rank"]), int(r["rank_rtol"]), float(r["pr"])))
    curves = {}
    for w in sorted(rows):
        print(f"width={w} inputs={m} (mean ± se over seeds; claim = m[1 - (1 - 2/pi)^l])")
        print(f"{'layer':>5} {'seeds':>5} {'exact rank':>16} {'rank at rtol':>16} {'PR':>16} {'claim':>8}")
        for layer in sorted(rows[w]):
            v = rows[w][layer]
            stats = [mean_se([x[i] for x in v]) for i in range(3)]
            curves.setdefault(w, []).append((layer, stats))
            print(f"{layer:5d} {len(v):5d} " + " ".join(f"{mu:8.3f} ± {se:5.3f}" for mu, se in stats) +
                  f" {claim(m, layer):8.3f}")
        print()
    if a.plot:
        try:
            import matplotlib
        except ImportError:
            raise SystemExit("--plot needs matplotlib (Debian: apt-get install python3-matplotlib)")
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.5), squeeze=False, sharey=True)
        for ax, (w, c) in zip(axes[0], sorted(curves.items())):
            ls = [x[0] for x in c]
            for i, name in enumerate(["exact rank", "rank at rtol", "participation ratio"]):
                ax.errorbar(ls, [x[1][i][0] for x in c], yerr=[x[1][i][1] for x in c], label=name, capsize=2)
            ax.plot(ls, [claim(m, l) for l in ls], "k--", label="m[1-(1-2/π)^ℓ]")
            ax.set_title(f"n = {w}, m = {m}")
            ax.set_xlabel("layer ℓ")
        axes[0][0].set_ylabel("EDim")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)


if __name__ == "__main__":
    main()
