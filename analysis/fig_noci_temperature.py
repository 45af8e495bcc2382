#!/usr/bin/python3
"""Noci et al. 2023, the attention temperature: the shaped attention block against its covariance SDE over a sweep of
τ₀ (`-attn_tau0 0.25,0.5,1,2`: entries `linear;attn_tau0=…` of the activation axis), with softmax attention beside it.

Shaped: A = I + softmax(QᵀK/(τ₀√(n n_k))) − 11ᵀ/m, whose drift (γ²/τ₀²)·(…) grows as τ₀ falls; softmax:
A = softmax(QᵀK/(τ₀√n_k)), whose tokens collapse (ρ → 1) at every τ₀. At t = depth/width = T (--t, default 1), from
`nnlimits export DIR -table laws`: panel 1 the mean of ln V₀₀ against τ₀, networks of each width (± 2 s.e.) and the
SDE paths (line, ± 2 s.e. band); panel 2 the mean of ρ₀₁ the same way; panel 3 the two-sample Kolmogorov–Smirnov
distance of networks to SDE paths for both statistics, against its 0.1 % critical value.
Input: a run of jobs/noci_2023_temperature.opts (families shaped_attention and softmax_attention, -sde_paths > 0, a
depth equal to t times a width). With a swept -attn_gamma, --gamma picks the one drawn (default: the smallest).
--family shaped_transformer draws the whole block the same way (softmax_transformer beside it), of one MLP
activation (--activation; default the run's first).
Prints one key=value line per (family, τ₀, γ, width, statistic) at that t: the networks' mean ± s.e. and, for the
shaped block, the SDE paths' mean ± s.e., the KS distance and its 0.1 % critical value.

A run that sweeps -attn_gamma too (jobs/noci_2023_attention_phase.opts: τ₀ × γ entries linear;attn_tau0=…;attn_gamma=…)
gets a second row: maps over the (τ₀, γ) plane at the widest width of E ln V₀₀ and E ρ₀₁ (networks, the SDE's in
brackets), and of the larger KS distance to the SDE over its critical value; a plane=… line per cell prints the z of
each statistic's mean (networks − SDE over their joint s.e.) and that KS ratio."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402

KS_C001 = 1.949  # two-sample Kolmogorov–Smirnov: P(√(nm/(n+m)) D > 1.949) ≈ 0.001 under the same law
STATS = (("logv", "ln V₀₀"), ("rho", "ρ₀₁"))
UNSHAPED = {"shaped_attention": "softmax_attention", "shaped_transformer": "softmax_transformer"}
NAME = {"shaped_attention": "shaped attention", "softmax_attention": "softmax attention",
        "shaped_transformer": "shaped transformer", "softmax_transformer": "softmax transformer"}


def settings(name, job):
    """(τ₀, γ) of an entry: the values its name carries, else the job's."""
    s = nnlimits.entry(name, job)[1]
    return s["attn_tau0"], s["attn_gamma"]


def maps(fig, axes, rows, laws, fam, taus, gammas, width, t):
    """The (τ₀, γ) plane of the shaped block at one width: E ln V₀₀ and E ρ₀₁ of the networks (colour; each cell: the
    networks' mean over the SDE's), and the larger of the two KS distances to the SDE over its 0.1 % critical value.
    Prints plane=… lines: per cell the two statistics' z = (networks − SDE)/s.e. and the KS ratio."""
    grid = {(r[1], r[2], r[4]): r[5] for r in rows if r[0] == fam and r[3] == width}
    ext = [-0.5, len(taus) - 0.5, -0.5, len(gammas) - 0.5]

    def cell(tau, gamma, st, col):
        i = grid.get((tau, gamma, st))
        return float(laws[col][i]) if i is not None else np.nan

    def frame(ax, title):
        ax.set_xticks(range(len(taus)), [f"{x:g}" for x in taus])
        ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas])
        ax.set_xlabel("τ₀")
        ax.set_ylabel("γ")
        ax.set_title(title)
        ax.grid(False)

    for ax, (st, name) in zip(axes[:2], STATS):
        net = np.array([[cell(x, g, st, "net_mean") for x in taus] for g in gammas])
        sde = np.array([[cell(x, g, st, "sde_mean") for x in taus] for g in gammas])
        im = ax.imshow(net, origin="lower", extent=ext, aspect="auto", cmap="viridis")
        fig.colorbar(im, ax=ax, shrink=0.85)
        for j, g in enumerate(gammas):
            for k, x in enumerate(taus):
                ax.text(k, j, f"{net[j, k]:.2f}\n({sde[j, k]:.2f})", ha="center", va="center", fontsize=7,
                        color="w" if net[j, k] < np.nanmean(net) else "k")
        frame(ax, f"E {name} at t = {t:g}, n = {width}: networks (SDE)")
    ratio = np.full((len(gammas), len(taus)), np.nan)
    for j, g in enumerate(gammas):
        for k, x in enumerate(taus):
            z = {}
            for st, _ in STATS:
                n_net, n_sde = cell(x, g, st, "n_net"), cell(x, g, st, "n_sde")
                crit = KS_C001 * np.sqrt((n_net + n_sde) / (n_net * n_sde))
                ratio[j, k] = np.nanmax([ratio[j, k], cell(x, g, st, "ks_sde") / crit])
                se = np.hypot(cell(x, g, st, "net_sd") / np.sqrt(n_net), cell(x, g, st, "sde_sd") / np.sqrt(n_sde))
                z[st] = (cell(x, g, st, "net_mean") - cell(x, g, st, "sde_mean")) / se
            nnlimits.kv(plane=fam, tau0=x, gamma=g, width=width, t=t, z_logv=z["logv"], z_rho=z["rho"],
                        ks_ratio=ratio[j, k])
    im = axes[2].imshow(ratio, origin="lower", extent=ext, aspect="auto", cmap="magma_r", vmin=0, vmax=1)
    fig.colorbar(im, ax=axes[2], shrink=0.85)
    for j in range(len(gammas)):
        for k in range(len(taus)):
            axes[2].text(k, j, f"{ratio[j, k]:.2f}", ha="center", va="center", fontsize=7,
                         color="w" if ratio[j, k] > 0.6 else "k")
    frame(axes[2], "KS to the SDE / 0.1 % critical value\n(the larger of ln V₀₀'s and ρ₀₁'s; < 1: the same law)")


def main():
    args = nnlimits.figure_args(__doc__, "noci_temperature", [
        ("--t", float, 1.0, "the depth-to-width ratio t = L/n drawn"),
        ("--gamma", float, 0.0, "the γ drawn where -attn_gamma is swept (0: the smallest)"),
        ("--family", str, "shaped_attention", "the shaped block: shaped_attention, or shaped_transformer (its MLP's "
                                              "activation: --activation); its unshaped form beside it"),
        ("--activation", str, "", "the transformer's MLP activation, where the run has several (default: its first)")])
    if args.family not in UNSHAPED:
        sys.exit(f"--family {args.family}: not {' or '.join(UNSHAPED)}")
    fams = (args.family, UNSHAPED[args.family])
    base = args.activation or next((n.split(";")[0] for n in nnlimits.entries(args.run_dir, args.family)), "linear")
    laws = nnlimits.load_export(args.run_dir, "laws")
    job = nnlimits.job_settings(args.run_dir)
    rows = []  # (family, τ₀, γ, width, statistic, i)
    for i in range(len(laws["family"])):
        fam, st = laws["family"][i], laws["statistic"][i]
        if (fam in fams and st in dict(STATS) and abs(float(laws["t"][i]) - args.t) < 1e-9
                and laws["activation"][i].split(";")[0] == base):
            rows.append((fam, *settings(laws["activation"][i], job), int(laws["width"][i]), st, i))
    if not any(r[0] == fams[0] for r in rows):
        sys.exit(f"{args.run_dir}: no {fams[0]} rows of {base} at t = {args.t:g} in the laws table "
                 "(run jobs/noci_2023_temperature.opts, or a depth equal to t times a width)")
    gammas = sorted({r[2] for r in rows})
    gamma = args.gamma or gammas[0]
    if gamma not in gammas:
        sys.exit(f"--gamma {gamma:g}: the run has γ = {', '.join(f'{g:g}' for g in gammas)}")
    widths = sorted({r[3] for r in rows})
    for fam, tau0, g, w, st, i in rows:
        n_net, n_sde = int(laws["n_net"][i]), int(laws["n_sde"][i])
        out = dict(figure="noci_temperature", family=fam, tau0=tau0, gamma=g, width=w, depth=int(laws["depth"][i]),
                   t=args.t, statistic=st, n_net=n_net, net_mean=laws["net_mean"][i],
                   net_mean_se=laws["net_sd"][i] / np.sqrt(n_net))
        if fam == fams[0]:
            out.update(n_sde=n_sde, sde_mean=laws["sde_mean"][i], sde_mean_se=laws["sde_sd"][i] / np.sqrt(n_sde),
                       ks_sde=laws["ks_sde"][i], ks_crit001=KS_C001 * np.sqrt((n_net + n_sde) / (n_net * n_sde)))
        nnlimits.kv(**out)

    plt = nnlimits.style()
    taus = sorted({r[1] for r in rows})
    plane = len(gammas) > 1 and len(taus) > 1  # both swept: maps over (τ₀, γ) below the τ₀ sweep
    fig, axes = plt.subplots(2 if plane else 1, 3, figsize=(14, 8.4 if plane else 4), squeeze=False)
    if plane:
        maps(fig, axes[1], rows, laws, fams[0], taus, gammas, max(widths), args.t)
    axes = axes[0]
    colours = {w: f"C{2 * k}" for k, w in enumerate(widths)}

    def ticks(ax):
        ax.set_xscale("log")
        ax.set_xticks(taus, [f"{x:g}" for x in taus])
        ax.minorticks_off()
        ax.set_xlabel("τ₀ (log scale)")

    def series(fam, w, st, cols):
        sel = sorted((r[1], r[5]) for r in rows if r[0] == fam and r[2] == gamma and r[3] == w and r[4] == st)
        tau = np.array([s[0] for s in sel])
        return tau, [np.array([float(laws[c][i]) for _, i in sel]) for c in cols]

    for ax, (st, name) in zip(axes[:2], STATS):
        label = f"E {name}"
        for w in widths:
            c = colours[w]
            tau, (m, sd, n, sm, ssd, ns) = series(fams[0], w, st, ("net_mean", "net_sd", "n_net", "sde_mean", "sde_sd", "n_sde"))
            if len(tau):
                ax.errorbar(tau, m, yerr=2 * sd / np.sqrt(n), fmt="o", ms=4, color=c, capsize=2,
                            label=f"{NAME[fams[0]]}, n = {w}")
                ax.plot(tau, sm, "-", color=c, lw=1, label=f"its SDE (from n = {w}'s embedding) ± 2 s.e.")
                ax.fill_between(tau, sm - 2 * ssd / np.sqrt(ns), sm + 2 * ssd / np.sqrt(ns), color=c, alpha=0.15, lw=0)
            tau, (m, sd, n) = series(fams[1], w, st, ("net_mean", "net_sd", "n_net"))
            if len(tau):
                ax.errorbar(tau, m, yerr=2 * sd / np.sqrt(n), fmt="s--", mfc="none", ms=4, lw=0.8, color=c, capsize=2,
                            label=f"{NAME[fams[1]]}, n = {w}")
        ticks(ax)
        ax.set_ylabel(f"{label} at t = {args.t:g}, networks ± 2 s.e.")
        ax.set_title(f"{label} at t = L/n = {args.t:g}, γ = {gamma:g}")
    axes[0].legend(loc="best")
    ax = axes[2]
    for w in widths:
        for st, mk in (("logv", "o"), ("rho", "^")):
            tau, (ks, n, ns) = series(fams[0], w, st, ("ks_sde", "n_net", "n_sde"))
            if len(tau):
                ax.plot(tau, ks, mk + "-", color=colours[w], ms=4, lw=0.8, label=f"{dict(STATS)[st]}, n = {w}")
                ax.plot(tau, KS_C001 * np.sqrt((n + ns) / (n * ns)), ":", color=colours[w], lw=1)
    ticks(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("KS distance, networks to SDE (dotted: 0.1 % critical)")
    ax.set_title(f"{NAME[fams[0]]} against its SDE")
    ax.legend(loc="best")
    softmax = any(r[0] == fams[1] for r in rows)
    fig.suptitle(f"Noci et al. 2023: the {NAME[fams[0]]} block{'' if base == 'linear' else f' ({base})'} follows its "
                 "covariance SDE at every temperature τ₀" + (" and residual weight γ" if plane else "")
                 + (f"\n{NAME[fams[1]]} collapses the tokens (ρ = 1) at all of them" if softmax else ""))
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
