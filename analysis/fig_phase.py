#!/usr/bin/python3
"""Order-to-chaos phase diagram of a deep MLP (Poole et al. 2016, Schoenholz et al. 2017): the correlation ρ_L of
two inputs at the last layer, over the (σ_w², σ_b²) plane that a job sweeps (`-sigma_w2 0.5,1,2 -sigma_b2 0,0.1`:
entries `tanh;sigma_w2=1;sigma_b2=0.1` of its activation axis), networks against their NNGP limit, with the critical
line χ₁ = 1, χ₁ = σ_w² E[φ'(√q* Z)²] at the fixed point q* = σ_w² E[φ(√q* Z)²] + σ_b² of the length map. In the
ordered phase (χ₁ < 1) the correlation map's fixed point ρ = 1 is stable: ρ_L → 1; in the chaotic one (χ₁ > 1) it is
not, and ρ_L → ρ* < 1 (with σ_b² > 0; at σ_b² = 0 an odd φ keeps q* = 0 on the ordered side and ρ is frozen).

Input: a run of jobs/poole_2016_phase.opts (one activation: tanh, erf or relu; -inputs 2). ρ_L per network is
q_01/√(q_00 q_11) at the last layer of the deepest depth; per entry its mean ± s.e. over seeds, and the NNGP's ρ.
Prints key=value lines: per entry sigma_w2, sigma_b2, chi1, the phase by χ₁, rho_net ± rho_se and rho_nngp; per
σ_b² the critical σ_w² (chi1 = 1)."""
import os
import sys

import numpy as np
from scipy.special import erf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlimits  # noqa: E402

# φ and φ' of the activations this figure knows (the others have no closed-form φ' here)
PHI = {
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "erf": (erf, lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x)),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
}
Z, WZ = np.polynomial.hermite_e.hermegauss(201)  # E f(Z) = Σ w f(z) / √(2π)
WZ = WZ / np.sqrt(2 * np.pi)


ODD = ("tanh", "erf")  # φ(0) = 0, |φ(x)| < |φ'(0) x|: at σ_b² = 0, q* = 0 while σ_w² φ'(0)² <= 1


def chi1(act, sw2, sb2):
    """(χ₁, q*): the length map q ← σ_w² E φ(√q Z)² + σ_b² iterated to its fixed point from q = 1, then χ₁ there.
    An odd φ at σ_b² = 0 on the ordered side has q* = 0 and χ₁ = σ_w² φ'(0)² exactly: the map creeps to 0 like 1/ℓ
    there, which took 100 000 iterations and left χ₁ = 0.99999 at the critical point."""
    phi, dphi = PHI[act]
    if act == "relu":  # E φ(√q Z)² = q/2 and E φ'² = 1/2 at any q: q* = σ_b²/(1 − σ_w²/2), none past σ_w² = 2
        return sw2 / 2, (sb2 / (1 - sw2 / 2) if sw2 < 2 else float("inf"))
    if sb2 == 0 and act in ODD and sw2 * dphi(0.0) ** 2 <= 1:
        return sw2 * dphi(0.0) ** 2, 0.0
    q = 1.0
    for _ in range(100000):
        new = sw2 * np.sum(WZ * phi(np.sqrt(q) * Z) ** 2) + sb2
        if abs(new - q) <= 1e-13 * max(q, 1e-300) or new < 1e-300:
            q = new
            break
        q = new
    return sw2 * np.sum(WZ * dphi(np.sqrt(q) * Z) ** 2), q


def critical_sw2(act, sb2, lo=0.05, hi=20.0):
    """σ_w² where χ₁ = 1 at this σ_b² (bisection on log σ_w²; χ₁ rises with σ_w²); NaN if not bracketed."""
    if sb2 == 0 and act in ODD:  # χ₁ = σ_w² φ'(0)² at q* = 0 (see chi1): critical at 1/φ'(0)², exactly
        return 1 / PHI[act][1](0.0) ** 2
    if act == "relu":  # χ₁ = σ_w²/2
        return 2.0
    f = lambda s: chi1(act, s, sb2)[0] - 1  # noqa: E731
    if f(lo) > 0 or f(hi) < 0:
        return float("nan")
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return np.sqrt(lo * hi)


def entries(run_dir, base):
    """{entry name: (σ_w², σ_b²)} of the run's MLP entries of activation `base`: the settings the name carries, else
    the job's one value (auto: its critical value)."""
    job = nnlimits.job_settings(run_dir)
    out = {}
    for name in nnlimits.entries(run_dir, "mlp"):
        act, s = nnlimits.entry(name, job)
        if act == base:
            out[name] = (nnlimits.sigma_w2(act, s), s["sigma_b2"] or 0.0)
    return out


def main():
    args = nnlimits.figure_args(__doc__, "phase", [("--activation", str, "tanh", "the activation drawn (tanh, erf, relu)")])
    if args.activation not in PHI:
        sys.exit(f"--activation {args.activation}: this figure knows tanh, erf and relu")
    ent = entries(args.run_dir, args.activation)
    if not ent:
        sys.exit(f"{args.run_dir}: no MLP limits of {args.activation} (run jobs/poole_2016_phase.opts)")
    g = nnlimits.load(args.run_dir, "gram", ["activation", "depth", "seed", "a", "b", "q"],
                      where="family='mlp' AND layer=depth AND a<=1 AND b<=1")
    lim = nnlimits.load(args.run_dir, "limits", ["activation", "depth", "a", "b", "q_nngp"],
                        where="family='mlp' AND layer=depth AND a<=1 AND b<=1")
    L = int(np.max(g["depth"]))
    rows = []
    for name, (sw2, sb2) in ent.items():
        sel = (g["activation"] == name) & (g["depth"] == L)
        q = {}
        for a, b in ((0, 0), (0, 1), (1, 1)):
            k = sel & (g["a"] == a) & (g["b"] == b)
            q[a, b] = dict(zip(g["seed"][k], g["q"][k]))
        seeds = sorted(set(q[0, 0]) & set(q[0, 1]) & set(q[1, 1]))
        rho = np.array([q[0, 1][s] / np.sqrt(q[0, 0][s] * q[1, 1][s]) for s in seeds])
        rho = rho[np.isfinite(rho)]
        ql = {(int(a), int(b)): v for n, d, a, b, v in zip(lim["activation"], lim["depth"], lim["a"], lim["b"], lim["q_nngp"])
              if n == name and d == L}
        rn = ql[0, 1] / np.sqrt(ql[0, 0] * ql[1, 1])
        c, qs = chi1(args.activation, sw2, sb2)
        se = rho.std(ddof=1) / np.sqrt(len(rho)) if len(rho) > 1 else float("nan")
        rows.append((sw2, sb2, rho.mean() if len(rho) else float("nan"), se, rn, c, qs, len(rho)))
        nnlimits.kv(figure="phase", activation=args.activation, depth=L, sigma_w2=sw2, sigma_b2=sb2, chi1=c, q_star=qs,
                    phase="ordered" if c < 1 else "chaotic", rho_net=rows[-1][2], rho_se=se, rho_nngp=rn, seeds=len(rho))
    rows = np.array(rows)
    sws, sbs = np.unique(rows[:, 0]), np.unique(rows[:, 1])
    crit = {sb: critical_sw2(args.activation, sb) for sb in sbs}
    for sb in sbs:
        nnlimits.kv(figure="phase", activation=args.activation, sigma_b2=sb, critical_sigma_w2=crit[sb])

    plt = nnlimits.style()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.2))
    grid = np.full((len(sbs), len(sws)), np.nan)
    for r in rows:
        grid[np.searchsorted(sbs, r[1]), np.searchsorted(sws, r[0])] = r[2]
    im = ax0.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=min(0, np.nanmin(grid)), vmax=1)
    fig.colorbar(im, ax=ax0, label=f"ρ_L (networks, L = {L})")
    ax0.set_xticks(range(len(sws)), [f"{s:g}" for s in sws])
    ax0.set_yticks(range(len(sbs)), [f"{s:g}" for s in sbs])
    ax0.set_xlabel("σ_w²")
    ax0.set_ylabel("σ_b²")
    ax0.grid(False)
    # the critical line in the heat map's index coordinates (σ_w² interpolated between its columns)
    xs = [np.interp(crit[sb], sws, np.arange(len(sws)), left=np.nan, right=np.nan) for sb in sbs]
    ax0.plot(xs, np.arange(len(sbs)), "w--", lw=1.5, label="χ₁ = 1")
    for r in rows:
        i, j = np.searchsorted(sbs, r[1]), np.searchsorted(sws, r[0])
        ax0.text(j, i, f"{r[2]:.2f}", ha="center", va="center", fontsize=6, color="w" if r[2] < 0.6 else "k")
    ax0.legend(loc="upper left", fontsize=7)
    ax0.set_title(f"{args.activation}: ρ at the last layer; ordered (left) and chaotic (right)")
    for k, sb in enumerate(sbs):
        r = rows[rows[:, 1] == sb]
        r = r[np.argsort(r[:, 0])]
        col = f"C{k % 7}"
        ax1.errorbar(r[:, 0], r[:, 2], yerr=2 * r[:, 3], fmt="o", ms=3, color=col, capsize=2, label=f"σ_b² = {sb:g}")
        ax1.plot(r[:, 0], r[:, 4], "-", color=col, lw=0.8)
        if np.isfinite(crit[sb]):
            ax1.axvline(crit[sb], color=col, ls=":", lw=0.8)
    ax1.set_xscale("log")
    ax1.set_xticks(sws, [f"{s:g}" for s in sws])
    ax1.minorticks_off()
    ax1.set_xlabel("σ_w²  (dotted: χ₁ = 1)")
    ax1.set_ylabel("ρ_L, networks ± 2 s.e.; lines: NNGP")
    ax1.set_title(f"{args.activation}: ρ_L against σ_w²")
    ax1.legend(fontsize=7)
    nnlimits.footer(fig, args.run_dir)
    nnlimits.save(fig, args)


if __name__ == "__main__":
    main()
