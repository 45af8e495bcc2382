#!/usr/bin/python3
"""Kill anywhere: SIGKILL a random rank, mpiexec alone, or the whole launch at a random moment, rerun, check the store.

Usage: kill_anywhere.py NNL WORKDIR [TRIALS [SEED]]   (env NNL_KILL_TRIALS, NNL_KILL_SEED override; MPIEXEC)
After every kill: no process of the killed launch survives (an orphan would keep writing), nobody holds the store's
writer lock, the store passes SQLite's integrity check and `nnlimits status`, and the rerun (same command) keeps every
point committed before the kill unchanged (same row, same run) and ends with exports byte-identical to an uninterrupted
run's. Catches: half-written or duplicated points, a rerun that recommits a committed id (the "UNIQUE constraint
failed: points.id" of an earlier CI run), orphan ranks still committing, a rerun that hangs, a resume that recomputes
with different random numbers.
"""
import fcntl
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

NNL, W = os.path.abspath(sys.argv[1]), sys.argv[2]
TRIALS = int(os.environ.get("NNL_KILL_TRIALS", sys.argv[3] if len(sys.argv) > 3 else 20))
SEED = int(os.environ.get("NNL_KILL_SEED", sys.argv[4] if len(sys.argv) > 4 else 7))
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
NP = 2
# A sweep of ~1-2 s at 2 ranks: many small points, so a kill lands between, inside and across commits.
# (dense sampler: the projection sampler finishes this grid in 0.1 s, before most kills could land)
JOB = ("-family resnet,mlp -grid_activation relu -grid_width 16,64,128 -grid_depth 4,32 -grid_seed 0-240 -inputs 3 "
       "-record_layers 4 -sampler dense -progress_interval 0").split()
TABLES = ["gram", "points", "stats", "limits"]
HANG = 120  # seconds any single launch may take before it counts as a hang


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def launch(out, np=NP):
    return subprocess.Popen([MPIEXEC, "-n", str(np), NNL, "run", *JOB, "-output", out], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, text=True)


def finish(p, what):
    try:
        _, err = p.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        fail(f"{what}: no exit within {HANG} s (hang)")
    return p.returncode, err


def ranks_of(mpiexec_pid):
    """Rank pids by rank number: mpiexec's children that run nnlimits (single node: mpiexec starts them itself)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpiexec_pid:
                continue
            with open(f"/proc/{d}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            if b"OMPI_COMM_WORLD_RANK" in env:
                out[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(d)
        except (OSError, ValueError, IndexError):
            pass
    return out


def writers_of(out):
    """Pids of every live nnlimits process whose command line names the run directory out: the ranks of a launch,
    also those started after the test last looked (an orphan rank outlives its mpiexec by about a second)."""
    want = os.fsencode(out)
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            if any(a.endswith(b"nnlimits") for a in args[:1]) and want in args and alive(int(d)):
                found.append(int(d))
        except OSError:
            pass
    return found


def lock_holders(out):
    """Who holds the run directory's lock, from /proc/locks: 'pid cmdline' of each holder."""
    ino = os.stat(os.path.join(out, "nnlimits.lock")).st_ino
    who = []
    with open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            pid_at = 4 if parts[1] != "->" else 5
            try:
                pid, dev_ino = int(parts[pid_at]), parts[pid_at + 1]
            except (ValueError, IndexError):
                continue
            if int(dev_ino.split(":")[-1]) == ino:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as c:
                        cmd = c.read().replace(b"\0", b" ").decode(errors="replace")[:200]
                except OSError:
                    cmd = "?"
                who.append(f"{pid} {cmd}")
    return who


def alive(pid):
    """Whether any thread of pid is still running. Its main thread can be a zombie while another (an Open MPI or
    PMIx thread, or one inside a write to the store) is still exiting and holds the process's files, and locks."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return True
        except OSError:
            pass
    return False


def describe(left, pids):
    """What an orphan is doing: its rank, each thread's state and kernel wait, and its stacks (gdb, if present)."""
    lines = []
    rank_of = {pid: r for r, pid in pids.items()}
    for pid in left:
        lines.append(f"orphan {pid} (rank {rank_of.get(pid, '?')}):")
        try:  # its parent, and how long it has lived and run (a rank not yet seen at the kill has rank '?')
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            tick, boot = os.sysconf("SC_CLK_TCK"), time.clock_gettime(time.CLOCK_BOOTTIME)
            lines.append(f"  ppid {st[1]} age {boot - int(st[19]) / tick:.1f}s "
                         f"cpu {(int(st[11]) + int(st[12])) / tick:.1f}s")
            for what in ("syscall", "stack"):
                with open(f"/proc/{pid}/{what}") as f:
                    lines.append(f"  {what}: " + f.read().strip().replace("\n", " | ")[:600])
        except OSError as e:
            lines.append(f"  {e}")
        try:
            for t in sorted(os.listdir(f"/proc/{pid}/task")):
                with open(f"/proc/{pid}/task/{t}/stat") as f:
                    stat = f.read().rsplit(")", 1)[1].split()[0]
                try:
                    with open(f"/proc/{pid}/task/{t}/wchan") as f:
                        wchan = f.read()
                except OSError:
                    wchan = "?"
                lines.append(f"  thread {t} state {stat} wchan {wchan}")
        except OSError as e:
            lines.append(f"  {e}")
        try:
            bt = subprocess.run(["gdb", "-batch", "-p", str(pid), "-ex", "thread apply all bt"], capture_output=True,
                                text=True, timeout=60)
            lines.append(bt.stdout[-8000:] or f"  gdb: {bt.stderr.strip()[-1000:]}")  # a process that is exiting
        except (OSError, subprocess.SubprocessError) as e:
            lines.append(f"  no stacks: {e}")
    return "\n".join(lines)


def lock_free(out):
    path = os.path.join(out, "nnlimits.lock")
    if not os.path.exists(path):
        return True
    with open(path, "r+") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f, fcntl.LOCK_UN)
            return True
        except OSError:
            return False


def snapshot(out):
    """Committed rows (id -> (run, committed, status)); {} if no store yet. Raises on a damaged store."""
    path = os.path.join(out, "nnlimits.sqlite")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return {}, None
    # A kill inside a rollback-journal transaction (the store's creation, or a rerun's switch to WAL) leaves a hot
    # journal, which only a read-write connection can roll back; a read-only one fails with "attempt to write a
    # readonly database". nnlimits' own readers open read-write then (NNLStoreOpenDB); so does this check.
    journal = path + "-journal"
    hot = os.path.exists(journal) and os.path.getsize(journal) > 0
    db = sqlite3.connect(path if hot else f"file:{path}?mode=ro", uri=not hot)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            fail(f"integrity_check after kill: {ok}")
        if not db.execute("SELECT count(*) FROM sqlite_master WHERE name='points'").fetchone()[0]:
            return {}, None
        rows = {r[0]: r[1:] for r in db.execute("SELECT id, run, committed, status FROM points")}
        last = db.execute("SELECT max(committed) FROM points").fetchone()[0]
        t0 = db.execute("SELECT max(t0) FROM runs").fetchone()[0]
        return rows, (last if last is not None else t0)
    finally:
        db.close()


def exports(out, prefix):
    """The four exports at once, as readers of one store; a failure says which, its exit status (negative: the signal
    that ended it) and its stderr."""
    ps = [(t, subprocess.Popen([NNL, "export", out, "-table", t, "-o", f"{prefix}.{t}.csv"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)) for t in TABLES]
    for t, p in ps:
        try:
            o, e = p.communicate(timeout=HANG)
        except subprocess.TimeoutExpired:
            p.kill()
            fail(f"export -table {t} of {out}: no exit within {HANG} s (hang)")
        if p.returncode != 0:
            fail(f"export -table {t} of {out} failed: exit status {p.returncode}; stdout: {o.strip()!r}; "
                 f"stderr: {e.strip()!r}")


def main():
    os.makedirs(W, exist_ok=True)
    ref = os.path.join(W, "ref")
    t = time.time()
    rc, err = finish(launch(ref), "reference run")
    tref = time.time() - t
    db = sqlite3.connect(f"file:{ref}/nnlimits.sqlite?mode=ro", uri=True)
    first, last = db.execute("SELECT min(committed), max(committed) FROM points").fetchone()
    db.close()
    tstartup, tcompute = max(first - t, 0.05), max(last - first, 0.05)
    if rc != 0:
        fail(f"reference run: exit {rc}: {err}")
    exports(ref, os.path.join(W, "ref"))
    total = len(snapshot(ref)[0])
    rng = random.Random(SEED)
    kinds = {"rank0": 0, "rank1": 0, "mpiexec": 0, "launch": 0}
    lost_s, committed_at_kill, finished_before, orphan_s, late = [], [], 0, 0.0, 0
    for trial in range(TRIALS):
        out = os.path.join(W, f"t{trial}")
        subprocess.run(["rm", "-rf", out], check=True)
        for k in range(rng.choice([1, 1, 2])):  # sometimes kill the rerun too
            kind = rng.choice(list(kinds))
            # A quarter of the kills land during start-up (before the first commit), the rest while points commit.
            during_startup = rng.random() < 0.25
            delay = rng.uniform(0, tstartup if during_startup else tcompute)
            before = snapshot(out)[0]
            tstart = time.time()
            p = launch(out)
            deadline = time.time() + delay
            pids = {}
            while not during_startup and p.poll() is None and len(snapshot(out)[0]) <= len(before):
                pids.update(ranks_of(p.pid))
                time.sleep(0.02)
                deadline = time.time() + delay
            while time.time() < deadline and p.poll() is None:
                pids.update(ranks_of(p.pid))
                time.sleep(0.01)
            pids.update(ranks_of(p.pid))
            done = p.poll() is not None
            if done:
                finished_before += 1
            elif kind == "launch":
                os.killpg(p.pid, signal.SIGKILL)
                for pid in pids.values():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:  # died with its process group and already reaped
                        pass
            elif kind == "mpiexec":
                os.kill(p.pid, signal.SIGKILL)
            else:
                r = int(kind[-1])
                if r in pids:
                    try:
                        os.kill(pids[r], signal.SIGKILL)
                    except ProcessLookupError:  # it ended on its own since we looked (the run just finished)
                        pass
                else:  # still starting up: no rank yet, so the launch is what there is to kill
                    os.killpg(p.pid, signal.SIGKILL)
            tkill = time.time()
            kinds[kind] += not done
            _, kill_err = finish(p, f"trial {trial} kill {k} ({kind})")
            # Every process of the killed launch must be gone: an orphan rank would keep committing.
            end = time.time() + 30
            while (any(alive(pid) for pid in pids.values()) or writers_of(out)) and time.time() < end:
                time.sleep(0.05)
            orphan_s = max(orphan_s, time.time() - tkill)
            left = sorted(set(pid for pid in pids.values() if alive(pid)) | set(writers_of(out)))
            if left:
                print(describe(left, pids), file=sys.stderr)
                print(f"the killed launch (after {tkill - tstart:.3f} s, during start-up: {during_startup}) "
                      f"printed: {kill_err[-3000:]}", file=sys.stderr)
                fail(f"trial {trial} ({kind}): ranks {left} of the killed launch still alive after 30 s")
            if not lock_free(out):
                fail(f"trial {trial} ({kind}): the store's writer lock is still held after the launch died; "
                     f"held by: {lock_holders(out)}")
            rows, last = snapshot(out)
            if rows:
                st = subprocess.run([NNL, "status", out], capture_output=True, text=True, timeout=HANG)
                if st.returncode != 0:
                    fail(f"trial {trial}: status after kill: {st.stderr.strip()}")
            for i, r in before.items():
                if rows.get(i) != r:
                    fail(f"trial {trial}: committed point {i} changed or vanished after a kill")
            if not done:
                committed_at_kill.append(len(rows))
                lost_s.append(max(0.0, tkill - max(last or 0.0, tstart)))
                late += last is not None and last > tkill  # rank 0 stopping gracefully after mpiexec's SIGTERM
        before = snapshot(out)[0]
        rc, err = finish(launch(out), f"trial {trial} rerun")
        if rc != 0:
            fail(f"trial {trial} rerun: exit {rc}: {err.strip()}")
        after = snapshot(out)[0]
        for i, r in before.items():
            if after.get(i) != r:
                fail(f"trial {trial}: point {i} committed before the rerun was recommitted or lost by it")
        if len(after) != total:
            fail(f"trial {trial}: {len(after)} points after the rerun, want {total}")
        exports(out, os.path.join(W, "k"))
        for tb in TABLES:
            with open(os.path.join(W, f"ref.{tb}.csv"), "rb") as a, open(os.path.join(W, f"k.{tb}.csv"), "rb") as b:
                if a.read() != b.read():
                    fail(f"trial {trial}: {tb} export differs from the uninterrupted run's")
        subprocess.run(["rm", "-rf", out], check=True)
    q = statistics.quantiles(lost_s, n=4) if len(lost_s) > 1 else [0, 0, 0]
    print(f"kill_anywhere trials={TRIALS} kills={len(lost_s)} seed={SEED} points={total} ref_seconds={tref:.2f} "
          f"targets={','.join(f'{k}:{v}' for k, v in kinds.items())} finished_before_kill={finished_before} "
          f"committed_lost=0 duplicated=0 slowest_launch_exit_after_kill={orphan_s:.2f}s")
    print(f"kill_anywhere committed_at_kill min={min(committed_at_kill)} median={statistics.median(committed_at_kill):.0f} "
          f"max={max(committed_at_kill)}; lost_inflight_seconds (kill - last commit) min={min(lost_s):.3f} "
          f"q1={q[0]:.3f} median={q[1]:.3f} q3={q[2]:.3f} max={max(lost_s):.3f}; kills followed by a graceful commit={late}")


main()
