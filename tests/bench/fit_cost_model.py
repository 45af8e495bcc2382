#!/usr/bin/python3
"""Refit the cost model's projection-sampler and commit constants (src/cost.c) on this machine.

Runs, at 1 rank, a calibration grid (mlp and resnet; m = 1, 2, 4, 8, 16; n = 8…512; L = 2…128; relu, tanh,
linear; record last and all), wide shallow networks (mlp and resnet, m = 1, 4, n = 2^11…2^20, L = 1, 2, 4, relu
and tanh) and six shipped jobs, then fits by least squares on relative error, each store
weighted alike:
  - a network task's points.seconds against the terms of NetworkCostModel (projection sampler, without spectra):
    C_TASK, C_LAYER, C_NM, C_PHI, C_NMM, C_M3, C_REC, C_REC_NM, C_REC_NMM, C_SHAPED_NM, C_KS_NM, C_DRAW;
  - a store's time per task outside the tasks (its run from store open to last commit, less Σ points.seconds: the
    commits and the scheduler) against C_COMMIT + C_COMMIT_BLOB · BLOB bytes + C_COMMIT_ROW · rows besides the point's.
Prints the constants beside cost.c's, and each job's predicted / measured sum under both. Paste what it prints into
cost.c by hand, then check with `bash tests/bench/run` (bench=cost_model lines). About 2 min on 2 cores.

  /usr/bin/python3 tests/bench/fit_cost_model.py [BUILD_DIR]   (default: build; needs Debian's numpy and scipy)
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import nnls

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build")
NNL = os.path.join(BUILD, "nnlimits")
JOBS = ["hanin_nica_lognormal", "pdlt_kurtosis", "hayou_2022_fixed_width", "bench_resnet_sweep",
        "li_nica_roy_2022_shaped", "makwana_2025_effective_dimension"]
NET = ["C_TASK", "C_LAYER", "C_NM", "C_PHI", "C_NMM", "C_M3", "C_REC", "C_REC_NM", "C_REC_NMM", "C_SHAPED_NM",
       "C_KS_NM", "C_DRAW"]
COMMIT = ["C_COMMIT", "C_COMMIT_BLOB", "C_COMMIT_ROW"]


def constants():
    """cost.c's current values of the constants fitted here."""
    text = open(os.path.join(SRC, "src", "cost.c")).read()
    return {k: float(re.search(r"#define %s[\s\\]+([0-9.e+-]+)" % k, text).group(1)) for k in NET + COMMIT}


def phi_costs():
    """Each activation's cost per element (ns): the field after its Phi, its dual and two parity integers in its row
    of src/activation.c's table (then its critical σ_w² function or NULL)."""
    text = open(os.path.join(SRC, "src", "activation.c")).read()
    row = r'^\s*\{"([a-z0-9_]+)",.*,\s*Phi\w+,\s*\w+,\s*-?\d+,\s*-?\d+,\s*([0-9.]+),'
    return {m.group(1): float(m.group(2)) for m in re.finditer(row, text, re.M)}


def run(out, args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run(["mpiexec", "-n", "1", NNL, "run", *args, "-output", out, "-progress_interval", "0"], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stores(work):
    out = []
    i = 0
    for fam in ("mlp", "resnet"):
        for m in (1, 2, 4, 8, 16):
            for rec in ("last", "all"):
                i += 1
                d = os.path.join(work, "cal_%02d" % i)
                run(d, ["-family", fam, "-grid_activation", "relu,tanh,linear", "-grid_width", "8,32,128,512",
                        "-grid_depth", "2,8,32,128", "-grid_seed", "0-24", "-inputs", str(m), "-record_layers", rec])
                out.append(d)
    for m in (1, 4):  # wide and shallow: the last layer's KS distance (n·m) is most of such a network's time
        for fam in ("mlp", "resnet"):
            d = os.path.join(work, "wide_%s_%d" % (fam, m))
            run(d, ["-family", fam, "-grid_activation", "relu,tanh", "-grid_width", "2048,16384,131072,1048576",
                    "-grid_depth", "1,2,4", "-grid_seed", "0-3", "-inputs", str(m), "-record_layers", "last"])
            out.append(d)
    for j in JOBS:
        d = os.path.join(work, j)
        run(d, ["-options_file", os.path.join(SRC, "jobs", j + ".opts")])
        out.append(d)
    return out


def layers_per_batch(nm):
    """src/rng.c NNLRngLayersPerBatch: the layers of nm normals one batch of the generator draws (64 blocks of 4)."""
    return 64 // ((nm + 3) // 4)


def network_terms(fam, act, n, depth, nrec, m, phi):
    layers = depth - (0 if fam == "resnet" else 1) + 1
    return [1, layers, layers * n * m, layers * n * m * phi[act], layers * n * m * m, layers * m ** 3, nrec,
            nrec * n * m, nrec * n * m * m, layers * n * m if fam == "shaped_mlp" else 0, n * m,
            layers / max(1, layers_per_batch(n * m))]


def main():
    phi, old = phi_costs(), constants()
    work = tempfile.mkdtemp(prefix="nnl_fit_")
    try:
        dirs = stores(work)
        X, y, w, tag, C, c_y = [], [], [], [], [], []
        for d in dirs:
            db = sqlite3.connect(os.path.join(d, "nnlimits.sqlite"))
            rows = db.execute("SELECT p.family, p.activation, p.width, p.depth, n.nrec, n.m, p.seconds FROM points p"
                              " JOIN netlayers n ON n.point = p.id WHERE p.kind = 'network' AND p.sampler = 'projection'"
                              " AND p.status = 'done' AND NOT EXISTS (SELECT 1 FROM spectra s WHERE s.point = p.id)").fetchall()
            for fam, act, n, depth, nrec, m, sec in rows:
                X.append(network_terms(fam, act, n, depth, nrec, m, phi))
                y.append(sec * 1e9)
                w.append(len(rows) ** -0.5)
                tag.append(os.path.basename(d))
            # time per task outside the tasks, against the BLOB bytes and the rows a task adds
            N, sec = db.execute("SELECT count(*), sum(seconds) FROM points").fetchone()
            span = db.execute("SELECT (SELECT max(committed) FROM points) - (SELECT max(t0) FROM runs)").fetchone()[0]
            nrows = sum(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                        for t in ("netlayers", "limits", "spectrum", "spectra", "sde_paths", "fokker_planck"))
            blob = db.execute("SELECT coalesce(sum(length(layer) + length(q) + length(lognorm) + length(lognorm_post)"
                              " + length(kurtosis) + coalesce(length(ks), 0)), 0) FROM netlayers").fetchone()[0]
            C.append([1, blob / N, nrows / N])
            c_y.append((span - sec) / N * 1e9)
            db.close()
        X, y, w, tag = np.array(X, float), np.array(y), np.array(w), np.array(tag)
        net, _ = nnls(X / y[:, None] * w[:, None], w)
        C, c_y = np.array(C), np.array(c_y)
        com, _ = nnls(C / c_y[:, None], np.ones(len(c_y)))
        print("# fitted on %d network tasks of %d stores (%s)" % (len(y), len(dirs), ", ".join(JOBS)))
        for k, v in zip(NET + COMMIT, list(net) + list(com)):
            print("#define %-14s %-10.4g /* cost.c now: %g */" % (k, v, old[k]))
        oldnet = np.array([old[k] for k in NET])
        for label, coef in (("cost.c now", oldnet), ("fitted", net)):
            r = X @ coef / y
            big = y > 1e5
            print("%s: network tasks model/measured median %.2f, 80%% within %.2f-%.2f; over 0.1 ms median %.2f" %
                  (label, np.median(r), *np.percentile(r, [10, 90]), np.median(r[big]) if big.any() else float("nan")))
            print("  per job (sum of its network tasks): " +
                  ", ".join("%s %.2f" % (j, (X[tag == j] @ coef).sum() / y[tag == j].sum()) for j in JOBS if (tag == j).any()))
        for label, coef in (("cost.c now", np.array([old[k] for k in COMMIT])), ("fitted", com)):
            r = C @ coef / c_y
            print("%s: time per task outside the tasks, model/measured per store: median %.2f, range %.2f-%.2f" %
                  (label, np.median(r), r.min(), r.max()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
