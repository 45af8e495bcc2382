#!/usr/bin/python3
"""Randomized differential test over the job space: small random valid jobs, each run several ways, exports compared.

Usage: fuzz_jobs.py NNL WORKDIR [-n JOBS] [-seed S] [-minutes M] [-checks np2,np3,shard,isa,core,layers,channel,stop,kill,extend]
                    [-keep] [-job "ARGS"] [-bad]     (MPIEXEC from the environment, default mpiexec)
A tool, not registered with ctest: a few hundred jobs take ~1 h on a busy 2-core VM (each job is run 8-12 times and
its 11 tables exported for each). -job runs the checks on one given job (a regression, or a minimisation step).

Each job (families, activations with parameters, widths including 1 and 2, depths, m = 1..12 inputs around the
kernels' m = 8 switch, correlations, sigma lists, samplers, recorded and spectra layers, SDE paths, ODE solvers, run
seeds) is run at 1 rank (a singleton), then compared byte for byte, every table `export` lists, against:
  np2, np3  the job at 2 and 3 ranks (3: --oversubscribe)
  shard     -shard i/k for k = 2 or 3, each shard a run of its own, then `nnlimits merge`
  isa       another -isa (plain, avx2, avx512 where the CPU has it)
  core      another OPENBLAS_CORETYPE (m <= 8 inputs; the gram, points, stats and sde tables: README, How it works)
  layers    the job recording every layer (and maybe other spectra layers): the job's rows are among its rows
  channel   the job from a YAML or plain job file or PETSC_OPTIONS; then the command line's job resumes it (todo=0)
  stop      SIGINT, SIGTERM or SIGUSR1 after a random short delay (1 or 2 ranks), then the same command again
  kill      SIGKILL of the whole launch after a random delay, then the same command again
  extend    the job with fewer seeds (or widths) first, then the whole job into the same directory
-bad: each job with one option given a random, mostly bad value instead: it runs, or is refused with exit 2 and one
"nnlimits: error:" line (no traceback, no signal), at 1 or 2 ranks.
Found with it (see git log): an SDE path of m > 8 inputs leaving double's range aborted the whole run (dsyev on NaN);
integer options that PETSc wraps past 2^31 run silently; a refusal at several ranks followed by a rank's 'stopped by a
signal' line; and Open MPI 4.1's mpiexec hanging for good (a zombie rank, itself in a futex) when a stop signal
reached every rank of a 2-rank run before its sweep began and each rank _exit(3)ed: ~1 in 100 such stops here (the
set-up now leaves through MPI_Finalize: sched.c).
A refusal (exit != 0 at 1 rank) is acceptable when it is one short message and no crash: no PETSc traceback, no
signal, no assertion. A job refused at 1 rank must be refused alike at 2 ranks. Failures are printed with the job's
command line and kept in WORKDIR/fail-N/.
"""
import argparse
import concurrent.futures
import csv
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

TABLES = "gram points stats limits compare extrapolate spectra spectrum sde fokker_planck laws".split()
FAMILIES = ["mlp", "resnet", "shaped_mlp", "controlled_resnet", "shaped_attention", "softmax_attention",
            "shaped_transformer", "softmax_transformer"]
ACTS = ["linear", "relu", "abs", "tanh", "erf", "gelu", "swish", "silu", "softplus", "sin", "leaky_relu:0.2",
        "leaky_relu:-0.5", "leaky_relu:1", "leaky_relu:0", "sin:1:2:0.3", "sin:2:0.5:0", "relu", "tanh",
        "leaky_relu:1e100", "sin:1e-3:1:0"]


def pick(rng, items, weights=None):
    return rng.choices(items, weights=weights)[0]


def corr_list(rng, m):
    """m(m-1)/2 correlations of m random unit vectors in R^m (a PSD matrix, regular), rounded to 6 digits; a third of
    the time some vectors are copies or negatives of earlier ones (pairs of correlation 1 or -1: src/sqrtpsd.c)."""
    v = [[rng.gauss(0, 1) for _ in range(m)] for _ in range(m)]
    v = [[x / sum(y * y for y in u) ** 0.5 for x in u] for u in v]
    if rng.random() < 0.33:
        for j in range(1, m):
            if rng.random() < 0.4:
                s = rng.choice([1, -1])
                v[j] = [s * x for x in v[rng.randrange(j)]]
    return ",".join("%.6f" % sum(x * y for x, y in zip(v[a], v[b])) for a in range(m) for b in range(a + 1, m))


def gen(rng):
    """A small random job: a list of arguments."""
    fams = rng.sample(FAMILIES, pick(rng, [1, 1, 2, 3]))
    acts = rng.sample(ACTS, pick(rng, [1, 1, 2]))
    if any(f.startswith("shaped") for f in fams) and rng.random() < 0.7:  # shaping takes relu or phi'(0) = 1
        acts = rng.sample(["relu", "tanh", "linear"], pick(rng, [1, 2]))
    if any(f.endswith("attention") for f in fams) and rng.random() < 0.8:  # an attention block has no activation
        acts = ["linear"]
    widths = rng.sample([1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 33, 64, 100], pick(rng, [1, 2, 2, 3]))
    depths = rng.sample([1, 2, 3, 4, 5, 7, 8, 16, 17, 33], pick(rng, [1, 2, 2, 3]))
    seeds = pick(rng, ["0-3", "5", "0,7,3", "2-5", "0-2", "1000000000,3", "0-6", "4,2"])
    if rng.random() < 0.15:  # widths of several row blocks (the fused layers' blocks are 128-1024 rows)
        widths = rng.sample([1000, 1030, 2049, 4099], pick(rng, [1, 2]))
        depths = rng.sample([2, 3, 5, 9], pick(rng, [1, 2]))
        seeds = pick(rng, ["0-2", "7"])
    if rng.random() < 0.1:  # hundreds of tiny tasks: the coordinator hands them out in chunks
        widths = rng.sample([1, 2, 3, 5, 8], pick(rng, [1, 2]))
        depths = rng.sample([1, 2, 3], pick(rng, [1, 2]))
        seeds = pick(rng, ["0-300", "5-700", "0-150"])
    if rng.random() < 0.06:  # a few tasks of ~0.1-0.5 s each, for the stops to land inside tasks
        fams = rng.sample(["mlp", "resnet", "shaped_mlp"], pick(rng, [1, 2]))
        acts = rng.sample(["relu", "tanh"], pick(rng, [1, 2]))
        widths, depths, seeds = [pick(rng, [65536, 100003])], [pick(rng, [20, 40])], "0-2"
        fams = [f for f in fams if f != "mlp" or rng.random() < 0.5] or ["resnet"]
    m = pick(rng, list(range(1, 13)), [3, 6, 5, 3, 2, 1, 1, 3, 3, 2, 1, 1]) if widths[0] < 65536 else 2
    d = m + pick(rng, [0, 0, 1, 3, 10])
    a = ["-family", ",".join(fams), "-grid_activation", ",".join(acts), "-grid_width", ",".join(map(str, widths)),
         "-grid_depth", ",".join(map(str, depths)), "-grid_seed", seeds, "-inputs", str(m), "-input_dim", str(d)]
    r = rng.random()
    if r < 0.1 and m > 2:
        a += ["-input_correlation", corr_list(rng, m)]
    elif r < 0.6:
        a += ["-input_correlation", pick(rng, ["0", "0.3", "0.9", "0.999", "1", "-0.1", "0.5"])]
    if rng.random() < 0.4:
        a += ["-sigma_w2", pick(rng, ["auto", "1", "2", "1e-8", "1e6", "auto,1.5", "0.5,4", "1e-30", "8", "1e300", "auto,1e-300"])]
    if rng.random() < 0.3:
        a += ["-sigma_b2", pick(rng, ["0", "0.1", "1e-6", "10", "0,0.05", "1e300"])]
    if rng.random() < 0.3:
        a += ["-branch_alpha", pick(rng, ["0.5", "0", "1", "0.5,1", "0.25"])]
    if rng.random() < 0.3:
        a += ["-attn_tau0", pick(rng, ["1", "0.5", "0.25,2", "3"])]
    if rng.random() < 0.2:
        a += ["-attn_gamma", pick(rng, ["0.5", "1", "0.1", "0.3,0.9"])]
    if rng.random() < 0.15:
        a += ["-attn_key_width", pick(rng, ["0", "1", "3", "8"])]
    if rng.random() < 0.2:
        a += ["-shape_c_minus", pick(rng, ["-1", "-2", "0", "1"]), "-shape_c_plus", pick(rng, ["0", "0.5"])]
    if rng.random() < 0.1:
        a += ["-shape_a", pick(rng, ["1", "0.3", "4", "0.1"])]
    if rng.random() < 0.03:  # paths and networks that leave double's range (an SDE of 9 inputs aborted the run)
        a += pick(rng, [["-shape_c_minus", "1e20"], ["-attn_tau0", "1e-300"], ["-shape_a", "0.1", "-sde_dt", "1"]])
    if rng.random() < 0.5:
        a += ["-sampler", pick(rng, ["auto", "dense", "projection"])]
    if rng.random() < 0.5:
        a += ["-record_layers", pick(rng, ["all", "last", "1", "2", "3", "5"])]
    if rng.random() < 0.3:
        a += ["-spectra_layers", pick(rng, ["all", "last", "2", "none"])]
        if rng.random() < 0.3:
            a += ["-spectra_rtol", pick(rng, ["0.1", "1e-12"])]
    if rng.random() < 0.3:
        a += ["-sde_paths", pick(rng, ["3", "9", "17"])]
        if rng.random() < 0.3:
            a += ["-sde_dt", pick(rng, ["1e-2", "0.05"])]
        if rng.random() < 0.4:
            a += ["-fp_cells", pick(rng, ["10", "33", "60"])]
    if rng.random() < 0.2:
        a += ["-run_seed", pick(rng, ["1", "77", "2147483647"])]
    if rng.random() < 0.15:
        a += pick(rng, [["-limit_ts_type", "euler", "-limit_ts_dt", "1e-2"], ["-limit_ts_type", "bdf"],
                        ["-limit_ts_type", "rk", "-limit_ts_rk_type", "3bs", "-limit_ts_rtol", "1e-8"],
                        ["-limit_ts_type", "cn", "-limit_ts_dt", "1e-2"]])
    if rng.random() < 0.1:
        a += ["-limit_goursat_cells", pick(rng, ["8", "33", "64"])]
    return a


BAD_VALUES = ["", "-1", "0", "abc", "1e400", "nan", "inf", "-inf", "1,,2", ",", "2-1", "0x10", "1e-400", "3.5",
              "99999999999999999999", "-0", "1,1", " ", "relu:", "leaky_relu:x", "sin:1:2:3:4", "auto,auto",
              "all,last", "0/0", "2/1", "-1/2", "1/2/3", "9", "1e308", "2147483648", "4-4", "a-b", "1:2"]
BAD_OPTIONS = ["-family", "-grid_activation", "-grid_width", "-grid_depth", "-grid_seed", "-inputs", "-input_dim",
               "-input_correlation", "-sigma_w2", "-sigma_b2", "-branch_alpha", "-attn_tau0", "-attn_gamma",
               "-attn_key_width", "-shape_c_plus", "-shape_c_minus", "-shape_a", "-sampler", "-record_layers",
               "-spectra_layers", "-spectra_rtol", "-sde_paths", "-sde_dt", "-fp_cells", "-run_seed", "-shard",
               "-stop_grace", "-progress_interval", "-sched_rank0_computes", "-spectra_team_size",
               "-spectra_team_min", "-mem_budget_mb", "-isa", "-limit_goursat_cells", "-limit_ts_type",
               "-limit_ts_rtol", "-limit_ts_dt", "-limit_fp_ts_type"]


def check_bad(fz, job, d, rng, log):
    """The job with one option given a random (mostly bad) value: a clean refusal, or a run that works."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    o, v = rng.choice(BAD_OPTIONS), rng.choice(BAD_VALUES)
    bj = drop_opt(job, o) + [o, v]
    np = rng.choice([0, 0, 2])
    try:
        rc, _, err = fz.run(np, ["run"] + bj + ["-progress_interval", "0" if o != "-progress_interval" else v,
                                                 "-output", d + "/bad"], timeout=40)
    except subprocess.TimeoutExpired:
        log("%s '%s': over 40 s" % (o, v))
        return "slow"
    if rc == 0:
        return "ok"
    why = crashy(rc, err)
    if not why and rc != 2:
        why = "exit %d (want 2)" % rc
    if not why and len([ln for ln in strip_mpiexec(err).splitlines() if ln.startswith("nnlimits: error:")]) != 1:
        why = "not one 'nnlimits: error:' line"
    if why:
        raise Bad("%s '%s' at %d ranks: %s: %s" % (o, v, max(np, 1), why, err.strip()[-1500:]))
    log("%s '%s': %s" % (o, v, strip_mpiexec(err).strip().splitlines()[-1][:200]))
    return "refused"


class Fuzz:
    def __init__(self, nnl, work, mpiexec):
        self.nnl, self.work, self.mpiexec = nnl, work, mpiexec
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OPENBLAS_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1",
                        OMPI_MCA_btl_vader_single_copy_mechanism="none")
        for k in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "PETSC_OPTIONS"):
            self.env.pop(k, None)
        self.pool = concurrent.futures.ThreadPoolExecutor(4)  # exports wait on MPI's start more than they compute

    def cmd(self, np, args):
        base = [self.nnl] if np == 0 else [self.mpiexec, "--oversubscribe", "-n", str(np), self.nnl]
        return base + args

    def run(self, np, args, timeout=120):
        p = subprocess.run(self.cmd(np, args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, text=True, errors="replace")
        return p.returncode, p.stdout, p.stderr

    def export(self, d):
        def one(t):
            p = subprocess.run([self.nnl, "export", d, "-table", t], env=self.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
            return t, p.returncode, p.stdout, p.stderr.decode(errors="replace")
        out = {}
        for t, rc, so, se in self.pool.map(one, TABLES):
            if rc != 0:
                raise Bad("export %s -table %s: exit %d: %s" % (d, t, rc, se.strip()[-500:]))
            out[t] = so
        return out


class Bad(Exception):
    pass


def strip_mpiexec(err):
    """stderr less mpiexec's own notes (blocks between lines of dashes) on a rank's non-zero exit."""
    out, inside = [], False
    for ln in err.splitlines():
        if ln.startswith("-----"):
            inside = not inside
            continue
        if not inside:
            out.append(ln)
    return "\n".join(out)


def crashy(rc, err):
    """Why a failed run's stderr is not a clear refusal ('' when it is one)."""
    err = strip_mpiexec(err)
    if rc < 0 or rc > 3:
        return "exit %d" % rc
    for w in ("PETSC ERROR", "Assertion", "Segmentation", "Caught signal", "Abort", "traceback", "MPI_ABORT",
              "core dumped", "Floating point exception"):
        if w.lower() in err.lower():
            return "stderr has '%s'" % w
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()]
    if not errs:
        return "no error line"
    if len(errs) > 1 and len(set(errs)) > 1:
        return "%d different error lines" % len(errs)
    return ""


CORE_TABLES = ["gram", "points", "stats", "sde"]


def diff(ref, other, what, tables=TABLES):
    for t in tables:
        if ref[t] != other[t]:
            a, b = ref[t].splitlines(), other[t].splitlines()
            for i in range(max(len(a), len(b))):
                la = a[i] if i < len(a) else b"<none>"
                lb = b[i] if i < len(b) else b"<none>"
                if la != lb:
                    raise Bad("%s: table %s differs at line %d (of %d, %d):\n  ref   %s\n  other %s" %
                              (what, t, i + 1, len(a), len(b), la.decode(errors="replace")[:400],
                               lb.decode(errors="replace")[:400]))


def children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            for c in f.read().split():
                out.append(int(c))
                out += children(int(c))
    except OSError:
        pass
    return out


EXTENDABLE = ("-grid_seed", "-grid_width", "-grid_depth", "-grid_activation", "-family", "-sigma_w2", "-sigma_b2",
              "-branch_alpha", "-attn_tau0", "-attn_gamma")


def expand(v):
    """A list option's values (a range a-b of integers as its values)."""
    out = []
    for x in v.split(","):
        if re.fullmatch(r"\d+-\d+", x):
            a, b = map(int, x.split("-"))
            out += [str(i) for i in range(a, b)]
        else:
            out.append(x)
    return out


def self_consistent(ref):
    """README: a depth-limit ODE value depends on t = layer/depth alone (layer l of depth L and 2l of depth 2L: the
    same bits; not controlled_resnet's march, whose cells are a multiple of each depth), an MLP's NNGP kernel on the
    layer alone, and a Fokker-Planck density on t = layer/width alone: equal across the job's depths."""
    groups = {}
    rows = csv.DictReader(io.StringIO(ref["limits"].decode()))
    for r in rows:
        if r["q_ode"] and r["family"] != "controlled_resnet":
            groups.setdefault(("q_ode", r["family"], r["activation"], r["t"], r["a"], r["b"]), set()).add(r["q_ode"])
        if r["family"] == "mlp" and r["q_nngp"]:
            groups.setdefault(("q_nngp", r["family"], r["activation"], r["layer"], r["a"], r["b"]), set()).add(
                r["q_nngp"])
    for r in csv.DictReader(io.StringIO(ref["fokker_planck"].decode())):
        groups.setdefault(("density", r["family"], r["activation"], r["width"], r["layer"], r["cell"]), set()).add(
            r["density"])
    for k, v in groups.items():
        if len(v) > 1:
            raise Bad("%s differs between depths at %s: %s" % (k[0], ",".join(k[1:]), sorted(v)))


def opt(job, name, default):
    return job[job.index(name) + 1] if name in job else default


def drop_opt(job, name):
    if name not in job:
        return list(job)
    i = job.index(name)
    return job[:i] + job[i + 2:]


def is_nnl(pid):
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "nnlimits"
    except OSError:
        return False


def handles(pid, sig):
    """Whether process pid has a handler for sig (SigCgt)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("SigCgt:"):
                    return bool(int(ln.split()[1], 16) & (1 << (sig - 1)))
    except OSError:
        pass
    return False


def check_job(fz, job, d, rng, checks, log):
    """All checks of one job in directory d; raises Bad on a failure. Returns a short outcome word."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    common = ["run"] + job + ["-progress_interval", "0"]
    t0 = time.time()
    try:
        rc, _, err = fz.run(0, common + ["-output", d + "/ref"], timeout=40)
    except subprocess.TimeoutExpired:
        log("too slow (over 40 s at 1 rank): skipped")
        return "slow"
    dt = time.time() - t0
    if rc != 0:
        why = crashy(rc, err)
        if why:
            raise Bad("1 rank: refusal is not clean (%s): %s" % (why, err.strip()[-1500:]))
        rc2, _, err2 = fz.run(2, common + ["-output", d + "/ref2"])
        if rc2 != rc:
            raise Bad("refused at 1 rank (exit %d: %s) but exit %d at 2 ranks: %s" % (rc, err.strip(), rc2,
                                                                                    err2.strip()[-1500:]))
        why = crashy(rc2, err2)
        if why:
            raise Bad("2 ranks: refusal is not clean (%s): %s" % (why, err2.strip()[-1500:]))
        rc3, _, err3 = fz.run(0, ["plan"] + common[1:] + ["-output", d + "/plan"])
        if rc3 == 0:
            raise Bad("run refuses the job (%s) but plan accepts it" % err.strip()[-300:])
        log("refused: " + err.strip().splitlines()[-1][:300])
        return "refused"
    ref = fz.export(d + "/ref")
    self_consistent(ref)
    # plan of the job agrees with the run on its task count, and of the finished store says nothing is left
    m = re.search(r" tasks=(\d+) ", err)
    rc, pout, perr = fz.run(0, ["plan"] + common[1:] + ["-output", d + "/plan"])
    if rc != 0:
        raise Bad("run accepts the job but plan exits %d: %s" % (rc, perr.strip()[-1500:]))
    pm = re.search(r"^shard index=0 tasks=(\d+) ", pout, re.M)
    if not m or not pm or m.group(1) != pm.group(1):
        raise Bad("plan's tasks (%s) are not the run's (%s)" % (pm and pm.group(1), m and m.group(1)))
    rc, pout, perr = fz.run(0, ["plan"] + common[1:] + ["-output", d + "/ref"])
    if rc != 0 or "plan left tasks=0 " not in pout:
        raise Bad("plan of the finished store: exit %d, %s %s" % (rc, pout.strip()[-800:], perr.strip()[-800:]))
    # a rerun of the finished job computes nothing and changes nothing
    rc, _, rerr = fz.run(rng.choice([0, 2]), common + ["-output", d + "/ref"])
    if rc != 0:
        raise Bad("rerun of the finished job: exit %d: %s" % (rc, rerr.strip()[-1500:]))
    diff(ref, fz.export(d + "/ref"), "the finished job rerun")
    if dt > 6:
        log("slow (%.1fs): only np2" % dt)
        checks = [c for c in checks if c == "np2"]
    for c in checks:
        if c in ("np2", "np3"):
            np = int(c[2])
            r0 = ["-sched_rank0_computes", "0"] if np == 3 and rng.random() < 0.3 else []
            rc, _, err = fz.run(np, common + r0 + ["-output", d + "/" + c])
            if rc != 0:
                raise Bad("%d ranks %s: exit %d: %s" % (np, " ".join(r0), rc, err.strip()[-1500:]))
            diff(ref, fz.export(d + "/" + c), "%d ranks %s" % (np, " ".join(r0)))
        elif c == "isa":
            isas = ["plain", "avx2"] + (["avx512"] if "avx512f" in open("/proc/cpuinfo").read() else [])
            isa = rng.choice(isas)
            rc, _, err = fz.run(0, common + ["-isa", isa, "-output", d + "/isa"])
            if rc != 0:
                raise Bad("-isa %s: exit %d: %s" % (isa, rc, err.strip()[-1500:]))
            diff(ref, fz.export(d + "/isa"), "-isa " + isa)
        elif c == "layers":
            # README: a layer's values do not depend on the other layers a job records (nor on the spectra computed):
            # the job's rows of every table are among those of the job recording every layer
            lj = drop_opt(drop_opt(job, "-record_layers"), "-spectra_layers") + ["-record_layers", "all"]
            spectra = opt(job, "-spectra_layers", "none")
            new = rng.choice([spectra, spectra, "all", "none", "last"])
            lj += ["-spectra_layers", new]
            rc, _, err = fz.run(rng.choice([0, 2]), ["run"] + lj + ["-progress_interval", "0", "-output", d + "/layers"])
            if rc != 0:
                raise Bad("-record_layers all -spectra_layers %s: exit %d: %s" % (new, rc, err.strip()[-1500:]))
            other = fz.export(d + "/layers")
            for t in TABLES:
                if new not in (spectra, "all") and t in ("spectra", "spectrum"):  # "all": a superset of them
                    continue
                a, b = ref[t].splitlines(), other[t].splitlines()
                if t == "points" or not a:
                    same = a == b
                else:
                    bs = set(b)
                    missing = [ln for ln in a if ln not in bs]
                    same = a[:1] == b[:1] and not missing
                if not same:
                    bad = ([ln for ln in a if ln not in set(b)] or [b"?"])[0]
                    raise Bad("-record_layers all -spectra_layers %s: table %s: a row of the job (%s) is not the "
                              "every-layer job's (%d rows, %d)" % (new, t, bad.decode(errors="replace")[:300],
                                                                   len(a), len(b)))
        elif c == "channel":
            # the job from a YAML or plain job file, or from PETSC_OPTIONS: the same store; the command line's job
            # then resumes it (the same job: nothing left to compute, nothing changed)
            how = rng.choice(["yaml", "opts", "env"])
            # an option the generator gave twice (an extreme after its list): the command line's last value, once (a
            # job file that sets an option twice is refused, by design)
            last = {job[k][1:]: job[k + 1] for k in range(0, len(job), 2)}
            pairs = list(last.items())
            env = fz.env
            if how == "env":
                fz.env = dict(env, PETSC_OPTIONS=" ".join(job))
                args = []
            else:
                f = d + "/job." + how
                with open(f, "w") as fh:
                    for k, v in pairs:
                        fh.write("%s: %s\n" % (k, v) if how == "yaml" else "-%s %s\n" % (k, v))
                args = ["-options_file", f]
            try:
                rc, _, err = fz.run(0, ["run"] + args + ["-progress_interval", "0", "-output", d + "/channel"])
            finally:
                fz.env = env
            if rc != 0:
                raise Bad("the job from %s: exit %d: %s" % (how, rc, err.strip()[-1500:]))
            diff(ref, fz.export(d + "/channel"), "the job from " + how)
            rc, _, err = fz.run(0, common + ["-output", d + "/channel"])
            if rc != 0 or " todo=0 " not in err:
                raise Bad("the command line's job into the store of the job from %s: exit %d: %s" %
                          (how, rc, err.strip()[-1500:]))
        elif c == "core":
            # README: networks of m <= 8 inputs and their SDE paths have the same bits on every x86-64 machine;
            # OpenBLAS's core types stand in for other machines (its kernels round otherwise). The tables of
            # networks and SDE paths alone: spectra, limits and Fokker-Planck densities go through LAPACK and PETSc.
            if int(job[job.index("-inputs") + 1]) > 8:
                continue
            core = rng.choice(["Prescott", "Haswell"] + (["SkylakeX"] if "avx512f" in open("/proc/cpuinfo").read()
                                                         else []))
            env = fz.env
            fz.env = dict(env, OPENBLAS_CORETYPE=core)
            try:
                rc, _, err = fz.run(0, common + ["-output", d + "/core"])
                other = fz.export(d + "/core") if rc == 0 else None
            finally:
                fz.env = env
            if rc != 0:
                raise Bad("OPENBLAS_CORETYPE=%s: exit %d: %s" % (core, rc, err.strip()[-1500:]))
            diff({t: ref[t] for t in CORE_TABLES}, other, "OPENBLAS_CORETYPE=" + core, CORE_TABLES)
        elif c == "shard":
            k = rng.choice([2, 3])
            dirs = []
            for i in range(k):
                np = rng.choice([0, 0, 2])
                sd = "%s/shard%d" % (d, i)
                rc, _, err = fz.run(np, common + ["-shard", "%d/%d" % (i, k), "-output", sd])
                if rc != 0:
                    raise Bad("-shard %d/%d: exit %d: %s" % (i, k, rc, err.strip()[-1500:]))
                dirs.append(sd)
            rng.shuffle(dirs)
            p = subprocess.run([fz.nnl, "merge"] + dirs + ["-output", d + "/merged"], env=fz.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            if p.returncode != 0:
                raise Bad("merge of %d shards: exit %d: %s" % (k, p.returncode, p.stderr.strip()[-1500:]))
            diff(ref, fz.export(d + "/merged"), "%d shards merged" % k)
        elif c in ("stop", "kill"):
            np = rng.choice([0, 2])
            sig = signal.SIGKILL if c == "kill" else rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGUSR1])
            out = d + "/" + c
            grace = ["-stop_grace", "0"] if rng.random() < 0.5 else []
            p = subprocess.Popen(fz.cmd(np, common + grace + ["-output", out]), env=fz.env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, start_new_session=True)
            if c == "stop":  # a signal before the run's handlers are set kills it, as it would any program
                for _ in range(2000):
                    pids = [q for q in [p.pid] + children(p.pid) if is_nnl(q)]
                    if pids and all(handles(q, sig) for q in pids) and len(pids) >= max(np, 1):
                        break
                    time.sleep(0.002)
            t1 = time.time()
            time.sleep(rng.uniform(0.0, max(0.05, dt * 1.2)))
            launched = [p.pid] + children(p.pid)  # Open MPI puts each rank in a process group of its own
            if c == "kill":
                for q in launched:
                    try:
                        os.kill(q, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            elif np == 0:
                p.send_signal(sig)
            else:  # signal every rank (mpiexec forwards SIGUSR1 only)
                for q in children(p.pid):
                    if is_nnl(q):
                        try:
                            os.kill(q, sig)
                        except OSError:
                            pass
            try:
                _, err = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                raise Bad("%s: the signalled run (%s) did not end in 120 s" % (c, sig.name))
            err = err.decode(errors="replace")
            if c == "stop" and p.returncode not in (0, 3):
                raise Bad("stop: %s at %d ranks: exit %d, want 3 (or 0 if it had ended): %s" %
                          (sig.name, max(np, 1), p.returncode, err.strip()[-1500:]))
            log("%s: %s at %d ranks%s after %.2fs: exit %d" % (c, sig.name, max(np, 1), " (-stop_grace 0)" if grace
                                                                else "", time.time() - t1, p.returncode))
            for _ in range(100):  # ranks of a killed launch may take a moment to go
                if not [q for q in launched + children(p.pid) if is_nnl(q)]:
                    break
                time.sleep(0.1)
            rc, _, err = fz.run(rng.choice([0, 2]), common + ["-output", out])
            if rc != 0:
                raise Bad("%s: rerun after %s: exit %d: %s" % (c, sig.name, rc, err.strip()[-1500:]))
            diff(ref, fz.export(out), "%s by %s then rerun" % (c, sig.name))
        elif c == "extend":
            # the job with one value of a list axis left out first, then the whole job into the same directory
            axes = [k for k in range(0, len(job) - 1) if job[k] in EXTENDABLE and len(expand(job[k + 1])) > 1]
            if not axes:
                continue
            k = rng.choice(axes)
            vals = expand(job[k + 1])
            vals.pop(rng.randrange(len(vals)))
            sj = job[:k + 1] + [",".join(vals)] + job[k + 2:]
            out = d + "/extend"
            rc, _, err = fz.run(0, ["run"] + sj + ["-progress_interval", "0", "-output", out])
            if rc != 0:
                why = crashy(rc, err)
                if why:
                    raise Bad("extend: the smaller job (%s %s): %s: %s" % (job[k], sj[k + 1], why, err.strip()[-1500:]))
                continue
            rc, _, err = fz.run(rng.choice([0, 2]), common + ["-output", out])
            if rc != 0:
                why = crashy(rc, err)
                if why:
                    raise Bad("extend: the whole job into it: %s: %s" % (why, err.strip()[-1500:]))
                log("extend from %s %s refused: %s" % (job[k], sj[k + 1], strip_mpiexec(err).strip().splitlines()[-1][:200]))
                continue
            diff(ref, fz.export(out), "extended from %s %s" % (job[k], sj[k + 1]))
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nnl")
    ap.add_argument("work")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-seed", type=int, default=1)
    ap.add_argument("-minutes", type=float, default=0)
    ap.add_argument("-checks", default="np2,np3,shard,isa,core,layers,channel,stop,kill,extend")
    ap.add_argument("-keep", action="store_true")
    ap.add_argument("-bad", action="store_true", help="each job with one option given a random, mostly bad value")
    ap.add_argument("-job", default=None)
    o = ap.parse_args()
    fz = Fuzz(os.path.abspath(o.nnl), os.path.abspath(o.work), os.environ.get("MPIEXEC", "mpiexec"))
    os.makedirs(fz.work, exist_ok=True)
    checks = o.checks.split(",")
    t_end = time.time() + o.minutes * 60 if o.minutes else None
    counts = {}
    nfail = 0
    for j in range(o.n):
        if t_end and time.time() > t_end:
            break
        rng = random.Random(o.seed * 1000003 + j)
        job = o.job.split() if o.job else gen(rng)
        d = os.path.join(fz.work, "job%d" % j)
        line = " ".join(job)

        def log(s):
            print("  job %d: %s" % (j, s), flush=True)
        t0 = time.time()
        try:
            what = check_bad(fz, job, d, rng, log) if o.bad else check_job(fz, job, d, rng, checks, log)
        except (Bad, subprocess.TimeoutExpired) as e:
            what = "FAIL"
            nfail += 1
            print("FAIL job %d: %s\n  job: %s" % (j, e, line), flush=True)
            fd = os.path.join(fz.work, "fail-%d" % j)
            shutil.rmtree(fd, ignore_errors=True)
            os.rename(d, fd)
            with open(os.path.join(fd, "job"), "w") as f:
                f.write(line + "\n" + str(e) + "\n")
        else:
            if not o.keep:
                shutil.rmtree(d, ignore_errors=True)
        counts[what] = counts.get(what, 0) + 1
        print("job %d %s %.1fs: %s" % (j, what, time.time() - t0, line), flush=True)
    print("fuzz_jobs: %s" % " ".join("%s=%d" % kv for kv in sorted(counts.items())), flush=True)
    sys.exit(1 if nfail else 0)


if __name__ == "__main__":
    main()
