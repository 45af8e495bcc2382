#!/usr/bin/python3
"""Summary of a run: last-layer q_00 and rho_01 per (family, activation, width, depth), printed and plotted."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402


def last_layer(g):
    """Per point (canonical order), its last recorded layer's q_00, q_01, q_11 (q_01, q_11 NaN for one input)."""
    out = {}
    for i in range(len(g["q"])):
        key = (g["family"][i], g["activation"][i], g["width"][i], g["depth"][i], g["seed"][i])
        rec = out.setdefault(key, {})
        if rec.get("layer", -1) < g["layer"][i]:
            rec.clear()
            rec["layer"] = g["layer"][i]
        if rec["layer"] == g["layer"][i]:
            rec[(g["a"][i], g["b"][i])] = g["q"][i]
    keys = list(out)
    q00 = np.array([out[k][(0, 0)] for k in keys])
    q01 = np.array([out[k].get((0, 1), np.nan) for k in keys])
    q11 = np.array([out[k].get((1, 1), np.nan) for k in keys])
    return keys, q00, q01, q11


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_dir")
    ap.add_argument("-o", "--output", help="figure file (.png; a .pdf is written beside it)")
    ap.add_argument("--partial", action="store_true", help="summarise a run that is not finished (what is there)")
    args = ap.parse_args()
    nnlimits.one_line_errors(ap.prog, args.partial)
    nnlimits.check_run(args.run_dir, args.partial)  # a RunError: one line, exit 2 (the hook)
    g = nnlimits.load(args.run_dir, "gram")
    if len(g["q"]) == 0:
        sys.exit(f"{args.run_dir}: no finished points yet")
    keys, q00, q01, q11 = last_layer(g)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = q01 / (np.sqrt(q00) * np.sqrt(q11))  # not √(q00·q11): the product overflows past 1e154
    cols = [np.array([k[j] for k in keys], dtype=object) for j in range(4)]
    groups, m_q, se_q, n = nnlimits.group_mean_se(cols, q00)
    _, m_r, se_r, n_r = nnlimits.group_mean_se(cols, rho)  # over the seeds that have a ρ (a dead one's is 0/0)
    for (fam, act, w, d), a, b, c, e, k, kr in zip(groups, m_q, se_q, m_r, se_r, n, n_r):
        print(f"family={fam} activation={act} width={w} depth={d} seeds={int(k)} "
              f"q00_mean={a:.17g} q00_se={b:.17g} rho01_mean={c:.17g} rho01_se={e:.17g} rho01_seeds={int(kr)}")
    if args.output:
        plot(args.run_dir, g, groups, m_q, se_q, args.output)


def plot(run_dir, g, groups, mean, se, path):
    plt = nnlimits.style()
    lim = nnlimits.load(run_dir, "limits", ["activation", "t", "q_ode"], where="a=0 AND b=0")
    acts = list(dict.fromkeys(k[1] for k in groups))
    fig, axes = plt.subplots(1, len(acts), figsize=(4.2 * len(acts), 3.4), squeeze=False)
    for ax, act in zip(axes[0], acts):
        for fam in dict.fromkeys(k[0] for k in groups):
            for w in sorted(set(k[2] for k in groups if k[1] == act and k[0] == fam)):
                sel = [i for i, k in enumerate(groups) if k[0] == fam and k[1] == act and k[2] == w]
                d = np.array([groups[i][3] for i in sel], dtype=float)
                ax.errorbar(d, mean[sel], yerr=se[sel], marker="o", ms=3, capsize=2, label=f"{fam} n={w}")
        # the depth-limit ODE's q_00 at t = 1, as the run stored it (ReLU: e^{1/2}, MATH.md §4.2; the inputs have
        # ‖x‖² = d, so q_00(0) = 1)
        ode = [v for a, t, v in zip(lim["activation"], lim["t"], lim["q_ode"]) if a == act and t == 1 and not np.isnan(v)]
        if ode:
            ax.axhline(ode[-1], color="k", ls="--", lw=1, label=f"depth-limit ODE at t = 1: {ode[-1]:.4g}"
                       + (" = $e^{1/2}$" if act == "relu" else ""))
        ax.set_xscale("log")
        ax.set_xlabel("depth L")
        ax.set_ylabel("q_00 at t = 1 (mean ± s.e. over seeds)")
        ax.set_title(f"activation {act}")
        ax.legend(loc="best", framealpha=0.6)
    nnlimits.footer(fig, run_dir)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    fig.savefig(os.path.splitext(path)[0] + ".pdf")
    print(f"figure={path}")


if __name__ == "__main__":
    main()
