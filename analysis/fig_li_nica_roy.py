#!/usr/bin/python3
"""Li, Nica & Roy 2022 figure (the neural covariance SDE): the correlation ρ_ℓ = V_01/√(V_00 V_11) of two inputs
through a shaped ReLU MLP (slopes s± = 1 + c±/√n) and the unshaped critical ReLU MLP, against depth-to-width t = ℓ/n (MATH.md §0: layer ℓ is ℓ random steps from the inputs' Gram).
--activation tanh (or another smooth φ with φ(0) = 0, φ'(0) = 1) draws the smooth shaping φ_s(x) = s φ(x/s), s = a√n,
beside the unshaped critical MLP of that φ: the same panels without the Fokker–Planck density (a 1-D diffusion of ρ
exists for the shaped ReLU only: with smooth shaping the drift of ρ depends on V_aa too). --family shaped_attention
draws the shaped attention block (Noci et al. 2023; jobs/noci_2023_shaped_attention.opts) against its covariance SDE
the same way: tokens 0 and 1 are the two inputs. --family shaped_transformer draws the whole shaped Transformer block
(attention, then the shaped ReLU MLP; jobs/noci_2023_shaped_transformer.opts) against its SDE, beside its unshaped
form (softmax_transformer: softmax attention, then an unshaped ReLU MLP), which collapses the tokens.

Panel 1: sample paths of ρ_ℓ (thin lines) and the 5–95 % band over all seeds at the deepest network of one width,
for both families, with the Fokker–Planck quantiles (5/50/95 %) of the shaped ρ at the recorded layers, the SDE
paths' terminal quantiles at every depth (black bars), and the infinite-width (NNGP) correlation of the unshaped
MLP, which goes to 1 like 1 − 9π²/(2ℓ²). Panels 2–4: histograms of the terminal ρ_T at three depths, shaped and
unshaped networks beside the SDE paths and the Fokker–Planck density.
Input: a run of jobs/li_nica_roy_2022_shaped.opts (families mlp and shaped_mlp, relu and tanh, 2+ inputs,
-sde_paths > 0).
Prints one key=value line per (family, width, depth) from `nnlimits export DIR -table laws`: mean of ρ_T over
networks (± s.e.) beside the SDE paths' mean (shaped) or the NNGP value (unshaped), the two-sample KS distance of
networks to SDE paths with its 0.1 % critical value, and KS/W1 distances to the Fokker–Planck density (networks:
ks_pde, with its 0.1 % critical value; SDE paths: ks_sde_pde); rho_mean is this script's own mean of ρ_T."""
import os
import sqlite3
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402

KS_C001 = 1.949  # two-sample Kolmogorov–Smirnov: P(√(nm/(n+m)) D > 1.949) ≈ 0.001 under the same law
KS1_C001 = 1.949  # one sample against a density: P(√n D > 1.949) ≈ 0.001 (the same Kolmogorov limit law)
COLOURS = ("tab:blue", "tab:red")  # the shaped family, the unshaped MLP


def rho_of(d, keys):
    """ρ_01 per group of rows (a, b) = (0,0), (0,1), (1,1) consecutive in the canonical order; keys: the columns
    identifying a group (their values are returned at each group's first row)."""
    sel = (d["a"] <= 1) & (d["b"] <= 1)
    a, b, q = d["a"][sel], d["b"][sel], d["q"][sel]
    if len(q) % 3 or not (np.all(a[0::3] == 0) & np.all(b[0::3] == 0) & np.all(b[1::3] == 1) & np.all(a[2::3] == 1)):
        sys.exit("gram rows are not the (0,0), (0,1), (1,1) triples of two inputs")
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = q[1::3] / (np.sqrt(q[0::3]) * np.sqrt(q[2::3]))
    return rho, {k: d[k][sel][0::3] for k in keys}


def fp_cdf(lo, hi, dens):
    """The cdf of a cell-averaged density at its cell edges (cells [lo, hi], in order, contiguous), normalised to 1."""
    cdf = np.concatenate([[0], np.cumsum(dens * (hi - lo))])
    return np.concatenate([lo[:1], hi]), cdf / cdf[-1]


def fp_quantiles(lo, hi, dens, ps):
    """Quantiles of a cell-averaged density (linear cdf within a cell)."""
    edges, cdf = fp_cdf(lo, hi, dens)
    return np.interp(ps, cdf, edges)


def fp_binned(lo, hi, dens, bins):
    """The density's mean over each of the histogram's bins: the cells reach within 1e-12 of ρ = ±1, so the density on
    them spans many decades; on the histogram's bins it reads like the histograms beside it."""
    edges, cdf = fp_cdf(lo, hi, dens)
    return np.diff(np.interp(bins, edges, cdf)) / np.diff(bins)


def nngp_rho(run_dir, un, act, depth):
    """ρ of the unshaped MLP's NNGP limit at every layer of the given depth (limits table), as {layer: ρ};
    {} for softmax attention (un), which has no kernel limit."""
    if un != "mlp":
        return {}
    lim = nnlimits.load(run_dir, "limits", ["layer", "a", "b", "q_nngp"],
                        where=f"family='mlp' AND activation={act} AND depth={depth} AND a<=1 AND b<=1")
    if len(lim["layer"]) == 0:
        return {}
    lim["q"] = lim.pop("q_nngp")
    r, k = rho_of(lim, ["layer"])
    return dict(zip(k["layer"].tolist(), r))


def main():
    args = nnlimits.figure_args(__doc__, "li_nica_roy", [
        ("--width", int, 0, "the width drawn (0: the one reaching the largest t)"),
        ("--paths", int, 25, "sample paths drawn per family"),
        ("--activation", str, "", "the shaped activation: relu (s± = 1 + c±/√n; the default) or a smooth one (tanh, ...); "
                                  "or an entry of a swept setting (linear;attn_tau0=0.5)"),
        ("--family", str, "shaped_mlp", "the shaped family: shaped_mlp, shaped_attention (its activation: linear) or "
                                        "shaped_transformer")])
    fs = args.family
    if fs not in ("shaped_mlp", "shaped_attention", "shaped_transformer"):
        sys.exit(f"--family {fs}: not shaped_mlp, shaped_attention or shaped_transformer")
    attention = fs == "shaped_attention"
    transformer = fs == "shaped_transformer"
    act = args.activation or ("linear" if attention else "relu")
    act = nnlimits.resolve_entry(args.run_dir, fs, act)[0]  # an entry of a swept -attn_tau0, say: linear;attn_tau0=0.5
    relu = act.split(";")[0] == "relu"
    sq = nnlimits.sql(act)
    job = "noci_2023_shaped_attention" if attention else "noci_2023_shaped_transformer" if transformer else "li_nica_roy_2022_shaped"
    # the unshaped family drawn beside it, where the run has it
    un = "softmax_attention" if attention else "softmax_transformer" if transformer else "mlp"
    try:
        g = nnlimits.load(args.run_dir, "gram", ["family", "width", "depth", "seed", "layer", "a", "b", "q"],
                          where=f"family IN ('{un}','{fs}') AND activation={sq} AND a<=1 AND b<=1")
        fp = nnlimits.load(args.run_dir, "fokker_planck", ["width", "depth", "layer", "t", "rho_lo", "rho_hi", "density"],
                           where=f"family='{fs}' AND activation={sq}")
        sde = nnlimits.load(args.run_dir, "sde", ["width", "depth", "path", "a", "b", "q"],
                            where=f"family='{fs}' AND activation={sq}")
    except sqlite3.OperationalError as e:
        sys.exit(f"{args.run_dir}: no SDE tables in this store ({e}); run jobs/{job}.opts")
    if not (g["family"] == fs).any() or len(sde["q"]) == 0:
        sys.exit(f"{args.run_dir}: no {fs} of {act} with SDE paths (run jobs/{job}.opts, "
                 f"or -family {fs} -grid_activation {act} -sde_paths N)")
    shaping = ("A = I + softmax(QᵀK/(τ₀√(n n_k))) − 11ᵀ/m" if attention else
               "s± = 1 + c±/√n" if relu else "φ_s(x) = s φ(x/s), s = a√n")
    if transformer:
        shaping = "the shaped attention block, then Y ← λY + γ√(c/n) W₂ φ_s(W₁Y/√n), " + shaping
    fams = {fs: ("shaped attention" if attention else f"shaped transformer ({act})" if transformer else f"shaped {act}", COLOURS[0]),
            un: ("softmax attention" if attention else f"softmax transformer ({act})" if transformer else f"unshaped {act}", COLOURS[1])}
    rho, k = rho_of(g, ["family", "width", "depth", "seed", "layer"])
    srho, sk = rho_of(sde, ["width", "depth", "path"])
    laws = nnlimits.load_export(args.run_dir, "laws")
    shaped = k["family"] == fs
    tmax = {w: k["depth"][shaped & (k["width"] == w)].max() / w for w in set(k["width"][shaped].tolist())}
    W = args.width or max(tmax, key=lambda w: (tmax[w], w))
    depths = sorted(set(k["depth"][shaped & (k["width"] == W)].tolist()))
    D = depths[-1]
    plt = nnlimits.style()
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), gridspec_kw={"width_ratios": [1.5, 1, 1, 1]})
    ax = axes[0]
    for fam, (label, c) in fams.items():
        sel = (k["family"] == fam) & (k["width"] == W) & (k["depth"] == D)
        if not sel.any():
            continue
        seeds = sorted(set(k["seed"][sel].tolist()))
        for s in seeds[:args.paths]:
            p = sel & (k["seed"] == s)
            ax.plot(k["layer"][p] / W, rho[p], color=c, lw=0.4, alpha=0.5)
        layers = np.array(sorted(set(k["layer"][sel].tolist())))
        band = np.array([np.nanquantile(rho[sel & (k["layer"] == ell)], [0.05, 0.5, 0.95]) for ell in layers])
        t = layers / W
        ax.fill_between(t, band[:, 0], band[:, 2], color=c, alpha=0.1, lw=0)
        ax.plot(t, band[:, 1], color=c, lw=1.8, label=f"{label}: median, 5–95 % ({len(seeds)} seeds)")
    fsel = (fp["width"] == W) & (fp["depth"] == D)
    fl = sorted(set(fp["layer"][fsel].tolist()))
    if fl:
        fq = np.array([fp_quantiles(*(fp[c][fsel & (fp["layer"] == ell)] for c in ("rho_lo", "rho_hi", "density")),
                                    [0.05, 0.5, 0.95]) for ell in fl])
        for j in range(3):
            ax.plot(np.array(fl) / W, fq[:, j], "k--", lw=1, label="Fokker–Planck 5/50/95 %" if j == 0 else None)
    for j, dep in enumerate(depths):
        sr = srho[(sk["width"] == W) & (sk["depth"] == dep)]
        if len(sr):
            q = np.quantile(sr, [0.05, 0.5, 0.95])
            T = dep / W
            ax.errorbar([T], [q[1]], yerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="ks", ms=3.5, capsize=3, lw=1.2,
                        label="SDE paths at t = T: 5/50/95 %" if j == 0 else None)
    ng = nngp_rho(args.run_dir, un, sq, D)
    if ng:
        ls = np.array(sorted(ng))
        ax.plot(np.asarray(ls) / W, [ng[x] for x in ls], color=COLOURS[1], ls=":", lw=1.5, label="unshaped, n = ∞ (NNGP)")
    ax.set_xscale("symlog", linthresh=0.1, linscale=0.6)  # recorded layers are log-spaced
    ax.set_xlabel("t = ℓ / n  (linear below 0.1, log above)")
    ax.set_ylabel("ρ_ℓ = V₀₁ / √(V₀₀ V₁₁)")
    ax.set_title(f"correlation paths, n = {W}, L = {D}")
    ax.set_ylim(-1.02, 1.02)
    ax.legend(loc="lower left")
    show = [depths[0], depths[len(depths) // 2], depths[-1]] if len(depths) >= 3 else depths
    bins = np.linspace(-1, 1, 41)
    for ax, dep in zip(axes[1:], show):
        T = dep / W
        top = 0
        for fam, (label, c) in fams.items():
            sel = (k["family"] == fam) & (k["width"] == W) & (k["depth"] == dep) & (k["layer"] == dep)
            r = rho[sel]
            r = r[np.isfinite(r)]
            if len(r):
                h, _, _ = ax.hist(r, bins=bins, density=True, histtype="stepfilled" if fam == fs else "step",
                                  color=c, alpha=0.45 if fam == fs else 1, lw=1.2,
                                  label=f"{label} networks (mean {np.mean(r):.3f})")
                top = max(top, h.max())
        sr = srho[(sk["width"] == W) & (sk["depth"] == dep)]
        if len(sr):
            h, _, _ = ax.hist(sr, bins=bins, density=True, histtype="step", color="k", lw=1, label="SDE paths")
            top = max(top, h.max())
        fsel = (fp["width"] == W) & (fp["depth"] == dep) & (fp["layer"] == dep)
        if fsel.any():
            fb = fp_binned(fp["rho_lo"][fsel], fp["rho_hi"][fsel], fp["density"][fsel], bins)
            ax.stairs(fb, bins, color="tab:orange", lw=1.5, label="Fokker–Planck density (on the bins)")
            top = max(top, fb.max())
        ax.set_yscale("log")  # the bulk of ρ_T and its pile-up at 1 on one axis
        ax.set_ylim(0.02, 2 * top if top else None)
        ax.set_xlabel("ρ_T (last layer)")
        ax.set_title(f"terminal ρ, n = {W}, L = {dep}, T = {T:.3g}")
    axes[1].set_ylabel("density")
    axes[1].legend(loc="upper left")
    report(laws, k, rho, args.run_dir, act, sq, fs, un)
    if transformer:
        fig.suptitle(f"Noci et al. 2023: the shaped Transformer block ({shaping}) follows its covariance SDE;\n"
                     "the unshaped one (softmax attention, unshaped ReLU MLP) collapses the tokens to ρ = 1")
    elif attention:
        fig.suptitle(f"Noci et al. 2023: the shaped attention block ({shaping}, RMS-normalised queries and keys) "
                     "follows its covariance SDE; softmax attention collapses the tokens to ρ = 1")
    else:
        fig.suptitle(f"Li–Nica–Roy 2022: shaped {act} MLP ({shaping}) follows the covariance SDE; the unshaped one "
                     + ("collapses to ρ = 1" if relu else "(σ_w² critical) spreads alike, away from its NNGP ρ"))
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


def report(laws, k, rho, run_dir, act, sq, fs, un):
    """key=value per (family, width, depth) from the laws table, for the statistic rho."""
    nngp = {}
    for i in np.flatnonzero((laws["statistic"] == "rho") & (laws["activation"] == act) & np.isin(laws["family"], [fs, un])):
        fam, w, dep = laws["family"][i], int(laws["width"][i]), int(laws["depth"][i])
        n_net, n_sde = int(laws["n_net"][i]), int(laws["n_sde"][i])
        sel = (k["family"] == fam) & (k["width"] == w) & (k["depth"] == dep) & (k["layer"] == dep)
        r = rho[sel][np.isfinite(rho[sel])]
        # rho_mean: this script's own ρ_T (from the gram table), the one its histograms draw; net_mean: the laws table's
        out = dict(figure="li_nica_roy", family=fam, **nnlimits.entry_kv(act), width=w, depth=dep, T=laws["t"][i], n_net=n_net,
                   net_mean=laws["net_mean"][i], net_mean_se=laws["net_sd"][i] / np.sqrt(n_net),
                   rho_mean=float(np.mean(r)) if len(r) else float("nan"))
        if fam == fs:
            out.update(n_sde=n_sde, sde_mean=laws["sde_mean"][i], sde_mean_se=laws["sde_sd"][i] / np.sqrt(n_sde),
                       ks_sde=laws["ks_sde"][i], ks_crit001=KS_C001 * np.sqrt((n_net + n_sde) / (n_net * n_sde)),
                       w1_sde=laws["w1_sde"][i], ks_pde=laws["ks_pde"][i], w1_pde=laws["w1_pde"][i],
                       ks_sde_pde=laws["ks_sde_pde"][i], ks_pde_crit001=KS1_C001 / np.sqrt(n_net))
        else:
            if dep not in nngp:
                nngp[dep] = nngp_rho(run_dir, un, sq, dep).get(dep, float("nan"))
            out.update(nngp_rho=nngp[dep], frac_above_0_9=float(np.mean(r > 0.9)))
        nnlimits.kv(**out)


if __name__ == "__main__":
    main()
