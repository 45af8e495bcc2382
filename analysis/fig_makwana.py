#!/usr/bin/python3
"""Makwana 2025 figure: the layerwise effective dimension of a critical ReLU MLP measured three ways on the n×m
post-activation (feature) matrix — exact rank (LAPACK tolerance), rank at the run's -spectra_rtol, participation
ratio (Σσ²)²/Σσ⁴ — mean ± standard error over seeds per layer, one panel per width, against the paper's claimed
curve E[EDim(ℓ)] = m[1 − (1 − 2/π)^ℓ] (MATH.md §5; m = the number of inputs).

Input: a run of jobs/makwana_2025_effective_dimension.opts (-spectra_layers all). Prints one key=value line per
(width, measure): the value at layer 1 and at the last layer beside the claim there, the mean signed gap
(EDim − claim)/m over layers, the largest |EDim − claim|/m, and the largest |EDim − claim| in standard errors
(over layers with se > 0: the exact rank is often the same for every seed).
--table also prints the whole per-layer table (what analysis/makwana_edim.py printed before this script)."""
import os
import sqlite3
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402

MEASURES = [("rank", "exact rank"), ("rank_rtol", "rank at rtol"), ("pr", "participation ratio")]


def claim(m, layer):
    """The abstract's E[EDim(ℓ)] = m[1 − (1 − 2/π)^ℓ] (without its O(e^{−cm}))."""
    return m * (1 - (1 - 2 / np.pi) ** np.asarray(layer, float))


def run_option(run_dir, name, default):
    """The value of -name in the latest run's options (the store keeps them all, options files' included)."""
    words = (nnlimits.run_info(run_dir)["options"] or "").split()
    return words[words.index(name) + 1] if name in words[:-1] else default


def curves(d, m):
    """Per width: layers, and per measure the mean, se and seed count over seeds (as arrays in layer order)."""
    out = {}
    feat = d["matrix"] == "features"
    for w in sorted(set(int(x) for x in d["width"][feat])):
        sel = feat & (d["width"] == w)
        c = {}
        for col, _ in MEASURES:
            groups, mean, se, n = nnlimits.group_mean_se([d["layer"][sel]], d[col][sel].astype(float))
            o = np.argsort([g[0] for g in groups])
            c[col] = (mean[o], se[o], n[o])
        c["layer"] = np.array(sorted(g[0] for g in groups))
        out[w] = c
    return out


def main():
    args = nnlimits.figure_args(__doc__, "makwana_edim", [
        ("--inputs", int, 0, "m (0: the size of the run's m×m Gram)"),
        ("--width", int, 0, "only this width (0: all)"),
        ("--table", int, 0, "1: also print the per-layer table"),
        ("--activation", str, "relu", "the ReLU entry drawn, where the job sweeps -sigma_w2 or -sigma_b2 (relu;sigma_b2=0.1)")])
    act, base, setting = nnlimits.resolve_entry(args.run_dir, "mlp", args.activation)
    if base != "relu":
        sys.exit(f"--activation {act}: the claim drawn here is the ReLU MLP's (relu, or an entry of it)")
    where = f"family='mlp' AND activation={nnlimits.sql(act)}" + (f" AND width={args.width}" if args.width else "")
    try:
        d = nnlimits.load(args.run_dir, "spectra", ["width", "seed", "layer", "matrix", "k", "rank", "rank_rtol", "pr"],
                          where=where)
    except sqlite3.OperationalError as e:
        sys.exit(f"{args.run_dir}: no spectra in this store ({e}); run jobs/makwana_2025_effective_dimension.opts")
    if not (d["matrix"] == "features").any():
        sys.exit(f"{args.run_dir}: no ReLU MLP feature spectra (run jobs/makwana_2025_effective_dimension.opts)")
    gram = d["k"][d["matrix"] == "gram"]
    m = args.inputs or (int(gram.max()) if len(gram) else int(d["k"].max()))
    rtol = run_option(args.run_dir, "-spectra_rtol", "1e-3")
    cs = curves(d, m)
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, len(cs), figsize=(3.3 * len(cs) + 0.4, 3.5), squeeze=False, sharey=True)
    colors = {"rank": "C0", "rank_rtol": "C3", "pr": "C5"}
    for ax, (w, c) in zip(axes[0], cs.items()):
        ls = c["layer"]
        for col, label in MEASURES:
            mean, se, n = c[col]
            lab = label if col != "rank_rtol" else f"rank at rtol {rtol}"
            ax.errorbar(ls, mean, yerr=se, fmt="o-", ms=2.5, lw=0.8, capsize=1.5, color=colors[col], label=lab)
            gap = mean - claim(m, ls)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, np.abs(gap) / se, np.nan)
            nnlimits.kv(figure="makwana", width=w, inputs=m, seeds=int(n.min()), measure=col,
                        layer1=mean[0], layer1_se=se[0], claim1=claim(m, ls[0]), last_layer=int(ls[-1]),
                        last=mean[-1], last_se=se[-1], claim_last=claim(m, ls[-1]),
                        mean_gap_over_m=float(np.mean(gap) / m), max_abs_gap_over_m=float(np.max(np.abs(gap)) / m),
                        max_z=float(np.nanmax(z)) if np.isfinite(z).any() else float("nan"))
        lx = np.linspace(0, ls.max(), 200)
        ax.plot(lx, claim(m, lx), "k--", lw=1.2, label="claim m[1 − (1 − 2/π)^ℓ]")
        ax.axhline(min(w, m), color="0.5", lw=0.6, ls=":", label="min(n, m)")
        ax.set_title(f"n = {w}, m = {m}, {int(c['rank'][2].min())} seeds")
        ax.set_xlabel("layer ℓ")
        ax.set_ylim(bottom=0)
        if args.table:
            print(f"# width={w} inputs={m} (mean ± se over seeds)")
            print(f"# {'layer':>5} {'exact rank':>16} {'rank at rtol':>16} {'PR':>16} {'claim':>8}")
            for i, layer in enumerate(ls):
                print(f"# {layer:5d} " + " ".join(f"{c[col][0][i]:8.3f} ± {c[col][1][i]:5.3f}" for col, _ in MEASURES)
                      + f" {claim(m, layer):8.3f}")
    axes[0][0].set_ylabel("EDim of the n×m feature matrix")
    axes[0][-1].legend(loc="center right")
    what = ("a critical ReLU MLP (σ_w² = 2)" if nnlimits.critical(base, setting) else
            f"a ReLU MLP (σ_w² = {nnlimits.sigma_w2(base, setting):g}, σ_b² = {setting['sigma_b2'] or 0:g})")
    fig.suptitle(f"Makwana 2025: effective dimension of {what}, mean ± s.e. over seeds")
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
