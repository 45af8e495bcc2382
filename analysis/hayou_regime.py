#!/usr/bin/python3
"""Hayou 2022's change of regime of post-activation norms between widths 3 and 4, measured on a run of
jobs/hayou_2022_fixed_width.opts: per width, the fraction of dead inputs (all post-activations 0 from the embedding on,
which freezes a ReLU ResNet: 2^-n) and, over live ones, the mean change of ln‖φ(y_0)‖² from t = 0 to t = 1 with its
standard error, beside the Itô drift at t = 0: for the SDE dY = (‖φ(Y)‖/√n) dB (one input), ln S, S = ‖φ(Y)‖², has drift
(K − 2)/n with K the number of positive coordinates, so E[(K − 2)/n | K >= 1], K ~ Bin(n, 1/2), changes sign between
n = 3 and n = 4.
usage: hayou_regime.py RUNDIR"""
import math
import sys
from collections import defaultdict

sys.path.insert(0, __import__("os").path.dirname(__file__))
import nnlimits  # noqa: E402


def main():
    st = nnlimits.load(sys.argv[1], "stats")
    first, last = {}, {}
    for i in range(len(st["seed"])):
        if st["input"][i] != 0:
            continue
        key = (int(st["width"][i]), int(st["depth"][i]), int(st["seed"][i]))
        if st["layer"][i] == 0:
            first[key] = st["lognorm_post"][i]
        if st["layer"][i] == st["depth"][i]:
            last[key] = st["lognorm_post"][i]
    d, dead, total = defaultdict(list), defaultdict(int), defaultdict(int)
    for key, a in first.items():
        b = last[key]
        total[key[0]] += 1
        if not (math.isfinite(a) and math.isfinite(b)):
            dead[key[0]] += 1
        else:
            d[key[0]].append(b - a)
    print("width dead_fraction 2^-n mean_dlog_post se ito_drift_t0")
    for n in sorted(total):
        v = d[n]
        m = sum(v) / len(v)
        se = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v))
        ek = n / 2 / (1 - 0.5 ** n)
        print(f"{n} {dead[n] / total[n]:.4f} {0.5 ** n:.4f} {m:+.4f} {se:.4f} {(ek - 2) / n:+.4f}")


if __name__ == "__main__":
    main()
