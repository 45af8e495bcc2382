"""Load nnlimits run stores into numpy arrays (no pandas), with the columns and row order of `nnlimits export`,
and the pieces every figure script shares: command line, style, provenance footer, fits, key=value output."""
import argparse
import csv
import math
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

import numpy as np

STORE = "nnlimits.sqlite"
SCHEMAS = (4, 12)  # the store schemas this loader reads (NNL_STORE_SCHEMA, include/nnlimits/store.h)
THUMB_DPI = 55  # README thumbnails: a 13-inch-wide figure stays under ~100 KB
HERE = os.path.dirname(os.path.abspath(__file__))

# The per-layer rows of the store's views gram and stats (src/storeschema.c, NetViewsSQL), every join a CROSS JOIN: SQLite
# then keeps the order written, netlayers → seq (the layer index r < nrec) → pairs. With the views' plain JOINs, and
# no table statistics, a condition such as family='resnet' (an automatic index on points) made the planner put pairs
# and seq in the outer loops: pairs × seq × points rows, seq as long as the deepest network (fig_hayou_2022.py took
# 182 s on jobs/hayou_2022_fixed_width.opts, depth 10^4, its load() 0.5 s of 3.6 in this order).
GRAM_NET = ("(SELECT n.point AS point, CAST(nnl_at(n.layer, r.r) AS INTEGER) AS layer, k.a AS a, k.b AS b,"
            " nnl_at(substr(n.q, 8 * n.np * r.r + 1, 8 * n.np), k.k) AS q"
            " FROM netlayers n CROSS JOIN seq r ON r.r < n.nrec CROSS JOIN pairs k)")
STATS_NET = ("(SELECT n.point AS point, CAST(nnl_at(n.layer, r.r) AS INTEGER) AS layer, k.a AS input,"
             " nnl_at(substr(n.lognorm, 8 * n.m * r.r + 1, 8 * n.m), k.a) AS lognorm,"
             " nnl_at(substr(n.lognorm_post, 8 * n.m * r.r + 1, 8 * n.m), k.a) AS lognorm_post,"
             " nnl_at(substr(n.kurtosis, 8 * n.m * r.r + 1, 8 * n.m), k.a) AS kurtosis,"
             " nnl_at(CASE WHEN r.r = n.nrec - 1 THEN n.ks END, k.a) AS ks"
             " FROM netlayers n CROSS JOIN seq r ON r.r < n.nrec CROSS JOIN pairs k ON k.a = k.b)")

# The same tables as src/export.c: same columns, same canonical row order. Each column is (name, SQL expression),
# so that a figure can read only the columns it needs (a store of a million rows loads in seconds, not minutes).
# gram and stats are `points p CROSS JOIN …`: points in the outer loop whatever the condition (load() puts GRAM_NET
# and STATS_NET in place of the views, except in a schema-4 store, whose views read a table keyed by point). The other
# tables are a row per observation, keyed by (point, …): any join order reads them once (points outside: 27000 point
# rows read for 144 limits rows).
# as src/storeimpl.h: the shaped SDE's time offset (1 in stores written before meta 'sde_time') and a Fokker–Planck
# cell's edge in ρ
SDE_OFFSET = "(SELECT count(*) = 0 FROM meta WHERE key = 'sde_time')"
FP_EDGE = ("nnl_fp_edge({},(SELECT max(g.cell)+1 FROM fokker_planck g WHERE g.point=f.point AND g.layer=f.layer),"
           "(SELECT value FROM meta WHERE key='fp_grid'))")
FP_GRID = "atanh 14"  # NNL_FP_GRID: cells uniform in atanh ρ on [−14, 14], the end cells reaching ρ = ±1

# an activation as exports show it (nnl_act): a Python call only for names with parameters
ACT = "CASE WHEN instr({0}, ':') OR instr({0}, ';') THEN nnl_act({0}) ELSE {0} END"

TABLES = {
    "gram": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("width", "p.width"), ("depth", "p.depth"),
              ("seed", "p.seed"), ("layer", "g.layer"), ("t", "CAST(g.layer AS REAL)/p.depth"), ("a", "g.a"),
              ("b", "g.b"), ("q", "g.q")],
             "points p CROSS JOIN gram g ON g.point=p.id", "p.ord,g.layer,g.a,g.b"),
    "points": ([("family", "family"), ("activation", ACT.format("activation")), ("width", "width"), ("depth", "depth"),
                ("seed", "seed"), ("id", "printf('%016x',id)"), ("status", "status"), ("sampler", "sampler"),
                ("dead_layer", "dead_layer"), ("message", "coalesce(message,'')")],
               "points WHERE kind='network'", "ord"),
    "stats": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("width", "p.width"), ("depth", "p.depth"),
               ("seed", "p.seed"), ("layer", "s.layer"), ("t", "CAST(s.layer AS REAL)/p.depth"), ("input", "s.input"),
               ("lognorm", "s.lognorm"), ("lognorm_post", "s.lognorm_post"), ("kurtosis", "s.kurtosis"),
               ("ks", "s.ks")],
              "points p CROSS JOIN stats s ON s.point=p.id", "p.ord,s.layer,s.input"),
    "limits": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("depth", "p.depth"), ("layer", "l.layer"),
                ("t", "CAST(l.layer AS REAL)/p.depth"), ("a", "l.a"), ("b", "l.b"), ("q_nngp", "l.q_nngp"),
                ("q_ode", "l.q_ode")],
               "points p JOIN limits l ON l.point=p.id", "p.ord,l.layer,l.a,l.b"),
    "spectra": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("width", "p.width"), ("depth", "p.depth"),
                 ("seed", "p.seed"), ("layer", "s.layer"), ("t", "CAST(s.layer AS REAL)/p.depth"),
                 ("matrix", "s.matrix"), ("k", "s.k"), ("rank", "s.rank"), ("rank_rtol", "s.rank_rtol"),
                 ("pr", "s.pr"), ("cond", "s.cond"), ("vmax", "s.vmax"), ("vmin", "s.vmin")],
                "points p JOIN spectra s ON s.point=p.id", "p.ord,s.layer,s.matrix"),
    # SDE task paths at their final time t (ResNet: 1; shaped MLP: depth/width, or (depth − 1)/width in stores written
    # before meta 'sde_time'), as `export -table sde`
    "sde": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("width", "p.width"), ("depth", "p.depth"),
             ("t", f"CASE WHEN p.family='resnet' THEN 1.0 ELSE CAST(p.depth-{SDE_OFFSET} AS REAL)/p.width END"),
             ("path", "s.path"), ("a", "s.a"), ("b", "s.b"), ("q", "s.q"), ("lognorm_post", "s.lognorm_post")],
            "points p JOIN sde_paths s ON s.point=p.id", "p.ord,s.path,s.a,s.b"),
    # the density of ρ per cell: its centre, its mass over its width, its edges (nnl_fp_edge)
    "fokker_planck": ([("family", "p.family"), ("activation", ACT.format("p.activation")), ("width", "p.width"),
                       ("depth", "p.depth"), ("layer", "f.layer"), ("t", f"CAST(f.layer-{SDE_OFFSET} AS REAL)/p.width"),
                       ("cell", "f.cell"), ("rho", "f.rho"), ("density", "f.density"), ("rho_lo", FP_EDGE.format("f.cell")),
                       ("rho_hi", FP_EDGE.format("f.cell+1"))],
                      "points p JOIN fokker_planck f ON f.point=p.id", "p.ord,f.layer,f.cell"),
}
TEXT = {"family", "activation", "id", "status", "sampler", "matrix", "statistic", "message"}
INT = {"width", "depth", "seed", "layer", "a", "b", "input", "seeds", "k", "i", "rank", "rank_rtol", "path", "cell", "n_net",
       "n_sde"}


def _column(name, values, from_csv=False):
    if name in TEXT:
        return np.array(values, dtype=object)
    if name in INT:
        return np.array(values, dtype=np.int64)
    if from_csv:  # empty field = NULL = NaN; '-inf' (a dead network's log-norm) parses as float
        return np.array([v if v != "" else "nan" for v in values], dtype=float)
    return np.array(values, dtype=float)  # None -> NaN


def nnl_at(blob, k):
    """SQL nnl_at(blob, k), as src/storedb.c defines it: double k of a BLOB of little-endian doubles; None past its end,
    for None, and for NaN. The store's views gram and stats read a network's per-layer arrays with it."""
    if blob is None or k is None or k < 0 or 8 * k + 8 > len(blob):
        return None
    v = struct.unpack_from("<d", blob, 8 * k)[0]
    return None if v != v else v


def nnl_act(name):
    """SQL nnl_act(name), as src/activation.c's NNLActivationDisplayName: a stored (canonical) activation name with each
    parameter in the fewest digits that read back as the same double (leaky_relu:0.20000000000000001 -> leaky_relu:0.2),
    and each setting of a swept job's entry too (tanh;sigma_b2=0.10000000000000001 -> tanh;sigma_b2=0.1), as exports
    show it, so that where="activation='leaky_relu:0.2'" selects what the user typed."""
    if name is None:
        return None

    def shortest(text):
        try:
            v = float(text)
        except ValueError:
            return text
        for k in range(1, 18):
            t = "%.*g" % (k, v)
            if float(t) == v:
                return t
        return text

    parts = re.split(r"([:;])", name)
    for i in range(2, len(parts), 2):
        if parts[i - 1] == ":":
            parts[i] = shortest(parts[i])
        elif "=" in parts[i]:
            key, value = parts[i].split("=", 1)
            parts[i] = key + "=" + shortest(value)
    return "".join(parts)


def nnl_fp_edge(i, n, grid):
    """SQL nnl_fp_edge(i, n, grid), as src/fokker_planck.c's NNLFokkerPlanckEdge: edge i in ρ of a Fokker–Planck
    density's n cells, grid the store's meta 'fp_grid' (None: cells uniform in ρ, stores written before it)."""
    if i is None or n is None or n < 1:
        return None
    if i <= 0:
        return -1.0
    if i >= n:
        return 1.0
    if grid is None:
        return -1 + i * 2.0 / n
    if grid != FP_GRID:
        return None
    return math.tanh(-14.0 + i * 2 * 14.0 / n)


def _connect(run_dir):
    path = os.path.join(run_dir, STORE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {STORE})")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.create_function("nnl_at", 2, nnl_at, deterministic=True)
    db.create_function("nnl_fp_edge", 3, nnl_fp_edge, deterministic=True)
    db.create_function("nnl_act", 1, nnl_act, deterministic=True)
    return db


class RunError(Exception):
    """A run directory the analysis cannot use as it is: said in one line (figure scripts exit 2)."""


def _columns(table, columns):
    """The column names asked for, checked against the table's."""
    if table not in TABLES:
        other = {"compare": "load_compare(DIR)", "laws": "load_export(DIR, 'laws')",
                 "spectrum": "load_export(DIR, 'spectrum')"}
        raise ValueError(f"unknown table '{table}' (load() reads {', '.join(TABLES)}"
                         + (f"; this one: {other[table]})" if table in other else ")"))
    names = [c for c, _ in TABLES[table][0]]
    if columns is None:
        return names
    bad = [c for c in columns if c not in names]
    if bad:
        raise ValueError(f"table '{table}' has no column {', '.join(map(repr, bad))} (its columns: {', '.join(names)})")
    return list(columns)


def _query(db, table, names, where):
    """The SELECT of load(): columns `names` of `table`, rows where `where` holds, in the export's order."""
    cols, source, order = TABLES[table]
    expr = dict(cols)
    if table in ("gram", "stats") and db.execute("SELECT 1 FROM sqlite_master WHERE name='netlayers'").fetchone():
        source = source.replace(f" {table} ", f" {GRAM_NET if table == 'gram' else STATS_NET} ", 1)
    select = ",".join(expr[n] for n in names)
    sql = f"SELECT {select} FROM {source}"
    if where:
        # the condition is written on column names: one pass replaces each by its expression, outside quoted literals
        # (the odd parts of the split: 'bad seed 3' stays as it is)
        pat = r"(?<![\w.])(" + "|".join(sorted(map(re.escape, expr), key=len, reverse=True)) + r")(?![\w(])"
        parts = re.split(r"('(?:[^']|'')*')", where)
        cond = "".join(p if i % 2 else re.sub(pat, lambda m: f"({expr[m.group(1)]})", p) for i, p in enumerate(parts))
        sql += (" AND " if " WHERE " in sql else " WHERE ") + f"({cond})"
    return sql + f" ORDER BY {order}"


def query(run_dir, table, columns=None, where=None):
    """The SQL statement load() runs (for EXPLAIN QUERY PLAN, and tests of it)."""
    names = _columns(table, columns)
    with _connect(run_dir) as db:
        return _query(db, table, names, where)


def load(run_dir, table, columns=None, where=None):
    """Table `table` (gram | points | stats | limits | spectra | sde | fokker_planck) of a run directory: dict column -> numpy array, in the
    export's row order. columns: a subset of the table's columns (default all); where: an SQL condition on the
    table's column names (e.g. "input=0 AND layer=depth"). `compare` is reduced over seeds in C: load_compare."""
    names = _columns(table, columns)
    with _connect(run_dir) as db:
        rows = db.execute(_query(db, table, names, where)).fetchall()
    data = list(zip(*rows)) if rows else [[] for _ in names]
    # dead_layer may be NULL (never died): keep it as float with NaN
    return {n: (_column(n, c) if n != "dead_layer" else _column("_", c)) for n, c in zip(names, data)}


def load_csv(path):
    """A CSV written by `nnlimits export`: dict column -> numpy array, typed as load() types them."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names, body = rows[0], rows[1:]
    cols = list(zip(*body)) if body else [[] for _ in names]
    return {n: (_column(n, c, True) if n != "dead_layer" else _column("_", c, True)) for n, c in zip(names, cols)}


def binary():
    """The nnlimits executable: $NNLIMITS, else this checkout's build/nnlimits, else nnlimits on PATH."""
    for cand in (os.environ.get("NNLIMITS"), os.path.join(HERE, "..", "build", "nnlimits"), shutil.which("nnlimits")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise FileNotFoundError("nnlimits executable not found: set NNLIMITS=/path/to/nnlimits or build it (build/)")


def load_export(run_dir, table):
    """A table the C side reduces (compare, laws), as `nnlimits export DIR -table TABLE` writes it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, f"{table}.csv")
        subprocess.run([binary(), "export", run_dir, "-table", table, "-o", out], check=True)
        return load_csv(out)


def load_compare(run_dir):
    """The `compare` table (means over seeds beside the limits), as `nnlimits export DIR -table compare` writes it."""
    return load_export(run_dir, "compare")


def run_info(run_dir):
    """Provenance of the latest run of the store: git, job (the options file, else the options), start date, …"""
    with _connect(run_dir) as db:
        row = db.execute("SELECT git, host, ranks, started, status, options FROM runs ORDER BY run DESC LIMIT 1")\
                .fetchone()
        first = db.execute("SELECT min(started) FROM runs").fetchone()
    git, host, ranks, started, status, options = row if row else ("?",) * 6
    words = (options or "").split()
    job = "default job"
    if "-options_file" in words and words.index("-options_file") + 1 < len(words):
        job = os.path.basename(words[words.index("-options_file") + 1])
    elif [w for w in words if w.startswith("-grid_") or w == "-family"]:
        job = "command-line job"
    return {"git": git, "host": host, "ranks": ranks, "started": started, "first_started": first[0] if first else None,
            "status": status, "options": options, "job": job, "dir": os.path.abspath(run_dir)}


def writer_alive(run_dir):
    """Whether a process holds the run's write lock (fcntl on nnlimits.lock), as `nnlimits status` asks: a run whose
    last row says 'running' but whose lock no one holds died (killed, or its node lost). None: unknown."""
    import fcntl
    try:
        fd = os.open(os.path.join(run_dir, "nnlimits.lock"), os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        lock = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)  # struct flock, as LockQuery's
        return struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, lock))[0] != fcntl.F_UNLCK
    except OSError:
        return None
    finally:
        os.close(fd)


def check_run(run_dir, partial=False):
    """Refuse (RunError) what a figure cannot be drawn from: no store, an empty one, another schema, and (unless
    partial) a run with tasks pending, interrupted or still running, whose figure would mix seeds counts or lack
    limits. With partial, such a run is said on stderr. Returns (done, failed, total, last run's status)."""
    path = os.path.join(run_dir, STORE)
    if not os.path.exists(path):
        raise RunError(f"{run_dir} is not a run directory (no {STORE})")
    if os.path.getsize(path) == 0:
        raise RunError(f"{run_dir}: its store holds no run yet")
    try:
        with _connect(run_dir) as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            done, failed = db.execute("SELECT count(*) FILTER (WHERE status='done'), count(*) FILTER (WHERE "
                                      "status='failed') FROM points").fetchone()
            row = db.execute("SELECT status FROM runs ORDER BY run DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as e:
        raise RunError(f"{run_dir}: {STORE} is not an nnlimits store, or is damaged ({e})") from None
    schema = int(meta.get("schema", 0) or 0)
    if schema > SCHEMAS[1]:
        raise RunError(f"{run_dir}: written by a newer nnlimits (store schema {schema}; this analysis/ reads "
                       f"{SCHEMAS[0]}..{SCHEMAS[1]}): use that release's analysis/")
    if schema < SCHEMAS[0]:
        raise RunError(f"{run_dir}: written by an older nnlimits (store schema {schema}; this analysis/ reads "
                       f"{SCHEMAS[0]}..{SCHEMAS[1]}): rerun its job with this release")
    total, status = int(meta.get("total", 0) or 0), (row[0] if row else "none")
    if status in ("running", "stopping") and writer_alive(run_dir) is False:
        # as `nnlimits status` says: no process holds its lock; one killed in its stop is interrupted
        status = "died" if status == "running" else "interrupted"
    pending = max(total - done - failed, 0)
    if pending:
        what = (f"{run_dir}: the run is not finished: {pending} of its {total} tasks pending (last run: {status}, "
                f"{'being written now' if status in ('running', 'stopping') else 'rerun the same nnlimits command to finish it'})")
        if not partial:
            raise RunError(what + "; --partial draws what is there")
        print(f"warning: {what}; drawing the {done + failed} tasks done", file=sys.stderr, flush=True)
    return done, failed, total, status


def one_line_errors(prog, partial=False):
    """Errors of a figure script as one line and exit 2, not a traceback: a run directory it cannot use, a file it
    cannot write, a store SQLite cannot read, nnlimits refusing an export (it said why, on stderr); with partial,
    any error (a partial run may lack what a figure needs). Other errors keep their traceback: they are bugs. A reader
    that closed the output early (`| head`) ends the script quietly."""
    def hook(kind, value, tb):
        if isinstance(value, BrokenPipeError):  # `fig_x.py DIR | head`: its reader is done, as `nnlimits export` is
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
            sys.exit(141)  # as a process SIGPIPE ends
        known = isinstance(value, (RunError, OSError, sqlite3.Error, ValueError))
        if isinstance(value, subprocess.CalledProcessError):
            print(f"{prog}: error: nnlimits {' '.join(map(str, value.cmd[1:3]))} failed (its message is above)",
                  file=sys.stderr)
        elif known or (partial and isinstance(value, Exception)):
            print(f"{prog}: error: {value}" + ("" if known else f" (the run is partial: {kind.__name__})"), file=sys.stderr)
        else:
            sys.__excepthook__(kind, value, tb)
            return
        sys.exit(2)
    sys.excepthook = hook


def provenance(run_dir):
    """One line: what made this run (latest run of the store)."""
    r = run_info(run_dir)
    return (f"{r['dir']} | job {r['job']} | nnlimits {r['git']} | {r['ranks']} ranks on {r['host']} | "
            f"{r['started']} | {r['status']}")


def two_slope(act):
    """(a, b) of an activation a*min(x,0) + b*max(x,0) (relu, linear, abs, leaky_relu:a), else None."""
    name, *p = act.split(":")
    return {"relu": (0.0, 1.0), "linear": (1.0, 1.0), "abs": (-1.0, 1.0)}.get(name) or \
        ((float(p[0]) if p else 0.01, 1.0) if name == "leaky_relu" else None)


def exact_c(act):
    """c of the finite-n law E R^2 = 1 + c/n of a*min + b*max (MATH.md §4.4): 3 A4/A2^2 - 1, A_k = (a^k + b^k)/2
    (relu 5, linear and abs 2, leaky_relu:a 6(a^4+1)/(a^2+1)^2 - 1); None for other activations."""
    ab = two_slope(act)
    if ab is None:
        return None
    a2, a4 = (ab[0] ** 2 + ab[1] ** 2) / 2, (ab[0] ** 4 + ab[1] ** 4) / 2
    return 3 * a4 / a2 ** 2 - 1


def group_mean_se(keys, values):
    """Mean and standard error of `values` over rows sharing the same tuple of `keys` (list of arrays), NaN values
    left out (a dead network's ρ = 0/0), as the run's own summary leaves out its NULLs. Returns (groups, mean, se,
    count); count: the values that entered; groups in order of first appearance (the canonical order)."""
    index, groups = {}, []
    for k in zip(*keys):
        if k not in index:
            index[k] = len(groups)
            groups.append(k)
    g = np.array([index[k] for k in zip(*keys)], dtype=np.int64)
    values = np.asarray(values, dtype=float)
    ok = ~np.isnan(values)
    g, values = g[ok], values[ok]
    n = np.bincount(g, minlength=len(groups)).astype(float)
    s1 = np.bincount(g, weights=values, minlength=len(groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
    dev2 = np.bincount(g, weights=(values - mean[g]) ** 2, minlength=len(groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(dev2 / (n - 1) / n)
    return groups, mean, se, n


def fit_line(x, y, se=None, origin=False):
    """Weighted least squares y ≈ a + b x (a = 0 with origin=True), weights 1/se². Returns (slope, slope_se,
    intercept); slope_se from the weights when se is given (else from the residuals)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones_like(x) if se is None else 1 / np.maximum(np.asarray(se, float), 1e-300) ** 2
    X = x[:, None] if origin else np.column_stack([np.ones_like(x), x])
    A = X.T @ (w[:, None] * X)
    coef = np.linalg.solve(A, X.T @ (w * y))
    cov = np.linalg.inv(A)
    if se is None:
        dof = max(len(x) - X.shape[1], 1)
        cov = cov * np.sum(w * (y - X @ coef) ** 2) / dof
    b = coef[-1]
    return b, float(np.sqrt(cov[-1, -1])), (0.0 if origin else coef[0])


def job_text(run_dir):
    """The job's canonical text (the store's meta 'job'): a line key=value per option."""
    with _connect(run_dir) as db:
        row = db.execute("SELECT value FROM meta WHERE key='job'").fetchone()
    return row[0] if row else ""


def job_value(run_dir, key, default):
    """The value of a line key=… of the job's canonical text, or default."""
    for line in job_text(run_dir).splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1]
    return default


# The settings a job can sweep (src/jobsettings.c's Settings[]): each value of a list is an entry of the activation axis of
# the families that use it, named with it ('tanh;sigma_w2=1.5;sigma_b2=0.05', 'relu;branch_alpha=1',
# 'linear;attn_tau0=0.5'); a setting with one value stays out of the names.
SETTINGS = ("sigma_w2", "sigma_b2", "branch_alpha", "attn_tau0", "attn_gamma")


def _setting(text):
    return text if text == "auto" else float(text)


def job_settings(run_dir):
    """{setting: value} of the job's one value of each of SETTINGS (a float, or 'auto' for -sigma_w2 auto); None
    where the job sweeps it (its entries' names carry it) or has no line of it. A job with one attention setting
    of each writes them on one line, 'attn_tau0,attn_gamma,attn_key_width=0.5,0.7,0'."""
    out = dict.fromkeys(SETTINGS)
    for line in job_text(run_dir).splitlines():
        keys, _, values = line.partition("=")
        keys, values = keys.split(","), values.split(",")
        if len(keys) == len(values):  # a list of one key (swept) has more values than keys
            out.update({k: _setting(v) for k, v in zip(keys, values) if k in out})
    return out


def entry(name, settings):
    """(activation, {setting: value}) of an entry as exports show it: 'tanh;sigma_w2=1.5' -> ('tanh', {'sigma_w2':
    1.5, 'sigma_b2': …}), the settings its name carries over `settings` (job_settings: the job's one values)."""
    act, *parts = name.split(";")
    out = dict(settings)
    for p in parts:
        key, value = p.split("=", 1)
        out[key] = _setting(value)
    return act, out


def sql(text):
    """A string as an SQL literal ('relu' -> 'relu', quotes doubled), for load()'s where."""
    return "'" + text.replace("'", "''") + "'"


def entry_kv(name):
    """An entry's name as key=value pairs for kv(): activation, then each setting its name carries
    ('relu;sigma_w2=2.5' -> activation=relu sigma_w2=2.5)."""
    act, *parts = name.split(";")
    return {"activation": act, **dict(p.split("=", 1) for p in parts)}


def entries(run_dir, families=None):
    """The run's entries of the activation axis (as exports show them) of `families` (a name or a list; None: all),
    in the grid's order."""
    fams = [families] if isinstance(families, str) else families
    cond = f" WHERE family IN ({','.join('?' * len(fams))})" if fams else ""
    with _connect(run_dir) as db:
        rows = db.execute(f"SELECT {ACT.format('activation')} FROM points{cond} GROUP BY activation ORDER BY min(ord)",
                          fams or []).fetchall()
    return [r[0] for r in rows]


def pick_entry(run_dir, families, activation):
    """The entry that `activation` (a script's --activation) names among the run's entries of `families`: itself
    where it is an entry's name ('relu;sigma_w2=2.5'), else the one entry of that activation ('relu' of a job that
    sweeps nothing of relu's). None where there is none; where there are several, a RunError that names them."""
    names = entries(run_dir, families)
    if activation in names:
        return activation
    hits = [n for n in names if n.split(";")[0] == activation]
    if len(hits) > 1:
        raise RunError(f"{run_dir}: {len(hits)} entries of {activation} (a swept setting): "
                       f"{', '.join(hits)}; name one, e.g. --activation '{hits[0]}'")
    return hits[0] if hits else None


def resolve_entry(run_dir, families, activation):
    """A script's --activation resolved as its figure needs it: (name, activation, settings), the entry's name among
    the run's entries of `families` (pick_entry; `activation` itself where the run has none of it, so that the
    script's own query says so), then entry() of it over the job's settings."""
    name = pick_entry(run_dir, families, activation) or activation
    return (name, *entry(name, job_settings(run_dir)))


def auto_sigma_w2(act):
    """-sigma_w2 auto of an activation, where this module knows it (src/jobsettings.c NNLActivationAutoSigmaW2): 2/(a² + b²)
    for a·min + b·max, 1/φ'(0)² for tanh (1) and erf (π/4); None for the others."""
    ab = two_slope(act)
    if ab is not None:
        return 2.0 / (ab[0] ** 2 + ab[1] ** 2)
    return {"tanh": 1.0, "erf": math.pi / 4}.get(act)


def sigma_w2(act, settings):
    """σ_w² of an entry (entry()): its value, or auto's (auto_sigma_w2; None where unknown)."""
    s = settings.get("sigma_w2")
    return auto_sigma_w2(act) if s in ("auto", None) else s


def critical(act, settings):
    """Is an MLP entry at the critical point its laws assume: σ_b² = 0 and σ_w² = auto's value (-sigma_w2 auto, or
    the number auto gives)?"""
    if settings.get("sigma_b2") not in (0.0, None):
        return False
    if settings.get("sigma_w2") in ("auto", None):
        return True
    auto = auto_sigma_w2(act)
    return auto is not None and math.isclose(settings["sigma_w2"], auto, rel_tol=1e-12)


def kv(**pairs):
    """Print one key=value line (the numbers tests and notes read)."""
    print(" ".join(f"{k}={v:.6g}" if isinstance(v, (float, np.floating)) else f"{k}={v}" for k, v in pairs.items()),
          flush=True)


def style():
    """The shared figure style (Agg: works without a display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "font.size": 9,
                         "legend.fontsize": 7, "axes.titlesize": 9, "savefig.bbox": "tight", "figure.constrained_layout.use": True,
                         "axes.prop_cycle": plt.cycler(color=plt.cm.viridis(np.linspace(0, 0.9, 7)))})
    return plt


def footer(fig, run_dir):
    """The run's provenance at the bottom of a figure."""
    fig.text(0.01, -0.02, provenance(run_dir), fontsize=5.5, color="0.4", ha="left", va="top")


def figure_args(doc, name, options=()):
    """The command line every figure script shares: RUN_DIR [-o FILE.png] [--dpi N], plus the script's own
    options: (flag, type, default, help) tuples."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, typ, default, text in options:
        ap.add_argument(flag, type=typ, default=default, help=f"{text} (default {default})")
    ap.add_argument("run_dir", help="a run directory (holds nnlimits.sqlite)")
    ap.add_argument("-o", "--output", help=f"figure file (.png; a .pdf is written beside it); "
                                           f"default RUN_DIR/figures/{name}.png (_ACTIVATION, _FAMILY added "
                                           f"when those options are given)")
    ap.add_argument("--dpi", type=float, default=110, help="resolution of the PNG")
    ap.add_argument("--thumbnail", help="also write a small PNG here (README thumbnails, analysis/figures/)")
    ap.add_argument("--partial", action="store_true",
                    help="draw a run that is not finished (interrupted, or running): what is there, said on stderr")
    args = ap.parse_args()
    one_line_errors(ap.prog, args.partial)
    check_run(args.run_dir, args.partial)  # a RunError: one line, exit 2 (the hook)
    if not args.output:  # what a non-default --family or --activation draws is in the name: one figure does not
        for flag, _, default, _ in options:  # overwrite another's (li_nica_roy_tanh.png beside li_nica_roy.png)
            value = getattr(args, flag.lstrip("-").replace("-", "_"))
            if flag in ("--family", "--activation") and value and value != default:
                name += "_" + re.sub(r"[^A-Za-z0-9.=+-]+", "_", str(value))
        args.output = os.path.join(args.run_dir, "figures", f"{name}.png")
    return args


def save(fig, args):
    """Write the PNG at args.dpi and a PDF beside it; print figure=PATH."""
    d = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(d, exist_ok=True)
    fig.savefig(args.output, dpi=args.dpi)
    fig.savefig(os.path.splitext(args.output)[0] + ".pdf")
    print(f"figure={args.output}", flush=True)
    if getattr(args, "thumbnail", None):
        os.makedirs(os.path.dirname(os.path.abspath(args.thumbnail)), exist_ok=True)
        fig.savefig(args.thumbnail, dpi=THUMB_DPI)
        print(f"thumbnail={args.thumbnail}", flush=True)
