"""Load nnlimits run stores into numpy arrays (no pandas), with the columns and row order of `nnlimits export`."""
import csv
import os
import sqlite3

import numpy as np

STORE = "nnlimits.sqlite"

# The same queries as src/export.c: same columns, same canonical row order.
QUERIES = {
    "gram": ("family,activation,width,depth,seed,layer,t,a,b,q",
             "SELECT p.family,p.activation,p.width,p.depth,p.seed,g.layer,CAST(g.layer AS REAL)/p.depth,g.a,g.b,g.q"
             " FROM points p JOIN gram g ON g.point=p.id ORDER BY p.ord,g.layer,g.a,g.b"),
    "points": ("family,activation,width,depth,seed,id,status,sampler,dead_layer",
               "SELECT family,activation,width,depth,seed,printf('%016x',id),status,sampler,dead_layer"
               " FROM points WHERE kind='network' ORDER BY ord"),
    "limits": ("family,activation,depth,layer,t,a,b,q_nngp,q_ode",
               "SELECT p.family,p.activation,p.depth,l.layer,CAST(l.layer AS REAL)/p.depth,l.a,l.b,l.q_nngp,l.q_ode"
               " FROM points p JOIN limits l ON l.point=p.id ORDER BY p.ord,l.layer,l.a,l.b"),
    "stats": ("family,activation,width,depth,seed,layer,t,input,lognorm,lognorm_post,kurtosis,ks",
              "SELECT p.family,p.activation,p.width,p.depth,p.seed,s.layer,CAST(s.layer AS REAL)/p.depth,s.input,"
              "s.lognorm,s.lognorm_post,s.kurtosis,s.ks FROM points p JOIN stats s ON s.point=p.id"
              " ORDER BY p.ord,s.layer,s.input"),
}
TEXT = {"family", "activation", "id", "status", "sampler"}
INT = {"width", "depth", "seed", "layer", "a", "b", "input"}


def _column(name, values):
    if name in TEXT:
        return np.array(values, dtype=object)
    if name in INT:
        return np.array(values, dtype=np.int64)
    return np.array([np.nan if v is None or v == "" else float(v) for v in values], dtype=float)


def _connect(run_dir):
    path = os.path.join(run_dir, STORE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {STORE})")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def load(run_dir, table):
    """Table `table` (gram | points | stats | limits) of a run directory: dict column -> numpy array.
    (`compare` is reduced over seeds in C: read its export with load_csv.)"""
    header, sql = QUERIES[table]
    with _connect(run_dir) as db:
        rows = db.execute(sql).fetchall()
    names = header.split(",")
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    # dead_layer may be NULL (never died): keep it as float with NaN
    return {n: (_column(n, c) if n != "dead_layer" else _column("_", c)) for n, c in zip(names, cols)}


def load_csv(path):
    """A CSV written by `nnlimits export`: dict column -> numpy array, typed as load() types them."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names, body = rows[0], rows[1:]
    cols = list(zip(*body)) if body else [[] for _ in names]
    return {n: (_column(n, c) if n != "dead_layer" else _column("_", c)) for n, c in zip(names, cols)}


def provenance(run_dir):
    """One line: what made this run (latest run of the store)."""
    with _connect(run_dir) as db:
        row = db.execute("SELECT git, host, ranks, started, status FROM runs ORDER BY run DESC LIMIT 1").fetchone()
    git, host, ranks, started, status = row if row else ("?",) * 5
    return f"{os.path.abspath(run_dir)} | nnlimits {git} | {ranks} ranks on {host} | {started} | {status}"


def group_mean_se(keys, values):
    """Mean and standard error of `values` over rows sharing the same tuple of `keys` (list of arrays).
    Returns (groups, mean, se, count); groups in order of first appearance (the canonical order)."""
    index, groups = {}, []
    for i, k in enumerate(zip(*keys)):
        if k not in index:
            index[k] = len(groups)
            groups.append(k)
    g = np.array([index[k] for k in zip(*keys)], dtype=np.int64)
    n = np.bincount(g, minlength=len(groups)).astype(float)
    s1 = np.bincount(g, weights=values, minlength=len(groups))
    mean = s1 / n
    dev2 = np.bincount(g, weights=(values - mean[g]) ** 2, minlength=len(groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(dev2 / (n - 1) / n)
    return groups, mean, se, n


def style():
    """The shared figure style (Agg: works without a display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "font.size": 9,
                         "legend.fontsize": 8, "savefig.bbox": "tight"})
    return plt


def footer(fig, run_dir):
    """The run's provenance at the bottom of a figure."""
    fig.text(0.01, -0.04, provenance(run_dir), fontsize=6, color="0.4", ha="left", va="top")
